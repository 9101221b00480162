"""MemberClient calls mypy --strict must accept (assert_type) or reject (# E: code)."""

from __future__ import annotations

from typing import assert_type

from stytch.b2b.models import organizations, organizations_members, sessions, sso_saml

from stytch_rbac.client import StytchRBAC
from stytch_rbac.member import MemberClient
from stytch_rbac.principal import Principal


async def accepted(rbac: StytchRBAC, principal: Principal) -> None:
    member = rbac.as_member(principal)
    assert_type(member, MemberClient)
    assert_type(rbac.as_member(session_jwt="jwt", preflight=False), MemberClient)
    members = member.organizations.members
    assert_type(
        await members.delete(organization_id="org", member_id="m"),
        organizations_members.DeleteResponse,
    )
    assert_type(await members.update("org", "m", name="Ada"), organizations_members.UpdateResponse)
    assert_type(
        await member.organizations.update("org", organization_name="A", mfa_policy="OPTIONAL"),
        organizations.UpdateResponse,
    )
    await member.magic_links.email.invite("org", "a@acme.test", locale="en", roles=["editor"])
    await members.search(["org"], query={"operator": "AND", "operands": []})
    await members.connected_apps.revoke("org", "m", "app")
    assert_type(
        await member.sso.saml.create_connection("org", identity_provider="okta"),
        sso_saml.CreateConnectionResponse,
    )
    assert_type(await member.sessions.revoke(member_id="m"), sessions.RevokeResponse)
    await member.scim.connection.get_groups("org", "conn", limit=10)
    assert_type(await member.principal(), Principal)
    assert_type(member.preflight, bool)


async def rejected(member: MemberClient) -> None:
    members = member.organizations.members
    await members.delete(organization_id="org", member="m")  # E: call-arg
    await members.delete(organization_id="org", member_id=1)  # E: arg-type
    await members.delete("org", "m", method_options=None)  # E: call-arg
    await members.update("org", "m", roles="admin")  # E: arg-type
    await members.update("org", "m", nmae="Ada")  # E: call-arg
    await members.remove("org", "m")  # E: attr-defined
    await member.sso.get_connections()  # E: call-arg
    await member.organizations.update("org", mfa_policy=1)  # E: arg-type
    await member.scim.connection.get_groups("org", "conn", limit="10")  # E: arg-type
    await member.sessions.revoke(member_id="m", organization_id="org")  # E: call-arg
    await member.magic_links.email.invite("org")  # E: call-arg
    await member.stytch.organizations.members.delete("org", "m")  # E: attr-defined
    name: str = await member.organizations.delete("org")  # E: assignment
    members.delete("org", "m").member_id  # E: attr-defined
    members.delete("org", "m")  # E: unused-coroutine
