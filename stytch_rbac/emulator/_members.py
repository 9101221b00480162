"""Organization members: create, get (and the other member endpoints)."""

from __future__ import annotations

import re
from typing import Any

from ._errors import bad_request, not_found
from ._params import Params
from ._routing import Req, Route
from ._state import MemberRec, OrgRec, State
from ._time import rfc3339
from ._tokens import new_id
from ._wire import DEFAULT_ROLE, member_json, org_json

__all__ = ["ROUTES", "create_member", "member_response"]

JSON = dict[str, Any]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")


def check_email(email: str) -> str:
    """The address, lower-cased; 400 ``invalid_email`` when it is not one."""
    if not _EMAIL.match(email):
        raise bad_request("email_address is not a valid email address.", "invalid_email")
    return email.lower()


def check_phone(phone: str) -> str:
    """An E.164 number; 400 ``invalid_phone_number`` otherwise."""
    if phone and not _PHONE.match(phone):
        raise bad_request("mfa_phone_number must be in E.164 format.", "invalid_phone_number")
    return phone


def check_roles(state: State, org: OrgRec, roles: list[str]) -> list[str]:
    """Explicit role ids: known in the org, never ``stytch_member``; duplicates dropped."""
    known = state.role_ids(org)
    out: list[str] = []
    for role_id in roles:
        if role_id == DEFAULT_ROLE:
            raise bad_request(
                "stytch_member is held by every member and cannot be assigned.",
                "cannot_assign_default_rbac_role_id",
            )
        if role_id not in known:
            raise bad_request(f"Unknown role id {role_id!r}.", "invalid_rbac_role_id")
        if role_id not in out:
            out.append(role_id)
    return out


def check_external_id(
    state: State, org: OrgRec, external_id: str, member: MemberRec | None
) -> None:
    """400 ``duplicate_member_external_id`` when another member of ``org`` uses it."""
    for other in state.members.values():
        if (
            other is not member
            and other.organization_id == org.organization_id
            and other.data.get("external_id") == external_id
        ):
            raise bad_request(
                "A member with this external_id already exists.", "duplicate_member_external_id"
            )


def create_member(state: State, org: OrgRec, p: Params, *, status: str | None = None) -> MemberRec:
    """Create a member of ``org`` from create-request parameters."""
    email = check_email(p.required("email_address"))
    name = p.opt_str("name") or ""
    trusted = p.opt_dict("trusted_metadata") or {}
    untrusted = p.opt_dict("untrusted_metadata") or {}
    pending = p.opt_bool("create_member_as_pending")
    breakglass = p.opt_bool("is_breakglass") or False
    phone = check_phone(p.opt_str("mfa_phone_number") or "")
    mfa_enrolled = p.opt_bool("mfa_enrolled") or False
    roles = p.opt_str_list("roles") or []
    external_id = p.opt_str("external_id")
    with state.lock:
        if org.organization_id not in state.orgs:
            raise not_found("organization_not_found", "Organization could not be found.")
        if state.member_by_email(org, email) is not None:
            raise bad_request(
                "A member with this email already exists in the organization.",
                "duplicate_member_email",
            )
        explicit = check_roles(state, org, roles)
        if external_id is not None:
            check_external_id(state, org, external_id, None)
        now = rfc3339(state.now())
        member_id = new_id("member")
        data: JSON = {
            "organization_id": org.organization_id,
            "member_id": member_id,
            "email_address": email,
            "status": status or ("pending" if pending else "active"),
            "name": name,
            "sso_registrations": [],
            "is_breakglass": breakglass,
            "member_password_id": "",
            "oauth_registrations": [],
            "email_address_verified": False,
            "mfa_phone_number_verified": False,
            "totp_registration_id": "",
            "retired_email_addresses": [],
            "is_locked": False,
            "mfa_enrolled": mfa_enrolled,
            "mfa_phone_number": phone,
            "default_mfa_method": "",
            "trusted_metadata": dict(trusted),
            "untrusted_metadata": dict(untrusted),
            "created_at": now,
            "updated_at": now,
            "external_id": external_id,
            "scim_registration": None,
            "lock_created_at": None,
            "lock_expires_at": None,
        }
        member = MemberRec(
            member_id, org.organization_id, data, state.next_seq(), explicit, new_id("email")
        )
        state.members[member_id] = member
        state.changed()
        return member


def member_response(state: State, org: OrgRec, member: MemberRec) -> JSON:
    """``{member_id, member, organization}``, the body most member endpoints answer."""
    return {
        "member_id": member.member_id,
        "member": member_json(org, member),
        "organization": org_json(state, org),
    }


def touch(state: State, member: MemberRec) -> None:
    """Mark ``member`` as changed now."""
    member.data["updated_at"] = rfc3339(state.now())
    state.changed()


def _create(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        member = create_member(state, org, req.params)
        return member_response(state, org, member)


def _get(state: State, req: Req) -> JSON:
    p = req.params
    with state.lock:
        org = state.org(req.path["organization_id"])
        member_id, email = p.opt_str("member_id"), p.opt_str("email_address")
        if member_id:
            member = state.member(org, member_id, include_deleted=False)
        elif email:
            found = state.member_by_email(org, email)
            if found is None or found.data["status"] == "deleted":
                raise not_found("member_not_found", "Member could not be found.")
            member = found
        else:
            raise bad_request("Either member_id or email_address is required.")
        return member_response(state, org, member)


_MEMBERS = "/v1/b2b/organizations/{organization_id}/members"

ROUTES = [
    Route("POST", _MEMBERS, "organizations.members.create", _create),
    Route(
        "GET", "/v1/b2b/organizations/{organization_id}/member", "organizations.members.get", _get
    ),
]
