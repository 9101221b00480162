"""The blocking facade's guards for machine callers: ``require_scopes(...)`` and
``require(..., accept=...)`` on Flask and Django views (sync and async), with tokens minted by
the emulator (the plugin's ``member``, ``agent`` and ``service`` fixtures) and verified by the
real blocking facade; refusals carry the async guards' statuses and ``WWW-Authenticate``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from .django_settings import configure

configure()

from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402
from django.urls import path as url  # noqa: E402
from flask import Flask, g  # noqa: E402

from examples.permissions import P  # noqa: E402
from stytch_rbac import (  # noqa: E402
    AnyPrincipal,
    InsufficientScope,
    Permission,
    PrincipalKind,
    Unauthenticated,
    path,
)
from stytch_rbac.auth.resource_metadata import metadata_url  # noqa: E402
from stytch_rbac.integrations.flask import init_app  # noqa: E402
from stytch_rbac.sync import StytchRBAC  # noqa: E402
from stytch_rbac.testing import AgentFactory, MemberFactory, ServiceFactory  # noqa: E402

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
pytestmark = pytest.mark.stytch_policy(EXAMPLE_POLICY)

RESOURCE = "https://mcp.example.com/mcp"
METADATA = metadata_url(RESOURCE)
EVERYONE: frozenset[PrincipalKind] = frozenset({"session", "agent", "service"})
#: Tests whose access tokens reach rbac.authorize(): the blocking facade decides for agents
#: and services once helper BD's decisions (branch wt-BD) are merged.


def who(principal: AnyPrincipal) -> dict[str, Any]:
    return {"kind": principal.kind, "id": getattr(principal, "client_id", None)}


def make_flask(rbac: StytchRBAC) -> Flask:
    """Routes guarded by scopes, by permissions for every kind, and for agents only."""
    app = Flask(__name__)
    init_app(app, rbac)

    @app.get("/scoped")
    @rbac.require_scopes("read:documents", resource_metadata=METADATA)
    def scoped() -> dict[str, Any]:
        return who(g.stytch_principal)

    @app.get("/orgs/<organization_id>/scoped")
    @rbac.require_scopes("read:documents", organization_id=path("organization_id"))
    def org_scoped(organization_id: str) -> dict[str, Any]:
        return who(g.stytch_principal)

    @app.get("/documents")
    @rbac.require(P.documents.read, accept=EVERYONE)
    def read() -> dict[str, Any]:
        return who(g.stytch_principal)

    @app.put("/documents")
    @rbac.require(P.documents.edit, accept=EVERYONE)
    def edit() -> dict[str, Any]:
        return who(g.stytch_principal)

    @app.get("/members-only")
    @rbac.require(P.documents.read)
    def members_only() -> dict[str, Any]:
        return who(g.stytch_principal)

    return app


def test_flask_require_scopes_admits_tokens_holding_the_scopes(
    stytch_rbac_sync: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """An agent and a service holding read:documents pass; lacking it, each is a 403
    insufficient_scope naming it and the metadata URL, the token never echoed."""
    client = make_flask(stytch_rbac_sync).test_client()
    reader_agent = agent(["read:documents"], roles=["viewer"])
    reader_service = service(["read:documents"])
    answer = client.get("/scoped", headers=reader_agent.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json == {"kind": "agent", "id": reader_agent.client_id}
    answer = client.get("/scoped", headers=reader_service.headers)
    assert answer.json == {"kind": "service", "id": reader_service.client_id}
    for token in (agent(["write:documents"], roles=["editor"]), service(["read:billing"])):
        refused = client.get("/scoped", headers=token.headers)
        assert refused.status_code == 403, refused.text
        assert refused.headers["WWW-Authenticate"] == (
            f'Bearer error="insufficient_scope", scope="read:documents", '
            f'resource_metadata="{METADATA}"'
        )
        assert refused.json is not None
        assert refused.json["detail"]["error"] == "insufficient_scope"
        assert token.access_token not in refused.text


def test_flask_require_scopes_refuses_sessions_and_missing_tokens_with_401(
    stytch_rbac_sync: StytchRBAC, member: MemberFactory
) -> None:
    """A member session holds no scopes: 401 invalid_token, like a request with no token;
    both name the metadata URL."""
    client = make_flask(stytch_rbac_sync).test_client()
    for headers in (member(["owner"]).headers, {}):
        refused = client.get("/scoped", headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert f'resource_metadata="{METADATA}"' in refused.headers["WWW-Authenticate"]
    session = client.get("/scoped", headers=member(["owner"]).headers)
    assert 'error="invalid_token"' in session.headers["WWW-Authenticate"]


def test_flask_scoped_tenancy_agents_by_their_organization_services_refused(
    stytch_rbac_sync: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """On an organization's route an agent passes in its token's organization only, and a
    service (mapped to no organization) is refused."""
    client = make_flask(stytch_rbac_sync).test_client()
    token = agent(["read:documents"], roles=["viewer"])
    own = client.get(f"/orgs/{token.organization_id}/scoped", headers=token.headers)
    assert own.status_code == 200, own.text
    other = client.get("/orgs/organization-test-other/scoped", headers=token.headers)
    assert other.status_code == 403
    assert other.json is not None
    assert other.json["detail"]["error"] == "tenancy_error"
    machine = service(["read:documents"])
    refused = client.get(f"/orgs/{token.organization_id}/scoped", headers=machine.headers)
    assert refused.status_code == 403


def test_flask_kinds_a_route_does_not_accept_are_401_invalid_token(
    stytch_rbac_sync: StytchRBAC, member: MemberFactory, agent: AgentFactory
) -> None:
    """The default guard takes sessions only: an access token there is a 401 invalid_token;
    a session on a route accepting every kind is decided by its roles."""
    client = make_flask(stytch_rbac_sync).test_client()
    refused = client.get(
        "/members-only", headers=agent(["read:documents"], roles=["viewer"]).headers
    )
    assert refused.status_code == 401, refused.text
    assert refused.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    viewer = member(["viewer"])
    answer = client.get("/documents", headers=viewer.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json == {"kind": "session", "id": None}
    denied = client.put("/documents", headers=viewer.headers)
    assert denied.status_code == 403
    assert "WWW-Authenticate" not in denied.headers


def test_flask_require_decides_each_kind_by_its_own_rule(
    stytch_rbac_sync: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """An agent and a service holding read:documents may read, not edit: the 403 names the
    scope that would grant it."""
    client = make_flask(stytch_rbac_sync).test_client()
    for token in (agent(["read:documents"], roles=["viewer"]), service(["read:documents"])):
        answer = client.get("/documents", headers=token.headers)
        assert answer.status_code == 200, answer.text
        refused = client.put("/documents", headers=token.headers)
        assert refused.status_code == 403, refused.text
        assert refused.headers["WWW-Authenticate"] == (
            'Bearer error="insufficient_scope", scope="write:documents"'
        )


class URLConf:
    """A URLconf made at run time (Django takes any object with ``urlpatterns``)."""

    def __init__(self, urlpatterns: list[Any]) -> None:
        self.urlpatterns = urlpatterns


def make_urls(rbac: StytchRBAC) -> URLConf:
    """A sync and an async view guarded by scopes, one by permissions for every kind."""

    @rbac.require_scopes("read:documents")
    def scoped(request: HttpRequest) -> JsonResponse:
        return JsonResponse(who(request.stytch_principal))

    @rbac.require_scopes("read:documents", resource_metadata=METADATA)
    async def scoped_async(request: HttpRequest) -> JsonResponse:
        return JsonResponse(who(request.stytch_principal))

    @rbac.require(P.documents.read, accept=EVERYONE)
    def read(request: HttpRequest) -> JsonResponse:
        return JsonResponse(who(request.stytch_principal))

    return URLConf(
        [url("scoped", scoped), url("scoped-async", scoped_async), url("documents", read)]
    )


@pytest.fixture
def site(stytch_rbac_sync: StytchRBAC) -> Iterator[StytchRBAC]:
    """Django pointed at the test's URLs and the plugin's blocking facade."""
    with override_settings(ROOT_URLCONF=make_urls(stytch_rbac_sync), STYTCH_RBAC=stytch_rbac_sync):
        yield stytch_rbac_sync


def test_django_require_scopes_on_a_sync_view(
    site: StytchRBAC, member: MemberFactory, agent: AgentFactory, service: ServiceFactory
) -> None:
    """A token holding the scope passes; one lacking it is a 403 insufficient_scope; a
    member session is a 401 invalid_token."""
    client = Client()
    token = agent(["read:documents"], roles=["viewer"])
    answer = client.get("/scoped", headers=token.headers)
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"kind": "agent", "id": token.client_id}
    refused = client.get("/scoped", headers=service(["read:billing"]).headers)
    assert refused.status_code == 403
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", scope="read:documents"'
    )
    assert json.loads(refused.content)["detail"]["error"] == "insufficient_scope"
    session = client.get("/scoped", headers=member(["owner"]).headers)
    assert session.status_code == 401
    assert session.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_django_require_scopes_on_an_async_view(
    site: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """The async view awaits the facade (cold and warm tokens) from Django's loop (asyncio:
    Django's own) and answers like the sync one, the metadata URL in its challenges."""
    reader = service(["read:documents"])
    lacking = agent(["write:documents"], roles=["editor"])

    async def main() -> None:
        client = AsyncClient()
        for _ in range(2):  # cold, then the remembered token
            answer = await client.get("/scoped-async", headers=reader.headers)
            assert answer.status_code == 200, answer.content
            assert answer.json() == {"kind": "service", "id": reader.client_id}
        refused = await client.get("/scoped-async", headers=lacking.headers)
        assert refused.status_code == 403
        assert refused.headers["WWW-Authenticate"] == (
            f'Bearer error="insufficient_scope", scope="read:documents", '
            f'resource_metadata="{METADATA}"'
        )

    anyio.run(main, backend="asyncio")


def test_django_require_with_accept_decides_a_session_by_its_roles(
    site: StytchRBAC, member: MemberFactory
) -> None:
    """A member session on a route accepting every kind is decided by its roles."""
    viewer = member(["viewer"])
    answer = Client().get("/documents", headers=viewer.headers)
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"kind": "session", "id": None}


def test_django_require_with_accept_decides_tokens_by_their_scopes(
    site: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """Agents and services holding read:documents may read on a route accepting every kind."""
    for token in (agent(["read:documents"], roles=["viewer"]), service(["read:documents"])):
        answer = Client().get("/documents", headers=token.headers)
        assert answer.status_code == 200, answer.content


def test_check_takes_access_principals(
    stytch_rbac_sync: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """guard.check() decides an AgentPrincipal or ServicePrincipal by the guard's scopes and
    returns it unchanged; a session-only guard refuses it as the wrong kind."""
    guard = stytch_rbac_sync.require_scopes("read:documents")
    reader = agent(["read:documents"], roles=["viewer"]).principal
    assert guard.check(reader) is reader
    with pytest.raises(InsufficientScope) as refused:
        guard.check(service(["read:billing"]).principal)
    assert refused.value.scopes == frozenset({"read:documents"})
    with pytest.raises(Unauthenticated) as wrong:
        stytch_rbac_sync.require(Permission("documents", "read")).check(reader)
    assert wrong.value.reason == "wrong_kind"
    assert guard.accept == frozenset({"agent", "service"})
    assert guard.scopes == ("read:documents",)
    assert "scopes=['read:documents']" in repr(guard)


def test_require_scopes_arguments(stytch_rbac_sync: StytchRBAC) -> None:
    """No scope, a session among the kinds, an unknown kind or one string of scopes is a
    clear error, as on the async facade."""
    with pytest.raises(ValueError, match="at least one scope"):
        stytch_rbac_sync.require_scopes()
    with pytest.raises(ValueError, match="member session holds no scopes"):
        stytch_rbac_sync.require_scopes("read:documents", accept={"session", "agent"})
    with pytest.raises(ValueError, match="unknown principal kinds"):
        stytch_rbac_sync.require(P.documents.read, accept={"session", "robot"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="without spaces"):
        stytch_rbac_sync.require_scopes("read:documents write:documents")
