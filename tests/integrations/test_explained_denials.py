"""explain=True: a guard's 403 says why and which roles would grant it, as RFC 9457 problem
details; off by default, and never on 401/503."""

# No ``from __future__ import annotations``: FastAPI must see the live Annotated dependencies
# of the routes built inside the fixture.

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from observe.conftest import EXAMPLE_POLICY, in_process

from stytch_rbac import Principal
from stytch_rbac.integrations.fastapi import add_exception_handlers, lifespan
from stytch_rbac.integrations.guard import path
from stytch_rbac.testing import MemberFactory

if TYPE_CHECKING:
    from starlette.testclient import TestClient
    from starlette.types import ASGIApp

    from stytch_rbac.emulator import Emulator

    MakeClient = Callable[[ASGIApp], TestClient]

pytestmark = pytest.mark.stytch_policy(EXAMPLE_POLICY)


def _app(emulator: "Emulator", handlers: bool) -> FastAPI:
    rbac, _http = in_process(emulator)
    app = FastAPI(lifespan=lifespan(rbac))
    if handlers:
        add_exception_handlers(app)
    explained = rbac.require("documents:delete", organization_id=path("org_id"), explain=True)
    plain = rbac.require("documents:delete", organization_id=path("org_id"))

    @app.delete("/orgs/{org_id}/docs")
    async def delete(org_id: str, who: Annotated[Principal, Depends(explained)]) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.delete("/plain/{org_id}/docs")
    async def delete_plain(
        org_id: str, who: Annotated[Principal, Depends(plain)]
    ) -> dict[str, str]:
        return {"member_id": who.member_id}

    return app


@pytest.fixture(params=[True, False], ids=["handlers", "no-handlers"])
def client(
    request: pytest.FixtureRequest, stytch_emulator: "Emulator", make_client: "MakeClient"
) -> "Iterator[tuple[TestClient, bool]]":
    """The app, with and without :func:`add_exception_handlers`."""
    with make_client(_app(stytch_emulator, request.param)) as test_client:
        yield test_client, request.param


def _problem(response: Any, handlers: bool) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body if handlers else body["detail"]


def test_no_grant_is_explained_with_the_granting_roles(
    client: "tuple[TestClient, bool]", member: MemberFactory
) -> None:
    """A viewer refused documents:delete learns the reason and which roles grant it."""
    test_client, handlers = client
    viewer = member(["viewer"])
    response = test_client.delete(f"/orgs/{viewer.organization_id}/docs", headers=viewer.headers)
    assert response.status_code == 403
    problem = _problem(response, handlers)
    assert problem["status"] == 403
    assert problem["error"] == "permission_denied"
    assert problem["reason"] == "no_grant"
    assert problem["permission"] == "documents:delete"
    assert problem["member_roles"] == ["stytch_member", "viewer"]
    assert "viewer" not in problem["granting_roles"]
    assert problem["granting_roles"], "some role of the example policy grants it"
    assert viewer.session_jwt not in response.text


def test_tenancy_is_explained(client: "tuple[TestClient, bool]", member: MemberFactory) -> None:
    """Another organization: the reason and both organization ids."""
    test_client, handlers = client
    admin = member(["stytch_admin"])
    other = member.organization("Globex").organization_id
    response = test_client.delete(f"/orgs/{other}/docs", headers=admin.headers)
    assert response.status_code == 403
    problem = _problem(response, handlers)
    assert (problem["reason"], problem["requested_organization_id"]) == ("tenancy", other)
    assert problem["organization_id"] == admin.organization_id


def test_off_by_default_and_not_on_401(
    client: "tuple[TestClient, bool]", member: MemberFactory
) -> None:
    """Without explain the 403 is the usual JSON; a 401 is never explained."""
    test_client, _handlers = client
    viewer = member(["viewer"])
    plain = test_client.delete(f"/plain/{viewer.organization_id}/docs", headers=viewer.headers)
    assert plain.status_code == 403
    assert plain.headers["content-type"] == "application/json"
    assert "granting_roles" not in plain.text
    anonymous = test_client.delete(f"/orgs/{viewer.organization_id}/docs")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/json"
