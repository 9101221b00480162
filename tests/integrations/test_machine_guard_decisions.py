"""Guards over the facade's machine options: a demoted agent (``agent_roles="intersect"``)
gets a plain 403, Stytch's M2M rule names its own scope in the challenge, and a service
reaches an organization's route only as ``service_organizations`` maps it.

Tokens are minted by the emulator and verified by the facade; nothing is mocked.
"""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from stytch_rbac import AnyPrincipal, StytchRBAC
from stytch_rbac.emulator import Emulator
from stytch_rbac.integrations.guard import path
from stytch_rbac.observe import DecisionEvent, DecisionSource, DenialReason
from stytch_rbac.testing import AgentFactory, ServiceFactory, open_rbac

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(POLICY)]
EVERYONE = {"session", "agent", "service"}


@contextlib.asynccontextmanager
async def served(
    emulator: Emulator, **options: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, StytchRBAC]]:
    """A FastAPI app guarded by a facade built with ``options``: a client for it, and the
    facade (for its ``stytch`` SDK client)."""
    async with open_rbac(emulator, **options) as rbac:
        app = FastAPI()
        editor = Annotated[AnyPrincipal, Depends(rbac.require("documents:edit", accept=EVERYONE))]
        org_reader = Annotated[
            AnyPrincipal,
            Depends(
                rbac.require("documents:read", accept=EVERYONE, organization_id=path("org_id"))
            ),
        ]
        org_scoped = Annotated[
            AnyPrincipal,
            Depends(rbac.require_scopes("read:documents", organization_id=path("org_id"))),
        ]

        @app.put("/documents")
        async def edit(principal: editor) -> dict[str, str]:
            return {"kind": principal.kind}

        @app.get("/orgs/{org_id}/documents")
        async def org_read(org_id: str, principal: org_reader) -> dict[str, str]:
            return {"kind": principal.kind}

        @app.get("/orgs/{org_id}/scoped")
        async def org_scope(org_id: str, principal: org_scoped) -> dict[str, str]:
            return {"kind": principal.kind}

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client, rbac


async def test_a_demoted_agent_gets_a_plain_403(
    stytch_emulator: Emulator, agent: AgentFactory
) -> None:
    """With agent_roles="intersect", a token holding write:documents whose member lost the
    editor role is refused without a scope challenge: no scope would help."""
    seeded = agent(["write:documents"], roles=["editor"])
    options: dict[str, Any] = {"agent_roles": "intersect", "agent_roles_ttl": 5}
    async with served(stytch_emulator, **options) as (client, rbac):
        assert (await client.put("/documents", headers=seeded.headers)).status_code == 200
        await rbac.stytch.organizations.members.update_async(
            organization_id=seeded.organization_id, member_id=seeded.member_id, roles=[]
        )
        stytch_emulator.advance_time(6)
        refused = await client.put("/documents", headers=seeded.headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"]["error"] == "permission_denied"
        assert "www-authenticate" not in refused.headers


async def test_stytchs_m2m_rule_names_its_own_scope(
    stytch_emulator: Emulator, service: ServiceFactory
) -> None:
    """With m2m_scopes="stytch", edit:documents grants edit, and a refusal asks for it."""
    async with served(stytch_emulator, m2m_scopes="stytch") as (client, _):
        allowed = await client.put("/documents", headers=service(["edit:documents"]).headers)
        assert allowed.status_code == 200, allowed.text
        refused = await client.put("/documents", headers=service(["write:documents"]).headers)
        assert refused.status_code == 403
        assert refused.headers["www-authenticate"] == (
            'Bearer error="insufficient_scope", scope="edit:documents"'
        )


async def test_a_mapped_service_reaches_its_organizations_routes(
    stytch_emulator: Emulator, service: ServiceFactory
) -> None:
    """service_organizations="tenant" admits a service on its tenant's routes (permission and
    scope guards alike) and refuses it on another's with a tenancy 403."""
    machine = service(["read:documents"], custom_claims={"tenant": "organization-a"})
    async with served(stytch_emulator, service_organizations="tenant") as (client, _):
        for route in ("documents", "scoped"):
            own = await client.get(f"/orgs/organization-a/{route}", headers=machine.headers)
            assert own.status_code == 200, own.text
            other = await client.get(f"/orgs/organization-b/{route}", headers=machine.headers)
            assert other.status_code == 403
            assert other.json()["detail"]["error"] == "tenancy_error"


async def test_guard_decisions_for_tokens_are_reported(
    stytch_emulator: Emulator, agent: AgentFactory, service: ServiceFactory
) -> None:
    """A guard's tenancy refusal of an agent is reported as the guard's, with the route and
    the client; the permission it decides is the facade's event, naming the scope."""
    events: list[DecisionEvent] = []
    seeded = agent(["read:documents"], roles=["viewer"])
    async with served(stytch_emulator, on_decision=events.append) as (client, _):
        own = f"/orgs/{seeded.organization_id}/documents"
        assert (await client.get(own, headers=seeded.headers)).status_code == 200
        other = "/orgs/organization-test-other/documents"
        assert (await client.get(other, headers=seeded.headers)).status_code == 403
    allowed, refused = events
    assert (allowed.principal_kind, allowed.client_id, allowed.granted_by) == (
        "agent",
        seeded.client_id,
        ("read:documents",),
    )
    assert allowed.requested_organization_id == seeded.organization_id
    assert (refused.source, refused.reason, refused.route) == (
        DecisionSource.GUARD,
        DenialReason.TENANCY,
        "/orgs/{org_id}/documents",
    )
    assert (refused.resource, refused.action, refused.client_id) == (
        "documents",
        "read",
        seeded.client_id,
    )
