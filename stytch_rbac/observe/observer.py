"""The hub between the decision paths and whoever observes them (callbacks, OpenTelemetry).

:class:`~stytch_rbac.StytchRBAC` builds one :class:`Observer` when it is given
``on_decision`` or ``on_authentication`` (or when :func:`stytch_rbac.observe.otel.instrument`
attaches metrics), and none otherwise: with no observer, a decision pays one
``is None`` test. The facade, the guards and the member pre-flight all report
through it, so every decision path produces the same event.

A sink that raises is logged once (with its traceback) and then counted, never
raised into the request: observing never changes a decision.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from contextvars import ContextVar
from time import perf_counter, time
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from ..errors import UnknownPermission
from ..principal import AgentPrincipal, AnyPrincipal, Principal, ServicePrincipal
from .events import (
    AuthenticationEvent,
    AuthenticationOutcome,
    DecisionEvent,
    DecisionSource,
    DenialReason,
    Lazy,
    _new_checked_event,
    new_decision_event,
)

if TYPE_CHECKING:
    from ..policy import CompiledPolicy

__all__ = [
    "CREDENTIAL_SOURCE",
    "STYTCH_REQUEST_ID",
    "Tracing",
    "DecisionSampling",
    "Observer",
    "PolicyFacts",
    "check_sampling",
    "no_grants",
]

# Enum members read once: a member look-up on the class costs ~100 ns on Python 3.11.
_NO_GRANT: Final = DenialReason.NO_GRANT
_UNAVAILABLE: Final = DenialReason.UNAVAILABLE
_UNKNOWN_PERMISSION: Final = DenialReason.UNKNOWN_PERMISSION

logger: logging.Logger = logging.getLogger("stytch_rbac")

#: ``"denials"``: allows are not reported; ``"all"``: every decision; a float in
#: (0, 1]: that share of allows, chosen at random. Denials are always reported.
DecisionSampling = Literal["denials", "all"] | float

#: ``(policy_sha256, policy_age, policy_stale)`` of the project policy in force.
PolicyFacts = tuple[str | None, float | None, bool]


def _sha256_of(compiled: CompiledPolicy) -> str:
    return compiled.sha256()


#: ``granted_by`` of a denial.
no_grants: Final[tuple[str, ...]] = ()


#: Where the credential being authenticated came from; the guards set it around
#: ``authenticate()`` so the event says ``header`` or ``cookie``.
CREDENTIAL_SOURCE: Final[ContextVar[str]] = ContextVar(
    "stytch_rbac_credential_source", default="argument"
)

#: Stytch's ``request_id`` of the last answer parsed in this task (the seam sets it), so a
#: span around a remote call can carry it.
STYTCH_REQUEST_ID: Final[ContextVar[str | None]] = ContextVar(
    "stytch_rbac_stytch_request_id", default=None
)


class HeldPolicy(Protocol):
    """The project policy a cache holds and when it was fetched (by the facade's clock);
    neither changes once held (a refresh holds a new one)."""

    @property
    def value(self) -> CompiledPolicy:
        """The compiled project policy."""
        ...

    @property
    def fetched_at(self) -> float:
        """When it was fetched."""
        ...


class Tracing(Protocol):
    """Spans around remote calls (:class:`stytch_rbac.observe.otel.Telemetry` is one)."""

    def span(self, operation: str) -> AbstractContextManager[None]:
        """A span for one remote operation (``rbac.policy``, ``sessions.authenticate``...)."""
        ...


DecisionSink = Callable[[DecisionEvent], object]
AuthenticationSink = Callable[[AuthenticationEvent], object]


def check_sampling(decisions: object) -> DecisionSampling:
    """``decisions`` if it is a valid :data:`DecisionSampling`, else ValueError naming it."""
    if decisions in ("denials", "all"):
        return decisions
    if (
        isinstance(decisions, (int, float))
        and not isinstance(decisions, bool)
        and 0 < decisions <= 1
    ):
        return float(decisions)
    raise ValueError(
        f'decisions= takes "denials", "all" or a sampling rate in (0, 1], got {decisions!r}'
    )


class Observer:
    """Delivers events to sinks; see the module docs.

    ``policy_snapshot`` returns the project policy held (a :class:`HeldPolicy`: it and
    when it was fetched by the facade's clock, ``now`` its current time), or None;
    ``policy_ttl`` is the age past which it is stale; ``strict`` is the facade's strict
    mode. ``rate`` picks the allows reported when ``decisions`` is a sampling rate (a
    function returning [0, 1), for tests). ``sha256_of`` gives a policy's canonical hash
    (the facade passes its memoized one, also behind ``policy_facts()``).
    """

    __slots__ = (
        "_allow_rate",
        "_allow_sink",
        "_authentication_sinks",
        "_decision_sinks",
        "_deny_sink",
        "_failures",
        "_now",
        "_policy_snapshot",
        "_rate",
        "_sole_sink",
        "guard_sink",
        "held_policy",
        "policy_ttl",
        "sha256_of",
        "strict",
    )

    def __init__(
        self,
        *,
        policy_snapshot: Callable[[], HeldPolicy | None],
        now: Callable[[], float],
        policy_ttl: float,
        strict: bool,
        decisions: DecisionSampling = "all",
        rate: Callable[[], float] = random.random,
        sha256_of: Callable[[CompiledPolicy], str] | None = None,
    ) -> None:
        sampling = check_sampling(decisions)
        self._allow_rate: float = (
            0.0 if sampling == "denials" else 1.0 if sampling == "all" else float(sampling)
        )
        self._decision_sinks: list[DecisionSink] = []
        #: The one decision sink when there is exactly one (the common case), else None.
        self._sole_sink: DecisionSink | None = None
        self._authentication_sinks: list[AuthenticationSink] = []
        self._failures: dict[int, int] = {}
        self._policy_snapshot = policy_snapshot
        #: ``policy_snapshot`` itself, for the guard's inlined fast path (see guard_sink).
        self.held_policy: Callable[[], HeldPolicy | None] = policy_snapshot
        #: The facade clock, or None for the system clock (``time.time`` itself): an event
        #: then works its decision's time out from the monotonic end when first read
        #: (:func:`~stytch_rbac.observe.events.system_time_at`), a clock read less here.
        self._now: Callable[[], float] | None = None if now is time else now
        self._rate = rate
        #: The canonical sha256 of a compiled policy's policy (the facade's, remembered).
        self.sha256_of: Callable[[CompiledPolicy], str] = sha256_of or _sha256_of
        self.policy_ttl: float = float(policy_ttl)
        self.strict: bool = strict
        #: The sink of the fast path of allows() for an allow and for a denial, else None.
        self._allow_sink: DecisionSink | None = None
        self._deny_sink: DecisionSink | None = None
        #: The sink of the fast path of :meth:`allows` when it serves allows and denials
        #: alike (one sink, every decision reported, the system clock), else None; a plain
        #: attribute, not a property (a Python call less per check).
        #:
        #: For a guard, which then does what :meth:`allows` does inline (a Python call
        #: less per permission): ``event = new_checked_event()``, ``event._raw`` = the
        #: :data:`~stytch_rbac.observe.events._CHECKED_FIELDS` tuple (the layout of
        #: :meth:`allows`, this observer last), the sink called, a failure handed to
        #: :meth:`sink_failed` (inside ``except``). Read once per check: a sink added
        #: later applies from the next check.
        self.guard_sink: DecisionSink | None = None

    def __repr__(self) -> str:
        return (
            f"<Observer {len(self._decision_sinks)} decision sink(s), "
            f"{len(self._authentication_sinks)} authentication sink(s)>"
        )

    # -- sinks --------------------------------------------------------------------------------

    def add_decision_sink(self, sink: DecisionSink) -> None:
        """Also deliver every reported decision to ``sink``."""
        if not callable(sink):
            raise TypeError(f"a decision sink must be callable, got {type(sink).__name__}")
        self._decision_sinks.append(sink)
        self._sole_sink = sink if len(self._decision_sinks) == 1 else None
        # The fast path of allows(): one sink, the system clock, allows not sampled.
        fast = self._sole_sink if self._now is None else None
        self._deny_sink = fast
        self._allow_sink = fast if self._allow_rate == 1.0 else None
        self.guard_sink = self._allow_sink

    def add_authentication_sink(self, sink: AuthenticationSink) -> None:
        """Also deliver every authentication to ``sink``."""
        if not callable(sink):
            raise TypeError(f"an authentication sink must be callable, got {type(sink).__name__}")
        self._authentication_sinks.append(sink)

    def sink_failed(self, sink: Callable[[Any], object]) -> None:
        """Count a sink's failure and log the first (call it inside ``except``)."""
        self._sink_failed(sink)

    @property
    def failures(self) -> int:
        """How many times a sink raised (each sink's first failure is logged)."""
        return sum(self._failures.values())

    def _deliver(self, sinks: list[Callable[[Any], object]], event: object) -> None:
        for sink in sinks:
            try:
                sink(event)
            except Exception:
                self._sink_failed(sink)

    def _sink_failed(self, sink: Callable[[Any], object]) -> None:
        """Count a sink's failure; log the first, with its traceback (inside ``except``)."""
        key = id(sink)
        seen = self._failures.get(key, 0)
        self._failures[key] = seen + 1
        if not seen:
            logger.exception(
                "stytch_rbac: an observer callback (%r) raised; the decision stands, "
                "and its further failures are counted, not logged",
                sink,
            )

    # -- decisions ----------------------------------------------------------------------------

    def decided(
        self,
        source: DecisionSource,
        principal: Principal,
        requested_organization_id: str | None,
        resource: str,
        action: str,
        allowed: bool,
        reason: DenialReason | None,
        granted_by: tuple[str, ...] | Lazy,
        started: float,
        route: str | None = None,
        method: str | None = None,
        /,
    ) -> None:
        """Report one decision (subject to sampling of allows). ``granted_by`` is the roles,
        or a :data:`~stytch_rbac.observe.events.Lazy` ``[function, *arguments]`` called
        only if a sink reads the event's ``granted_by``; ``started`` is the
        ``time.perf_counter()`` at the start of the decision. Positional, for speed."""
        ended = perf_counter()
        if allowed:
            rate = self._allow_rate
            if rate < 1.0 and (rate == 0.0 or self._rate() >= rate):
                return
        sinks = self._decision_sinks
        if not sinks:
            return
        now = self._now
        self._report(
            sinks,
            (
                source, principal.member_id, principal.organization_id,
                requested_organization_id, resource, action, allowed, reason, granted_by,
                None, None if reason is _UNAVAILABLE else self._policy_snapshot(),
                None if now is None else now(), started, ended, route, method, self,
            ),
        )  # fmt: skip

    def _sinks_for(self, allowed: bool) -> list[DecisionSink]:
        """The decision sinks to report a decision to: none when sampling drops this
        allow. (:meth:`decided` keeps the same test inline: it is on the hot path.)"""
        if allowed:
            rate = self._allow_rate
            if rate < 1.0 and (rate == 0.0 or self._rate() >= rate):
                return []
        return self._decision_sinks

    def decided_by_scopes(
        self,
        source: DecisionSource,
        principal: AgentPrincipal | ServicePrincipal,
        requested_organization_id: str | None,
        resource: str,
        action: str,
        allowed: bool,
        reason: DenialReason | None,
        granted_by: tuple[str, ...],
        started: float,
        route: str | None = None,
        /,
    ) -> None:
        """Report one decision for an access token (an agent or a service), subject to
        sampling of allows: ``granted_by`` is the granting scopes. Off the members' hot
        path, so the event is built whole here."""
        ended = perf_counter()
        sinks = self._sinks_for(allowed)
        if not sinks:
            return
        held = None if reason is _UNAVAILABLE else self._policy_snapshot()
        age: float | None = None
        if held is not None:
            now = self._now
            age = max(0.0, (time() if now is None else now()) - held.fetched_at)
        if isinstance(principal, ServicePrincipal):
            kind, principal_id, organization_id = "service", principal.client_id, None
        else:
            kind, principal_id = "agent", principal.member_id
            organization_id = principal.organization_id
        event = DecisionEvent(
            source=source,
            principal_kind=kind,
            principal_id=principal_id,
            organization_id=organization_id,
            requested_organization_id=requested_organization_id,
            resource=str(resource),
            action=str(action),
            allowed=allowed,
            reason=reason,
            granted_by=tuple(sorted(granted_by)),
            policy_sha256=None if held is None else self.sha256_of(held.value),
            policy_age=age,
            policy_stale=age is not None and age > self.policy_ttl,
            strict=self.strict,
            route=route,
            duration=ended - started,
            client_id=principal.client_id,
        )
        self._deliver(sinks, event)

    def allows(
        self,
        source: DecisionSource,
        compiled: CompiledPolicy,
        principal: Principal,
        resource: str,
        action: str,
        requested_organization_id: str | None,
        started: float,
        route: str | None = None,
        /,
    ) -> bool:
        """``compiled.allows(principal.roles, resource, action)``, reported (subject to
        sampling): the hot path of every observed decision, which captures what the
        decision saw and leaves the event's fields to be worked out when a sink reads
        them. :class:`UnknownPermission` (strict mode) is reported, then raised."""
        roles = principal.roles
        try:
            allowed = compiled.allows(roles, resource, action)
        except UnknownPermission:
            self.decided(
                source, principal, requested_organization_id, resource, action, False,
                _UNKNOWN_PERMISSION, no_grants, started, route,
            )  # fmt: skip
            raise
        sink = self._allow_sink if allowed else self._deny_sink
        if sink is None:
            if allowed and self._allow_rate == 0.0:  # decisions="denials"
                return True
            return self._checked(
                source, compiled, principal, roles, resource, action, allowed,
                requested_organization_id, started, route,
            )  # fmt: skip
        # The fast path: what every observed decision runs with one sink. It captures only
        # what the decision alone knows (events._CHECKED_FIELDS), with as few steps as it
        # can: every one is paid per decision, read or not.
        ended = perf_counter()
        held = self._policy_snapshot
        event = _new_checked_event()
        event._raw = (
            source, principal.member_id, principal.organization_id, requested_organization_id,
            resource, action, allowed, compiled, roles, held(), started, ended, route, self,
        )  # fmt: skip
        try:
            sink(event)
        except Exception:
            self._sink_failed(sink)
        return allowed

    def _checked(
        self,
        source: DecisionSource,
        compiled: CompiledPolicy,
        principal: Principal,
        roles: frozenset[str],
        resource: str,
        action: str,
        allowed: bool,
        requested_organization_id: str | None,
        started: float,
        route: str | None,
        /,
    ) -> bool:
        """The rest of :meth:`allows`: allows sampled at a rate, several sinks or none, a
        clock of the facade's own."""
        if allowed:
            rate = self._allow_rate
            if rate < 1.0 and (rate == 0.0 or self._rate() >= rate):
                return True
            ended = perf_counter()
            reason = None
            granted: object = compiled  # the event names the roles if a sink asks
        else:
            ended = perf_counter()
            reason = _NO_GRANT
            granted = no_grants
        sinks = self._decision_sinks
        if sinks:
            now = self._now
            self._report(
                sinks,
                (
                    source, principal.member_id, principal.organization_id,
                    requested_organization_id, resource, action, allowed, reason, granted,
                    roles, self._policy_snapshot(), None if now is None else now(), started,
                    ended, route, None, self,
                ),
            )  # fmt: skip
        return allowed

    def _report(self, sinks: list[DecisionSink], raw: tuple[Any, ...]) -> None:
        event = new_decision_event(raw)
        sink = self._sole_sink
        if sink is None:
            self._deliver(sinks, event)
            return
        try:
            sink(event)
        except Exception:
            self._sink_failed(sink)

    # -- authentication -----------------------------------------------------------------------

    def authenticated(
        self,
        *,
        outcome: AuthenticationOutcome,
        reason: str | None,
        credential: str | None,
        answered_by: str | None,
        principal: AnyPrincipal | None,
        started: float,
        now: float,
        source: str | None = None,
    ) -> None:
        """Report one authentication (of a member session or an access token)."""
        if not self._authentication_sinks:
            return
        kind: str | None = None
        principal_id = organization_id = client_id = None
        if isinstance(principal, ServicePrincipal):
            kind, principal_id, client_id = "service", principal.client_id, principal.client_id
        elif principal is not None:
            kind = "member" if isinstance(principal, Principal) else "agent"
            principal_id, organization_id = principal.member_id, principal.organization_id
            client_id = None if isinstance(principal, Principal) else principal.client_id
        event = AuthenticationEvent(
            outcome=outcome,
            reason=reason,
            credential=credential,
            source=source if source is not None else CREDENTIAL_SOURCE.get(),
            answered_by=answered_by,
            jwt_refreshed=isinstance(principal, Principal) and principal.jwt_refreshed,
            principal_kind=kind,
            principal_id=principal_id,
            organization_id=organization_id,
            client_id=client_id,
            duration=max(0.0, now - started),
        )
        self._deliver(self._authentication_sinks, event)
