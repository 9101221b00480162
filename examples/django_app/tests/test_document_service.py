"""The Django document service, tested the way a user of stytch-rbac would test their own app.

The fixtures come from the stytch-rbac pytest plugin: ``stytch_rbac_sync`` is the
blocking facade pointed at an in-process Stytch emulator, ``member(roles=[...])``
creates a logged-in member. Django's test client; the example's settings, with the
URLs and the facade of each test put in with ``override_settings``.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings

from examples.django_app import settings as example_settings

if not settings.configured:
    settings.configure(**{k: v for k, v in vars(example_settings).items() if k.isupper()})
    django.setup()

from django.test import Client, override_settings

from examples.django_app.views import urlpatterns_for
from stytch_rbac.emulator import Emulator
from stytch_rbac.sync import StytchRBAC
from stytch_rbac.testing import MemberFactory

POLICY = Path(__file__).resolve().parents[2] / "policy.json"
pytestmark = pytest.mark.stytch_policy(POLICY)


class URLConf:
    """The example's routes around the test's facade (Django takes any object with
    ``urlpatterns``)."""

    def __init__(self, rbac: StytchRBAC) -> None:
        self.urlpatterns = urlpatterns_for(rbac)


@pytest.fixture
def client(stytch_rbac_sync: StytchRBAC) -> Iterator[Client]:
    """Django's test client calling the example in-process, with the plugin's facade."""
    with override_settings(
        ROOT_URLCONF=URLConf(stytch_rbac_sync),
        STYTCH_RBAC=stytch_rbac_sync,
        MIDDLEWARE=example_settings.MIDDLEWARE,
        REST_FRAMEWORK=example_settings.REST_FRAMEWORK,
    ):
        yield Client()


def body(answer: Any) -> Any:
    """The decoded JSON body of an answer."""
    return json.loads(answer.content)


def test_document_lifecycle(client: Client, member: MemberFactory) -> None:
    """Editors create and edit, viewers read but may not delete, owners delete."""
    editor, viewer, owner = member(["editor"]), member(["viewer"]), member(["owner"])
    docs = f"/orgs/{editor.organization_id}/documents"

    created = client.post(
        docs, {"title": "Plan"}, content_type="application/json", headers=editor.headers
    )
    assert created.status_code == 201
    doc = f"{docs}/{body(created)['document_id']}"

    edited = client.put(
        doc, {"title": "Plan v2"}, content_type="application/json", headers=editor.headers
    )
    assert body(edited)["updated_by"] == editor.member_id

    listed = client.get(docs, headers=viewer.headers)
    assert [d["title"] for d in body(listed)] == ["Plan v2"]
    assert client.get(doc, headers=viewer.headers).status_code == 200
    assert client.delete(doc, headers=viewer.headers).status_code == 403
    refused = client.post(
        docs, {"title": "x"}, content_type="application/json", headers=viewer.headers
    )
    assert refused.status_code == 403
    assert client.delete(doc, headers=owner.headers).status_code == 204
    assert client.get(doc, headers=viewer.headers).status_code == 404


def test_other_organizations_are_out_of_reach(client: Client, member: MemberFactory) -> None:
    """An owner of Globex cannot read Acme's documents: 403, whatever its role allows."""
    acme_editor = member(["editor"])
    globex_owner = member(["owner"], organization="Globex")
    docs = f"/orgs/{acme_editor.organization_id}/documents"
    client.post(
        docs, {"title": "Secret"}, content_type="application/json", headers=acme_editor.headers
    )
    answer = client.get(docs, headers=globex_owner.headers)
    assert answer.status_code == 403
    assert body(answer)["detail"]["error"] == "tenancy_error"
    assert b"Secret" not in answer.content


def test_credentials_are_required(client: Client, member: MemberFactory) -> None:
    """No credential is 401 with a Bearer challenge; the session cookie works like a header."""
    viewer = member(["viewer"])
    docs = f"/orgs/{viewer.organization_id}/documents"
    anonymous = client.get(docs)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/me").status_code == 401
    client.cookies["stytch_session"] = viewer.session_token
    assert client.get(docs).status_code == 200


def test_me_lists_permissions(client: Client, member: MemberFactory) -> None:
    """/me shows the caller's roles and what they allow."""
    viewer = member(["viewer"])
    me = body(client.get("/me", headers=viewer.headers))
    assert me["member_id"] == viewer.member_id
    assert me["permissions"]["documents"]["read"] is True
    assert me["permissions"]["documents"]["delete"] is False


def test_invite_needs_stytch_member_create(
    client: Client, member: MemberFactory, stytch_emulator: Emulator
) -> None:
    """A Stytch admin can invite (DRF); an owner gets 403, nothing sent."""
    admin, owner = member(["stytch_admin"]), member(["owner"])
    invite = f"/orgs/{admin.organization_id}/members/invite"
    refused = client.post(
        invite,
        {"email_address": "x@acme.test"},
        content_type="application/json",
        headers=owner.headers,
    )
    assert refused.status_code == 403
    assert body(refused)["detail"]["error"] == "permission_denied"
    assert stytch_emulator.invites == []
    sent = client.post(
        invite,
        {"email_address": "new@acme.test", "roles": ["viewer"]},
        content_type="application/json",
        headers=admin.headers,
    )
    assert sent.status_code == 201
    assert body(sent)["status"] == "invited"
    assert [i["email_address"] for i in stytch_emulator.invites] == ["new@acme.test"]


def test_remove_member_goes_through_stytch(
    client: Client, member: MemberFactory, stytch_emulator: Emulator
) -> None:
    """Removing a member needs stytch.member delete; the admin's call really deletes it."""
    admin, editor, viewer = member(["stytch_admin"]), member(["editor"]), member(["viewer"])
    target = f"/orgs/{admin.organization_id}/members/{viewer.member_id}"
    assert client.delete(target, headers=editor.headers).status_code == 403
    assert client.delete(target).status_code == 401
    assert client.delete(target, headers=admin.headers).status_code == 204
    assert stytch_emulator.get_member(viewer.member_id).json["status"] == "deleted"
    missing = f"/orgs/{admin.organization_id}/members/member-test-00000000-0000-0000-0000-0"
    gone = client.delete(missing, headers=admin.headers)
    assert gone.status_code == 404
    assert body(gone)["detail"]["error"] == "not_found"


def test_expired_jwt_is_refreshed_and_handed_back(
    client: Client, member: MemberFactory, stytch_emulator: Emulator
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
