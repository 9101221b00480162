"""Organization members: create, get (and the other member endpoints)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ._errors import EmulatorError, bad_request, not_found
from ._orgs import merge_metadata
from ._params import Params
from ._routing import Req, Route
from ._search import Filter, Search, any_in, search_cursor, search_limit, search_page
from ._state import MemberRec, OrgRec, State
from ._time import rfc3339
from ._tokens import new_id
from ._wire import DEFAULT_ROLE, member_json, member_roles, org_json

__all__ = [
    "ROUTES",
    "check_email",
    "check_roles",
    "create_member",
    "delete_member",
    "duplicate_email",
    "member_response",
    "password_owner",
    "update_member",
]

JSON = dict[str, Any]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")


def check_email(email: str) -> str:
    """The address, lower-cased; 400 ``invalid_email`` when it is not one."""
    if not _EMAIL.match(email):
        raise bad_request("email_address is not a valid email address.", "invalid_email")
    return email.lower()


def duplicate_email() -> EmulatorError:
    """400 ``duplicate_member_email``."""
    return bad_request(
        "A member with this email already exists in the organization.", "duplicate_member_email"
    )


def check_email_free(state: State, org: OrgRec, email: str, member: MemberRec | None) -> None:
    """400 ``duplicate_member_email`` when a member other than ``member`` has ``email``."""
    other = state.member_by_email(org, email)
    if other is not None and other is not member:
        raise duplicate_email()


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


def create_member(
    state: State,
    org: OrgRec,
    p: Params,
    *,
    status: str | None = None,
    member_id: str | None = None,
) -> MemberRec:
    """Create a member of ``org`` from create-request parameters (``member_id``: seeding)."""
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
        check_email_free(state, org, email, None)
        explicit = check_roles(state, org, roles)
        if external_id is not None:
            check_external_id(state, org, external_id, None)
        now = rfc3339(state.now())
        member_id = member_id or new_id("member")
        if member_id in state.members:
            raise EmulatorError(400, "invalid_argument", f"member_id {member_id!r} already exists.")
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


def _target(state: State, req: Req, *, include_deleted: bool = False) -> tuple[OrgRec, MemberRec]:
    org = state.org(req.path["organization_id"])
    return org, state.member(org, req.path["member_id"], include_deleted=include_deleted)


def update_member(state: State, org: OrgRec, member: MemberRec, p: Params) -> None:
    """Apply an update request's fields to ``member`` (validated first, then all at once)."""
    changes: JSON = {}
    name = p.opt_str("name")
    if name is not None:
        changes["name"] = name
    for key in ("trusted_metadata", "untrusted_metadata"):
        value = p.opt_dict(key)
        if value is not None:
            changes[key] = merge_metadata(member.data.get(key), value)
    changes.update(p.flags("is_breakglass", "mfa_enrolled"))
    phone = p.opt_str("mfa_phone_number")
    if phone is not None:
        changes["mfa_phone_number"] = check_phone(phone)
        changes["mfa_phone_number_verified"] = False
    method = p.choice("default_mfa_method", ("sms_otp", "totp"))
    if method is not None:
        changes["default_mfa_method"] = method
    roles = p.opt_str_list("roles")
    explicit = check_roles(state, org, roles) if roles is not None else None
    external_id = p.opt_str("external_id")
    if external_id is not None:
        check_external_id(state, org, external_id, member)
        changes["external_id"] = external_id
    p.opt_bool("preserve_existing_sessions")
    unlink = p.opt_bool("unlink_email") or False
    email = p.opt_str("email_address")
    if email is not None:
        email = check_email(email)
        check_email_free(state, org, email, member)
        if email != member.data["email_address"]:
            changes["email_address"] = email
            changes["email_address_verified"] = False
            if not unlink:
                retired = {
                    "email_id": member.email_id,
                    "email_address": member.data["email_address"],
                }
                changes["retired_email_addresses"] = [
                    *member.data["retired_email_addresses"],
                    retired,
                ]
            member.email_id = new_id("email")
    member.data.update(changes)
    if explicit is not None:
        member.explicit_roles = explicit
    touch(state, member)


def _update(state: State, req: Req) -> JSON:
    with state.lock:
        org, member = _target(state, req)
        update_member(state, org, member, req.params)
        return member_response(state, org, member)


def delete_member(state: State, member: MemberRec) -> None:
    """Mark ``member`` deleted and revoke their sessions (reactivate can undo it)."""
    member.data["status"] = "deleted"
    for session in [s for s in state.sessions.values() if s.member_id == member.member_id]:
        state.drop_session(session)
    touch(state, member)


def _delete(state: State, req: Req) -> JSON:
    with state.lock:
        _, member = _target(state, req)
        delete_member(state, member)
        return {"member_id": member.member_id}


def _reactivate(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        member = state.members.get(req.path["member_id"])
        if member is None or member.organization_id != org.organization_id:
            raise not_found("member_not_found", "Member could not be found.")
        if member.data["status"] != "deleted":
            raise bad_request(
                "The member is not deleted.", "no_deleted_member_found_for_reactivation"
            )
        if not member.data["email_address_verified"]:
            raise bad_request(
                "Only a member with a verified email can be reactivated.",
                "email_unverified_for_reactivation",
            )
        member.data["status"] = "active"
        touch(state, member)
        return member_response(state, org, member)


def _clearing(*fields: tuple[str, Any]) -> Any:
    def handler(state: State, req: Req) -> JSON:
        with state.lock:
            org, member = _target(state, req)
            for key, value in fields:
                member.data[key] = value
            touch(state, member)
            return member_response(state, org, member)

    return handler


def password_owner(state: State, org: OrgRec, password_id: str) -> MemberRec:
    """The member of ``org`` whose password has this id; 404 otherwise."""
    for member in state.members.values():
        if (
            member.organization_id == org.organization_id
            and member.data["member_password_id"] == password_id
            and member.data["status"] != "deleted"
        ):
            return member
    raise not_found("member_password_not_found", "Member password could not be found.")


def _delete_password(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        member = password_owner(state, org, req.path["member_password_id"])
        member.data["member_password_id"] = ""
        touch(state, member)
        return member_response(state, org, member)


_STATUSES = ("pending", "invited", "active", "deleted")


def _member_filters(org_of: Callable[[MemberRec], OrgRec]) -> dict[str, Filter[MemberRec]]:
    """The filters of Stytch's search-members page (reference 2.4), in its order."""

    def missing(name: str) -> str:
        return f"member_search_missing_{name}"

    def roles(m: MemberRec, wanted: list[str]) -> bool:
        return any(r["role_id"] in wanted for r in member_roles(org_of(m), m))

    return {
        "member_ids": Filter("list", lambda m, v: m.member_id in v, missing("member_ids")),
        "member_emails": Filter(
            "list", lambda m, v: any_in([m.data["email_address"]], v), missing("member_emails")
        ),
        "member_email_fuzzy": Filter(
            "fuzzy", lambda m, v: v in m.data["email_address"], missing("member_email_fuzzy")
        ),
        "member_is_breakglass": Filter(
            "bool", lambda m, v: bool(m.data["is_breakglass"]) is v, missing("is_breakglass")
        ),
        "statuses": Filter(
            "list",
            lambda m, v: m.data["status"] in v,
            missing("statuses"),
            allowed=_STATUSES,
            not_allowed="search_invalid_status_filter",
        ),
        "member_mfa_phone_numbers": Filter(
            "list",
            lambda m, v: m.data["mfa_phone_number"] in v,
            missing("mfa_member_phone_numbers"),
        ),
        "member_mfa_phone_number_fuzzy": Filter(
            "fuzzy",
            lambda m, v: v in m.data["mfa_phone_number"],
            missing("mfa_member_phone_number_fuzzy"),
        ),
        "member_password_exists": Filter(
            "bool",
            lambda m, v: bool(m.data["member_password_id"]) is v,
            missing("password_exists"),
        ),
        "member_roles": Filter("list", roles, missing("member_roles")),
    }


def _seq(member: MemberRec) -> int:
    return member.seq


def _search(state: State, req: Req) -> JSON:
    p = req.params
    org_ids = p.opt_str_list("organization_ids")
    if not org_ids:
        raise bad_request(
            "organization_ids must name at least one organization.",
            "member_search_organization_ids_empty",
        )
    query = p.opt_dict("query")
    limit = search_limit(p)
    after = search_cursor(p)
    with state.lock:
        orgs = {o.organization_id: o for o in (state.org(ref) for ref in org_ids)}
        search = Search("member_search", _member_filters(lambda m: orgs[m.organization_id]))
        operator, operands = search.operands(query)
        keep = search.select(operator, operands)
        statuses = search.filters["statuses"]
        wants_deleted = any(f is statuses and "deleted" in v for f, v in operands)
        hits = [
            m
            for m in sorted(state.members.values(), key=lambda m: m.seq)
            if m.organization_id in orgs
            and (wants_deleted or m.data["status"] != "deleted")
            and keep(m)
        ]
        page, metadata = search_page(hits, _seq, after, limit)
        return {
            "members": [member_json(orgs[m.organization_id], m) for m in page],
            "results_metadata": metadata,
            "organizations": {oid: org_json(state, o) for oid, o in orgs.items()},
        }


def _unlink_retired_email(state: State, req: Req) -> JSON:
    p = req.params
    email_id, email = p.opt_str("email_id"), p.opt_str("email_address")
    if email_id is None and email is None:
        raise bad_request(
            "Either email_id or email_address is required.",
            "retired_email_missing_email_identifiers",
        )
    with state.lock:
        org, member = _target(state, req)
        retired = member.data["retired_email_addresses"]
        match = [
            r
            for r in retired
            if (email_id is None or r["email_id"] == email_id)
            and (email is None or r["email_address"] == email.lower())
        ]
        if not match:
            raise not_found("email_not_found", "Retired email could not be found.")
        member.data["retired_email_addresses"] = [r for r in retired if r not in match]
        touch(state, member)
        return {**member_response(state, org, member), "organization_id": org.organization_id}


def _start_email_update(state: State, req: Req) -> JSON:
    p = req.params
    email = check_email(p.required("email_address"))
    p.choice("delivery_method", ("EMAIL_MAGIC_LINK", "EMAIL_OTP"))
    p.choice("locale", ("en", "es", "pt-br", "fr"))
    with state.lock:
        org, member = _target(state, req)
        check_email_free(state, org, email, member)
        state.outbox.append(
            {
                "kind": "email_update",
                "organization_id": org.organization_id,
                "member_id": member.member_id,
                "email_address": email,
                "login_redirect_url": p.opt_str("login_redirect_url"),
                "delivery_method": p.opt_str("delivery_method") or "EMAIL_MAGIC_LINK",
                "created_at": rfc3339(state.now()),
            }
        )
        state.changed()
        return member_response(state, org, member)


def _get_connected_apps(state: State, req: Req) -> JSON:
    with state.lock:
        org, member = _target(state, req)
        grants = state.connected_grants.get(org.organization_id, {}).get(member.member_id, {})
        apps = [
            {**state.app_json(app_id), "scopes_granted": " ".join(scopes)}
            for app_id, scopes in grants.items()
        ]
        return {"connected_apps": apps}


def _revoke_connected_app(state: State, req: Req) -> JSON:
    with state.lock:
        org, member = _target(state, req)
        grants = state.connected_grants.get(org.organization_id, {}).get(member.member_id, {})
        if grants.pop(req.path["connected_app_id"], None) is None:
            raise not_found("connected_app_not_found", "Connected app could not be found.")
        state.revoke_agent_tokens(member.member_id, req.path["connected_app_id"])
        return {}


def _dangerously_get(state: State, req: Req) -> JSON:
    include_deleted = req.params.opt_bool("include_deleted") or False
    with state.lock:
        member = state.members.get(req.path["member_id"])
        if member is None or (member.data["status"] == "deleted" and not include_deleted):
            raise not_found("member_not_found", "Member could not be found.")
        return member_response(state, state.orgs[member.organization_id], member)


_MEMBERS = "/v1/b2b/organizations/{organization_id}/members"
_MEMBER = _MEMBERS + "/{member_id}"
_PREFIX = "organizations.members."

ROUTES = [
    Route("POST", _MEMBERS, _PREFIX + "create", _create),
    Route("GET", "/v1/b2b/organizations/{organization_id}/member", _PREFIX + "get", _get),
    Route(
        "GET",
        "/v1/b2b/organizations/members/dangerously_get/{member_id}",
        _PREFIX + "dangerously_get",
        _dangerously_get,
    ),
    Route("POST", "/v1/b2b/organizations/members/search", _PREFIX + "search", _search),
    Route("PUT", _MEMBER, _PREFIX + "update", _update),
    Route("DELETE", _MEMBER, _PREFIX + "delete", _delete),
    Route("PUT", _MEMBER + "/reactivate", _PREFIX + "reactivate", _reactivate),
    Route(
        "DELETE",
        _MEMBERS + "/mfa_phone_numbers/{member_id}",
        _PREFIX + "delete_mfa_phone_number",
        _clearing(("mfa_phone_number", ""), ("mfa_phone_number_verified", False)),
    ),
    Route(
        "DELETE",
        _MEMBER + "/totp",
        _PREFIX + "delete_totp",
        _clearing(("totp_registration_id", "")),
    ),
    Route(
        "DELETE",
        _MEMBERS + "/passwords/{member_password_id}",
        _PREFIX + "delete_password",
        _delete_password,
    ),
    Route(
        "POST",
        _MEMBER + "/unlink_retired_email",
        _PREFIX + "unlink_retired_email",
        _unlink_retired_email,
    ),
    Route(
        "POST", _MEMBER + "/start_email_update", _PREFIX + "start_email_update", _start_email_update
    ),
    Route("GET", _MEMBER + "/connected_apps", _PREFIX + "get_connected_apps", _get_connected_apps),
    Route(
        "DELETE",
        _MEMBER + "/external_id",
        _PREFIX + "delete_external_id",
        _clearing(("external_id", None)),
    ),
    Route(
        "POST",
        _MEMBER + "/connected_apps/{connected_app_id}/revoke",
        _PREFIX + "connected_apps.revoke",
        _revoke_connected_app,
    ),
]
