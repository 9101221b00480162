"""Cross-site request forgery protection for cookie credentials, framework-free.

A browser attaches the session cookie Stytch's frontend SDKs set to every
request to the app's host, including those a page on another site makes (a
form POST, a ``fetch`` with ``mode: "no-cors"``, a WebSocket). ``SameSite=Lax``
stops some of them and none from a *same-site* page (a sibling subdomain). So a
guard that accepts a cookie credential also asks where the request came from,
the way Go 1.25's ``net/http.CrossOriginProtection`` and Django's ``Origin``
check do:

1. Safe methods (``GET``, ``HEAD``, ``OPTIONS``) pass: they must not change
   state. A WebSocket handshake is a ``GET`` but is checked (cross-site
   WebSocket hijacking: the socket is the session's from then on).
2. ``Sec-Fetch-Site: same-origin`` or ``none`` (the user typed the address, a
   bookmark) passes; any other value (``cross-site``, ``same-site``) is refused,
   unless the ``Origin`` header is a trusted origin. Browsers send this header
   since 2020-2023, and no page can forge or remove it.
3. No ``Sec-Fetch-Site`` (an older browser): the ``Origin`` header's host must be
   the request's ``Host`` (default ports ignored), or the origin trusted; else
   refused. As in Go, the scheme is not compared (a TLS-terminating proxy would
   make every request look cross-scheme).
4. Neither header: passes. Browsers send at least one of them on every unsafe
   request; a request with neither comes from a non-browser client (curl, a
   backend), which no other site can make a user's browser send.

Bearer credentials are never checked: a page on another site cannot make a
browser send an ``Authorization`` header without a CORS preflight the app
answers. The check reads headers only, before any authentication, so a
forged cross-site request costs no call to Stytch.

Trusted origins (:func:`normalize_origin`) are exact ``scheme://host[:port]``
values, the form browsers send in ``Origin``: a frontend on another host of the
same site (``https://app.example.com`` calling ``https://api.example.com`` with
``credentials: "include"``) must be listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from ..errors import CrossSiteRequest

__all__ = ["SAFE_METHODS", "cross_site_refusal", "normalize_origin", "normalize_origins"]

#: Methods a cross-site request may use with the session cookie (they must not change state).
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

#: ``Sec-Fetch-Site`` values saying the request was made by the app's own pages or the user.
_SAME_ORIGIN_SITES: Final = frozenset({"same-origin", "none"})

_DEFAULT_PORTS: Final = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def normalize_origin(value: str) -> str:
    """``value`` as browsers write it in ``Origin``: ``scheme://host[:port]``, lower case,
    the scheme's default port and a trailing ``/`` dropped.

    Raises ``ValueError`` naming what is wrong (a path, a query, credentials, no host,
    ``*`` or ``null``), ``TypeError`` for something else than a string.
    """
    if not isinstance(value, str):
        raise TypeError(f"a trusted origin is a string, got {type(value).__name__}")
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"trusted origin {value!r} is not a valid origin: {exc}") from None
    problem = None
    if not parts.scheme or not parts.hostname:
        problem = "it needs a scheme and a host, as in 'https://app.example.com'"
    elif parts.path not in ("", "/") or parts.query or parts.fragment or text.endswith(("?", "#")):
        problem = "an origin has no path, query or fragment"
    elif parts.username is not None or parts.password is not None:
        problem = "an origin has no user name or password"
    elif "*" in text:
        problem = "wildcards are not supported: list each origin"
    if problem is not None:
        raise ValueError(f"trusted origin {value!r}: {problem}")
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if port is not None and str(port) != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def normalize_origins(values: Iterable[str]) -> tuple[str, ...]:
    """Every origin of ``values`` normalized (:func:`normalize_origin`), sorted, once each.

    A single string is refused (``TypeError``): it would be read as its characters.
    """
    if isinstance(values, str):
        raise TypeError("trusted_origins takes a list of origins, not one string")
    return tuple(sorted({normalize_origin(v) for v in values}))


def _origin_host(origin: str) -> tuple[str, str] | None:
    """``(scheme, host[:port])`` of an ``Origin`` header, lower case; None when it is not
    an origin (``null``, garbage)."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc or parts.path or "@" in parts.netloc:
        return None
    return parts.scheme.lower(), parts.netloc.lower()


def _without_default_port(host: str, scheme: str) -> str:
    default = _DEFAULT_PORTS.get(scheme)
    if default is not None and host.endswith(f":{default}") and not host.endswith("]"):
        return host[: -len(default) - 1]
    return host


def _same_host(origin: str, request_host: str | None) -> bool:
    parsed = _origin_host(origin)
    if parsed is None or not request_host:
        return False
    scheme, host = parsed
    return _without_default_port(host, scheme) == _without_default_port(
        request_host.strip().lower(), scheme
    )


def _trusted(origin: str | None, trusted_origins: tuple[str, ...]) -> bool:
    return origin is not None and bool(trusted_origins) and origin.lower() in trusted_origins


def cross_site_refusal(
    scope: Mapping[str, Any], headers: Mapping[str, str], trusted_origins: tuple[str, ...] = ()
) -> CrossSiteRequest | None:
    """The refusal of a request presenting a cookie credential, or None when it may use it.

    ``scope`` is the ASGI scope (its ``type`` and ``method``; a request whose method
    is not known is checked), ``headers`` the request headers (looked up
    case-insensitively), ``trusted_origins`` normalized origins that pass
    (:func:`normalize_origins`). The rules are in this module's docstring.
    """
    if scope.get("type") != "websocket" and scope.get("method") in SAFE_METHODS:
        return None
    site = headers.get("sec-fetch-site")
    if site in _SAME_ORIGIN_SITES:  # the common case: one header read
        return None
    origin = headers.get("origin")
    if site is not None:
        if _trusted(origin, trusted_origins):
            return None
        return CrossSiteRequest("sec_fetch_site", origin=origin)
    if origin is None:
        return None
    if _same_host(origin, headers.get("host")) or _trusted(origin, trusted_origins):
        return None
    return CrossSiteRequest("origin_mismatch", origin=origin)
