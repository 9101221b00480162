"""Calls that would send email: magic-link invites and password reset requirements.

No email is sent; each call is recorded in the emulator's outbox
(``Emulator.outbox``, invites also in ``Emulator.invites``).
"""

from __future__ import annotations

from typing import Any

from ._errors import EmulatorError, bad_request, not_found
from ._magic_links import magic_link_url
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
from ._sessions import resolve_session
from ._state import MemberRec, OrgRec, State
from ._time import rfc3339
from ._tokens import new_token

__all__ = ["ROUTES", "invite", "reset_target", "session_org"]

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
        # The link in the invite email: magic_links.authenticate spends the token (_magic_links).
        token = new_token()
        state.outbox.append(
            {
                "kind": "invite",
                "organization_id": org.organization_id,
                "member_id": member.member_id,
                "email_address": email,
                "magic_links_token": token,
                "url": magic_link_url(p.opt_str("invite_redirect_url"), token),
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


def _active_with_email(state: State, email: str) -> list[MemberRec]:
    """Every active member of the project with this email address, oldest first."""
    return sorted(
        (
            m
            for m in state.members.values()
            if m.data["email_address"] == email and m.data["status"] == "active"
        ),
        key=lambda m: m.seq,
    )


def reset_target(
    state: State, p: Params, session_org: str | None = None
) -> tuple[OrgRec, MemberRec] | None:
    """The member a ``require_reset`` call names; ``None`` when the email alone names several.

    By ``member_id`` (with or without ``organization_id``), by ``organization_id``
    and email, by email in the organization of the member session making the
    call (``session_org``), or by email alone: the one active member of the
    project using it (404 ``member_not_found`` when none does).
    """
    email = check_email(p.required("email_address"))
    org_ref, member_ref = p.opt_str("organization_id"), p.opt_str("member_id")
    with state.lock:
        if org_ref is None and member_ref is None:
            org_ref = session_org
        if org_ref is None and member_ref is None:
            users = _active_with_email(state, email)
            if not users:
                raise not_found("member_not_found", "Member could not be found.")
            if len(users) > 1:
                return None
            return state.orgs[users[0].organization_id], users[0]
        if org_ref is None:
            found = state.members.get(member_ref or "")
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


def session_org(state: State, req: Req) -> str | None:
    """The organization of the member session in the request's headers, if it is valid."""
    if not req.has_session_header:
        return None
    try:
        session = resolve_session(
            state,
            session_token=req.session_token,
            session_jwt=None if req.session_token is not None else req.session_jwt,
        )
    except EmulatorError:
        return None
    return session.organization_id


def _require_reset(state: State, req: Req) -> JSON:
    """Stytch's documented behaviour: the email's (cross-org) password must be reset by
    every active member using it; when only one does, that password is deleted."""
    with state.lock:
        target = reset_target(state, req.params, session_org(state, req))
        email = check_email(req.params.required("email_address"))
        users = _active_with_email(state, email)
        affected = users if target is None or target[1] in users else [target[1], *users]
        now = rfc3339(state.now())
        for member in affected:
            state.outbox.append(
                {
                    "kind": "password_reset_required",
                    "organization_id": member.organization_id,
                    "member_id": member.member_id,
                    "email_address": member.data["email_address"],
                    "created_at": now,
                }
            )
        if len(users) == 1 and users[0].data["member_password_id"]:
            users[0].data["member_password_id"] = ""
            touch(state, users[0])
        state.changed()
        if target is None:
            return {}
        org, member = target
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
