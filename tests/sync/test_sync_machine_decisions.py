"""The blocking facade decides for agents and services by the async facade's rules: warm
answers in the caller's thread, member roles and observed decisions through the loop, and
every answer equal to the policy's own scope rule (hypothesis).

Plain (sync) test functions; each runs with the facade's loop on asyncio and on trio.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stytch_rbac import (
    AgentPrincipal,
    CompiledPolicy,
    PermissionDenied,
    ServicePrincipal,
    StytchUnavailable,
    TenancyError,
)
from stytch_rbac._stytch.http import in_process_client
from stytch_rbac.emulator import Emulator
from stytch_rbac.observe import DecisionEvent, DecisionSource
from stytch_rbac.policy.scopes import m2m_decide
from stytch_rbac.sync import StytchRBAC
from stytch_rbac.testing import IN_PROCESS_URL, AgentFactory, ServiceFactory

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
pytestmark = pytest.mark.stytch_policy(EXAMPLE_POLICY)
SOON = datetime.now(UTC) + timedelta(hours=1)

Blocking = Callable[..., StytchRBAC]


@pytest.fixture
def blocking(stytch_emulator: Emulator, anyio_backend: str) -> Iterator[Blocking]:
    """``blocking(**options)``: an open blocking facade on the emulator (in process, its
    clock, the test's loop backend), closed after the test."""
    with contextlib.ExitStack() as stack:

        def make(**options: Any) -> StytchRBAC:
            http = in_process_client(stytch_emulator.app, base_url=IN_PROCESS_URL)
            stack.callback(anyio.run, http.aclose)
            rbac = StytchRBAC(
                stytch_emulator.project_id,
                stytch_emulator.secret,
                base_url=IN_PROCESS_URL,
                http_client=http,
                clock=stytch_emulator.clock,
                project_domain=stytch_emulator.project_domain,
                backend="trio" if anyio_backend == "trio" else "asyncio",
                **options,
            )
            stack.enter_context(rbac)
            return rbac

        yield make


def test_warm_machine_decisions_need_no_loop(
    blocking: Blocking, agent: AgentFactory, service: ServiceFactory
) -> None:
    """With the policy fresh, agents and services are decided in the calling thread, the
    loop stopped; tenancy is refused there too."""
    rbac = blocking()
    reader = agent(["read:documents"], roles=["viewer"]).principal
    machine = service(["write:documents"]).principal
    assert rbac.is_authorized(reader, "documents:read")
    rbac.close()
    assert rbac.is_authorized(reader, "documents:download")
    assert not rbac.is_authorized(reader, "documents:edit")
    assert rbac.explain(reader, "projects:read").granted_by == {"read:documents"}
    assert rbac.permissions(machine)["documents"]["edit"] is True
    rbac.authorize(machine, "documents:edit")
    with pytest.raises(PermissionDenied):
        rbac.authorize(reader, "documents:edit")
    with pytest.raises(TenancyError, match="service_organizations="):
        rbac.authorize(machine, "documents:edit", organization_id="organization-a")
    assert not rbac.is_authorized(reader, "documents:read", organization_id="organization-b")
    assert not rbac.explain(machine, "documents:edit", organization_id="organization-a")
    with pytest.raises(TenancyError):
        rbac.check_organization(machine, "organization-a")


def test_intersect_on_the_blocking_facade(
    blocking: Blocking, stytch_emulator: Emulator, agent: AgentFactory
) -> None:
    """agent_roles="intersect" asks the loop for the member's roles: a demotion bites after
    agent_roles_ttl, and an outage is StytchUnavailable."""
    rbac = blocking(agent_roles="intersect", agent_roles_ttl=10)
    assert rbac.agent_roles == "intersect"
    seeded = agent(["write:documents"], roles=["editor"])
    principal = rbac.authenticate_access_token(seeded.access_token)
    assert isinstance(principal, AgentPrincipal)
    assert rbac.is_authorized(principal, "documents:edit")
    rbac.run(
        rbac.stytch.organizations.members.update_async,
        organization_id=principal.organization_id,
        member_id=principal.member_id,
        roles=["viewer"],
    )
    stytch_emulator.advance_time(11)
    assert not rbac.is_authorized(principal, "documents:edit")
    assert rbac.permissions(principal)["documents"]["edit"] is False
    stytch_emulator.faults.fail("organizations.members.get", status=500)
    stytch_emulator.advance_time(11)
    with pytest.raises(StytchUnavailable):
        rbac.authorize(principal, "documents:create")


def test_observed_machine_decisions_are_reported_from_the_loop(
    blocking: Blocking, service: ServiceFactory
) -> None:
    """With an observer, each decision is the async facade's, reported with its source."""
    events: list[DecisionEvent] = []
    rbac = blocking(m2m_scopes="stytch", on_decision=events.append)
    machine = service(["edit:documents"]).principal
    assert rbac.is_authorized(machine, "documents:edit")
    with pytest.raises(PermissionDenied):
        rbac.authorize(machine, "documents:read")
    assert rbac.explain(machine, "documents:edit").granted_by == {"edit:documents"}
    assert [(e.source, e.allowed, e.client_id) for e in events] == [
        (DecisionSource.IS_AUTHORIZED, True, machine.client_id),
        (DecisionSource.AUTHORIZE, False, machine.client_id),
        (DecisionSource.EXPLAIN, True, machine.client_id),
    ]


# -- properties: the facade's answer is the policy's own rule ------------------------------

_SCOPES = st.frozensets(
    st.sampled_from(
        [
            *("read:documents", "write:documents", "read:billing", "openid", "read:*"),
            *("edit:*", "edit:documents", "read:projects", "download:documents", "*", "a:b:c"),
        ]
    ),
    max_size=5,
)


def _agent(scopes: frozenset[str]) -> AgentPrincipal:
    return AgentPrincipal(
        member_id="member-test-1",
        organization_id="organization-test-1",
        organization_slug="acme",
        client_id="connected-app-test-1",
        scopes=scopes,
        expires_at=SOON,
        issued_at=SOON - timedelta(hours=1),
        issuer="https://acme.customers.stytch.dev",
    )


def _service(scopes: frozenset[str]) -> ServicePrincipal:
    return ServicePrincipal(
        client_id="m2m-client-test-1",
        scopes=scopes,
        expires_at=SOON,
        issued_at=SOON - timedelta(hours=1),
        issuer="stytch.com/project-test-1",
    )


def _permissions(policy: CompiledPolicy) -> list[tuple[str, str]]:
    return [(r, a) for r, actions in sorted(policy.resources.items()) for a in actions]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scopes=_SCOPES, data=st.data())
def test_agent_and_policy_service_decisions_are_scope_decide(
    blocking: Blocking, scopes: frozenset[str], data: st.DataObject
) -> None:
    """For any scopes and permission, an agent's and a service's (m2m_scopes="policy")
    decision and table are CompiledPolicy.scope_decide's."""
    rbac = _cached(blocking, "policy")
    policy = rbac.policy()
    resource, action = data.draw(st.sampled_from(_permissions(policy)))
    expected = policy.scope_decide(scopes, resource, action)
    for principal in (_agent(scopes), _service(scopes)):
        assert rbac.explain(principal, resource, action) == expected
        assert rbac.is_authorized(principal, resource, action) is expected.allowed
        assert rbac.permissions(principal)[resource][action] is expected.allowed


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scopes=_SCOPES, data=st.data())
def test_stytch_service_decisions_are_m2m_decide(
    blocking: Blocking, scopes: frozenset[str], data: st.DataObject
) -> None:
    """With m2m_scopes="stytch" a service's decision and table are Stytch's M2M rule's."""
    rbac = _cached(blocking, "stytch")
    policy = rbac.policy()
    resource, action = data.draw(st.sampled_from(_permissions(policy)))
    expected = m2m_decide(scopes, resource, action)
    principal = _service(scopes)
    assert rbac.explain(principal, resource, action) == expected
    assert rbac.permissions(principal)[resource][action] is expected.allowed


#: Held by the fixture object itself (not its id, which a later one could reuse).
_FACADES: dict[tuple[Blocking, str], StytchRBAC] = {}


def _cached(blocking: Blocking, m2m_scopes: str) -> StytchRBAC:
    """One facade per test (hypothesis calls the test body many times with one fixture)."""
    key = (blocking, m2m_scopes)
    rbac = _FACADES.get(key)
    if rbac is None:
        _FACADES.clear()
        rbac = _FACADES[key] = blocking(m2m_scopes=m2m_scopes)
    return rbac
