"""Finer member-session rules: stytch.self, forbidden fields, per-field updates, bad sessions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import stytch
from stytch.b2b.models.organizations import UpdateRequestOptions as OrgUpdateOptions
from stytch.b2b.models.organizations_members import (
    DeletePasswordRequestOptions,
    DeleteRequestOptions,
    UpdateRequestOptions,
)
from stytch.b2b.models.sessions import RevokeRequestOptions
from stytch.core.response_base import StytchError
from stytch.shared.method_options import Authorization

from stytch_rbac.emulator import SessionRecord

from .conftest import Seeded


def _jwt(session: SessionRecord) -> Authorization:
    return Authorization(session_jwt=session.session_jwt)


def _error(info: pytest.ExceptionInfo[StytchError]) -> tuple[int, str | None]:
    return info.value.details.status_code, info.value.details.error_type


def test_self_alternative_applies_only_to_oneself(client: stytch.B2BClient, seeded: Seeded) -> None:
    """A plain member may rename and delete themself, but not another member."""
    org_id, viewer = seeded.acme.organization_id, seeded.viewer
    own = UpdateRequestOptions(authorization=_jwt(seeded.viewer_session))
    renamed = client.organizations.members.update(
        org_id, viewer.member_id, name="Me", method_options=own
    )
    assert renamed.member.name == "Me"
    with pytest.raises(StytchError) as info:
        client.organizations.members.update(
            org_id, seeded.editor.member_id, name="You", method_options=own
        )
    assert _error(info) == (403, "session_authorization_error")
    client.organizations.members.delete(
        org_id,
        viewer.member_id,
        method_options=DeleteRequestOptions(authorization=_jwt(seeded.viewer_session)),
    )


def test_self_has_no_roles_or_email_action(client: stytch.B2BClient, seeded: Seeded) -> None:
    """Changing one's own roles is denied; one's own email has its dedicated error."""
    org_id, viewer = seeded.acme.organization_id, seeded.viewer
    own = UpdateRequestOptions(authorization=_jwt(seeded.viewer_session))
    with pytest.raises(StytchError) as roles:
        client.organizations.members.update(
            org_id, viewer.member_id, roles=["owner"], method_options=own
        )
    assert _error(roles) == (403, "session_authorization_error")
    with pytest.raises(StytchError) as email:
        client.organizations.members.update(
            org_id, viewer.member_id, email_address="me2@acme.test", method_options=own
        )
    assert _error(email) == (400, "member_cannot_update_their_email_address")
    admin = UpdateRequestOptions(authorization=_jwt(seeded.admin_session))
    with pytest.raises(StytchError) as admin_self:
        client.organizations.members.update(
            org_id, seeded.admin.member_id, email_address="a2@acme.test", method_options=admin
        )
    assert _error(admin_self) == (400, "member_cannot_update_their_email_address")
    moved = client.organizations.members.update(
        org_id, viewer.member_id, email_address="v2@acme.test", method_options=admin
    )
    assert moved.member.email_address == "v2@acme.test"


def test_trusted_metadata_is_refused_with_a_session(
    client: stytch.B2BClient, seeded: Seeded
) -> None:
    """trusted_metadata with a member session is cannot_update_trusted_metadata, even for admins."""
    org_id = seeded.acme.organization_id
    admin = _jwt(seeded.admin_session)
    with pytest.raises(StytchError) as member:
        client.organizations.members.update(
            org_id,
            seeded.viewer.member_id,
            trusted_metadata={"a": 1},
            method_options=UpdateRequestOptions(authorization=admin),
        )
    assert _error(member) == (401, "cannot_update_trusted_metadata")
    with pytest.raises(StytchError) as org:
        client.organizations.update(
            org_id, trusted_metadata={"a": 1}, method_options=OrgUpdateOptions(authorization=admin)
        )
    assert _error(org) == (401, "cannot_update_trusted_metadata")
    plain = client.organizations.update(org_id, trusted_metadata={"a": 1})
    assert plain.organization.trusted_metadata == {"a": 1}


def test_each_updated_field_needs_its_action(client: stytch.B2BClient, seeded: Seeded) -> None:
    """A project_manager may rename members but not also change their MFA enrolment."""
    emu, org_id = seeded.emu, seeded.acme.organization_id
    pm = emu.create_member(org_id, "pm@acme.test", roles=["project_manager"])
    opts = UpdateRequestOptions(authorization=_jwt(emu.create_session(pm.member_id)))
    client.organizations.members.update(
        org_id, seeded.viewer.member_id, name="V", method_options=opts
    )
    with pytest.raises(StytchError) as info:
        client.organizations.members.update(
            org_id, seeded.viewer.member_id, name="V", mfa_enrolled=True, method_options=opts
        )
    assert _error(info) == (403, "session_authorization_error")


def test_password_and_session_owners_are_resolved(client: stytch.B2BClient, seeded: Seeded) -> None:
    """stytch.self covers one's own password and sessions, found from their ids."""
    emu, org_id = seeded.emu, seeded.acme.organization_id
    me = emu.create_member(org_id, "me@acme.test", member_password_id=True)
    other = emu.create_member(org_id, "other@acme.test", member_password_id=True)
    mine = emu.create_session(me.member_id)
    opts = DeletePasswordRequestOptions(authorization=_jwt(mine))
    with pytest.raises(StytchError) as info:
        client.organizations.members.delete_password(
            org_id, str(other.json["member_password_id"]), method_options=opts
        )
    assert _error(info) == (403, "session_authorization_error")
    client.organizations.members.delete_password(
        org_id, str(me.json["member_password_id"]), method_options=opts
    )
    second = emu.create_session(me.member_id)
    revoke = RevokeRequestOptions(authorization=_jwt(mine))
    client.sessions.revoke(member_session_id=second.member_session_id, method_options=revoke)
    with pytest.raises(StytchError) as theirs:
        client.sessions.revoke(member_id=seeded.editor.member_id, method_options=revoke)
    assert _error(theirs) == (403, "session_authorization_error")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(
            lambda s: Authorization(session_token="nope"),
            (404, "session_not_found"),
            id="unknown-token",
        ),
        pytest.param(
            lambda s: Authorization(session_jwt="not.a.jwt"),
            (401, "unable_to_parse_session_jwt"),
            id="garbage-jwt",
        ),
        pytest.param(
            lambda s: Authorization(session_token=s.session_token, session_jwt="x.y.z"),
            (401, "unable_to_parse_session_jwt"),
            id="one-bad-header",
        ),
    ],
)
def test_bad_header_sessions_are_refused(
    client: stytch.B2BClient,
    seeded: Seeded,
    make: Callable[[SessionRecord], Authorization],
    expected: tuple[int, str],
) -> None:
    """An unknown token or an unparsable JWT in the headers is refused before anything runs."""
    opts = DeleteRequestOptions(authorization=make(seeded.admin_session))
    with pytest.raises(StytchError) as info:
        client.organizations.members.delete(
            seeded.acme.organization_id, seeded.viewer.member_id, method_options=opts
        )
    assert _error(info) == expected
    assert seeded.emu.get_member(seeded.viewer.member_id).json["status"] == "active"


def test_revoked_and_mismatched_header_sessions(client: stytch.B2BClient, seeded: Seeded) -> None:
    """A revoked session's JWT is refused; two headers naming two sessions are refused."""
    emu, org_id = seeded.emu, seeded.acme.organization_id
    emu.revoke_session(seeded.admin_session.member_session_id)
    revoked = DeleteRequestOptions(authorization=_jwt(seeded.admin_session))
    with pytest.raises(StytchError) as info:
        client.organizations.members.delete(org_id, seeded.viewer.member_id, method_options=revoked)
    assert _error(info) == (404, "session_not_found")
    fresh = emu.create_session(seeded.admin.member_id)
    mixed = DeleteRequestOptions(
        authorization=Authorization(
            session_token=fresh.session_token, session_jwt=seeded.editor_session.session_jwt
        )
    )
    with pytest.raises(StytchError) as both:
        client.organizations.members.delete(org_id, seeded.viewer.member_id, method_options=mixed)
    assert _error(both) == (400, "too_many_session_arguments")
    same = DeleteRequestOptions(
        authorization=Authorization(
            session_token=fresh.session_token, session_jwt=fresh.session_jwt
        )
    )
    client.organizations.members.delete(org_id, seeded.viewer.member_id, method_options=same)


def test_org_custom_roles_count_for_enforcement(client: stytch.B2BClient, seeded: Seeded) -> None:
    """A role defined only in the organization's policy grants built-in permissions there."""
    emu, org_id = seeded.emu, seeded.acme.organization_id
    emu.set_org_policy(
        org_id,
        {
            "roles": [
                {
                    "role_id": "remover",
                    "description": "",
                    "permissions": [{"resource_id": "stytch.member", "actions": ["delete"]}],
                }
            ]
        },
    )
    remover = emu.create_member(org_id, "rm@acme.test", roles=["remover"])
    opts = DeleteRequestOptions(authorization=_jwt(emu.create_session(remover.member_id)))
    client.organizations.members.delete(org_id, seeded.viewer.member_id, method_options=opts)
