"""Rendering records as the JSON objects the SDK's models parse (reference 2.10)."""

from __future__ import annotations

from typing import Any

from ._state import MemberRec, OrgRec, SessionRec, State
from ._time import rfc3339

__all__ = ["member_json", "member_roles", "org_json", "session_json", "session_role_ids"]

JSON = dict[str, Any]

DEFAULT_ROLE = "stytch_member"
ADMIN_ROLE = "stytch_admin"


def org_json(state: State, org: OrgRec) -> JSON:
    """The ``Organization`` object, with its computed fields."""
    data = dict(org.data)
    data["custom_roles"] = org.org_policy.to_json()["roles"]
    data["sso_active_connections"] = [
        {
            "connection_id": c["connection_id"],
            "display_name": c["display_name"],
            "identity_provider": c.get("identity_provider", "generic"),
        }
        for c in state.sso.values()
        if c["organization_id"] == org.organization_id and c.get("status") == "active"
    ]
    scim = next(
        (c for c in state.scim.values() if c["organization_id"] == org.organization_id), None
    )
    data["scim_active_connection"] = (
        None
        if scim is None
        else {
            "connection_id": scim["connection_id"],
            "display_name": scim["display_name"],
            "bearer_token_last_four": scim["bearer_token"][-4:],
            "bearer_token_expires_at": scim.get("bearer_token_expires_at"),
        }
    )
    return data


def member_roles(org: OrgRec, member: MemberRec) -> list[JSON]:
    """``member.roles``: ``stytch_member``, explicit roles, then email-domain implicit roles."""
    sources: dict[str, list[JSON]] = {DEFAULT_ROLE: [{"type": "direct_assignment"}]}
    for role_id in member.explicit_roles:
        sources.setdefault(role_id, [])
        if {"type": "direct_assignment"} not in sources[role_id]:
            sources[role_id].append({"type": "direct_assignment"})
    domain = member.data["email_address"].rpartition("@")[2]
    for rule in org.data["rbac_email_implicit_role_assignments"]:
        if rule["domain"].lower() == domain:
            sources.setdefault(rule["role_id"], []).append(
                {"type": "email_assignment", "details": {"email_domain": rule["domain"]}}
            )
    return [{"role_id": role_id, "sources": src} for role_id, src in sources.items()]


def session_role_ids(org: OrgRec, member: MemberRec) -> list[str]:
    """The role ids a session of ``member`` holds (every role of the member)."""
    return [role["role_id"] for role in member_roles(org, member)]


def member_json(org: OrgRec, member: MemberRec) -> JSON:
    """The ``Member`` object, with ``roles`` and ``is_admin`` computed."""
    data = dict(member.data)
    roles = member_roles(org, member)
    data["roles"] = roles
    data["is_admin"] = any(r["role_id"] == ADMIN_ROLE for r in roles)
    return data


def session_json(state: State, session: SessionRec) -> JSON:
    """The ``MemberSession`` object."""
    org = state.orgs[session.organization_id]
    member = state.members[session.member_id]
    data: JSON = {
        "member_session_id": session.member_session_id,
        "member_id": session.member_id,
        "started_at": rfc3339(session.started_at),
        "last_accessed_at": rfc3339(session.last_accessed_at),
        "expires_at": rfc3339(session.expires_at),
        "authentication_factors": session.factors,
        "organization_id": session.organization_id,
        "roles": session_role_ids(org, member),
        "organization_slug": org.data["organization_slug"],
        "custom_claims": dict(session.custom_claims),
    }
    return data
