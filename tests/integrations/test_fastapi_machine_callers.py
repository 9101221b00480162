"""The issue's "done when": one FastAPI route accepts a member session, a Connected-App token
and an M2M token, each decided by its own rule (roles, the agent's scopes, the service's
scopes), and each refused with the right status and ``WWW-Authenticate`` when it lacks the
permission. Tokens are minted by the emulator (the plugin's ``member``, ``agent`` and
``service`` fixtures) and verified by the real facade; nothing is mocked.
"""

from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from stytch_rbac import AnyPrincipal, Permission, StytchRBAC
from stytch_rbac.auth.resource_metadata import metadata_url
from stytch_rbac.integrations.guard import path
from stytch_rbac.testing import AgentFactory, MemberFactory, ServiceFactory

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(POLICY)]

READ = Permission("documents", "read")
EDIT = Permission("documents", "edit")
RESOURCE = "https://mcp.example.com/mcp"
METADATA = metadata_url(RESOURCE)
EVERYONE = {"session", "agent", "service"}


def build_app(rbac: StytchRBAC) -> FastAPI:
    app = FastAPI()
    reader = Annotated[AnyPrincipal, Depends(rbac.require(READ, accept=EVERYONE))]
    editor = Annotated[AnyPrincipal, Depends(rbac.require(EDIT, accept=EVERYONE))]
    sessions_only = Annotated[AnyPrincipal, Depends(rbac.require(READ))]
    org_reader = Annotated[
        AnyPrincipal,
        Depends(rbac.require(READ, accept=EVERYONE, organization_id=path("org_id"))),
    ]
    mcp = Annotated[
        AnyPrincipal,
        Depends(rbac.require(READ, accept={"agent"}, resource_metadata=METADATA)),
    ]

    def who(principal: AnyPrincipal) -> dict[str, Any]:
        return {"kind": principal.kind, "id": getattr(principal, "client_id", None)}

    @app.get("/documents")
    async def read(principal: reader) -> dict[str, Any]:
        return who(principal)

    @app.put("/documents")
    async def edit(principal: editor) -> dict[str, Any]:
        return who(principal)

    @app.get("/members-only")
    async def members_only(principal: sessions_only) -> dict[str, Any]:
        return who(principal)

    @app.get("/orgs/{org_id}/documents")
    async def org_read(org_id: str, principal: org_reader) -> dict[str, Any]:
        return who(principal)

    @app.post("/mcp")
    async def mcp_call(principal: mcp) -> dict[str, Any]:
        return who(principal)

    @app.get("/.well-known/oauth-protected-resource/mcp")
    async def metadata() -> dict[str, Any]:
        return await rbac.protected_resource_metadata(RESOURCE)

    return app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")


async def test_one_route_three_callers_each_by_its_own_rule(
    stytch_rbac: StytchRBAC,
    member: MemberFactory,
    agent: AgentFactory,
    service: ServiceFactory,
) -> None:
    """Reading is allowed to a viewer, an agent holding read:documents and a service holding
    it; editing is refused to each, with the challenge only the tokens get."""
    viewer = member(["viewer"])
    reader_agent = agent(["openid", "read:documents"], roles=["viewer"])
    reader_service = service(["read:documents"])
    async with client_for(build_app(stytch_rbac)) as client:
        for caller, kind in ((viewer, "session"), (reader_agent, "agent")):
            answer = await client.get("/documents", headers=caller.headers)
            assert answer.status_code == 200, answer.text
            assert answer.json()["kind"] == kind
        answer = await client.get("/documents", headers=reader_service.headers)
        assert answer.json() == {"kind": "service", "id": reader_service.client_id}

        # The member's roles do not grant edit: a plain 403, no scope challenge.
        refused = await client.put("/documents", headers=viewer.headers)
        assert refused.status_code == 403
        assert refused.json()["detail"]["error"] == "permission_denied"
        assert "www-authenticate" not in refused.headers
        # The tokens lack the scope granting it: 403 naming it (RFC 6750 3.1).
        for token in (reader_agent, reader_service):
            refused = await client.put("/documents", headers=token.headers)
            assert refused.status_code == 403, refused.text
            assert refused.headers["www-authenticate"] == (
                'Bearer error="insufficient_scope", scope="write:documents"'
            )
            assert token.access_token not in refused.text


async def test_a_token_granting_the_permission_passes_where_the_role_does_not(
    stytch_rbac: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """write:documents grants edit to an agent (its member may edit) and to a service."""
    writer_agent = agent(["write:documents"], roles=["editor"])
    writer_service = service(["write:documents"])
    async with client_for(build_app(stytch_rbac)) as client:
        for token in (writer_agent, writer_service):
            answer = await client.put("/documents", headers=token.headers)
            assert answer.status_code == 200, answer.text


async def test_kinds_a_route_does_not_accept_are_401_invalid_token(
    stytch_rbac: StytchRBAC, member: MemberFactory, agent: AgentFactory, service: ServiceFactory
) -> None:
    """The default guard takes sessions only: an access token there is a 401, and a member
    session on an agents-only route too, before any decision."""
    async with client_for(build_app(stytch_rbac)) as client:
        for token in (agent(["read:documents"], roles=["viewer"]), service(["read:documents"])):
            refused = await client.get("/members-only", headers=token.headers)
            assert refused.status_code == 401, refused.text
            assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        refused = await client.post("/mcp", headers=member(["viewer"]).headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == (
            f'Bearer error="invalid_token", resource_metadata="{METADATA}"'
        )


async def test_tenancy_agents_by_their_organization_services_refused(
    stytch_rbac: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """An agent reads its own organization's route, not another's; a service, mapped to no
    organization, is refused on an organization's route."""
    token = agent(["read:documents"], roles=["viewer"])
    async with client_for(build_app(stytch_rbac)) as client:
        own = await client.get(f"/orgs/{token.organization_id}/documents", headers=token.headers)
        assert own.status_code == 200, own.text
        other = await client.get("/orgs/organization-test-other/documents", headers=token.headers)
        assert other.status_code == 403
        assert other.json()["detail"]["error"] == "tenancy_error"
        machine = service(["read:documents"])
        refused = await client.get(
            f"/orgs/{token.organization_id}/documents", headers=machine.headers
        )
        assert refused.status_code == 403
        assert refused.json()["detail"]["error"] == "tenancy_error"


async def test_an_mcp_server_advertises_its_metadata(
    stytch_rbac: StytchRBAC, agent: AgentFactory
) -> None:
    """The unauthenticated 401 names the metadata URL; the document names the project's
    issuer and the policy's scopes; a token then gets through."""
    async with client_for(build_app(stytch_rbac)) as client:
        first = await client.post("/mcp")
        assert first.status_code == 401
        assert first.headers["www-authenticate"] == f'Bearer resource_metadata="{METADATA}"'
        document = (await client.get("/.well-known/oauth-protected-resource/mcp")).json()
        assert document["resource"] == RESOURCE
        assert document["authorization_servers"] == [f"https://{stytch_rbac.project_domain}"]
        assert document["scopes_supported"] == ["read:billing", "read:documents", "write:documents"]
        assert document["bearer_methods_supported"] == ["header"]
        token = agent(["read:documents"], roles=["viewer"])
        answer = await client.post("/mcp", headers=token.headers)
        assert answer.json() == {"kind": "agent", "id": token.client_id}
