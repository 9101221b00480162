"""RFC 9728 protected resource metadata: how an MCP client (or any OAuth client) finds out
which authorization server issues tokens for this API, and which scopes to ask for.

An MCP server answers an unauthenticated request with ``401`` and ``WWW-Authenticate:
Bearer resource_metadata="<url>"``; the client fetches that URL, reads
``authorization_servers`` (the Stytch project domain, where Connected Apps publish their
``/.well-known/oauth-authorization-server``), and starts OAuth there. This module builds
the document (:func:`protected_resource_metadata`) and its well-known URL
(:func:`metadata_url`); ``StytchRBAC.protected_resource_metadata`` fills them from the
project and its policy. Framework-free: serve the dict from any route.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, cast
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "WELL_KNOWN_PATH",
    "check_url",
    "issuer_url",
    "metadata_url",
    "protected_resource_metadata",
]

#: RFC 9728 section 3: the well-known path segment of the metadata document.
WELL_KNOWN_PATH: Final = "/.well-known/oauth-protected-resource"

_LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})


def check_url(url: str, name: str = "resource_url") -> str:
    """``url`` checked: an https URL (http only on a loopback host, for development) with
    a host, no query or fragment (RFC 9728 section 1.2) and only visible ASCII (it goes
    into ``WWW-Authenticate`` headers). ``ValueError`` / ``TypeError`` name ``name``."""
    if not isinstance(cast(object, url), str):  # untyped callers
        raise TypeError(f"{name} must be a str, got {type(url).__name__}")
    if not url.isascii() or not url.isprintable() or " " in url:
        raise ValueError(f"{name} must be a URL of visible ASCII characters, got {url!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{name} must be an https URL with a host, got {url!r}")
    if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
        raise ValueError(f"{name} must use https (http is accepted for localhost only): {url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"{name} must have no query or fragment: {url!r}")
    return urlunsplit(parts)


def issuer_url(domain: str) -> str:
    """``https://<host>`` for a project domain given as a host (``acme-1234.customers.
    stytch.dev``) or as a URL; the form of a Connected-App token's ``iss``."""
    text = domain.strip().rstrip("/")
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.hostname or parts.path or parts.query:
        raise ValueError(f"a project domain is a host or an https origin, got {domain!r}")
    return f"https://{parts.netloc}"


def metadata_url(resource_url: str) -> str:
    """Where RFC 9728 clients look for the metadata of ``resource_url``: the well-known path
    inserted between the host and the resource's path (section 3.1).

    ``https://api.example.com/mcp`` -> ``https://api.example.com/.well-known/
    oauth-protected-resource/mcp``; ``https://api.example.com`` ->
    ``https://api.example.com/.well-known/oauth-protected-resource``.
    """
    parts = urlsplit(check_url(resource_url))
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN_PATH + path, "", ""))


def protected_resource_metadata(
    resource_url: str,
    *,
    authorization_servers: Iterable[str],
    scopes_supported: Iterable[str],
    resource_name: str | None = None,
    resource_documentation: str | None = None,
    bearer_methods_supported: Iterable[str] = ("header",),
) -> dict[str, Any]:
    """The RFC 9728 metadata document of ``resource_url`` (section 2), as a JSON object.

    ``resource`` is ``resource_url`` (checked: https, no query or fragment);
    ``authorization_servers`` the issuer URLs that mint tokens for it;
    ``scopes_supported`` sorted and de-duplicated; ``bearer_methods_supported``
    ``["header"]`` (guards read the ``Authorization`` header only: RFC 6750's form and
    query methods leak tokens into logs). Optional members are left out when None.
    """
    servers = list(dict.fromkeys(authorization_servers))
    if not servers:
        raise ValueError("protected resource metadata needs at least one authorization server")
    document: dict[str, Any] = {
        "resource": check_url(resource_url),
        "authorization_servers": servers,
        "scopes_supported": sorted(set(scopes_supported)),
        "bearer_methods_supported": list(bearer_methods_supported),
    }
    if resource_name is not None:
        document["resource_name"] = resource_name
    if resource_documentation is not None:
        document["resource_documentation"] = resource_documentation
    return document
