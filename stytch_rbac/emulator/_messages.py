"""Calls that would send email: magic-link invites and password reset requirements.

No email is sent; each call is recorded in the emulator's outbox
(``Emulator.outbox``, invites also in ``Emulator.invites``).
"""

from __future__ import annotations

from typing import Any

from ._errors import bad_request, not_found
from ._members import (
    check_email,
    check_roles,
    create_member,
    duplicate_email,
    member_response,
    touch,
)
from ._orgs import merge_metadata
from ._params import Params
from ._routing import Req, Route
from ._state import MemberRec, OrgRec, State
from ._time import rfc3339

__all__ = ["ROUTES", "invite"]

JSON = dict[str, Any]

_WEEK_MINUTES = 7 * 24 * 60


def invite(state: State, org: OrgRec, p: Params) -> MemberRec:
    """Invite an email address: a new member with status ``invited``, or re-invite one.

    A ``pending`` or ``invited`` member is (re-)invited; an ``active`` or
    ``deleted`` member answers 400 ``duplicate_member_email``.
    """
    email = check_email(p.required("email_address"))
    minutes = p.opt_int("invite_expiration_minutes")
    if minutes is not None and not 5 <= minutes <= 10080:
        raise bad_request("invite_expiration_minutes must be between 5 and 10080.")
    inviter = p.opt_str("invited_by_member_id")
    with state.lock:
        if inviter is not None:
            state.member(org, inviter, include_deleted=False)
        member = state.member_by_email(org, email)
        if member is None:
            member = create_member(state, org, p, status="invited")
        elif member.data["status"] in ("pending", "invited"):
            roles = p.opt_str_list("roles")
            if roles is not None:
                member.explicit_roles = check_roles(state, org, roles)
            for key in ("trusted_metadata", "untrusted_metadata"):
                value = p.opt_dict(key)
                if value is not None:
                    member.data[key] = merge_metadata(member.data.get(key), value)
            name = p.opt_str("name")
            if name is not None:
                member.data["name"] = name
            member.data["status"] = "invited"
            touch(state, member)
        else:
            raise duplicate_email()
        now = state.now()
        state.outbox.append(
            {
                "kind": "invite",
                "organization_id": org.organization_id,
                "member_id": member.member_id,
                "email_address": email,
                "invited_by_member_id": inviter,
                "roles": list(member.explicit_roles),
                "invite_redirect_url": p.opt_str("invite_redirect_url"),
                "locale": p.opt_str("locale"),
                "created_at": rfc3339(now),
                "expires_at": rfc3339(now + 60 * (minutes or _WEEK_MINUTES)),
            }
        )
        state.changed()
        return member


def _invite(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.params.required("organization_id"))
        member = invite(state, org, req.params)
        return member_response(state, org, member)


def reset_target(state: State, p: Params) -> tuple[OrgRec, MemberRec]:
    """The member a ``require_reset`` call names (by org + member id or org + email)."""
    email = check_email(p.required("email_address"))
    org_ref, member_ref = p.opt_str("organization_id"), p.opt_str("member_id")
    with state.lock:
        if org_ref is None:
            if member_ref is None:
                raise bad_request("organization_id or member_id is required.")
            found = state.members.get(member_ref)
            if found is None:
                raise not_found("member_not_found", "Member could not be found.")
            org_ref = found.organization_id
        org = state.org(org_ref)
        if member_ref is not None:
            member = state.member(org, member_ref, include_deleted=False)
        else:
            by_email = state.member_by_email(org, email)
            if by_email is None or by_email.data["status"] == "deleted":
                raise not_found("member_not_found", "Member could not be found.")
            member = by_email
        if member.data["email_address"] != email:
            raise bad_request("email_address does not match the member.")
        return org, member


def _require_reset(state: State, req: Req) -> JSON:
    with state.lock:
        org, member = reset_target(state, req.params)
        state.outbox.append(
            {
                "kind": "password_reset_required",
                "organization_id": org.organization_id,
                "member_id": member.member_id,
                "email_address": member.data["email_address"],
                "created_at": rfc3339(state.now()),
            }
        )
        state.changed()
        return member_response(state, org, member)


ROUTES = [
    Route("POST", "/v1/b2b/magic_links/email/invite", "magic_links.email.invite", _invite),
    Route(
        "POST",
        "/v1/b2b/passwords/email/require_reset",
        "passwords.email.require_reset",
        _require_reset,
    ),
]
