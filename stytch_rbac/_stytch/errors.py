"""The one place where Stytch's errors become ours.

* :func:`error_from_stytch` maps an error response (HTTP status + Stytch's JSON
  error body) onto the exception tree of :mod:`stytch_rbac.errors`.
* :func:`translate_errors` is a context manager around any call into Stytch,
  ours over httpx or the ``stytch`` SDK's: it re-raises SDK exceptions
  (``StytchError``, the local RBAC errors, PyJWT's JWKS errors), every httpx
  exception and unparsable bodies as our exceptions, ``from`` the original.
* :func:`note_response` is how the SDK adapter tells the enclosing
  :func:`translate_errors` what the last response said (its status and
  ``Retry-After``): the SDK's ``StytchError`` carries no headers.

Mapping (reference section 5): session failures (``session_not_found``,
unparsable or invalid JWTs, bad session tokens) -> :class:`Unauthenticated`;
``session_authorization_error`` / ``unauthorized_action`` ->
:class:`PermissionDenied`; ``session_authorization_tenancy_error`` ->
:class:`TenancyError`; refusals of a valid session (``organization_suspended``,
``cannot_update_trusted_metadata``, ...) -> :class:`Forbidden`; rate limits,
5xx, timeouts, connection failures and bodies that do not parse ->
:class:`StytchUnavailable`; everything else -> :class:`StytchAPIError`.
Stytch's ``error_type``, ``error_message``, ``request_id``, HTTP status
(``stytch_status``) and ``Retry-After`` (``retry_after``) are kept on every
exception made from a response, and the original exception (the SDK's,
httpx's, PyJWT's or pydantic's) is the ``__cause__``, an httpx one without the
credential headers of its request (``Authorization``, the member-session headers; and
the transport, :mod:`.http`, gives a copy of it with no request at all). A 1xx or 3xx
answer is an error like any other non-2xx. An httpx exception
that is no failure of the exchange (an invalid URL, a stream read twice: a bug
on our side) becomes the base :class:`StytchRBACError`, which web integrations
leave to the 500.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ..errors import (
    Forbidden,
    PermissionDenied,
    StytchAPIError,
    StytchErrorFields,
    StytchRBACError,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ERROR_TYPES",
    "ErrorContext",
    "error_from_response",
    "error_from_stytch",
    "note_response",
    "translate_errors",
]


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """What the caller was doing, so a 403 can name the permission and the member."""

    resource: str | None = None
    action: str | None = None
    organization_id: str | None = None
    member_id: str | None = None


_NO_CONTEXT: Final = ErrorContext()

#: error_type -> (exception class, Unauthenticated reason or None). Every type in
#: reference section 5 is listed; unknown types fall back on the HTTP status.
ERROR_TYPES: Final[Mapping[str, tuple[type[StytchRBACError], str | None]]] = {
    # 401 / 404 session errors: the credential is not (or no longer) valid.
    "session_not_found": (Unauthenticated, "revoked"),
    "unable_to_parse_session_jwt": (Unauthenticated, "malformed"),
    "jwt_invalid_audience": (Unauthenticated, "invalid_claims"),
    "jwt_invalid_issuer": (Unauthenticated, "invalid_claims"),
    "jwt_invalid_claims": (Unauthenticated, "invalid_claims"),
    "invalid_session_token": (Unauthenticated, "malformed"),
    "too_many_session_arguments": (StytchAPIError, None),
    "no_session_arguments": (Unauthenticated, "missing"),
    # 403 authorization errors.
    "session_authorization_error": (PermissionDenied, None),
    "unauthorized_action": (PermissionDenied, None),
    "session_authorization_tenancy_error": (TenancyError, None),
    "organization_suspended": (Forbidden, None),
    "cannot_update_trusted_metadata": (Forbidden, None),
    "member_cannot_update_their_email_address": (Forbidden, None),
    # Our own credentials (project id / secret) are wrong: a configuration error,
    # not the end user's; it must not read as "please log in again".
    "unauthorized_credentials": (StytchAPIError, None),
    "use_https": (StytchAPIError, None),
    # Stytch is overloaded or broken: try later.
    "too_many_requests": (StytchUnavailable, None),
    "internal_server_error": (StytchUnavailable, None),
    # Plain API errors: the call was wrong or its target does not exist.
    "no_session_revoke_arguments": (StytchAPIError, None),
    "too_many_session_revoke_arguments": (StytchAPIError, None),
    "invalid_session_duration_minutes": (StytchAPIError, None),
    "member_not_found": (StytchAPIError, None),
    "organization_not_found": (StytchAPIError, None),
    "no_deleted_member_found_for_reactivation": (StytchAPIError, None),
    "email_unverified_for_reactivation": (StytchAPIError, None),
    "duplicate_member_email": (StytchAPIError, None),
    "duplicate_member_external_id": (StytchAPIError, None),
    "organization_slug_already_used": (StytchAPIError, None),
    "organization_external_id_already_used": (StytchAPIError, None),
    "user_already_invited": (StytchAPIError, None),
    "cannot_assign_default_rbac_role_id": (StytchAPIError, None),
    "invalid_rbac_role_id": (StytchAPIError, None),
    "invalid_role": (StytchAPIError, None),
    "active_scim_connection_exists": (StytchAPIError, None),
    "saml_connection_not_found": (StytchAPIError, None),
    "oidc_connection_not_found": (StytchAPIError, None),
    "invalid_argument": (StytchAPIError, None),
    "bad_request": (StytchAPIError, None),
    "route_not_found": (StytchAPIError, None),
}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def error_from_stytch(
    status_code: int,
    body: Mapping[str, Any] | None,
    context: ErrorContext = _NO_CONTEXT,
    *,
    retry_after: float | None = None,
) -> StytchRBACError:
    """The exception for one Stytch error response (``status_code`` >= 400).

    ``body`` is Stytch's JSON error object (``error_type``, ``error_message``,
    ``request_id``, also the OAuth-style ``error`` / ``error_description``); a
    missing or non-object body falls back on the status code. Only a 2xx is a
    success: a 1xx or 3xx answer (Stytch never redirects: a proxy, a wrong
    ``base_url``, or someone in the middle) is a :class:`StytchAPIError` with that
    status whatever its body claims, and a 2xx here is a body that did not parse.
    """
    if status_code < 200 or 300 <= status_code < 400:
        # The body is not Stytch's: nothing of it is kept, not even its error_type.
        return StytchAPIError(
            status_code,
            error_message="an answer that is not a 2xx is never a success (redirects are "
            "not followed)",
        )
    data: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    error_type = _text(data.get("error_type")) or _text(data.get("error"))
    error_message = _text(data.get("error_message")) or _text(data.get("error_description"))
    request_id = _text(data.get("request_id"))
    body_status = data.get("status_code")
    status = body_status if isinstance(body_status, int) and body_status >= 400 else status_code
    fields: StytchErrorFields = {
        "error_type": error_type,
        "error_message": error_message,
        "request_id": request_id,
        "stytch_status": status,
        "retry_after": retry_after,
    }

    if status < 400:
        # Not an error answer at all (the SDK's fallback for a 2xx body it cannot parse).
        return StytchUnavailable(
            f"Stytch answered HTTP {status} with a body that does not parse", **fields
        )
    kind, reason = ERROR_TYPES.get(error_type or "", (None, None))
    if kind is None:
        kind, reason = _by_status(status, error_type)

    if kind is Unauthenticated:
        return Unauthenticated(reason or "rejected", _stytch_says(error_type), **fields)
    if kind is PermissionDenied:
        return PermissionDenied(
            context.resource or "unknown",
            context.action or "unknown",
            organization_id=context.organization_id,
            member_id=context.member_id,
            **fields,
        )
    if kind is TenancyError:
        return TenancyError(None, context.organization_id, member_id=context.member_id, **fields)
    if kind is Forbidden:
        return Forbidden(f"Stytch refused the call: {_stytch_says(error_type)}", **fields)
    if kind is StytchUnavailable:
        return StytchUnavailable(
            f"Stytch is unavailable (HTTP {status} {error_type or 'error'})", **fields
        )
    del fields["stytch_status"]
    return StytchAPIError(status, **fields)


def _by_status(status: int, error_type: str | None) -> tuple[type[StytchRBACError], str | None]:
    """The fallback for error types we do not know, by HTTP status."""
    if status == 401:
        return Unauthenticated, "rejected"
    if status == 404 and error_type is not None and "session" in error_type:
        return Unauthenticated, "revoked"
    if status == 403:
        if error_type is not None and "tenancy" in error_type:
            return TenancyError, None
        return Forbidden, None
    if status in (408, 429) or status >= 500:
        return StytchUnavailable, None
    return StytchAPIError, None


def _stytch_says(error_type: str | None) -> str:
    return f"Stytch answered {error_type}" if error_type else "Stytch rejected the credential"


@dataclass(slots=True)
class _LastResponse:
    """What the last response seen inside one :func:`translate_errors` block said."""

    status: int | None = None
    retry_after: float | None = None


#: The record of the innermost :func:`translate_errors` block (None outside one). The
#: adapter writes into the object, so a copy of the context (a child task) shares it.
_LAST_RESPONSE: ContextVar[_LastResponse | None] = ContextVar(
    "stytch_rbac_last_response", default=None
)


def note_response(response: httpx.Response) -> None:
    """Record ``response``'s status and ``Retry-After`` for the enclosing :func:`translate_errors`.

    A no-op outside one. The SDK adapter calls it for every response it hands the
    SDK, so that the ``StytchError`` the SDK raises from it can be translated with
    the ``Retry-After`` the SDK never reads.
    """
    record = _LAST_RESPONSE.get()
    if record is None:
        return
    from .http import parse_retry_after

    record.status = response.status_code
    record.retry_after = parse_retry_after(response.headers.get("Retry-After"), time.time())


def error_from_response(
    response: httpx.Response, context: ErrorContext = _NO_CONTEXT
) -> StytchRBACError:
    """:func:`error_from_stytch` for an httpx response (its body parsed leniently)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    from .http import parse_retry_after

    retry_after = parse_retry_after(response.headers.get("Retry-After"), time.time())
    return error_from_stytch(response.status_code, body, context, retry_after=retry_after)


@contextmanager
def translate_errors(
    *,
    resource: str | None = None,
    action: str | None = None,
    organization_id: str | None = None,
    member_id: str | None = None,
) -> Iterator[None]:
    """Re-raise whatever a call into Stytch raises as a :class:`StytchRBACError`.

    Our own exceptions pass through untouched. The keyword arguments name what
    was being attempted so that a denial carries the permission and member.
    """
    context = ErrorContext(resource, action, organization_id, member_id)
    record = _LastResponse()
    token = _LAST_RESPONSE.set(record)
    try:
        yield
    except StytchRBACError:
        raise
    except TimeoutError as exc:
        raise StytchUnavailable(f"Stytch did not answer in time ({type(exc).__name__})") from exc
    except Exception as exc:
        translated = _translate_sdk(exc, context, record)
        if translated is None:
            raise
        raise translated from exc
    finally:
        _LAST_RESPONSE.reset(token)


def _translate_sdk(
    exc: Exception, context: ErrorContext, record: _LastResponse
) -> StytchRBACError | None:
    """Our exception for an exception of httpx, the stytch SDK or PyJWT, or None.

    Those libraries are imported here only when one of their exceptions is
    being handled, so they have been imported by then. ``record`` is what the
    adapter noted of the last response (its status and ``Retry-After``).
    """
    module = type(exc).__module__
    if module.startswith("httpx"):
        return _translate_httpx(exc, context)
    if module.startswith("stytch."):
        from stytch.core.response_base import StytchError
        from stytch.shared import rbac_local

        if isinstance(exc, StytchError):
            details = exc.details
            body = dict(details.original_json or {})
            body.setdefault("status_code", details.status_code)
            body.setdefault("error_type", details.error_type)
            body.setdefault("error_message", details.error_message)
            body.setdefault("request_id", details.request_id)
            # The SDK made this StytchError from the last response the adapter noted.
            return error_from_stytch(
                details.status_code, body, context, retry_after=record.retry_after
            )
        if isinstance(exc, rbac_local.TenancyError):
            return TenancyError(exc.subject_org_id, exc.request_org_id, member_id=context.member_id)
        if isinstance(exc, rbac_local.RBACPermissionError):
            check = exc.authorization_check
            return PermissionDenied(
                getattr(check, "resource_id", None) or context.resource or "unknown",
                getattr(check, "action", None) or context.action or "unknown",
                organization_id=getattr(check, "organization_id", None) or context.organization_id,
                member_id=context.member_id,
            )
        if isinstance(exc, rbac_local.RBACConsumerPermissionError):
            return PermissionDenied(
                context.resource or "unknown",
                context.action or "unknown",
                member_id=context.member_id,
            )
        return None
    if module.startswith("jwt."):
        import jwt

        if isinstance(exc, jwt.PyJWKClientConnectionError):
            return StytchUnavailable("Stytch's JWKS could not be fetched")
        if isinstance(exc, jwt.ExpiredSignatureError):
            return Unauthenticated("expired", "the session JWT has expired")
        if isinstance(exc, jwt.DecodeError):
            return Unauthenticated("malformed", "the session JWT cannot be parsed")
        if isinstance(exc, jwt.PyJWKClientError | jwt.InvalidTokenError):
            return Unauthenticated("forged", "the session JWT does not verify")
        return None
    if _raised_parsing_a_response(exc):
        # The SDK parses a 2xx body into its model (pydantic); a body that does not
        # fit is a broken upstream, not something the caller did.
        return StytchUnavailable(
            "Stytch answered with a body that does not parse", stytch_status=record.status
        )
    return None


def _translate_httpx(exc: Exception, context: ErrorContext) -> StytchRBACError:
    """Our exception for any httpx exception (``exc``'s module is httpx's)."""
    import httpx  # already imported: it raised this

    _forget_credentials(exc)
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return StytchUnavailable(f"Stytch did not answer in time ({name})")
    if isinstance(exc, httpx.TransportError):
        return StytchUnavailable(f"Stytch unreachable ({name})")
    if isinstance(exc, httpx.RequestError):
        # DecodingError (a body that does not decode), TooManyRedirects.
        return StytchUnavailable(f"Stytch's answer could not be read ({name})")
    if isinstance(exc, httpx.HTTPStatusError):
        return error_from_response(exc.response, context)
    # InvalidURL, CookieConflict, StreamError: no exchange failed, our code did.
    return StytchRBACError(f"could not call Stytch ({name})")


#: Request headers that carry a credential: the project's Basic auth, a member's session.
_CREDENTIAL_HEADERS: Final = (
    "authorization",
    "x-stytch-member-session",
    "x-stytch-member-sessionjwt",
)


def _forget_credentials(exc: Exception) -> None:
    """Drop the credential headers from the request an httpx exception keeps: it becomes the
    ``__cause__`` of ours, and must not carry the ``Authorization: Basic`` header along."""
    try:
        request = exc.request  # type: ignore[attr-defined]  # httpx's RequestError / HTTPStatusError
    except (AttributeError, RuntimeError):  # no request attached
        return
    for name in _CREDENTIAL_HEADERS:
        request.headers.pop(name, None)


def _raised_parsing_a_response(exc: BaseException) -> bool:
    """Whether ``exc`` came out of the SDK's response parsing (``ResponseBase.from_json``):
    pydantic's ValidationError for a 2xx body that lacks a field, a TypeError for one
    that is not an object."""
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name == "from_json" and code.co_filename.endswith("response_base.py"):
            return True
        tb = tb.tb_next
    return False
