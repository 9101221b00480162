"""The HTTP answer to each error: the only place that chooses HTTP status codes.

``stytch_rbac.integrations.fastapi`` and ``stytch_rbac.integrations.starlette``
import their framework; this package module does not, and holds what both
share: the status of each error, the JSON error body (which never contains a
credential) and the headers that hand a refreshed session JWT back.

=====================================  ======  =======================================
error                                  status  body ``detail.error``
=====================================  ======  =======================================
:class:`Unauthenticated`               401     ``unauthenticated`` (+ ``reason``)
:class:`PermissionDenied`              403     ``permission_denied``
:class:`TenancyError`                  403     ``tenancy_error``
:class:`StytchUnavailable`             503     ``stytch_unavailable``
:class:`StytchAPIError`                503     ``stytch_error``
=====================================  ======  =======================================

A 401 carries ``WWW-Authenticate: Bearer`` (``error="invalid_token"`` when a
credential was presented and refused). Any other error (``UnknownPermission``,
``PolicyError``) is a server-side bug and is left to the framework's 500.
"""

from __future__ import annotations

import re
from email.utils import format_datetime
from typing import Final

from ..errors import (
    Forbidden,
    PermissionDenied,
    StytchAPIError,
    StytchRBACError,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
)
from .guard import CredentialConfig, RequestAuth

__all__ = [
    "HTTP_ERRORS",
    "error_body",
    "error_headers",
    "handback_headers",
    "status_for",
]

#: The errors a guard answers with an HTTP status (everything else is a 500).
HTTP_ERRORS: Final = (Unauthenticated, Forbidden, StytchUnavailable, StytchAPIError)

_REDACTED: Final = "[redacted]"
_REASON: Final = re.compile(r"[a-z0-9_]{1,40}")
_COOKIE_VALUE: Final = re.compile(r"[A-Za-z0-9._~+/=-]+")


def status_for(exc: StytchRBACError) -> int | None:
    """The HTTP status answering ``exc``, or None when it is a server-side bug (500)."""
    if isinstance(exc, Unauthenticated):
        return 401
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, (StytchUnavailable, StytchAPIError)):
        return 503
    return None


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if len(secret) >= 8 and secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def error_body(exc: StytchRBACError, secrets: tuple[str, ...] = ()) -> dict[str, object]:
    """The JSON body answering ``exc``: ``{"detail": {"error": ..., "message": ...}}``.

    Built from fixed texts and ids only; ``secrets`` (the request's
    credentials) are scrubbed from every string as a last line of defence.
    """
    detail: dict[str, str | None]
    if isinstance(exc, Unauthenticated):
        reason = exc.reason if _REASON.fullmatch(exc.reason) else "invalid"
        detail = {
            "error": "unauthenticated",
            "reason": reason,
            "message": f"not authenticated ({reason})",
        }
    elif isinstance(exc, PermissionDenied):
        detail = {
            "error": "permission_denied",
            "message": f"the member may not {exc.action!r} on {exc.resource!r}",
            "resource": exc.resource,
            "action": exc.action,
            "organization_id": exc.organization_id,
        }
    elif isinstance(exc, TenancyError):
        detail = {
            "error": "tenancy_error",
            "message": "the member's organization is not the organization this request is about",
            "organization_id": exc.requested_organization_id,
        }
    elif isinstance(exc, Forbidden):
        detail = {"error": "forbidden", "message": "forbidden"}
    elif isinstance(exc, StytchUnavailable):
        detail = {
            "error": "stytch_unavailable",
            "message": "Stytch is unavailable and nothing cached is fresh enough; retry later",
        }
    else:
        detail = {
            "error": "stytch_error",
            "message": "Stytch could not answer the authentication request",
            "request_id": exc.request_id,
        }
    return {
        "detail": {
            key: _scrub(value, secrets) if isinstance(value, str) else value
            for key, value in detail.items()
        }
    }


def error_headers(exc: StytchRBACError) -> dict[str, str]:
    """Headers answering ``exc``: ``WWW-Authenticate`` on a 401."""
    if isinstance(exc, Unauthenticated):
        if exc.reason == "missing":
            return {"WWW-Authenticate": "Bearer"}
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return {}


def _cookie(config: CredentialConfig, jwt: str, record: RequestAuth) -> str:
    name = config.jwt_cookie or "stytch_session_jwt"
    parts = [f"{name}={jwt}", f"Path={config.cookie_path}"]
    if record.principal is not None:
        parts.append(f"Expires={format_datetime(record.principal.expires_at, usegmt=True)}")
    if config.cookie_domain:
        parts.append(f"Domain={config.cookie_domain}")
    if config.cookie_secure:
        parts.append("Secure")
    if config.cookie_httponly:
        parts.append("HttpOnly")
    parts.append(f"SameSite={config.cookie_samesite.capitalize()}")
    return "; ".join(parts)


def handback_headers(record: RequestAuth | None, config: CredentialConfig) -> list[tuple[str, str]]:
    """Response headers handing a refreshed session JWT back, or ``[]``.

    Non-empty only once per request (it marks the record ``handed_back``),
    and only when Stytch refreshed the JWT while authenticating it.
    """
    if record is None or record.handed_back or record.principal is None:
        return []
    principal = record.principal
    jwt = principal.session_jwt
    if not principal.jwt_refreshed or not jwt or not _COOKIE_VALUE.fullmatch(jwt):
        return []
    mode = config.handback
    if mode == "auto":
        from_cookie = record.credentials is not None and record.credentials.source == "cookie"
        mode = "cookie" if from_cookie else "header"
    headers: list[tuple[str, str]] = []
    if mode in ("cookie", "both"):
        headers.append(("set-cookie", _cookie(config, jwt, record)))
    if mode in ("header", "both"):
        headers.append((config.handback_header.lower(), jwt))
    record.handed_back = True
    return headers
