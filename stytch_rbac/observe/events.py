"""What an observer of stytch-rbac receives: one frozen event per decision and per authentication.

Events carry facts only this library has at no network cost (the policy's
sha256, how old the cached policy is, whether it was served past its TTL, the
token kind), and never a credential: no JWT, no session token, no secret.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from time import perf_counter, time
from typing import Any, ClassVar, Final, cast

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
    (empty on a denial), or for an agent or a service (``principal_kind``, with
    ``client_id``) the token's scopes that grant it. ``policy_sha256`` is the project
    policy's canonical hash, ``policy_age`` how many seconds before the decision it was fetched,
    ``policy_stale`` whether it was served past ``policy_ttl`` (Stytch unreachable, or
    a refresh still running); None, None and False when no policy was at hand
    (``reason`` is then ``unavailable``). ``duration`` is the decision's monotonic
    time in seconds, the policy look-up included.

    Built on the request path, so the event keeps what the decision captured and works
    out each field when a sink first reads it (the granting roles and the policy hash
    separately, the rest together), from values taken at the decision: a sink sees
    exactly what it would have seen had they been computed then. (On the system clock
    the decision's ``time.time()``, from which ``policy_age`` is counted, is worked out
    from its monotonic end when first read: see :func:`system_time_at`.)
    """

    __slots__ = ("_client", "_granted", "_raw", "_sha", "_v")

    # Made by the constructor: set at once. Made by the observer (_RAW_FIELDS in _raw):
    # each is filled on first read, by __getattr__.
    _v: tuple[Any, ...]  # the fields of DECISION_FIELDS but granted_by and policy_sha256
    _granted: tuple[str, ...]
    _sha: str | None
    _raw: tuple[Any, ...]
    _client: str | None  # set by the constructor only (agents and services); else None
    #: Whether ``_raw`` holds the compact capture of Observer.allows (see _Checked).
    _compact: ClassVar[bool] = False

    def __init__(
        self,
        *,
        source: DecisionSource,
        principal_kind: str = "member",
        principal_id: str,
        organization_id: str | None,
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
        client_id: str | None = None,
    ) -> None:
        _set_v(
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
        )
        _set_granted(self, tuple(granted_by))
        _set_sha(self, policy_sha256)
        _set_client(self, client_id)

    def __getattr__(self, name: str) -> Any:
        # Reached only for a slot not filled yet: an observer-made event's first read.
        if name == "_v":
            return _work_out_fields(self)
        if name == "_granted":
            return _work_out_granted(self)
        if name == "_sha":
            return _work_out_sha(self)
        if name == "_client":
            return None  # an observer-made event: a member session's
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

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
        """``member`` (a session), ``agent`` (a Connected-App token) or ``service`` (M2M)."""
        return cast("str", self._v[1])

    @property
    def principal_id(self) -> str:
        """The member id (an agent's member), or a service's client id."""
        return cast("str", self._v[2])

    @property
    def organization_id(self) -> str | None:
        """The principal's own organization (None for a service, which has none)."""
        return cast("str | None", self._v[3])

    @property
    def client_id(self) -> str | None:
        """The Connected App's or M2M client's id, for an agent or a service; else None."""
        return self._client

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
        """The principal's roles granting it, sorted (empty on a denial); for an agent or a
        service, the token's scopes granting it."""
        return self._granted

    @property
    def policy_sha256(self) -> str | None:
        """The project policy's canonical sha256."""
        return self._sha

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
    "client_id",
)

_set_v = DecisionEvent.__dict__["_v"].__set__
_set_granted = DecisionEvent.__dict__["_granted"].__set__
_set_sha = DecisionEvent.__dict__["_sha"].__set__
_set_client = DecisionEvent.__dict__["_client"].__set__


class _Captured(DecisionEvent):
    """A :class:`DecisionEvent` made by the observer: the same class to every reader, with
    the C ``__init__`` of ``object``, so making one is a plain call (``object.__new__``
    with a class costs half as much again).

    Its ``__setattr__`` and ``__delattr__`` are ``object``'s (one C slot serves both), so
    the observer fills ``_raw`` with a plain ``event._raw = raw``, which the interpreter
    specializes into a direct slot store (calling the slot's ``__set__`` costs some 60 ns
    more, per decision). Still read-only to its readers: every public field is a property
    without a setter or deleter (assigning or deleting one raises AttributeError), there
    is no ``__dict__`` for a new attribute, and only the private slots hold state.
    """

    __slots__ = ()
    __init__ = object.__init__
    __setattr__ = object.__setattr__  # type: ignore[assignment]  # C's, with its signature
    __delattr__ = object.__delattr__


class _Checked(_Captured):
    """A :class:`_Captured` from the fast path of ``Observer.allows`` (one sink, every
    allow reported, the system clock), which captures less (:data:`_CHECKED_FIELDS`):
    the reason and the granting roles follow from ``allowed`` (no grant, or the policy
    to ask), the decision's time from its monotonic end, and there is no ``method``."""

    __slots__ = ()
    _compact = True


_new_event: Final = _Captured
_new_checked_event: Final = _Checked
#: A new event of the fast path, to fill with ``event._raw = (...)`` in the layout of
#: :data:`_CHECKED_FIELDS`: for the guard, which inlines that path (``Observer.guard_sink``).
new_checked_event: Final = _Checked

#: What the observer captures at a decision, in this order (see :func:`new_decision_event`).
_RAW_FIELDS: Final = (
    "source",
    "principal_id",
    "organization_id",
    "requested_organization_id",
    "resource",
    "action",
    "allowed",
    "reason",
    "granted",  # a tuple, a Lazy, or the CompiledPolicy to ask (allows: with roles)
    "roles",
    "held",  # the held project policy (.value, .fetched_at, never changed), or None
    "now",  # the facade clock's time at the decision; None for the system clock (see below)
    "started",
    "ended",
    "route",
    "method",
    "observer",  # its strict, policy_ttl and sha256_of (set once, at its creation)
)


#: What the fast path of ``Observer.allows`` captures, in this order (see :class:`_Checked`).
_CHECKED_FIELDS: Final = (
    "source",
    "principal_id",
    "organization_id",
    "requested_organization_id",
    "resource",
    "action",
    "allowed",
    "compiled",  # the policy that decided
    "roles",
    "held",
    "started",
    "ended",
    "route",
    "observer",
)


def _captured(event: DecisionEvent) -> tuple[Any, ...]:
    """What ``event`` captured, as :data:`_RAW_FIELDS`."""
    raw = event._raw
    if not event._compact:
        return raw
    (
        source, principal_id, organization_id, requested, resource, action, allowed,
        compiled, roles, held, started, ended, route, observer,
    ) = raw  # fmt: skip
    return (
        source, principal_id, organization_id, requested, resource, action, allowed,
        None if allowed else DenialReason.NO_GRANT, compiled if allowed else (), roles, held,
        None, started, ended, route, None, observer,
    )  # fmt: skip


def new_decision_event(raw: tuple[Any, ...]) -> DecisionEvent:
    """A :class:`DecisionEvent` from what a decision captured (:data:`_RAW_FIELDS`, in
    order): the observer's fast path, which leaves every computed field to the first read."""
    event: DecisionEvent = _new_event()
    event._raw = raw
    return event


def system_time_at(monotonic: float) -> float:
    """The system clock's time (``time.time()``) when ``time.perf_counter()`` read
    ``monotonic``: the two clocks' offset taken now.

    How an event works out its decision's ``time.time()`` from the decision's monotonic
    end instead of reading the clock at every decision (some 50 ns). The same value,
    to a fraction of a microsecond, unless the system clock was set (or slewed by NTP,
    at most 0.05%) between the decision and the first read of the event's policy age:
    a sink that reads an event as it gets it sees exactly the decision's age.
    """
    return monotonic + (time() - perf_counter())


def _work_out_fields(event: DecisionEvent) -> tuple[Any, ...]:
    (
        source, principal_id, organization_id, requested, resource, action, allowed, reason,
        _granted, _roles, held, now, started, ended, route, method, observer,
    ) = _captured(event)  # fmt: skip
    if now is None:  # the facade runs on the system clock: see system_time_at()
        now = system_time_at(ended)
    if held is None:
        age: float | None = None
        stale = False
    else:
        age = now - held.fetched_at
        if age < 0.0:  # a clock moved back: not "fetched in the future"
            age = 0.0
        stale = age > observer.policy_ttl
    values = (
        source, "member", principal_id, organization_id, requested, str(resource),
        str(action), allowed, reason, age, stale, observer.strict, route, method,
        ended - started,
    )  # fmt: skip
    _set_v(event, values)
    return values


def _work_out_granted(event: DecisionEvent) -> tuple[str, ...]:
    raw = _captured(event)
    granted = raw[8]
    if isinstance(granted, list):  # a Lazy
        function, *arguments = granted
        granted = tuple(function(*arguments))
    elif not isinstance(granted, tuple):  # the policy that allowed it, to name the roles
        granted = tuple(sorted(granted.decide(raw[9], raw[4], raw[5]).granted_by))
    _set_granted(event, granted)
    return cast("tuple[str, ...]", granted)


def _work_out_sha(event: DecisionEvent) -> str | None:
    raw = _captured(event)
    held = raw[10]
    sha = None if held is None else raw[16].sha256_of(held.value)
    _set_sha(event, sha)
    return cast("str | None", sha)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthenticationEvent:
    """One authentication, as :class:`~stytch_rbac.StytchRBAC`'s ``on_authentication`` gets it.

    ``credential`` is ``session_jwt``, ``session_token`` or ``access_token``
    (``authenticate_access_token()``); ``source`` where it came
    from (``header``, ``cookie``, or ``argument`` for a direct ``authenticate()`` call);
    ``answered_by`` is ``memo`` (a JWT verified before), ``local`` (RS256 verified
    here) or ``stytch`` (``sessions/authenticate``). ``reason`` is
    :attr:`Unauthenticated.reason <stytch_rbac.Unauthenticated>` on a refusal.
    ``principal_kind`` is ``member`` (a session), ``agent`` (a Connected-App token:
    ``principal_id`` is the member, ``client_id`` the app) or ``service`` (an M2M token:
    ``principal_id`` and ``client_id`` are the client's id).
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
    client_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able ``dict`` (enums as their values)."""
        return _plain(asdict(self))


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.value if isinstance(v, StrEnum) else list(v) if isinstance(v, tuple) else v)
        for k, v in values.items()
    }
