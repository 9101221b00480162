"""The document service, tested the way a user of stytch-rbac would test their own app.

The fixtures come from the stytch-rbac pytest plugin (installed with the
package, nothing to configure): ``stytch_rbac`` is a facade pointed at an
in-process Stytch emulator, ``member(roles=[...])`` creates a logged-in member.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from examples.fastapi_app import create_app
from stytch_rbac import StytchRBAC
from stytch_rbac.emulator import Emulator
from stytch_rbac.testing import MemberFactory

POLICY = Path(__file__).resolve().parents[2] / "policy.json"
pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(POLICY)]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every test on asyncio and on trio."""
    backend: str = request.param
    return backend


@pytest.fixture
async def client(stytch_rbac: StytchRBAC) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the app in-process."""
    transport = httpx.ASGITransport(app=create_app(stytch_rbac))
    async with httpx.AsyncClient(transport=transport, base_url="http://docs.test") as http:
        yield http


async def test_document_lifecycle(client: httpx.AsyncClient, member: MemberFactory) -> None:
    """Editors create and edit, viewers read but may not delete, owners delete."""
    editor, viewer, owner = member(["editor"]), member(["viewer"]), member(["owner"])
    docs = f"/orgs/{editor.organization_id}/documents"

    created = await client.post(docs, json={"title": "Plan"}, headers=editor.headers)
    assert created.status_code == 201
    doc = f"{docs}/{created.json()['document_id']}"

    edited = await client.put(doc, json={"title": "Plan v2", "body": "..."}, headers=editor.headers)
    assert edited.json()["updated_by"] == editor.member_id

    listed = await client.get(docs, headers=viewer.headers)
    assert [d["title"] for d in listed.json()] == ["Plan v2"]
    assert (await client.get(doc, headers=viewer.headers)).status_code == 200
    assert (await client.delete(doc, headers=viewer.headers)).status_code == 403
    assert (await client.post(docs, json={"title": "x"}, headers=viewer.headers)).status_code == 403
    assert (await client.delete(doc, headers=owner.headers)).status_code == 204
    assert (await client.get(doc, headers=viewer.headers)).status_code == 404


async def test_other_organizations_are_out_of_reach(
    client: httpx.AsyncClient, member: MemberFactory
) -> None:
    """An owner of Globex cannot read Acme's documents: 403, whatever its role allows."""
    acme_editor = member(["editor"])
    globex_owner = member(["owner"], organization="Globex")
    docs = f"/orgs/{acme_editor.organization_id}/documents"
    await client.post(docs, json={"title": "Secret"}, headers=acme_editor.headers)
    answer = await client.get(docs, headers=globex_owner.headers)
    assert answer.status_code == 403
    assert answer.json()["detail"]["error"] == "tenancy_error"
    assert "Secret" not in answer.text


async def test_credentials_are_required(client: httpx.AsyncClient, member: MemberFactory) -> None:
    """No credential is 401 with a Bearer challenge; the session cookie works like a header."""
    viewer = member(["viewer"])
    docs = f"/orgs/{viewer.organization_id}/documents"
    anonymous = await client.get(docs)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    with_cookie = await client.get(
        docs, headers={"Cookie": f"stytch_session={viewer.session_token}"}
    )
    assert with_cookie.status_code == 200


async def test_me_lists_permissions(client: httpx.AsyncClient, member: MemberFactory) -> None:
    """/me shows the caller's roles and what they allow."""
    viewer = member(["viewer"])
    me = (await client.get("/me", headers=viewer.headers)).json()
    assert me["member_id"] == viewer.member_id
    assert me["permissions"]["documents"]["read"] is True
    assert me["permissions"]["documents"]["delete"] is False


async def test_invite_needs_stytch_member_create(
    client: httpx.AsyncClient, member: MemberFactory, stytch_emulator: Emulator
) -> None:
    """A Stytch admin can invite; an owner (no stytch.member create) gets 403, nothing sent."""
    admin, owner = member(["stytch_admin"]), member(["owner"])
    invite = f"/orgs/{admin.organization_id}/members/invite"
    refused = await client.post(
        invite, json={"email_address": "x@acme.test"}, headers=owner.headers
    )
    assert refused.status_code == 403
    assert stytch_emulator.invites == []
    sent = await client.post(
        invite, json={"email_address": "new@acme.test", "roles": ["viewer"]}, headers=admin.headers
    )
    assert sent.status_code == 201
    assert sent.json()["status"] == "invited"
    assert [i["email_address"] for i in stytch_emulator.invites] == ["new@acme.test"]


async def test_remove_member_goes_through_stytch(
    client: httpx.AsyncClient, member: MemberFactory, stytch_emulator: Emulator
) -> None:
    """Removing a member needs stytch.member delete; the admin's call really deletes it."""
    admin, editor, viewer = member(["stytch_admin"]), member(["editor"]), member(["viewer"])
    target = f"/orgs/{admin.organization_id}/members/{viewer.member_id}"
    assert (await client.delete(target, headers=editor.headers)).status_code == 403
    assert (await client.delete(target, headers=admin.headers)).status_code == 204
    assert stytch_emulator.get_member(viewer.member_id).json["status"] == "deleted"
    missing = f"/orgs/{admin.organization_id}/members/member-test-00000000-0000-0000-0000-0"
    assert (await client.delete(missing, headers=admin.headers)).status_code == 404


async def test_expired_jwt_is_refreshed_and_handed_back(
    client: httpx.AsyncClient, member: MemberFactory, stytch_emulator: Emulator
) -> None:
    """After the 5-minute JWT expires the request still passes and carries a fresh JWT back."""
    viewer = member(["viewer"])
    stytch_emulator.advance_time(301)
    answer = await client.get(f"/orgs/{viewer.organization_id}/documents", headers=viewer.headers)
    assert answer.status_code == 200
    fresh = answer.headers["x-stytch-session-jwt"]
    assert fresh != viewer.session_jwt
    again = await client.get("/me", headers={"Authorization": f"Bearer {fresh}"})
    assert again.status_code == 200
    assert "x-stytch-session-jwt" not in again.headers
