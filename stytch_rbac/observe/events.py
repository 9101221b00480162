"""What an observer of stytch-rbac receives: one frozen event per decision and per authentication.

Events carry facts only this library has at no network cost (the policy's
sha256, how old the cached policy is, whether it was served past its TTL, the
token kind), and never a credential: no JWT, no session token, no secret.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Final, cast

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


#: A value worked out on first read: ``[function, *arguments]`` (a list, which no final
#: value is: building it costs less than a closure on the request path).
Lazy = list[Any]


class DecisionEvent:
    """One permission decision, as :class:`~stytch_rbac.StytchRBAC`'s ``on_decision`` gets it.

    Immutable. ``granted_by`` names the principal's roles that grant the permission
    (empty on a denial). ``policy_sha256`` is the project policy's canonical hash,
    ``policy_age`` how many seconds before the decision it was fetched,
    ``policy_stale`` whether it was served past ``policy_ttl`` (Stytch unreachable, or
    a refresh still running); None, None and False when no policy was at hand
    (``reason`` is then ``unavailable``). ``duration`` is the decision's monotonic
    time in seconds, the policy look-up included.

    Built on the request path, so the fields a sink may never read (the granting
    roles, the policy hash) are worked out when first read, from values taken at the
    decision: a sink sees exactly what it would have seen had they been computed then.
    """

    __slots__ = ("_granted", "_sha", "_v")

    _v: tuple[Any, ...]
    # Set on first read, from _v[15] / _v[16]: the value or a ``Lazy`` to work it out.
    _granted: tuple[str, ...]
    _sha: str | None

    def __init__(
        self,
        *,
        source: DecisionSource,
        principal_kind: str = "member",
        principal_id: str,
        organization_id: str,
        requested_organization_id: str | None,
        resource: str,
        action: str,
        allowed: bool,
        reason: DenialReason | None,
        granted_by: tuple[str, ...] = (),
        policy_sha256: str | None = None,
        policy_age: float | None = None,
        policy_stale: bool = False,
        strict: bool = True,
        route: str | None = None,
        method: str | None = None,
        duration: float = 0.0,
    ) -> None:
        set_fields(
            self,
            (
                source,
                principal_kind,
                principal_id,
                organization_id,
                requested_organization_id,
                resource,
                action,
                allowed,
                reason,
                policy_age,
                policy_stale,
                strict,
                route,
                method,
                duration,
            ),
            granted_by,
            policy_sha256,
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"DecisionEvent is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"DecisionEvent is immutable (cannot delete {name!r})")

    @property
    def source(self) -> DecisionSource:
        """Which entry point decided."""
        return cast("DecisionSource", self._v[0])

    @property
    def principal_kind(self) -> str:
        """``member`` (a session)."""
        return cast("str", self._v[1])

    @property
    def principal_id(self) -> str:
        """The member id."""
        return cast("str", self._v[2])

    @property
    def organization_id(self) -> str:
        """The principal's own organization."""
        return cast("str", self._v[3])

    @property
    def requested_organization_id(self) -> str | None:
        """The organization the request was about, when one was named."""
        return cast("str | None", self._v[4])

    @property
    def resource(self) -> str:
        """The resource id."""
        return cast("str", self._v[5])

    @property
    def action(self) -> str:
        """The action."""
        return cast("str", self._v[6])

    @property
    def allowed(self) -> bool:
        """Whether it was allowed."""
        return cast("bool", self._v[7])

    @property
    def reason(self) -> DenialReason | None:
        """Why it was denied (None when allowed)."""
        return cast("DenialReason | None", self._v[8])

    @property
    def granted_by(self) -> tuple[str, ...]:
        """The principal's roles granting it, sorted (empty on a denial)."""
        try:
            return self._granted
        except AttributeError:  # first read: work it out from what the decision left
            granted = self._v[15]
            if isinstance(granted, list):
                function, *arguments = granted
                granted = tuple(function(*arguments))
            _set_granted(self, granted)
            return cast("tuple[str, ...]", granted)

    @property
    def policy_sha256(self) -> str | None:
        """The project policy's canonical sha256."""
        try:
            return self._sha
        except AttributeError:  # first read
            sha = self._v[16]
            if isinstance(sha, list):
                function, *arguments = sha
                sha = function(*arguments)
            _set_sha(self, sha)
            return cast("str | None", sha)

    @property
    def policy_age(self) -> float | None:
        """Seconds since the project policy was fetched, at the decision."""
        return cast("float | None", self._v[9])

    @property
    def policy_stale(self) -> bool:
        """Whether the policy was served past ``policy_ttl``."""
        return cast("bool", self._v[10])

    @property
    def strict(self) -> bool:
        """The facade's strict mode."""
        return cast("bool", self._v[11])

    @property
    def route(self) -> str | None:
        """The guard's route template (or path), for guard decisions."""
        return cast("str | None", self._v[12])

    @property
    def method(self) -> str | None:
        """The built-in Stytch call a pre-flight decided for (``organizations.update``...)."""
        return cast("str | None", self._v[13])

    @property
    def duration(self) -> float:
        """Monotonic seconds the decision took, the policy look-up included."""
        return cast("float", self._v[14])

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able ``dict`` of every field (enums as their values)."""
        return _plain({name: getattr(self, name) for name in DECISION_FIELDS})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DecisionEvent):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name) for name in DECISION_FIELDS))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in DECISION_FIELDS)
        return f"DecisionEvent({fields})"


#: The fields of a :class:`DecisionEvent`, in order.
DECISION_FIELDS: Final = (
    "source",
    "principal_kind",
    "principal_id",
    "organization_id",
    "requested_organization_id",
    "resource",
    "action",
    "allowed",
    "reason",
    "granted_by",
    "policy_sha256",
    "policy_age",
    "policy_stale",
    "strict",
    "route",
    "method",
    "duration",
)

_set_v = DecisionEvent.__dict__["_v"].__set__
_set_granted = DecisionEvent.__dict__["_granted"].__set__
_set_sha = DecisionEvent.__dict__["_sha"].__set__
_new_event = object.__new__


def set_fields(
    event: DecisionEvent,
    values: tuple[Any, ...],
    granted_by: tuple[str, ...] | Lazy,
    policy_sha256: str | Lazy | None,
) -> None:
    """Fill ``event`` (bypassing immutability, once): ``values`` in the order of
    :data:`DECISION_FIELDS` without ``granted_by`` and ``policy_sha256``, each given
    as its value or as a :data:`Lazy` ``[function, *arguments]`` called on first read."""
    _set_v(event, (*values, granted_by, policy_sha256))


def new_decision_event(values: tuple[Any, ...]) -> DecisionEvent:
    """A :class:`DecisionEvent` without the keyword-argument cost of its constructor (the
    observer's fast path): ``values`` as for :func:`set_fields`, then ``granted_by`` and
    ``policy_sha256``."""
    event: DecisionEvent = _new_event(DecisionEvent)
    _set_v(event, values)
    return event


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
