"""Decisions for access tokens: an agent (Connected App) by the project policy's scopes and
its token's organization, optionally intersected with its member's current roles; a service
(M2M) by the policy's scopes or Stytch's ``action:resource`` rule, in an organization only
as ``service_organizations`` maps it; each decision reported with the client and scopes.

Tokens are minted by the emulator (the plugin's ``agent`` and ``service`` fixtures) and
verified by the facade; role changes, deletions and outages go through the emulator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from stytch_rbac import (
    AgentPrincipal,
    PermissionDenied,
    ServicePrincipal,
    StytchRBAC,
    StytchUnavailable,
    TenancyError,
    UnknownPermission,
)
from stytch_rbac.emulator import Emulator
from stytch_rbac.observe import DecisionEvent, DecisionSource, DenialReason
from stytch_rbac.policy.scopes import m2m_permissions, scope_permissions
from stytch_rbac.testing import AgentFactory, MemberFactory, ServiceFactory, open_rbac

POLICY = Path(__file__).resolve().parent.parent / "examples" / "policy.json"
pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(POLICY)]


def facade(
    emulator: Emulator, **options: Any
) -> contextlib.AbstractAsyncContextManager[StytchRBAC]:
    """A facade on ``emulator`` (in process, its clock) built with ``options``."""
    return open_rbac(emulator, **options)


# -- construction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "fragment"),
    [
        pytest.param({"agent_roles": "both"}, ValueError, "agent_roles must be", id="agent_roles"),
        pytest.param({"m2m_scopes": "m2m"}, ValueError, "m2m_scopes must be", id="m2m_scopes"),
        pytest.param({"service_organizations": 3}, TypeError, "callable", id="orgs-type"),
        pytest.param({"service_organizations": " "}, ValueError, "custom claim", id="orgs-empty"),
        pytest.param({"agent_roles_ttl": 0}, ValueError, "agent_roles_ttl", id="ttl-zero"),
        pytest.param({"agent_roles_ttl": True}, ValueError, "agent_roles_ttl", id="ttl-bool"),
    ],
)
def test_bad_machine_options_are_refused_at_construction(
    options: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    """Each option for machine callers is checked when the facade is built, naming itself."""
    with pytest.raises(error, match=fragment):
        StytchRBAC("project-test-1", "secret-test-1", **options)


def test_machine_options_are_readable() -> None:
    """The facade says how it decides for agents and services."""
    rbac = StytchRBAC("project-test-1", "secret-test-1")
    assert (rbac.agent_roles, rbac.m2m_scopes, rbac.service_organizations) == (
        "ignore",
        "policy",
        None,
    )
    other = StytchRBAC(
        "project-test-1",
        "secret-test-1",
        agent_roles="intersect",
        m2m_scopes="stytch",
        service_organizations="tenant",
    )
    assert (other.agent_roles, other.m2m_scopes, other.service_organizations) == (
        "intersect",
        "stytch",
        "tenant",
    )


async def test_anything_else_is_a_type_error(stytch_rbac: StytchRBAC) -> None:
    """A decision about something that is no principal is a TypeError naming the kinds."""
    for decide in (stytch_rbac.is_authorized, stytch_rbac.authorize, stytch_rbac.explain):
        with pytest.raises(TypeError, match="AgentPrincipal or a ServicePrincipal"):
            await decide("member-1", "documents:read")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="AgentPrincipal or a ServicePrincipal"):
        await stytch_rbac.permissions("member-1")  # type: ignore[arg-type]


# -- agents ----------------------------------------------------------------------------------


async def test_an_agent_is_decided_by_the_policy_scopes(
    stytch_rbac: StytchRBAC, agent: AgentFactory
) -> None:
    """read:documents grants what the policy's scope grants (read, download, projects:read),
    never edit; explain names the scope; permissions is the scope table."""
    seeded = agent(["openid", "read:documents"], roles=["editor"])
    principal = await stytch_rbac.authenticate_access_token(seeded.access_token)
    assert isinstance(principal, AgentPrincipal)
    for permission in ("documents:read", "documents:download", "projects:read"):
        assert await stytch_rbac.is_authorized(principal, permission)
        await stytch_rbac.authorize(principal, permission)
    # The member's roles (editor) would grant edit: the token's scopes do not.
    assert not await stytch_rbac.is_authorized(principal, "documents", "edit")
    with pytest.raises(PermissionDenied) as caught:
        await stytch_rbac.authorize(principal, "documents:edit")
    assert (caught.value.member_id, caught.value.client_id) == (
        seeded.member_id,
        seeded.client_id,
    )
    assert caught.value.organization_id == seeded.organization_id
    decision = await stytch_rbac.explain(principal, "documents:download")
    assert decision.allowed
    assert decision.granted_by == {"read:documents"}
    denial = await stytch_rbac.explain(principal, "documents:edit")
    assert not denial.allowed
    assert denial.granted_by == frozenset()
    policy = await stytch_rbac.policy()
    assert await stytch_rbac.permissions(principal) == scope_permissions(policy, principal.scopes)


async def test_an_agent_never_needs_an_organization_policy(
    stytch_rbac: StytchRBAC, agent: AgentFactory
) -> None:
    """Org custom roles never grant scopes: deciding for an agent reads the project policy
    only, whatever roles its member holds."""
    seeded = agent(["read:documents"], roles=["viewer"])
    assert await stytch_rbac.is_authorized(seeded.principal, "documents:read")
    assert await stytch_rbac.permissions(seeded.principal)
    org = stytch_rbac.cache_info()["org_policies"]
    assert org.hits + org.misses + org.stale_hits == 0


async def test_an_agent_is_held_to_its_token_organization(
    stytch_rbac: StytchRBAC, agent: AgentFactory
) -> None:
    """A decision about another organization is refused exactly as a member's."""
    principal = agent(["read:documents"], roles=["viewer"]).principal
    own = principal.organization_id
    assert await stytch_rbac.is_authorized(principal, "documents:read", organization_id=own)
    await stytch_rbac.authorize(principal, "documents:read", organization_id=own)
    other = "organization-test-other"
    assert not await stytch_rbac.is_authorized(principal, "documents:read", organization_id=other)
    with pytest.raises(TenancyError) as caught:
        await stytch_rbac.authorize(principal, "documents:read", organization_id=other)
    assert caught.value.member_organization_id == own
    assert caught.value.requested_organization_id == other
    decision = await stytch_rbac.explain(principal, "documents:read", organization_id=other)
    assert not decision.allowed
    assert not decision.granted_by


async def test_an_unknown_permission_raises_in_strict_mode(
    stytch_rbac: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """A typo is UnknownPermission for tokens too, never a silent deny."""
    for principal in (agent(["read:documents"], roles=["viewer"]).principal,):
        with pytest.raises(UnknownPermission):
            await stytch_rbac.is_authorized(principal, "documents:raed")
    with pytest.raises(UnknownPermission):
        await stytch_rbac.authorize(service(["read:documents"]).principal, "documentz:read")


# -- agent_roles="intersect" -----------------------------------------------------------------


async def _set_roles(rbac: StytchRBAC, principal: AgentPrincipal, roles: list[str]) -> None:
    await rbac.stytch.organizations.members.update_async(
        organization_id=principal.organization_id, member_id=principal.member_id, roles=roles
    )


async def test_intersect_lets_a_role_change_bite_before_the_token_expires(
    stytch_emulator: Emulator, agent: AgentFactory
) -> None:
    """The member's roles must allow it too: demoted from editor to viewer, the agent's
    write:documents stops granting edit once the cached roles are older than
    agent_roles_ttl, though the token is still valid; with "ignore" it keeps granting."""
    seeded = agent(["write:documents"], roles=["editor"])
    async with (
        facade(stytch_emulator, agent_roles="intersect", agent_roles_ttl=30) as strict_rbac,
        facade(stytch_emulator) as lenient_rbac,
    ):
        principal = await strict_rbac.authenticate_access_token(seeded.access_token)
        assert isinstance(principal, AgentPrincipal)
        assert await strict_rbac.is_authorized(principal, "documents:edit")
        assert (await strict_rbac.explain(principal, "documents:edit")).granted_by == {
            "write:documents"
        }
        await _set_roles(strict_rbac, principal, ["viewer"])
        assert await strict_rbac.is_authorized(principal, "documents:edit")  # cached roles
        stytch_emulator.advance_time(31)
        await strict_rbac.authenticate_access_token(seeded.access_token)  # still valid
        assert not await strict_rbac.is_authorized(principal, "documents:edit")
        with pytest.raises(PermissionDenied):
            await strict_rbac.authorize(principal, "documents:edit")
        denial = await strict_rbac.explain(principal, "documents:edit")
        assert not denial.allowed
        assert not denial.granted_by
        table = await strict_rbac.permissions(principal)
        assert table["documents"]["edit"] is False
        assert await lenient_rbac.is_authorized(principal, "documents:edit")
        assert (await lenient_rbac.permissions(principal))["documents"]["edit"] is True


async def test_intersect_never_widens_what_the_scopes_grant(
    stytch_emulator: Emulator, agent: AgentFactory
) -> None:
    """An owner's agent holding read:documents still may not edit; a scope denial asks
    Stytch nothing."""
    principal = agent(["read:documents"], roles=["owner"]).principal
    async with facade(stytch_emulator, agent_roles="intersect") as rbac:
        assert not await rbac.is_authorized(principal, "documents:edit")
        assert rbac.cache_info()["member_roles"].loads == 0
        assert await rbac.is_authorized(principal, "documents:read")
        assert rbac.cache_info()["member_roles"].loads == 1


async def test_intersect_denies_a_member_stytch_no_longer_knows(
    stytch_emulator: Emulator, agent: AgentFactory
) -> None:
    """A deleted member (Stytch answers 404 member_not_found) holds no roles: denied."""
    principal = agent(["read:documents"], roles=["viewer"]).principal
    async with facade(stytch_emulator, agent_roles="intersect") as rbac:
        await rbac.stytch.organizations.members.delete_async(
            organization_id=principal.organization_id, member_id=principal.member_id
        )
        assert not await rbac.is_authorized(principal, "documents:read")
        with pytest.raises(PermissionDenied):
            await rbac.authorize(principal, "documents:read")
        assert not any(
            allowed for actions in (await rbac.permissions(principal)).values()
            for allowed in actions.values()
        )  # fmt: skip


async def test_intersect_with_stytch_unavailable_never_allows(
    stytch_emulator: Emulator, agent: AgentFactory
) -> None:
    """When the member's roles cannot be fetched the decision is StytchUnavailable, and it
    stays so while cached roles are older than agent_roles_ttl (never served stale)."""
    principal = agent(["read:documents"], roles=["viewer"]).principal
    events: list[DecisionEvent] = []
    async with facade(stytch_emulator, agent_roles="intersect", on_decision=events.append) as rbac:
        assert await rbac.is_authorized(principal, "documents:read")
        stytch_emulator.faults.fail("organizations.members.get", status=503)
        stytch_emulator.advance_time(31)
        await rbac.policy()  # the project policy is still at hand
        with pytest.raises(StytchUnavailable):
            await rbac.is_authorized(principal, "documents:read")
        with pytest.raises(StytchUnavailable):
            await rbac.authorize(principal, "documents:read")
        with pytest.raises(StytchUnavailable):
            await rbac.permissions(principal)
    assert [e.reason for e in events[-2:]] == [DenialReason.UNAVAILABLE] * 2
    assert not any(e.allowed for e in events[1:])


# -- services --------------------------------------------------------------------------------


async def test_a_service_by_the_policy_scopes_or_by_stytchs_rule(
    stytch_emulator: Emulator, service: ServiceFactory
) -> None:
    """m2m_scopes="policy": read:documents is the policy's scope (download, projects:read
    too); "stytch": it is action:resource, granting documents:read only, and read:* reads
    every resource."""
    reader = service(["read:documents"]).principal
    wildcard = service(["read:*"]).principal
    async with (
        facade(stytch_emulator) as by_policy,
        facade(stytch_emulator, m2m_scopes="stytch") as by_stytch,
    ):
        for permission, policy_says, stytch_says in (
            ("documents:read", True, True),
            ("documents:download", True, False),
            ("projects:read", True, False),
            ("documents:edit", False, False),
        ):
            assert await by_policy.is_authorized(reader, permission) is policy_says, permission
            assert await by_stytch.is_authorized(reader, permission) is stytch_says, permission
        assert not await by_policy.is_authorized(wildcard, "projects:read")
        assert await by_stytch.is_authorized(wildcard, "projects:read")
        assert (await by_stytch.explain(wildcard, "billing:read")).granted_by == {"read:*"}
        assert (await by_policy.explain(reader, "projects:read")).granted_by == {"read:documents"}
        with pytest.raises(PermissionDenied) as caught:
            await by_stytch.authorize(reader, "projects:read")
        assert caught.value.client_id == reader.client_id
        assert caught.value.member_id is None
        assert f"client {reader.client_id}" in str(caught.value)
        policy = await by_policy.policy()
        assert await by_policy.permissions(reader) == scope_permissions(policy, reader.scopes)
        assert await by_stytch.permissions(wildcard) == m2m_permissions(policy, wildcard.scopes)
        with pytest.raises(UnknownPermission):
            await by_stytch.is_authorized(reader, "documents:raed")


async def test_a_service_acts_in_no_organization_unless_mapped(
    stytch_rbac: StytchRBAC, service: ServiceFactory
) -> None:
    """Without service_organizations a decision naming an organization is a TenancyError that
    says how to configure the mapping; project-wide decisions go by the scopes."""
    principal = service(["read:documents"]).principal
    assert await stytch_rbac.is_authorized(principal, "documents:read")
    assert not await stytch_rbac.is_authorized(
        principal, "documents:read", organization_id="organization-a"
    )
    with pytest.raises(TenancyError, match="service_organizations=") as caught:
        await stytch_rbac.authorize(principal, "documents:read", organization_id="organization-a")
    assert caught.value.client_id == principal.client_id
    assert caught.value.member_organization_id is None
    with pytest.raises(TenancyError):
        stytch_rbac.check_organization(principal, "organization-a")


async def test_service_organizations_as_a_callable(
    stytch_emulator: Emulator, service: ServiceFactory
) -> None:
    """The callable's organization ids are where a service may act; a wrong return type is a
    TypeError, not an allow."""
    reader = service(["read:documents"]).principal

    def mapping(principal: ServicePrincipal) -> list[str]:
        return ["organization-a"] if principal.client_id == reader.client_id else []

    async with facade(stytch_emulator, service_organizations=mapping) as rbac:
        assert await rbac.is_authorized(reader, "documents:read", organization_id="organization-a")
        rbac.check_organization(reader, "organization-a")
        with pytest.raises(TenancyError, match="not mapped to organization organization-b"):
            await rbac.authorize(reader, "documents:read", organization_id="organization-b")
        other = service(["read:documents"]).principal
        assert not await rbac.is_authorized(
            other, "documents:read", organization_id="organization-a"
        )
    async with facade(stytch_emulator, service_organizations=lambda p: "organization-a") as rbac:
        with pytest.raises(TypeError, match="iterable of organization ids"):
            await rbac.is_authorized(reader, "documents:read", organization_id="organization-a")
    async with facade(stytch_emulator, service_organizations=lambda p: [1]) as rbac:
        with pytest.raises(TypeError, match="non-string organization id"):
            await rbac.is_authorized(reader, "documents:read", organization_id="organization-a")


@pytest.mark.parametrize(
    ("claim", "allowed"),
    [
        pytest.param("organization-a", True, id="one-id"),
        pytest.param(["organization-b", "organization-a"], True, id="list"),
        pytest.param(["organization-b"], False, id="other"),
        pytest.param(42, False, id="wrong-shape"),
        pytest.param([1, "organization-a"], False, id="mixed-list"),
        pytest.param("", False, id="empty"),
        pytest.param(None, False, id="missing"),
    ],
)
async def test_service_organizations_as_a_claim(
    stytch_emulator: Emulator, service: ServiceFactory, claim: object, allowed: bool
) -> None:
    """The named custom claim of the M2M client's token holds its organization id(s); any
    other shape, or none, maps it to no organization."""
    claims = {} if claim is None else {"organizations": claim}
    seeded = service(["read:documents"], custom_claims=claims)
    async with facade(stytch_emulator, service_organizations="organizations") as rbac:
        principal = await rbac.authenticate_access_token(seeded.access_token)
        assert isinstance(principal, ServicePrincipal)
        decided = await rbac.is_authorized(
            principal, "documents:read", organization_id="organization-a"
        )
        assert decided is allowed


# -- events ----------------------------------------------------------------------------------


async def test_machine_decisions_are_reported_with_the_client_and_scopes(
    stytch_emulator: Emulator, agent: AgentFactory, service: ServiceFactory
) -> None:
    """Each decision for a token is one event naming its kind, its client and the scopes
    that granted it; refusals carry their reason; events stay JSON-able."""
    events: list[DecisionEvent] = []
    seeded = agent(["read:documents"], roles=["viewer"])
    machine = service(["write:documents"]).principal
    async with facade(stytch_emulator, on_decision=events.append) as rbac:
        assert await rbac.is_authorized(seeded.principal, "documents:read")
        await rbac.explain(seeded.principal, "documents:edit")
        assert not await rbac.is_authorized(
            seeded.principal, "documents:read", organization_id="organization-test-other"
        )
        await rbac.authorize(machine, "documents:edit")
        with pytest.raises(TenancyError):
            await rbac.authorize(machine, "documents:edit", organization_id="organization-a")
        with pytest.raises(UnknownPermission):
            await rbac.authorize(machine, "documents:fly")
    read, edit, tenancy, service_edit, service_tenancy, unknown = events
    assert (read.source, read.principal_kind, read.principal_id) == (
        DecisionSource.IS_AUTHORIZED,
        "agent",
        seeded.member_id,
    )
    assert (read.client_id, read.organization_id) == (seeded.client_id, seeded.organization_id)
    assert read.allowed
    assert read.granted_by == ("read:documents",)
    assert read.policy_sha256 is not None
    assert read.policy_age is not None
    assert (edit.source, edit.allowed, edit.reason) == (
        DecisionSource.EXPLAIN,
        False,
        DenialReason.NO_GRANT,
    )
    assert tenancy.reason is DenialReason.TENANCY
    assert tenancy.requested_organization_id == "organization-test-other"
    assert (service_edit.principal_kind, service_edit.principal_id) == (
        "service",
        machine.client_id,
    )
    assert service_edit.organization_id is None
    assert service_edit.client_id == machine.client_id
    assert service_edit.granted_by == ("write:documents",)
    assert service_tenancy.reason is DenialReason.TENANCY
    assert unknown.reason is DenialReason.UNKNOWN_PERMISSION
    dumped = json.loads(json.dumps([event.as_dict() for event in events]))
    assert dumped[0]["client_id"] == seeded.client_id
    assert seeded.access_token not in json.dumps(dumped) + repr(events)


async def test_machine_events_on_the_system_clock_carry_the_policy_age(
    stytch_emulator: Emulator, agent: AgentFactory, service: ServiceFactory
) -> None:
    """With no clock given (the system clock, which the observer reads lazily for members),
    a token's decision still reports how old the policy was."""
    events: list[DecisionEvent] = []
    seeded = agent(["read:documents"], roles=["viewer"])
    machine = service(["write:documents"]).principal
    async with open_rbac(stytch_emulator, clock=None, on_decision=events.append) as rbac:
        assert await rbac.is_authorized(seeded.principal, "documents:read")
        assert await rbac.is_authorized(machine, "documents:edit")
    assert [event.principal_kind for event in events] == ["agent", "service"]
    for event in events:
        assert event.policy_age is not None
        assert 0.0 <= event.policy_age < 3600


async def test_member_events_name_no_client(
    stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """A session's event keeps its shape: kind member, no client id."""
    events: list[DecisionEvent] = []
    async with facade(stytch_emulator, on_decision=events.append) as rbac:
        await rbac.is_authorized(member(["viewer"]).principal, "documents:read")
    (event,) = events
    assert (event.principal_kind, event.client_id) == ("member", None)
    assert event.as_dict()["client_id"] is None


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 500}, id="500"),
        pytest.param({"status": 400, "error_type": "invalid_argument"}, id="400"),
        pytest.param({"status": 401, "error_type": "unauthorized_credentials"}, id="401"),
        pytest.param({"status": 404, "error_type": "route_not_found"}, id="404-not-a-member"),
        pytest.param({"status": 429}, id="429"),
        pytest.param(None, id="garbage"),
        pytest.param({"redirect": 302}, id="redirect"),
    ],
)
async def test_intersect_fails_closed_on_every_bad_answer(
    stytch_emulator: Emulator, agent: AgentFactory, fault: dict[str, Any] | None
) -> None:
    """Any answer to the members call but the member (or Stytch's member_not_found) is
    StytchUnavailable: not a 401 for the agent, never an allow."""
    principal = agent(["read:documents"], roles=["viewer"]).principal
    endpoint = "organizations.members.get"
    if fault is None:
        stytch_emulator.faults.garbage(endpoint)
    elif "redirect" in fault:
        stytch_emulator.faults.redirect(endpoint, fault["redirect"])
    else:
        stytch_emulator.faults.fail(endpoint, **fault)
    async with facade(stytch_emulator, agent_roles="intersect") as rbac:
        with pytest.raises(StytchUnavailable):
            await rbac.is_authorized(principal, "documents:read")


def test_intersect_reads_the_roles_of_active_members_only() -> None:
    """member_roles_from: an active member's role ids; none for another status; a body that
    is no member does not parse."""
    from stytch_rbac.machine_rules import member_roles_from

    member = {"status": "active", "roles": [{"role_id": "viewer"}, {"role_id": "editor"}]}
    assert member_roles_from({"member": member}) == {"viewer", "editor"}
    assert member_roles_from({"member": {**member, "status": "invited"}}) == frozenset()
    for body in ({}, {"member": {"roles": "viewer"}}, {"member": {"roles": [{"id": "x"}]}}):
        with pytest.raises(ValueError):  # noqa: PT011  (the message varies by what is wrong)
            member_roles_from(body)


async def test_an_async_service_organizations_callable_is_refused(
    stytch_emulator: Emulator, service: ServiceFactory
) -> None:
    """The mapping is called on the decision path, which may not wait: a coroutine
    function is a TypeError at the decision, not an allow."""

    async def mapping(principal: ServicePrincipal) -> list[str]:
        return ["organization-a"]  # pragma: no cover - never awaited

    principal = service(["read:documents"]).principal
    async with facade(stytch_emulator, service_organizations=mapping) as rbac:
        with pytest.raises(TypeError, match="iterable of organization ids"):
            await rbac.is_authorized(principal, "documents:read", organization_id="organization-a")


# -- the warm path ---------------------------------------------------------------------------

#: Policy scopes, a Stytch M2M scope, a wildcard and an OIDC scope: every subset is tried.
_SCOPES = ("read:documents", "write:documents", "read:billing", "edit:documents", "read:*")


async def _outcome(decide: Any) -> object:
    """What an awaited decision gave: its value, or the error's type and message."""
    try:
        return await decide
    except Exception as error:  # compared by the caller, not handled
        return (type(error), str(error))


async def test_the_warm_path_decides_as_the_reported_one(
    stytch_emulator: Emulator, agent: AgentFactory, service: ServiceFactory
) -> None:
    """Unobserved and warm, is_authorized and authorize decide agents and services at once
    (no coroutine of their own, no Decision for is_authorized): for every set of scopes,
    permission (an unknown one too) and organization, in both m2m_scopes modes, they
    answer as the reported path (taken when an observer is set) and as explain."""
    base_agent = agent(["openid"], roles=["viewer"]).principal
    own = base_agent.organization_id
    base_service = dataclasses.replace(service([]).principal, custom_claims={"tenant": own})
    events: list[DecisionEvent] = []
    for mode in ("policy", "stytch"):
        options: dict[str, Any] = {"m2m_scopes": mode, "service_organizations": "tenant"}
        async with (
            facade(stytch_emulator, **options) as quiet,
            facade(stytch_emulator, on_decision=events.append, **options) as observed,
        ):
            policy = await quiet.policy()
            permissions = [
                f"{resource}:{action}"
                for resource, actions in scope_permissions(policy, frozenset()).items()
                for action in actions
            ] + ["documents:fly"]
            for size in range(len(_SCOPES) + 1):
                for held in itertools.combinations(_SCOPES, size):
                    for base in (base_agent, base_service):
                        principal = dataclasses.replace(base, scopes=frozenset(held))
                        for permission in permissions:
                            for organization_id in (None, own, "organization-test-other"):
                                at = {"organization_id": organization_id}
                                expected = await _outcome(
                                    observed.is_authorized(principal, permission, **at)
                                )
                                got = await _outcome(
                                    quiet.is_authorized(principal, permission, **at)
                                )
                                assert got == expected, (mode, principal, permission, at)
                                if isinstance(expected, bool):
                                    explained = await quiet.explain(principal, permission, **at)
                                    assert explained.allowed is expected
                                assert await _outcome(
                                    quiet.authorize(principal, permission, **at)
                                ) == await _outcome(observed.authorize(principal, permission, **at))
    assert events  # the observed facade took the reported path
