"""OpenTelemetry: spans for every remote call with Stytch's request_id, and the metrics,
read back from the OpenTelemetry SDK's in-memory exporters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from stytch_rbac import PermissionDenied, StytchUnavailable
from stytch_rbac.emulator import Emulator
from stytch_rbac.observe.otel import instrument
from stytch_rbac.testing import MemberFactory

from .conftest import EXAMPLE_POLICY, in_process

pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(EXAMPLE_POLICY)]


@dataclass
class Exporters:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def points(self) -> dict[str, list[Any]]:
        """Every metric's data points, by name."""
        data = self.metrics.get_metrics_data()
        found: dict[str, list[Any]] = {}
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


@pytest.fixture
def exporters() -> Exporters:
    """Private providers with in-memory exporters (the global ones are left alone)."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    return Exporters(spans, reader, tracer_provider, MeterProvider(metric_readers=[reader]))


async def test_spans_for_remote_calls_carry_the_request_id(
    stytch_emulator: Emulator, member: MemberFactory, exporters: Exporters
) -> None:
    """Policy, org policy, JWKS, sessions/authenticate and a member call: one CLIENT span
    each, named ``stytch <operation>``, with Stytch's request_id when Stytch answered."""
    admin = member(["stytch_admin"])
    rbac, http = in_process(stytch_emulator)
    instrument(
        rbac,
        tracer_provider=exporters.tracer_provider,
        meter_provider=exporters.meter_provider,
    )
    async with http, rbac:
        principal = await rbac.authenticate(session_jwt=admin.session_jwt)
        await rbac.is_authorized(principal, "documents:read")
        await rbac.policy(admin.organization_id)  # project roles need no org policy: ask for it
        await rbac.authenticate(session_token=admin.session_token)
        await rbac.as_member(principal).organizations.update(
            admin.organization_id, organization_name="Acme Traced"
        )
    spans = {s.name: s for s in exporters.spans.get_finished_spans()}
    for name in (
        "stytch sessions.jwks",
        "stytch rbac.policy",
        "stytch rbac.org_policy",
        "stytch sessions.authenticate",
        "stytch organizations.update",
    ):
        assert name in spans, sorted(spans)
        span = spans[name]
        assert span.kind is SpanKind.CLIENT
        assert span.status.status_code is not StatusCode.ERROR
    for name in ("stytch rbac.policy", "stytch sessions.authenticate"):
        request_id = spans[name].attributes["stytch.request_id"]  # type: ignore[index]
        assert isinstance(request_id, str)
        assert request_id


async def test_failed_call_span_has_error_type_and_status(
    stytch_emulator: Emulator, member: MemberFactory, exporters: Exporters
) -> None:
    """A refused member call: the span is an error with error.type and Stytch's status;
    the failures counter counts it."""
    admin = member(["stytch_admin"])
    stytch_emulator.faults.fail("rbac.policy", 503)
    rbac, http = in_process(stytch_emulator, timeout=1)
    instrument(
        rbac,
        tracer_provider=exporters.tracer_provider,
        meter_provider=exporters.meter_provider,
    )
    async with http, rbac:
        principal = await rbac.authenticate(session_jwt=admin.session_jwt)
        with pytest.raises(StytchUnavailable):
            await rbac.is_authorized(principal, "documents:read")
    [span] = [s for s in exporters.spans.get_finished_spans() if s.name == "stytch rbac.policy"]
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "StytchUnavailable"
    failures = exporters.points()["stytch_rbac.remote.failures"]
    assert sum(p.value for p in failures if p.attributes["stytch_rbac.operation"] == "rbac.policy")


async def test_metrics_count_decisions_authentications_and_caches(
    stytch_emulator: Emulator, member: MemberFactory, exporters: Exporters
) -> None:
    """Decisions by outcome, authentications by outcome, cache look-ups, the policy age
    gauge and the JWT memo size."""
    editor = member(["editor"])
    rbac, http = in_process(stytch_emulator)
    instrument(
        rbac,
        tracer_provider=exporters.tracer_provider,
        meter_provider=exporters.meter_provider,
    )
    async with http, rbac:
        principal = await rbac.authenticate(session_jwt=editor.session_jwt)
        await rbac.authenticate(session_jwt=editor.session_jwt)
        assert await rbac.is_authorized(principal, "documents:edit")
        with pytest.raises(PermissionDenied):
            await rbac.authorize(principal, "documents:delete")
        points = exporters.points()
    decisions = {
        (p.attributes["stytch_rbac.allowed"], p.attributes.get("stytch_rbac.reason")): p.value
        for p in points["stytch_rbac.decisions"]
    }
    assert decisions == {(True, None): 1, (False, "no_grant"): 1}
    authentications = {
        p.attributes["stytch_rbac.answered_by"]: p.value
        for p in points["stytch_rbac.authentications"]
    }
    assert authentications == {"local": 1, "memo": 1}
    requests = {
        (p.attributes["stytch_rbac.cache"], p.attributes["stytch_rbac.result"]): p.value
        for p in points["stytch_rbac.cache.requests"]
    }
    assert requests[("policy", "miss")] == 1
    assert requests[("policy", "hit")] >= 1
    sizes = {p.attributes["stytch_rbac.cache"]: p.value for p in points["stytch_rbac.cache.size"]}
    assert sizes["jwt_memo"] == 1
    [age] = points["stytch_rbac.policy.age"]
    assert age.value >= 0
    assert age.attributes["stytch_rbac.policy_sha256"] == (await_sha(rbac))
    assert [p.value for p in points["stytch_rbac.policy.stale"]] == [0]
    assert "stytch_rbac.decision.duration" in points


def await_sha(rbac: Any) -> str:
    """The sha256 of the policy the facade holds (no fetch)."""
    sha, _age, _stale = rbac.policy_facts()
    assert isinstance(sha, str)
    return sha
