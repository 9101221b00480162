"""The pytest plugin's ``agent`` and ``service`` fixtures: tokens the emulator accepts,
principals that match their claims, refusals the consent screen would make."""

from __future__ import annotations

import pytest

from stytch_rbac import AgentPrincipal, ServicePrincipal
from stytch_rbac.emulator import Emulator, EmulatorError
from stytch_rbac.testing import AgentFactory, MemberFactory, ServiceFactory

POLICY = "examples/policy.json"


@pytest.mark.stytch_policy(POLICY)
def test_agent_fixture(
    agent: AgentFactory, member: MemberFactory, stytch_emulator: Emulator
) -> None:
    """A token for a new member with ``roles``; its record carries ids, scopes, headers and an
    ``AgentPrincipal`` from the claims; introspection finds it active."""
    seeded = agent(["openid", "read:documents"], roles=["viewer"])
    assert seeded.scopes == frozenset({"openid", "read:documents"})
    assert seeded.headers == {"Authorization": f"Bearer {seeded.access_token}"}
    assert seeded.access_token not in repr(seeded)
    principal = seeded.principal
    assert isinstance(principal, AgentPrincipal)
    assert principal.kind == "agent"
    assert (principal.member_id, principal.organization_id, principal.client_id) == (
        seeded.member_id,
        seeded.organization_id,
        seeded.client_id,
    )
    assert principal.issuer == stytch_emulator.access_token_issuer
    assert principal.scopes == seeded.scopes
    assert principal.expires_at > principal.issued_at
    assert stytch_emulator.introspect(seeded.access_token)["active"] is True
    again = agent(["openid"], member=member(roles=["editor"], organization="Globex"))
    assert again.client_id == seeded.client_id  # one test app unless told otherwise
    assert again.principal.organization_slug == "globex"


@pytest.mark.stytch_policy(POLICY)
def test_agent_fixture_refuses_uncovered_scopes(agent: AgentFactory, member: MemberFactory) -> None:
    """A viewer cannot grant write:documents; bad arguments are clear errors."""
    with pytest.raises(EmulatorError, match="write:documents"):
        agent(["write:documents"], roles=["viewer"])
    with pytest.raises(TypeError, match="list of scopes"):
        agent("openid")
    with pytest.raises(ValueError, match="either member="):
        agent(["openid"], roles=["viewer"], member=member(["viewer"]))


@pytest.mark.stytch_policy(POLICY)
def test_service_fixture(service: ServiceFactory, stytch_emulator: Emulator) -> None:
    """An M2M client and its token: every scope by default, a subset on request, custom
    claims in the token and the principal."""
    seeded = service(["read:documents", "write:documents"], custom_claims={"tenant": "acme"})
    assert seeded.scopes == frozenset({"read:documents", "write:documents"})
    assert seeded.headers["Authorization"] == f"Bearer {seeded.access_token}"
    assert seeded.client_secret not in repr(seeded)
    principal = seeded.principal
    assert isinstance(principal, ServicePrincipal)
    assert principal.kind == "service"
    assert principal.client_id == seeded.client_id
    assert principal.issuer == f"stytch.com/{stytch_emulator.project_id}"
    assert principal.custom_claims == {"tenant": "acme"}
    narrow = service(["a", "b"], token_scopes=["b"])
    assert narrow.scopes == frozenset({"b"})
    assert stytch_emulator.introspect(narrow.access_token)["scope"] == "b"
    with pytest.raises(EmulatorError) as refused:
        service(["a"], token_scopes=["z"])
    assert refused.value.error_type == "invalid_scope"


@pytest.mark.stytch_policy(POLICY)
def test_seeded_records_repr_ids_and_bearer_headers(
    member: MemberFactory, agent: AgentFactory, service: ServiceFactory
) -> None:
    """Each record's repr names its ids (roles and scopes as sorted lists), never a
    credential; its headers carry its bearer credential (a member's session JWT)."""
    viewer = member(["viewer"])
    token = agent(["read:documents", "openid"], member=viewer)
    machine = service(["write:documents", "read:documents"])
    assert repr(viewer) == (
        f"SeededMember(member_id={viewer.member_id!r}, organization_id="
        f"{viewer.organization_id!r}, roles={list(viewer.roles)!r})"
    )
    assert repr(token) == (
        f"SeededAgent(member_id={viewer.member_id!r}, client_id={token.client_id!r}, "
        "scopes=['openid', 'read:documents'])"
    )
    assert repr(machine) == (
        f"SeededService(client_id={machine.client_id!r}, "
        "scopes=['read:documents', 'write:documents'])"
    )
    assert viewer.headers == {"Authorization": f"Bearer {viewer.session_jwt}"}
    assert machine.headers == {"Authorization": f"Bearer {machine.access_token}"}
    for record, secrets in (
        (viewer, (viewer.session_jwt, viewer.session_token)),
        (token, (token.access_token,)),
        (machine, (machine.access_token, machine.client_secret)),
    ):
        assert not any(secret in repr(record) for secret in secrets)
