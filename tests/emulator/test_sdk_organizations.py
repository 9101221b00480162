"""The real sync SDK against the served emulator: organizations, members, invites, passwords.

Search queries are passed as dicts: the SDK serialises a ``SearchQuery`` model with
pydantic's deprecated ``.dict()``, which this suite's ``filterwarnings=error`` rejects.
"""

from __future__ import annotations

import pytest
import stytch
from stytch.b2b.models.passwords_email import RequireResetRequestOptions
from stytch.core.response_base import StytchError
from stytch.shared.method_options import Authorization

from stytch_rbac.emulator import Emulator, SessionRecord

from .conftest import Seeded


def test_organization_create_get_update_delete(client: stytch.B2BClient) -> None:
    """An organization round-trips through create, get (by id and slug), update and delete."""
    created = client.organizations.create(
        organization_name="Initech",
        organization_slug="initech",
        email_allowed_domains=["initech.test"],
        mfa_policy="OPTIONAL",
        trusted_metadata={"plan": "gold"},
    ).organization
    assert created.organization_slug == "initech"
    assert created.email_allowed_domains == ["initech.test"]
    assert created.custom_roles == []
    assert client.organizations.get("initech").organization.organization_id == (
        created.organization_id
    )
    updated = client.organizations.update(
        created.organization_id,
        organization_name="Initech 2",
        trusted_metadata={"plan": None, "tier": 1},
    ).organization
    assert updated.organization_name == "Initech 2"
    assert updated.trusted_metadata == {"tier": 1}
    deleted = client.organizations.delete(created.organization_id)
    assert deleted.organization_id == created.organization_id
    with pytest.raises(StytchError) as info:
        client.organizations.get(created.organization_id)
    assert info.value.details.status_code == 404
    assert info.value.details.error_type == "organization_not_found"


def test_organization_search_paginates_with_cursor(client: stytch.B2BClient) -> None:
    """Search filters by slug and name, and a cursor walks every page exactly once."""
    ids = {
        client.organizations.create(organization_name=f"Org {i}").organization.organization_id
        for i in range(5)
    }
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = client.organizations.search(cursor=cursor, limit=2)
        seen += [o.organization_id for o in page.organizations]
        assert page.results_metadata.total == 5
        cursor = page.results_metadata.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    by_slug = client.organizations.search(
        query={
            "operator": "OR",
            "operands": [{"filter_name": "organization_slugs", "filter_value": ["org-3"]}],
        }
    )
    assert [o.organization_slug for o in by_slug.organizations] == ["org-3"]
    fuzzy = client.organizations.search(
        query={
            "operator": "AND",
            "operands": [{"filter_name": "organization_name_fuzzy", "filter_value": "org 4"}],
        }
    )
    assert [o.organization_name for o in fuzzy.organizations] == ["Org 4"]


def test_organization_metrics_and_external_id(client: stytch.B2BClient, seeded: Seeded) -> None:
    """Metrics count active members; delete_external_id clears the external id."""
    assert client.organizations.metrics(seeded.acme.organization_id).member_count == 3
    org = client.organizations.update(seeded.acme.organization_id, organization_external_id="ext")
    assert org.organization.organization_external_id == "ext"
    assert client.organizations.get("ext").organization.organization_slug == "acme"
    cleared = client.organizations.delete_external_id(seeded.acme.organization_id)
    assert cleared.organization.organization_external_id is None


def test_duplicate_slug_and_invalid_slug_are_400(client: stytch.B2BClient, seeded: Seeded) -> None:
    """A taken slug and a malformed slug answer Stytch's 400 error types."""
    with pytest.raises(StytchError) as taken:
        client.organizations.create(organization_name="X", organization_slug="acme")
    assert taken.value.details.error_type == "organization_slug_already_used"
    with pytest.raises(StytchError) as bad:
        client.organizations.create(organization_name="X", organization_slug="no spaces!")
    assert bad.value.details.status_code == 400
    assert bad.value.details.error_type == "invalid_organization_slug"


def test_member_lifecycle(client: stytch.B2BClient, seeded: Seeded) -> None:
    """Create, get, update, delete and reactivate a member through the SDK."""
    org_id = seeded.acme.organization_id
    created = client.organizations.members.create(
        org_id, email_address="New@Acme.test", name="New", roles=["viewer"], external_id="n1"
    )
    assert created.member.email_address == "new@acme.test"
    assert [r.role_id for r in created.member.roles] == ["stytch_member", "viewer"]
    assert created.member.status == "active"
    got = client.organizations.members.get(org_id, member_id="n1")
    assert got.member_id == created.member_id
    updated = client.organizations.members.update(
        org_id, created.member_id, name="Renamed", roles=["editor"], mfa_phone_number="+15555550100"
    ).member
    assert updated.name == "Renamed"
    assert [r.role_id for r in updated.roles] == ["stytch_member", "editor"]
    assert updated.mfa_phone_number == "+15555550100"
    assert client.organizations.members.delete(org_id, created.member_id).member_id == (
        created.member_id
    )
    with pytest.raises(StytchError) as gone:
        client.organizations.members.get(org_id, member_id=created.member_id)
    assert gone.value.details.error_type == "member_not_found"
    with pytest.raises(StytchError) as unverified:
        client.organizations.members.reactivate(org_id, created.member_id)
    assert unverified.value.details.error_type == "email_unverified_for_reactivation"
    dangerous = client.organizations.members.dangerously_get(
        created.member_id, include_deleted=True
    )
    assert dangerous.member.status == "deleted"


def test_reactivate_a_verified_member(client: stytch.B2BClient, seeded: Seeded) -> None:
    """A deleted member whose email was verified (they logged in) becomes active again."""
    org_id = seeded.acme.organization_id
    client.organizations.members.delete(org_id, seeded.viewer.member_id)
    member = client.organizations.members.reactivate(org_id, seeded.viewer.member_id).member
    assert member.status == "active"
    with pytest.raises(StytchError) as info:
        client.organizations.members.reactivate(org_id, seeded.viewer.member_id)
    assert info.value.details.error_type == "no_deleted_member_found_for_reactivation"


def test_member_mfa_password_totp_and_external_id_removal(
    client: stytch.B2BClient, seeded: Seeded
) -> None:
    """The delete_* member endpoints clear their field and answer the member."""
    emu, org_id = seeded.emu, seeded.acme.organization_id
    m = emu.create_member(
        org_id,
        "mfa@acme.test",
        mfa_phone_number="+15555550123",
        member_password_id=True,
        totp_registration_id=True,
        external_id="mfa-ext",
    )
    members = client.organizations.members
    assert members.delete_mfa_phone_number(org_id, m.member_id).member.mfa_phone_number == ""
    assert members.delete_totp(org_id, m.member_id).member.totp_registration_id == ""
    password_id = m.json["member_password_id"]
    assert members.delete_password(org_id, password_id).member.member_password_id == ""
    assert members.delete_external_id(org_id, m.member_id).member.external_id is None
    with pytest.raises(StytchError) as info:
        members.delete_password(org_id, password_id)
    assert info.value.details.status_code == 404


def test_member_search(client: stytch.B2BClient, seeded: Seeded) -> None:
    """Member search filters by role and email, includes deleted only when asked, paginates."""
    orgs = [seeded.acme.organization_id, seeded.globex.organization_id]
    everyone = client.organizations.members.search(organization_ids=orgs)
    assert everyone.results_metadata.total == 4
    assert set(everyone.organizations) == set(orgs)
    editors = client.organizations.members.search(
        organization_ids=orgs,
        query={
            "operator": "AND",
            "operands": [{"filter_name": "member_roles", "filter_value": ["editor"]}],
        },
    )
    assert [m.member_id for m in editors.members] == [seeded.editor.member_id]
    client.organizations.members.delete(orgs[0], seeded.viewer.member_id)
    deleted = client.organizations.members.search(
        organization_ids=orgs,
        query={
            "operator": "AND",
            "operands": [{"filter_name": "statuses", "filter_value": ["deleted"]}],
        },
    )
    assert [m.member_id for m in deleted.members] == [seeded.viewer.member_id]
    first = client.organizations.members.search(organization_ids=orgs, limit=2)
    assert first.results_metadata.next_cursor is not None
    rest = client.organizations.members.search(
        organization_ids=orgs, limit=2, cursor=first.results_metadata.next_cursor
    )
    assert rest.results_metadata.next_cursor is None
    assert len(first.members) + len(rest.members) == 3


def test_email_change_retires_the_old_address(client: stytch.B2BClient, seeded: Seeded) -> None:
    """Changing a member's email retires the old one, which unlink_retired_email removes."""
    org_id, member_id = seeded.acme.organization_id, seeded.viewer.member_id
    member = client.organizations.members.update(
        org_id, member_id, email_address="viewer2@acme.test"
    ).member
    assert [r.email_address for r in member.retired_email_addresses] == ["viewer@acme.test"]
    unlinked = client.organizations.members.unlink_retired_email(
        org_id, member_id, email_address="viewer@acme.test"
    )
    assert unlinked.organization_id == org_id
    assert unlinked.member.retired_email_addresses == []
    started = client.organizations.members.start_email_update(
        org_id, member_id, email_address="viewer3@acme.test"
    )
    assert started.member.email_address == "viewer2@acme.test"
    assert seeded.emu.outbox[-1]["kind"] == "email_update"


def test_connected_apps(client: stytch.B2BClient, seeded: Seeded) -> None:
    """Seeded connected-app grants are listed per organization and member, and revocable."""
    emu, org_id = seeded.emu, seeded.acme.organization_id
    app_id = emu.create_connected_app("Reporter", description="reads reports").client_id
    emu.grant_connected_app(seeded.editor.member_id, app_id, ["read:reports"])
    assert [
        a.connected_app_id for a in client.organizations.connected_apps(org_id).connected_apps
    ] == [app_id]
    one = client.organizations.get_connected_app(org_id, app_id)
    assert one.active_members[0].member_id == seeded.editor.member_id
    mine = client.organizations.members.get_connected_apps(org_id, seeded.editor.member_id)
    assert mine.connected_apps[0].scopes_granted == "read:reports"
    client.organizations.members.connected_apps.revoke(org_id, seeded.editor.member_id, app_id)
    assert (
        client.organizations.members.get_connected_apps(
            org_id, seeded.editor.member_id
        ).connected_apps
        == []
    )


def test_invite_creates_an_invited_member_and_records_it(
    client: stytch.B2BClient, seeded: Seeded
) -> None:
    """An invite creates an ``invited`` member, records the invite, and refuses active members."""
    org_id = seeded.acme.organization_id
    invited = client.magic_links.email.invite(
        org_id, "guest@acme.test", roles=["viewer"], invited_by_member_id=seeded.admin.member_id
    )
    assert invited.member.status == "invited"
    assert seeded.emu.invites[-1]["member_id"] == invited.member_id
    assert seeded.emu.invites[-1]["roles"] == ["viewer"]
    with pytest.raises(StytchError) as info:
        client.magic_links.email.invite(org_id, "editor@acme.test")
    assert info.value.details.error_type == "duplicate_member_email"


def test_require_reset(client: stytch.B2BClient, seeded: Seeded) -> None:
    """require_reset finds the member by organization and email and records the request."""
    response = client.passwords.email.require_reset(
        "editor@acme.test", organization_id=seeded.acme.organization_id
    )
    assert response.member_id == seeded.editor.member_id
    assert seeded.emu.outbox[-1]["kind"] == "password_reset_required"


def test_require_reset_by_email_alone_deletes_the_only_password(
    client: stytch.B2BClient, seeded: Seeded
) -> None:
    """The documented form, email alone: the one active member using it, whose password goes."""
    emu = seeded.emu
    member = emu.create_member(seeded.acme.organization_id, "pw@acme.test", member_password_id=True)
    response = client.passwords.email.require_reset("pw@acme.test")
    assert response.member_id == member.member_id
    assert response.member is not None
    assert response.member.member_password_id == ""
    assert response.organization is not None
    assert response.organization.organization_id == seeded.acme.organization_id
    assert emu.get_member(member.member_id).json["member_password_id"] == ""
    assert emu.outbox[-1]["kind"] == "password_reset_required"
    assert emu.outbox[-1]["member_id"] == member.member_id
    with pytest.raises(StytchError) as info:
        client.passwords.email.require_reset("nobody@acme.test")
    assert (info.value.details.status_code, info.value.details.error_type) == (
        404,
        "member_not_found",
    )


def test_require_reset_of_a_shared_email_keeps_the_password(
    client: stytch.B2BClient, seeded: Seeded
) -> None:
    """An email active in two organizations: every member must reset, no password is deleted."""
    emu = seeded.emu
    here = emu.create_member(seeded.acme.organization_id, "both@x.test", member_password_id=True)
    there = emu.create_member(seeded.globex.organization_id, "both@x.test", member_password_id=True)
    response = client.passwords.email.require_reset("both@x.test")
    assert (response.member_id, response.member, response.organization) == (None, None, None)
    assert {e["member_id"] for e in emu.outbox[-2:]} == {here.member_id, there.member_id}
    for member in (here, there):
        assert emu.get_member(member.member_id).json["member_password_id"]
    by_org = client.passwords.email.require_reset(
        "both@x.test", organization_id=seeded.globex.organization_id
    )
    assert by_org.member_id == there.member_id


def test_require_reset_with_a_session_acts_in_its_organization(
    client: stytch.B2BClient, seeded: Seeded
) -> None:
    """Email alone with a member session: that organization's member, under Stytch's RBAC rule."""
    emu = seeded.emu
    emu.create_member(seeded.globex.organization_id, "editor@acme.test")

    def as_(session: SessionRecord) -> RequireResetRequestOptions:
        return RequireResetRequestOptions(
            authorization=Authorization(session_token=session.session_token)
        )

    by_admin = client.passwords.email.require_reset(
        "editor@acme.test", method_options=as_(seeded.admin_session)
    )
    assert by_admin.member_id == seeded.editor.member_id
    with pytest.raises(StytchError) as info:
        client.passwords.email.require_reset(
            "editor@acme.test", method_options=as_(seeded.viewer_session)
        )
    assert (info.value.details.status_code, info.value.details.error_type) == (
        403,
        "session_authorization_error",
    )
    own = client.passwords.email.require_reset(
        "viewer@acme.test", method_options=as_(seeded.viewer_session)
    )
    assert own.member_id == seeded.viewer.member_id


def test_duplicate_email_and_unknown_role(client: stytch.B2BClient, seeded: Seeded) -> None:
    """A second member with the same email, or an unknown role, is a 400 naming the problem."""
    org_id = seeded.acme.organization_id
    with pytest.raises(StytchError) as dup:
        client.organizations.members.create(org_id, email_address="EDITOR@acme.test")
    assert (dup.value.details.status_code, dup.value.details.error_type) == (
        400,
        "duplicate_member_email",
    )
    with pytest.raises(StytchError) as role:
        client.organizations.members.create(org_id, email_address="z@acme.test", roles=["nope"])
    assert role.value.details.error_type == "invalid_rbac_role_id"


def test_member_update_flags_and_email_uniqueness(client: stytch.B2BClient, seeded: Seeded) -> None:
    """members.update sets the flags it is given, keeps the others, keeps a member's own email
    and refuses another member's, as does a started email update."""
    org_id = seeded.acme.organization_id
    editor = seeded.editor.member_id
    updated = client.organizations.members.update(org_id, editor, is_breakglass=True).member
    assert (updated.is_breakglass, updated.mfa_enrolled) == (True, False)
    same = client.organizations.members.update(
        org_id, editor, email_address="editor@acme.test", mfa_enrolled=True
    ).member
    assert (same.email_address, same.is_breakglass, same.mfa_enrolled) == (
        "editor@acme.test",
        True,
        True,
    )
    with pytest.raises(StytchError) as taken:
        client.organizations.members.update(org_id, editor, email_address="viewer@acme.test")
    assert taken.value.details.error_type == "duplicate_member_email"
    with pytest.raises(StytchError) as started:
        client.organizations.members.start_email_update(org_id, editor, "viewer@acme.test")
    assert started.value.details.error_type == "duplicate_member_email"


def test_email_implicit_roles(emu: Emulator, client: stytch.B2BClient) -> None:
    """An org's email-domain rule gives matching members the role with an email source."""
    org = client.organizations.create(
        organization_name="Dom",
        rbac_email_implicit_role_assignments=[{"domain": "dom.test", "role_id": "viewer"}],
    ).organization
    member = client.organizations.members.create(org.organization_id, "a@dom.test").member
    viewer = next(r for r in member.roles if r.role_id == "viewer")
    assert viewer.sources[0].type == "email_assignment"
