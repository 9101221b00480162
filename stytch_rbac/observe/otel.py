"""OpenTelemetry for stytch-rbac: spans for remote calls, metrics for decisions and caches.

Opt-in, with the ``otel`` extra (``pip install 'stytch-rbac[otel]'``: ``opentelemetry-api``
only; bring the SDK and an exporter of your choice)::

    from stytch_rbac.observe.otel import instrument

    rbac = StytchRBAC.from_env()
    instrument(rbac)  # the global tracer and meter providers, or pass your own

Spans (kind CLIENT) are named ``stytch <operation>``: ``rbac.policy``,
``rbac.org_policy``, ``sessions.jwks``, ``sessions.authenticate`` and each built-in call
made as a member (``organizations.update``...), with ``stytch.request_id`` (Stytch's
``request_id`` of the answer), ``error.type`` on a failure and ``stytch.status_code``
when Stytch answered with an error. Metrics are listed in docs/observability.md; their
attribute names use OpenTelemetry's semantic conventions where one exists
(``error.type``), and a ``stytch_rbac.`` prefix otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .._extras import raise_missing_extra
from .events import AuthenticationEvent, DecisionEvent
from .observer import STYTCH_REQUEST_ID

if TYPE_CHECKING:
    from opentelemetry.metrics import (
        CallbackOptions,
        Counter,
        Histogram,
        MeterProvider,
        Observation,
    )
    from opentelemetry.trace import Tracer, TracerProvider

    from ..client import StytchRBAC

__all__ = ["Telemetry", "instrument"]

_SCOPE = "stytch_rbac"


class Telemetry:
    """The spans and instruments of one instrumented :class:`~stytch_rbac.StytchRBAC`.

    Built by :func:`instrument`; it is the facade's ``tracing`` and a decision and
    authentication sink of its observer.
    """

    def __init__(
        self,
        rbac: StytchRBAC,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        try:
            from opentelemetry import metrics, trace
        except ImportError as exc:
            raise_missing_extra(
                exc,
                extra="otel",
                needed_by="stytch_rbac.observe.otel",
                modules={"opentelemetry"},
            )

        from .._version import __version__

        self._trace = trace
        self._rbac = rbac
        self.tracer: Tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(_SCOPE, __version__, meter_provider=meter_provider)
        self.decisions: Counter = meter.create_counter(
            "stytch_rbac.decisions", unit="{decision}", description="Permission decisions."
        )
        self.decision_duration: Histogram = meter.create_histogram(
            "stytch_rbac.decision.duration",
            unit="s",
            description="Time of one decision, the policy look-up included.",
        )
        self.authentications: Counter = meter.create_counter(
            "stytch_rbac.authentications",
            unit="{authentication}",
            description="Authentications of a session credential, by outcome.",
        )
        self.remote_duration: Histogram = meter.create_histogram(
            "stytch_rbac.remote.duration",
            unit="s",
            description="Time of one call to Stytch (retries included), by operation.",
        )
        self.remote_failures: Counter = meter.create_counter(
            "stytch_rbac.remote.failures",
            unit="{call}",
            description="Calls to Stytch that failed, by operation and error.type.",
        )
        meter.create_observable_counter(
            "stytch_rbac.cache.requests",
            callbacks=[self._cache_requests],
            unit="{request}",
            description="Cache look-ups by cache and result (hit, stale_hit, miss).",
        )
        meter.create_observable_counter(
            "stytch_rbac.cache.loads",
            callbacks=[self._cache_loads],
            unit="{load}",
            description="Fetches made by each cache, by outcome (ok, error).",
        )
        meter.create_observable_up_down_counter(
            "stytch_rbac.cache.size",
            callbacks=[self._cache_sizes],
            unit="{entry}",
            description="Entries held by each cache (jwt_memo: verified session JWTs).",
        )
        meter.create_observable_gauge(
            "stytch_rbac.policy.age",
            callbacks=[self._policy_age],
            unit="s",
            description="Seconds since the project policy in use was fetched.",
        )
        meter.create_observable_gauge(
            "stytch_rbac.policy.stale",
            callbacks=[self._policy_stale],
            unit="1",
            description="1 while the project policy is served past its TTL, else 0.",
        )

    # -- spans ----------------------------------------------------------------------------

    @contextmanager
    def span(self, operation: str) -> Iterator[None]:
        """A CLIENT span for one remote operation, with Stytch's request_id."""
        token = STYTCH_REQUEST_ID.set(None)
        started = time.perf_counter()
        attributes: dict[str, Any] = {"stytch_rbac.operation": operation}
        with self.tracer.start_as_current_span(
            f"stytch {operation}",
            kind=self._trace.SpanKind.CLIENT,
            attributes=attributes,
            record_exception=True,
            set_status_on_exception=True,
        ) as span:
            try:
                yield
            except Exception as exc:
                error = {"error.type": type(exc).__name__}
                request_id = getattr(exc, "request_id", None)
                if isinstance(request_id, str):
                    span.set_attribute("stytch.request_id", request_id)
                status = getattr(exc, "stytch_status", None)
                if isinstance(status, int):
                    span.set_attribute("stytch.status_code", status)
                span.set_attributes(error)
                self.remote_failures.add(1, attributes | error)
                self.remote_duration.record(time.perf_counter() - started, attributes | error)
                raise
            else:
                request_id = STYTCH_REQUEST_ID.get()
                if request_id is not None:
                    span.set_attribute("stytch.request_id", request_id)
                self.remote_duration.record(time.perf_counter() - started, attributes)
            finally:
                STYTCH_REQUEST_ID.reset(token)

    # -- sinks ----------------------------------------------------------------------------

    def decision(self, event: DecisionEvent) -> None:
        """Count one decision (a sink of the facade's observer)."""
        attributes: dict[str, Any] = {
            "stytch_rbac.allowed": event.allowed,
            "stytch_rbac.source": event.source.value,
            "stytch_rbac.principal_kind": event.principal_kind,
        }
        if event.reason is not None:
            attributes["stytch_rbac.reason"] = event.reason.value
        self.decisions.add(1, attributes)
        self.decision_duration.record(event.duration, attributes)

    def authentication(self, event: AuthenticationEvent) -> None:
        """Count one authentication (a sink of the facade's observer)."""
        attributes: dict[str, Any] = {"stytch_rbac.outcome": event.outcome.value}
        for name in ("reason", "credential", "answered_by", "source"):
            value = getattr(event, name)
            if value is not None:
                attributes[f"stytch_rbac.{name}"] = value
        self.authentications.add(1, attributes)

    # -- observable instruments -----------------------------------------------------------

    def _cache_requests(self, _options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for cache, stats in self._rbac.cache_info().items():
            for result, value in (
                ("hit", stats.hits),
                ("stale_hit", stats.stale_hits),
                ("miss", stats.misses),
            ):
                yield Observation(value, {"stytch_rbac.cache": cache, "stytch_rbac.result": result})

    def _cache_loads(self, _options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for cache, stats in self._rbac.cache_info().items():
            yield Observation(
                stats.loads - stats.load_errors,
                {"stytch_rbac.cache": cache, "stytch_rbac.outcome": "ok"},
            )
            yield Observation(
                stats.load_errors, {"stytch_rbac.cache": cache, "stytch_rbac.outcome": "error"}
            )

    def _cache_sizes(self, _options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for cache, stats in self._rbac.cache_info().items():
            yield Observation(stats.size, {"stytch_rbac.cache": cache})
        yield Observation(self._rbac.jwt_memo_size, {"stytch_rbac.cache": "jwt_memo"})

    def _policy_age(self, _options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        sha, age, _stale = self._rbac.policy_facts()
        if age is not None:
            yield Observation(age, {"stytch_rbac.policy_sha256": sha or ""})

    def _policy_stale(self, _options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        _sha, age, stale = self._rbac.policy_facts()
        if age is not None:
            yield Observation(1 if stale else 0)


def instrument(
    rbac: StytchRBAC,
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Telemetry:
    """Turn on OpenTelemetry spans and metrics for ``rbac`` (see the module docs).

    Uses the global providers unless given. Returns the :class:`Telemetry`; calling it
    again replaces the tracing and adds a second set of metric sinks, so call it once.
    """
    telemetry = Telemetry(rbac, tracer_provider=tracer_provider, meter_provider=meter_provider)
    observer = rbac.observe()
    observer.add_decision_sink(telemetry.decision)
    observer.add_authentication_sink(telemetry.authentication)
    rbac.tracing = telemetry
    return telemetry
