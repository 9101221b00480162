"""Every exception stytch-rbac raises.

```
StytchRBACError                     base: one except clause catches everything we raise
├── PolicyError (+ValueError)       a policy document we cannot decide with
├── Unauthenticated                 .reason: missing | malformed | expired | forged | ...
├── Forbidden                       a valid session may not do this
│   ├── PermissionDenied            .resource, .action, .organization_id, .member_id
│   ├── TenancyError                the member's org is not the org asked about
│   ├── InsufficientScope           an access token lacks scopes a route requires (.missing)
│   └── CrossSiteRequest            a cross-site request carried the session cookie (CSRF)
├── UnknownPermission (+LookupError) resource/action not in the policy (strict mode)
├── StytchUnavailable               nothing fresh enough to decide; Stytch down, slow, 429, 5xx
└── StytchAPIError                  any other error answer from Stytch (404, 400, ...)
```

The HTTP status a web app answers each of them with is chosen in one place,
the table of :mod:`stytch_rbac.integrations.responses`, not here.
:attr:`StytchAPIError.status_code` is the status *Stytch* answered.

Errors that come from a Stytch response keep Stytch's ``error_type``,
``error_message``, ``request_id`` and HTTP status (``stytch_status``), and a
:class:`StytchUnavailable` keeps Stytch's ``Retry-After`` (``retry_after``, seconds);
the keyword arguments are the :class:`StytchErrorFields` every class accepts.
No message or ``repr`` ever contains a session token, a JWT or the project
secret: messages are built here, from ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

if TYPE_CHECKING:
    from .policy.problems import PolicyProblem

__all__ = [
    "CrossSiteRequest",
    "Forbidden",
    "InsufficientScope",
    "PermissionDenied",
    "PolicyError",
    "PolicyWarning",
    "StytchAPIError",
    "StytchRBACError",
    "StytchUnavailable",
    "TenancyError",
    "Unauthenticated",
    "UnknownPermission",
]


class StytchErrorFields(TypedDict, total=False):
    """What an error keeps of Stytch's answer, when it comes from one (keyword arguments)."""

    #: Stytch's ``error_type`` (``session_authorization_error``, ...).
    error_type: str | None
    #: Stytch's human-readable ``error_message``.
    error_message: str | None
    #: Stytch's ``request_id``, for Stytch support.
    request_id: str | None
    #: The HTTP status Stytch answered with.
    stytch_status: int | None
    #: Seconds Stytch asked callers to wait (its ``Retry-After``), when it said.
    retry_after: float | None


class StytchRBACError(Exception):
    """Base class of every exception raised by stytch-rbac."""

    def __init__(self, message: str, **stytch: Unpack[StytchErrorFields]) -> None:
        super().__init__(message)
        self.message: str = message
        self.error_type: str | None = stytch.get("error_type")
        self.error_message: str | None = stytch.get("error_message")
        self.request_id: str | None = stytch.get("request_id")
        self.stytch_status: int | None = stytch.get("stytch_status")
        self.retry_after: float | None = stytch.get("retry_after")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class PolicyError(StytchRBACError, ValueError):
    """An RBAC policy document is malformed in a way no decision can be trusted on.

    ``problems`` holds the :class:`~stytch_rbac.policy.problems.PolicyProblem`
    records behind it (every error found; the message names the first), empty
    when the document is not a policy at all (not JSON, a wrong type).
    """

    def __init__(
        self,
        message: str,
        *,
        problems: Sequence[PolicyProblem] = (),
        **stytch: Unpack[StytchErrorFields],
    ) -> None:
        super().__init__(message, **stytch)
        self.problems: tuple[PolicyProblem, ...] = tuple(problems)


class PolicyWarning(UserWarning):
    """A policy oddity Stytch itself accepts: decisions stay correct, but look at it.

    The library never emits it: oddities are data (``CompiledPolicy.problems``);
    ``PolicyProblem.warn()`` emits one for an application that wants warnings.
    """


class Unauthenticated(StytchRBACError):
    """The request carries no valid Stytch session."""

    def __init__(
        self,
        reason: str,
        detail: str | None = None,
        **stytch: Unpack[StytchErrorFields],
    ) -> None:
        #: A short machine-readable code: missing, malformed, expired, forged,
        #: revoked, invalid_claims, stytch_rejected, ...
        self.reason: str = reason
        message = f"not authenticated ({reason})" + (f": {detail}" if detail else "")
        super().__init__(message, **stytch)

    #: Set by a guard built with ``resource_metadata=``: the URL of the RFC 9728 protected
    #: resource metadata, answered in the 401's ``WWW-Authenticate`` (MCP clients read it).
    resource_metadata: str | None = None


class Forbidden(StytchRBACError):
    """The session is valid but may not do what it asked."""

    #: Set by a guard built with ``explain=True`` on its refusals: the reason and the
    #: roles that would grant the permission, answered in the 403 body
    #: (``application/problem+json``). None otherwise.
    explanation: Mapping[str, Any] | None = None
    #: Set by a guard refusing an access token (an agent or a service): the scopes that would
    #: grant what it refused, answered as ``WWW-Authenticate: Bearer
    #: error="insufficient_scope", scope="..."`` (RFC 6750 section 3.1). None otherwise.
    scopes: frozenset[str] | None = None
    #: As :attr:`Unauthenticated.resource_metadata`, on a refusal of an access token.
    resource_metadata: str | None = None


class PermissionDenied(Forbidden):
    """No role of the member (no scope of an access token) grants the action on the resource."""

    def __init__(
        self,
        resource: str,
        action: str,
        *,
        organization_id: str | None = None,
        member_id: str | None = None,
        client_id: str | None = None,
        **stytch: Unpack[StytchErrorFields],
    ) -> None:
        self.resource: str = str(resource)
        self.action: str = str(action)
        self.organization_id: str | None = organization_id
        self.member_id: str | None = member_id
        #: The Connected App or M2M client whose access token was refused (None: a session).
        self.client_id: str | None = client_id
        who = member_id or (f"client {client_id}" if client_id else "the member")
        where = f" in organization {organization_id}" if organization_id else ""
        super().__init__(
            f"{who} may not {self.action!r} on {self.resource!r}{where}",
            **stytch,
        )


class TenancyError(Forbidden):
    """The member's organization is not the organization the request is about.

    For a service (an M2M client, which belongs to no organization) ``client_id`` names it
    and ``detail`` says why it may not act there (and how to map clients to organizations).
    """

    def __init__(
        self,
        member_organization_id: str | None,
        requested_organization_id: str | None,
        *,
        member_id: str | None = None,
        client_id: str | None = None,
        detail: str | None = None,
        **stytch: Unpack[StytchErrorFields],
    ) -> None:
        self.member_organization_id: str | None = member_organization_id
        self.requested_organization_id: str | None = requested_organization_id
        self.organization_id: str | None = requested_organization_id
        self.member_id: str | None = member_id
        self.client_id: str | None = client_id
        message = detail or (
            f"member of organization {member_organization_id} may not act in organization "
            f"{requested_organization_id}"
        )
        super().__init__(message, **stytch)


class InsufficientScope(Forbidden):
    """An access token (a Connected App's or an M2M client's) lacks scopes a route requires
    by name (``rbac.require_scopes(...)``): ``missing`` are the ones it does not hold."""

    def __init__(
        self,
        missing: Sequence[str],
        *,
        required: Sequence[str] = (),
        client_id: str | None = None,
        **stytch: Unpack[StytchErrorFields],
    ) -> None:
        self.missing: tuple[str, ...] = tuple(sorted(str(s) for s in missing))
        self.required: tuple[str, ...] = tuple(str(s) for s in required) or self.missing
        self.client_id: str | None = client_id
        self.scopes = frozenset(self.required)
        who = f"client {client_id}" if client_id else "the access token"
        super().__init__(f"{who} lacks scope {' '.join(self.missing)}", **stytch)


class CrossSiteRequest(Forbidden):
    """An unsafe request from another origin presented the session cookie (CSRF protection).

    ``reason`` says what showed it: ``sec_fetch_site`` (the browser's
    ``Sec-Fetch-Site`` header said ``cross-site`` or ``same-site``) or
    ``origin_mismatch`` (no ``Sec-Fetch-Site``; the ``Origin`` header names
    another host than the request's ``Host``). ``origin`` is the ``Origin``
    header as sent, if any (for logs; it is the attacker's text, so it is kept
    out of the message).
    """

    def __init__(
        self,
        reason: str,
        *,
        origin: str | None = None,
        **stytch: Unpack[StytchErrorFields],
    ) -> None:
        self.reason: str = reason
        self.origin: str | None = origin
        super().__init__(
            f"cross-site request refused ({reason}): the session cookie is not accepted from "
            "another origin on an unsafe method or a WebSocket handshake",
            **stytch,
        )


class UnknownPermission(StytchRBACError, LookupError):
    """The resource or action is not defined in the policy: a typo, or drift."""

    def __init__(self, resource: str, action: str | None = None) -> None:
        self.resource: str = str(resource)
        self.action: str | None = None if action is None else str(action)
        if self.action is None:
            message = f"resource {self.resource!r} is not defined in the RBAC policy"
        else:
            message = (
                f"action {self.action!r} is not defined on resource {self.resource!r} "
                "in the RBAC policy"
            )
        super().__init__(message)


class StytchUnavailable(StytchRBACError):
    """Stytch could not answer usefully (down, slow, rate limiting) and nothing cached will do."""


class StytchAPIError(StytchRBACError):
    """Stytch answered a call with an error other than an authentication or authorization one."""

    def __init__(self, status_code: int, **stytch: Unpack[StytchErrorFields]) -> None:
        #: The HTTP status Stytch answered with (also ``stytch_status``).
        self.status_code: int = status_code
        stytch.setdefault("stytch_status", status_code)
        error_type = stytch.get("error_type") or "unknown"
        detail = stytch.get("error_message") or ""
        super().__init__(f"Stytch error {status_code} {error_type}: {detail}".rstrip(), **stytch)
