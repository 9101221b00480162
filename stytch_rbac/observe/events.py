"""What an observer of stytch-rbac receives: one frozen event per decision and per authentication.

Events carry facts only this library has at no network cost (the policy's
sha256, how old the cached policy is, whether it was served past its TTL, the
token kind), and never a credential: no JWT, no session token, no secret.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "AuthenticationEvent",
    "AuthenticationOutcome",
    "DecisionEvent",
    "DecisionSource",
    "DenialReason",
]


class DenialReason(StrEnum):
    """Why a decision denied (or could not be made)."""

    NO_GRANT = "no_grant"
    """No role (or scope) of the principal grants the permission."""
    TENANCY = "tenancy"
    """The request is about another organization than the principal's."""
    UNKNOWN_PERMISSION = "unknown_permission"
    """Strict mode: the policy does not define the resource or the action."""
    UNAVAILABLE = "unavailable"
    """No policy young enough was at hand (Stytch unreachable): failed closed."""


class DecisionSource(StrEnum):
    """Which entry point made a decision."""

    IS_AUTHORIZED = "is_authorized"
    AUTHORIZE = "authorize"
    EXPLAIN = "explain"
    GUARD = "guard"
    PREFLIGHT = "preflight"
    """The local check before a built-in Stytch call made as a member."""


class AuthenticationOutcome(StrEnum):
    """How an authentication ended."""

    AUTHENTICATED = "authenticated"
    REFUSED = "refused"
    """The credential was missing, malformed, forged, expired or revoked (401)."""
    UNAVAILABLE = "unavailable"
    """Stytch was needed and unreachable (503)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionEvent:
    """One permission decision, as :class:`~stytch_rbac.StytchRBAC`'s ``on_decision`` gets it.

    ``granted_by`` names the principal's roles that grant the permission (empty on a
    denial). ``policy_sha256`` is the project policy's canonical hash, ``policy_age`` how
    many seconds ago it was fetched, ``policy_stale`` whether it was served past
    ``policy_ttl`` (Stytch unreachable, or a refresh still running). These three are
    None when no policy was at hand (``reason`` is then ``unavailable``). ``duration``
    is the decision's monotonic time in seconds, the policy look-up included.
    """

    source: DecisionSource
    principal_kind: str
    principal_id: str
    organization_id: str
    requested_organization_id: str | None
    resource: str
    action: str
    allowed: bool
    reason: DenialReason | None
    granted_by: tuple[str, ...]
    policy_sha256: str | None
    policy_age: float | None
    policy_stale: bool
    strict: bool
    route: str | None
    method: str | None
    """The built-in Stytch call a pre-flight decided for (``organizations.update``...)."""
    duration: float

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able ``dict`` (enums as their values)."""
        return _plain(asdict(self))


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthenticationEvent:
    """One authentication, as :class:`~stytch_rbac.StytchRBAC`'s ``on_authentication`` gets it.

    ``credential`` is ``session_jwt`` or ``session_token``; ``source`` where it came
    from (``header``, ``cookie``, or ``argument`` for a direct ``authenticate()`` call);
    ``answered_by`` is ``memo`` (a JWT verified before), ``local`` (RS256 verified
    here) or ``stytch`` (``sessions/authenticate``). ``reason`` is
    :attr:`Unauthenticated.reason <stytch_rbac.Unauthenticated>` on a refusal.
    """

    outcome: AuthenticationOutcome
    reason: str | None
    credential: str | None
    source: str
    answered_by: str | None
    jwt_refreshed: bool
    principal_kind: str | None
    principal_id: str | None
    organization_id: str | None
    duration: float

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able ``dict`` (enums as their values)."""
        return _plain(asdict(self))


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.value if isinstance(v, StrEnum) else list(v) if isinstance(v, tuple) else v)
        for k, v in values.items()
    }
