"""The HTTP answer to each error: the only place that chooses HTTP status codes.

``stytch_rbac.integrations.fastapi`` and ``stytch_rbac.integrations.starlette``
import their framework; this package module does not, and holds what both
share: the one table of statuses (:data:`ANSWERS`, :data:`STYTCH_API_ANSWERS`),
the JSON error body (which never contains a credential) and the headers,
including those that hand a refreshed session JWT back.

==========================================  ======  ==========================
error                                       status  body ``detail.error``
==========================================  ======  ==========================
:class:`Unauthenticated`                    401     ``unauthenticated``
:class:`PermissionDenied`                   403     ``permission_denied``
:class:`TenancyError`                       403     ``tenancy_error``
:class:`InsufficientScope`                  403     ``insufficient_scope``
:class:`CrossSiteRequest` (CSRF)            403     ``cross_site_request``
:class:`Forbidden` (any other refusal)      403     ``forbidden``
:class:`StytchUnavailable`                  503     ``stytch_unavailable``
:class:`StytchAPIError`, Stytch said 400    400     ``bad_request``
:class:`StytchAPIError`, Stytch said 404    404     ``not_found``
:class:`StytchAPIError`, Stytch said 409    409     ``conflict``
:class:`StytchAPIError`, any other status   502     ``stytch_error``
==========================================  ======  ==========================

Why: a 400, 404 or 409 from Stytch is about what the request asked for (a
member that does not exist, an email already in use), so the client gets the
same class of answer, as from any backend that proxies the call. Any other
``StytchAPIError`` (a 401 ``unauthorized_credentials``: the project secret is
wrong; a status Stytch does not document) is the server's problem with its
upstream: 502 Bad Gateway, never 401 (it is not the user's session) and never
500. Stytch being down, slow, rate limiting or answering garbage is
:class:`StytchUnavailable`: 503, with ``Retry-After`` (whole seconds, rounded
up) when Stytch sent one.

Headers: a 401 carries ``WWW-Authenticate: Bearer`` (``error="invalid_token"``
when a credential was presented and refused, RFC 6750 section 3.1); a 403 refusing
an access token (an agent's or a service's, :attr:`Forbidden.scopes` set by the
guard) carries ``Bearer error="insufficient_scope", scope="<the scopes that would
grant it>"``; either carries ``resource_metadata="<url>"`` (RFC 9728 section 5.1)
when the guard was given one. :func:`bearer_challenge` builds these values; a 503
carries ``Retry-After`` when known. Bodies carry Stytch's ``request_id`` (for
Stytch support) and, for a ``StytchAPIError``, ``stytch_error_type``; never
Stytch's message, which may echo what was sent. Any other error
(``UnknownPermission``, ``PolicyError``) is a server-side bug and is left to the
framework's 500.

WebSocket handshakes get the same decision as a close code sent before the
socket is accepted (:func:`websocket_close_code`): 1008 (policy violation) for
a 401 or 403, 1013 (try again later) for a 503, 1011 (internal error) for the
other statuses; the close reason is the ``detail.error`` code (with the
``reason`` of a 401), never a credential.

:func:`openapi_responses` describes the 401, 403 and 503 answers as OpenAPI
response objects, for documenting guarded routes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any, Final

from ..errors import (
    CrossSiteRequest,
    Forbidden,
    InsufficientScope,
    PermissionDenied,
    StytchAPIError,
    StytchRBACError,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
)
from .guard import CredentialConfig, RequestAuth

__all__ = [
    "ANSWERS",
    "HTTP_ERRORS",
    "OTHER_STYTCH_API_ERROR",
    "STYTCH_API_ANSWERS",
    "HTTPAnswer",
    "answer_for",
    "bearer_challenge",
    "error_body",
    "error_headers",
    "handback_headers",
    "openapi_responses",
    "status_for",
    "websocket_close_code",
    "websocket_close_reason",
]


@dataclass(frozen=True, slots=True)
class HTTPAnswer:
    """The HTTP answer to one kind of error: status, ``detail.error`` code, fixed message."""

    status: int
    error: str
    message: str


#: The one table, by exception class; the first ``isinstance`` match wins (subclasses first).
#: A :class:`StytchAPIError` is answered from :data:`STYTCH_API_ANSWERS` instead.
ANSWERS: Final[tuple[tuple[type[StytchRBACError], HTTPAnswer], ...]] = (
    (Unauthenticated, HTTPAnswer(401, "unauthenticated", "not authenticated")),
    (PermissionDenied, HTTPAnswer(403, "permission_denied", "permission denied")),
    (
        TenancyError,
        HTTPAnswer(
            403,
            "tenancy_error",
            "the member's organization is not the organization this request is about",
        ),
    ),
    (
        InsufficientScope,
        HTTPAnswer(403, "insufficient_scope", "the access token lacks a scope this requires"),
    ),
    (
        CrossSiteRequest,
        HTTPAnswer(
            403,
            "cross_site_request",
            "a request from another origin may not use the session cookie for this; "
            "send the credential as a bearer token or list the origin in trusted_origins",
        ),
    ),
    (Forbidden, HTTPAnswer(403, "forbidden", "forbidden")),
    (
        StytchUnavailable,
        HTTPAnswer(
            503,
            "stytch_unavailable",
            "Stytch is unavailable and nothing cached is fresh enough; retry later",
        ),
    ),
)

#: A :class:`StytchAPIError`, by the status Stytch answered (``stytch_status``).
STYTCH_API_ANSWERS: Final[Mapping[int, HTTPAnswer]] = {
    400: HTTPAnswer(400, "bad_request", "Stytch rejected the request as invalid"),
    404: HTTPAnswer(404, "not_found", "Stytch has no such resource"),
    409: HTTPAnswer(409, "conflict", "Stytch refused the request: it conflicts with existing data"),
}

#: A :class:`StytchAPIError` with any status not in :data:`STYTCH_API_ANSWERS`.
OTHER_STYTCH_API_ERROR: Final = HTTPAnswer(
    502, "stytch_error", "Stytch refused the call with an unexpected error"
)

#: The errors a guard answers with an HTTP status (everything else is a 500).
HTTP_ERRORS: Final = (Unauthenticated, Forbidden, StytchUnavailable, StytchAPIError)

_REDACTED: Final = "[redacted]"
_REASON: Final = re.compile(r"[a-z0-9_]{1,40}")
_ERROR_TYPE: Final = re.compile(r"[a-z0-9_]{1,80}")
_COOKIE_VALUE: Final = re.compile(r"[A-Za-z0-9._~+/=-]+")


def answer_for(exc: StytchRBACError) -> HTTPAnswer | None:
    """The table's answer to ``exc``, or None when it is a server-side bug (500)."""
    if isinstance(exc, StytchAPIError):
        return STYTCH_API_ANSWERS.get(exc.status_code, OTHER_STYTCH_API_ERROR)
    for kind, answer in ANSWERS:
        if isinstance(exc, kind):
            return answer
    return None


def status_for(exc: StytchRBACError) -> int | None:
    """The HTTP status answering ``exc``, or None when it is a server-side bug (500)."""
    answer = answer_for(exc)
    return None if answer is None else answer.status


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if len(secret) >= 8 and secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def error_body(exc: StytchRBACError, secrets: tuple[str, ...] = ()) -> dict[str, object]:
    """The JSON body answering ``exc``: ``{"detail": {"error": ..., "message": ...}}``.

    Built from the table's fixed texts and ids only; ``secrets`` (the request's
    credentials) are scrubbed from every string as a last line of defence.
    """
    answer = answer_for(exc) or OTHER_STYTCH_API_ERROR
    detail: dict[str, str | None] = {"error": answer.error, "message": answer.message}
    if isinstance(exc, Unauthenticated):
        reason = exc.reason if _REASON.fullmatch(exc.reason) else "invalid"
        detail = {**detail, "reason": reason, "message": f"not authenticated ({reason})"}
    elif isinstance(exc, PermissionDenied):
        detail["message"] = f"the member may not {exc.action!r} on {exc.resource!r}"
        detail.update(resource=exc.resource, action=exc.action, organization_id=exc.organization_id)
    elif isinstance(exc, TenancyError):
        detail["organization_id"] = exc.requested_organization_id
    elif isinstance(exc, InsufficientScope):
        missing = " ".join(_scope_tokens(exc.missing))
        detail["message"] = f"the access token lacks scope {missing}"
        detail["missing_scopes"] = missing
    elif isinstance(exc, CrossSiteRequest):
        # The reason only: the Origin header is the other site's text.
        detail["reason"] = exc.reason if _REASON.fullmatch(exc.reason) else "cross_site"
    elif isinstance(exc, StytchUnavailable):
        if exc.request_id:
            detail["request_id"] = exc.request_id
    elif isinstance(exc, StytchAPIError):
        error_type = exc.error_type
        ok = error_type is not None and _ERROR_TYPE.fullmatch(error_type)
        detail["stytch_error_type"] = error_type if ok else None
        detail["request_id"] = exc.request_id
    return {
        "detail": {
            key: _scrub(value, secrets) if isinstance(value, str) else value
            for key, value in detail.items()
        }
    }


#: The media type of an explained refusal (RFC 9457 problem details).
PROBLEM_JSON: Final = "application/problem+json"


def problem_body(exc: StytchRBACError, secrets: tuple[str, ...] = ()) -> dict[str, object] | None:
    """The RFC 9457 problem details of a refusal a guard explained (``explain=True``), or
    None: the usual ``{"type", "title", "status", "detail"}`` plus ``error`` (the table's
    id) and the explanation (``reason``, ``permission``, ``granting_roles``...)."""
    explanation = getattr(exc, "explanation", None)
    if explanation is None:
        return None
    answer = answer_for(exc) or OTHER_STYTCH_API_ERROR
    detail = error_body(exc, secrets)["detail"]
    message = detail.get("message") if isinstance(detail, dict) else None
    return {
        "type": "about:blank",
        "title": "Forbidden",
        "status": answer.status,
        "detail": message if isinstance(message, str) else answer.message,
        "error": answer.error,
        **{
            key: _scrub(value, secrets) if isinstance(value, str) else value
            for key, value in explanation.items()
        },
    }


#: RFC 6749 section 3.3 scope-token: visible ASCII but ``"`` and ``\\``.
_SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
#: What an auth-param quoted-string here may hold: visible ASCII and spaces (no CR, LF).
_QUOTABLE: Final = re.compile(r"[\x20-\x7e]*")


def _scope_tokens(scopes: Iterable[str]) -> list[str]:
    """``scopes`` sorted, without any that is not a scope-token (it could not be requested
    anyway, and would break the header's quoting)."""
    return sorted({str(s) for s in scopes if _SCOPE_TOKEN.fullmatch(str(s))})


def _quoted(name: str, value: str) -> str:
    if not _QUOTABLE.fullmatch(value):
        raise ValueError(f"{name} must be printable ASCII for a WWW-Authenticate header")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}="{escaped}"'


def bearer_challenge(
    *,
    error: str | None = None,
    scope: Iterable[str] | None = None,
    resource_metadata: str | None = None,
    error_description: str | None = None,
) -> str:
    """A ``WWW-Authenticate`` value for the Bearer scheme (RFC 6750 section 3).

    ``error``: ``"invalid_token"`` (a 401 for a refused credential), ``"insufficient_scope"``
    (a 403), ``"invalid_request"``, or None for a request that sent no credential (RFC 6750
    says no error code then). ``scope``: the scopes that would grant the request (sorted;
    any that is not an RFC 6749 scope-token is left out, and the attribute is left out when
    none remains). ``resource_metadata``: the URL of the RFC 9728 protected resource
    metadata (section 5.1), for MCP clients to discover the authorization server.
    ``Bearer error="insufficient_scope", scope="read:documents"``. A value with characters
    a quoted-string cannot hold (CR, LF, non-ASCII) raises ``ValueError``.
    """
    params: list[str] = []
    if error is not None:
        if error not in ("invalid_request", "invalid_token", "insufficient_scope"):
            raise ValueError(f"unknown RFC 6750 error code {error!r}")
        params.append(f'error="{error}"')
    if error_description is not None:
        params.append(_quoted("error_description", error_description))
    if scope is not None:
        if isinstance(scope, str):
            raise TypeError("scope takes a collection of scope names, not one string")
        tokens = _scope_tokens(scope)
        if tokens:
            params.append(_quoted("scope", " ".join(tokens)))
    if resource_metadata is not None:
        params.append(_quoted("resource_metadata", resource_metadata))
    return "Bearer " + ", ".join(params) if params else "Bearer"


def error_headers(exc: StytchRBACError) -> dict[str, str]:
    """Headers answering ``exc``: ``WWW-Authenticate`` on a 401 (and on a 403 refusing an
    access token), ``Retry-After`` on a 503 when Stytch said how long to wait (whole
    seconds, rounded up)."""
    if isinstance(exc, Unauthenticated):
        error = None if exc.reason == "missing" else "invalid_token"
        return {
            "WWW-Authenticate": bearer_challenge(
                error=error, resource_metadata=exc.resource_metadata
            )
        }
    if isinstance(exc, Forbidden):
        if exc.scopes is None:
            return {}
        challenge = bearer_challenge(
            error="insufficient_scope", scope=exc.scopes, resource_metadata=exc.resource_metadata
        )
        return {"WWW-Authenticate": challenge}
    if status_for(exc) == 503 and exc.retry_after is not None:
        return {"Retry-After": str(max(0, math.ceil(exc.retry_after)))}
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


#: WebSocket close codes (RFC 6455 section 7.4.1) by the HTTP status of the answer.
_WEBSOCKET_CLOSE: Final[Mapping[int, int]] = {401: 1008, 403: 1008, 503: 1013}
_WEBSOCKET_OTHER: Final = 1011


def websocket_close_code(exc: StytchRBACError) -> int | None:
    """The close code refusing a WebSocket handshake for ``exc``, or None for a
    server-side bug: 1008 for 401 and 403, 1013 for 503, 1011 otherwise."""
    status = status_for(exc)
    if status is None:
        return None
    return _WEBSOCKET_CLOSE.get(status, _WEBSOCKET_OTHER)


def websocket_close_reason(exc: StytchRBACError) -> str:
    """The close reason for ``exc``: the ``detail.error`` code (``unauthenticated
    (expired)``, ``permission_denied``, ...), short and free of credentials."""
    error = (answer_for(exc) or OTHER_STYTCH_API_ERROR).error
    if isinstance(exc, Unauthenticated):
        return f"{error} ({exc.reason if _REASON.fullmatch(exc.reason) else 'invalid'})"
    return error


_OPENAPI_DESCRIPTIONS: Final[Mapping[int, str]] = {
    401: "Not authenticated: the member session credential is missing, malformed, expired, "
    "forged or revoked.",
    403: "Forbidden: the member's roles do not grant the permission, the request is about "
    "another organization than the member's, or a request from another origin used the "
    "session cookie (CSRF protection).",
    503: "Stytch is unavailable and nothing cached is fresh enough to decide with; retry later.",
}

_OPENAPI_EXTRA_FIELDS: Final[Mapping[int, tuple[str, ...]]] = {
    401: ("reason",),
    403: ("resource", "action", "organization_id", "reason"),
    503: ("request_id",),
}

_OPENAPI_HEADERS: Final[Mapping[int, Mapping[str, object]]] = {
    401: {
        "WWW-Authenticate": {
            "description": 'The challenge: `Bearer`, or `Bearer error="invalid_token"` when a '
            "credential was presented and refused (with `resource_metadata=` when the route "
            "publishes RFC 9728 metadata).",
            "schema": {"type": "string"},
        }
    },
    403: {
        "WWW-Authenticate": {
            "description": 'On refusing an access token: `Bearer error="insufficient_scope", '
            'scope="<the scopes that would grant it>"`.',
            "schema": {"type": "string"},
        }
    },
    503: {
        "Retry-After": {
            "description": "Seconds to wait, when Stytch said.",
            "schema": {"type": "integer"},
        }
    },
}


def openapi_responses(statuses: tuple[int, ...] = (401, 403, 503)) -> dict[int, dict[str, Any]]:
    """OpenAPI response objects for ``statuses`` (any of 401, 403, 503), from the table.

    Each carries a description, the JSON error body's schema (``detail.error``
    limited to the table's codes for that status) and the headers sent with it.
    """
    out: dict[int, dict[str, Any]] = {}
    for status in statuses:
        if status not in _OPENAPI_DESCRIPTIONS:
            raise ValueError(f"no OpenAPI description for status {status}")
        codes = sorted({a.error for _, a in ANSWERS if a.status == status})
        properties: dict[str, Any] = {
            "error": {"type": "string", "enum": codes},
            "message": {"type": "string"},
        }
        for name in _OPENAPI_EXTRA_FIELDS[status]:
            properties[name] = {"type": "string"}
        schema = {
            "type": "object",
            "required": ["detail"],
            "properties": {
                "detail": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": properties,
                }
            },
        }
        response: dict[str, Any] = {
            "description": _OPENAPI_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": schema}},
        }
        if status in _OPENAPI_HEADERS:
            response["headers"] = dict(_OPENAPI_HEADERS[status])
        out[status] = response
    return out
