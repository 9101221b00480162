"""The Flask document service, tested the way a user of stytch-rbac would test their own app.

The fixtures come from the stytch-rbac pytest plugin: ``stytch_rbac_sync`` is the
blocking facade pointed at an in-process Stytch emulator, ``member(roles=[...])``
creates a logged-in member. Plain test functions: no event loop in sight.
"""

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from examples.flask_app import create_app
from stytch_rbac.emulator import Emulator
from stytch_rbac.sync import StytchRBAC
from stytch_rbac.testing import MemberFactory

POLICY = Path(__file__).resolve().parents[2] / "policy.json"
pytestmark = pytest.mark.stytch_policy(POLICY)


@pytest.fixture
def client(stytch_rbac_sync: StytchRBAC) -> FlaskClient:
    """Flask's test client calling the app in-process."""
    return create_app(stytch_rbac_sync).test_client()


def test_document_lifecycle(client: FlaskClient, member: MemberFactory) -> None:
    """Editors create and edit, viewers read but may not delete, owners delete."""
    editor, viewer, owner = member(["editor"]), member(["viewer"]), member(["owner"])
    docs = f"/orgs/{editor.organization_id}/documents"

    created = client.post(docs, json={"title": "Plan"}, headers=editor.headers)
    assert created.status_code == 201
    assert created.json is not None
    doc = f"{docs}/{created.json['document_id']}"

    edited = client.put(doc, json={"title": "Plan v2", "body": "..."}, headers=editor.headers)
    assert edited.json is not None
    assert edited.json["updated_by"] == editor.member_id

    listed = client.get(docs, headers=viewer.headers)
    assert [d["title"] for d in listed.json or []] == ["Plan v2"]
    assert client.get(doc, headers=viewer.headers).status_code == 200
    assert client.delete(doc, headers=viewer.headers).status_code == 403
    assert client.post(docs, json={"title": "x"}, headers=viewer.headers).status_code == 403
    assert client.delete(doc, headers=owner.headers).status_code == 204
    assert client.get(doc, headers=viewer.headers).status_code == 404


def test_bad_input_is_a_422(client: FlaskClient, member: MemberFactory) -> None:
    """A document without a title is refused with the validation errors."""
    editor = member(["editor"])
    answer = client.post(
        f"/orgs/{editor.organization_id}/documents", json={"body": "x"}, headers=editor.headers
    )
    assert answer.status_code == 422


def test_other_organizations_are_out_of_reach(client: FlaskClient, member: MemberFactory) -> None:
    """An owner of Globex cannot read Acme's documents: 403, whatever its role allows."""
    acme_editor = member(["editor"])
    globex_owner = member(["owner"], organization="Globex")
    docs = f"/orgs/{acme_editor.organization_id}/documents"
    client.post(docs, json={"title": "Secret"}, headers=acme_editor.headers)
    answer = client.get(docs, headers=globex_owner.headers)
    assert answer.status_code == 403
    assert answer.json is not None
    assert answer.json["detail"]["error"] == "tenancy_error"
    assert "Secret" not in answer.get_data(as_text=True)


def test_credentials_are_required(client: FlaskClient, member: MemberFactory) -> None:
    """No credential is 401 with a Bearer challenge; the session cookie works like a header."""
    viewer = member(["viewer"])
    docs = f"/orgs/{viewer.organization_id}/documents"
    anonymous = client.get(docs)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    client.set_cookie("stytch_session", viewer.session_token)
    assert client.get(docs).status_code == 200


def test_me_lists_permissions(client: FlaskClient, member: MemberFactory) -> None:
    """/me shows the caller's roles and what they allow."""
    viewer = member(["viewer"])
    me = client.get("/me", headers=viewer.headers).json
    assert me is not None
    assert me["member_id"] == viewer.member_id
    assert me["permissions"]["documents"]["read"] is True
    assert me["permissions"]["documents"]["delete"] is False


def test_invite_needs_stytch_member_create(
    client: FlaskClient, member: MemberFactory, stytch_emulator: Emulator
) -> None:
    """A Stytch admin can invite; an owner (no stytch.member create) gets 403, nothing sent."""
    admin, owner = member(["stytch_admin"]), member(["owner"])
    invite = f"/orgs/{admin.organization_id}/members/invite"
    refused = client.post(invite, json={"email_address": "x@acme.test"}, headers=owner.headers)
    assert refused.status_code == 403
    assert stytch_emulator.invites == []
    sent = client.post(
        invite, json={"email_address": "new@acme.test", "roles": ["viewer"]}, headers=admin.headers
    )
    assert sent.status_code == 201
    assert sent.json is not None
    assert sent.json["status"] == "invited"
    assert [i["email_address"] for i in stytch_emulator.invites] == ["new@acme.test"]


def test_remove_member_goes_through_stytch(
    client: FlaskClient, member: MemberFactory, stytch_emulator: Emulator
) -> None:
    """Removing a member needs stytch.member delete; the admin's call really deletes it."""
    admin, editor, viewer = member(["stytch_admin"]), member(["editor"]), member(["viewer"])
    target = f"/orgs/{admin.organization_id}/members/{viewer.member_id}"
    assert client.delete(target, headers=editor.headers).status_code == 403
    assert client.delete(target, headers=admin.headers).status_code == 204
    assert stytch_emulator.get_member(viewer.member_id).json["status"] == "deleted"
    missing = f"/orgs/{admin.organization_id}/members/member-test-00000000-0000-0000-0000-0"
    assert client.delete(missing, headers=admin.headers).status_code == 404


def test_expired_jwt_is_refreshed_and_handed_back(
    client: FlaskClient, member: MemberFactory, stytch_emulator: Emulator
) -> None:
    """After the 5-minute JWT expires the request still passes and carries a fresh JWT back."""
    viewer = member(["viewer"])
    stytch_emulator.advance_time(301)
    answer = client.get(f"/orgs/{viewer.organization_id}/documents", headers=viewer.headers)
    assert answer.status_code == 200
    fresh = answer.headers["X-Stytch-Session-JWT"]
    assert fresh != viewer.session_jwt
    again = client.get("/me", headers={"Authorization": f"Bearer {fresh}"})
    assert again.status_code == 200
    assert "X-Stytch-Session-JWT" not in again.headers
