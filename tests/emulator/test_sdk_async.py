"""The real SDK's ``*_async`` methods against ``emu.serve()``, for every endpoint family.

These run on asyncio only: the SDK's async client is aiohttp, which works only
under asyncio (``emu.serve()`` itself works under trio too, see test_serve.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
import stytch
from stytch.b2b.models.organizations import SearchQuery, SearchQueryOperator
from stytch.b2b.models.organizations_members import DeleteRequestOptions
from stytch.b2b.models.rbac import OrgPolicy
from stytch.b2b.models.sessions import AuthorizationCheck
from stytch.core.response_base import StytchError
from stytch.shared.method_options import Authorization

from stytch_rbac.emulator import Emulator

from .conftest import Seeded

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.parametrize("anyio_backend", ["asyncio"]),
    # The SDK passes aiohttp's deprecated BasicAuth / auth=; those warnings are the SDK's.
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
    # The async methods only take models, which the SDK serialises with pydantic's .dict().
    pytest.mark.filterwarnings("ignore:The `dict` method is deprecated"),
]


@asynccontextmanager
async def _served(emu: Emulator) -> AsyncIterator[stytch.B2BClient]:
    """The emulator over real HTTP and an SDK client with its own aiohttp session."""
    async with emu.serve() as url, aiohttp.ClientSession() as session:
        yield stytch.B2BClient(emu.project_id, emu.secret, environment=url, async_session=session)


async def test_async_sessions_and_rbac(seeded: Seeded) -> None:
    """Policy, org policy, authenticate with a check, get, revoke and JWKS, asynchronously."""
    org_id = seeded.acme.organization_id
    async with _served(seeded.emu) as client:
        policy = (await client.rbac.policy_async()).policy
        assert policy is not None
        org_policy = await client.rbac.organizations.get_org_policy_async(org_id)
        assert org_policy.org_policy.roles == []
        await client.rbac.organizations.set_org_policy_async(org_id, OrgPolicy(roles=[]))
        check = AuthorizationCheck(organization_id=org_id, resource_id="documents", action="edit")
        ok = await client.sessions.authenticate_async(
            session_jwt=seeded.editor_session.session_jwt, authorization_check=check
        )
        assert ok.verdict is not None
        assert ok.verdict.granting_roles == ["editor"]
        with pytest.raises(StytchError) as denied:
            await client.sessions.authenticate_async(
                session_token=seeded.viewer_session.session_token, authorization_check=check
            )
        assert denied.value.details.error_type == "session_authorization_error"
        listed = await client.sessions.get_async(org_id, seeded.viewer.member_id)
        assert len(listed.member_sessions) == 1
        await client.sessions.revoke_async(member_id=seeded.viewer.member_id)
        keys = await client.sessions.get_jwks_async(seeded.emu.project_id)
        assert keys.keys[0].kid == seeded.emu.kid


async def test_async_organizations_and_members(seeded: Seeded) -> None:
    """Organization and member endpoints, invites and password resets, asynchronously."""
    emu = seeded.emu
    async with _served(emu) as client:
        org = (await client.organizations.create_async(organization_name="Async Co")).organization
        org_id = org.organization_id
        await client.organizations.update_async(org_id, organization_logo_url="https://l.test")
        assert (await client.organizations.get_async(org_id)).organization.organization_logo_url
        query = SearchQuery(
            operator=SearchQueryOperator.AND,
            operands=[{"filter_name": "organization_ids", "filter_value": [org_id]}],
        )
        found = await client.organizations.search_async(query=query)
        assert found.results_metadata.total == 1
        members = client.organizations.members
        m = (await members.create_async(org_id, "m@async.test", roles=["viewer"])).member
        await members.update_async(org_id, m.member_id, name="M", mfa_phone_number="+15555550111")
        assert (await members.get_async(org_id, member_id=m.member_id)).member.name == "M"
        await members.delete_mfa_phone_number_async(org_id, m.member_id)
        await members.delete_totp_async(org_id, m.member_id)
        await members.delete_external_id_async(org_id, m.member_id)
        assert (await members.search_async([org_id])).results_metadata.total == 1
        await members.update_async(org_id, m.member_id, email_address="m2@async.test")
        await members.unlink_retired_email_async(org_id, m.member_id, email_address="m@async.test")
        await members.start_email_update_async(org_id, m.member_id, "m3@async.test")
        assert (await members.get_connected_apps_async(org_id, m.member_id)).connected_apps == []
        emu.create_session(m.member_id)  # a login verifies the email: reactivatable
        await members.delete_async(org_id, m.member_id)
        await members.reactivate_async(org_id, m.member_id)
        got = await members.dangerously_get_async(m.member_id)
        assert got.member.status == "active"
        pw = emu.create_member(org_id, "pw@async.test", member_password_id=True)
        await members.delete_password_async(org_id, str(pw.json["member_password_id"]))
        await client.passwords.email.require_reset_async("pw@async.test", organization_id=org_id)
        invited = await client.magic_links.email.invite_async(org_id, "inv@async.test")
        assert invited.member.status == "invited"
        assert (await client.organizations.metrics_async(org_id)).member_count == 3
        assert (await client.organizations.connected_apps_async(org_id)).connected_apps == []
        await client.organizations.delete_external_id_async(org_id)
        opts = DeleteRequestOptions(
            authorization=Authorization(session_jwt=seeded.viewer_session.session_jwt)
        )
        with pytest.raises(StytchError) as denied:
            await members.delete_async(
                seeded.acme.organization_id, seeded.editor.member_id, method_options=opts
            )
        assert denied.value.details.status_code == 403
        await client.organizations.delete_async(org_id)


async def test_async_sso_and_scim(seeded: Seeded) -> None:
    """SSO and SCIM endpoints, asynchronously."""
    acme, globex = seeded.acme.organization_id, seeded.globex.organization_id
    async with _served(seeded.emu) as client:
        saml = (await client.sso.saml.create_connection_async(acme)).connection
        assert saml is not None
        cid = saml.connection_id
        updated = (
            await client.sso.saml.update_connection_async(
                acme, cid, x509_certificate="C", saml_encryption_private_key="K"
            )
        ).connection
        assert updated is not None
        await client.sso.saml.update_by_url_async(acme, cid, "https://idp.test/m")
        await client.sso.saml.delete_encryption_private_key_async(
            acme, cid, updated.encryption_private_keys[0].private_key_id
        )
        fresh = (await client.sso.get_connections_async(acme)).saml_connections[0]
        await client.sso.saml.delete_verification_certificate_async(
            acme, cid, fresh.verification_certificates[0].certificate_id
        )
        oidc = (await client.sso.oidc.create_connection_async(acme)).connection
        assert oidc is not None
        await client.sso.oidc.update_connection_async(acme, oidc.connection_id, display_name="O")
        ext = (await client.sso.external.create_connection_async(globex, acme, cid)).connection
        assert ext is not None
        await client.sso.external.update_connection_async(
            globex, ext.connection_id, display_name="E"
        )
        await client.sso.delete_connection_async(acme, oidc.connection_id)
        scim = client.scim.connection
        made = (await scim.create_async(acme)).connection
        assert made is not None
        await scim.update_async(acme, made.connection_id, display_name="S")
        assert (await scim.get_async(acme)).connection is not None
        await scim.rotate_start_async(acme, made.connection_id)
        await scim.rotate_cancel_async(acme, made.connection_id)
        await scim.rotate_start_async(acme, made.connection_id)
        await scim.rotate_complete_async(acme, made.connection_id)
        assert (await scim.get_groups_async(acme, made.connection_id)).scim_groups == []
        await scim.delete_async(acme, made.connection_id)


async def test_async_sdk_local_jwt_check(seeded: Seeded) -> None:
    """``authenticate_jwt_async`` answers locally for a fresh emulator JWT."""
    async with _served(seeded.emu) as client:
        session = await client.sessions.authenticate_jwt_async(seeded.editor_session.session_jwt)
        assert session is not None
        assert session.member_session.member_id == seeded.editor.member_id


async def test_async_m2m_token_and_clients(emu: Emulator) -> None:
    """``m2m.token_async``, ``m2m.authenticate_token_async`` and the clients API's async
    twins, over real HTTP."""
    async with _served(emu) as client:
        created = (
            await client.m2m.clients.create_async(scopes=["read:documents"], client_name="svc")
        ).m2m_client
        got = await client.m2m.token_async(created.client_id, created.client_secret)
        claims = await client.m2m.authenticate_token_async(got.access_token)
        assert claims is not None
        assert (claims.client_id, claims.scopes) == (created.client_id, ["read:documents"])
        started = await client.m2m.clients.secrets.rotate_start_async(created.client_id)
        assert started.m2m_client.next_client_secret
        found = await client.m2m.clients.search_async()
        assert [c.client_id for c in found.m2m_clients] == [created.client_id]
        await client.m2m.clients.delete_async(created.client_id)
        with pytest.raises(StytchError) as refused:
            await client.m2m.token_async(created.client_id, created.client_secret)
        assert refused.value.details.error_type == "invalid_client"
