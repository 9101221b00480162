"""The real sync SDK against the served emulator: SSO and SCIM connections."""

from __future__ import annotations

import pytest
import stytch
from stytch.core.response_base import StytchError

from .conftest import Seeded

_PEM_KEY = "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"


def test_saml_connection_lifecycle(client: stytch.B2BClient, seeded: Seeded) -> None:
    """A SAML connection is created pending, becomes active once configured, and is deleted."""
    org_id = seeded.acme.organization_id
    created = client.sso.saml.create_connection(
        org_id, display_name="Okta", identity_provider="okta"
    )
    conn = created.connection
    assert conn is not None
    assert (conn.status, conn.identity_provider) == ("pending", "okta")
    updated = client.sso.saml.update_connection(
        org_id,
        conn.connection_id,
        idp_entity_id="https://idp.test/entity",
        idp_sso_url="https://idp.test/sso",
        attribute_mapping={"email": "email", "full_name": "name"},
        x509_certificate="-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        saml_connection_implicit_role_assignments=[{"role_id": "viewer"}],
        saml_group_implicit_role_assignments=[{"role_id": "editor", "group": "eng"}],
        saml_encryption_private_key=_PEM_KEY,
    ).connection
    assert updated is not None
    assert updated.status == "active"
    assert updated.saml_group_implicit_role_assignments[0].group == "eng"
    org = client.organizations.get(org_id).organization
    assert [c.connection_id for c in org.sso_active_connections] == [conn.connection_id]
    cert_id = updated.verification_certificates[0].certificate_id
    key_id = updated.encryption_private_keys[0].private_key_id
    assert (
        client.sso.saml.delete_verification_certificate(
            org_id, conn.connection_id, cert_id
        ).certificate_id
        == cert_id
    )
    assert (
        client.sso.saml.delete_encryption_private_key(
            org_id, conn.connection_id, key_id
        ).private_key_id
        == key_id
    )
    by_url = client.sso.saml.update_by_url(
        org_id, conn.connection_id, metadata_url="https://idp.test/metadata"
    ).connection
    assert by_url is not None
    assert by_url.idp_entity_id == "https://idp.test/metadata"
    listed = client.sso.get_connections(org_id)
    assert [c.connection_id for c in listed.saml_connections] == [conn.connection_id]
    assert client.sso.delete_connection(org_id, conn.connection_id).connection_id == (
        conn.connection_id
    )
    assert client.sso.get_connections(org_id).saml_connections == []


def test_oidc_and_external_connections(client: stytch.B2BClient, seeded: Seeded) -> None:
    """OIDC connections activate once fully configured; external ones point at another org's."""
    acme, globex = seeded.acme.organization_id, seeded.globex.organization_id
    oidc = client.sso.oidc.create_connection(acme, display_name="Entra").connection
    assert oidc is not None
    assert oidc.status == "pending"
    active = client.sso.oidc.update_connection(
        acme,
        oidc.connection_id,
        client_id="cid",
        client_secret="cs",
        custom_scopes="openid",
        issuer="https://idp.test",
        authorization_url="https://idp.test/authorize",
        token_url="https://idp.test/token",
        userinfo_url="https://idp.test/userinfo",
        jwks_url="https://idp.test/jwks",
    ).connection
    assert active is not None
    assert active.status == "active"
    external = client.sso.external.create_connection(
        globex,
        external_organization_id=acme,
        external_connection_id=oidc.connection_id,
        display_name="Shared",
        connection_implicit_role_assignments=[{"role_id": "viewer"}],
    ).connection
    assert external is not None
    assert external.external_connection_implicit_role_assignments[0].role_id == "viewer"
    renamed = client.sso.external.update_connection(
        globex, external.connection_id, display_name="Renamed"
    ).connection
    assert renamed is not None
    assert renamed.display_name == "Renamed"
    assert len(client.sso.get_connections(globex).external_connections) == 1
    with pytest.raises(StytchError) as info:
        client.sso.oidc.update_connection(globex, oidc.connection_id, display_name="x")
    assert info.value.details.error_type == "oidc_connection_not_found"


def test_scim_connection_lifecycle(client: stytch.B2BClient, seeded: Seeded) -> None:
    """SCIM: one per org, token rotation start/complete/cancel, groups paginate, delete."""
    org_id = seeded.acme.organization_id
    scim = client.scim.connection
    created = scim.create(org_id, display_name="Okta SCIM", identity_provider="okta").connection
    assert created is not None
    token = created.bearer_token
    with pytest.raises(StytchError) as info:
        scim.create(org_id)
    assert info.value.details.error_type == "active_scim_connection_exists"
    got = scim.get(org_id).connection
    assert got is not None
    assert got.bearer_token_last_four == token[-4:]
    cid = created.connection_id
    started = scim.rotate_start(org_id, cid).connection
    assert started is not None
    assert scim.rotate_cancel(org_id, cid).connection is not None
    started = scim.rotate_start(org_id, cid).connection
    assert started is not None
    completed = scim.rotate_complete(org_id, cid).connection
    assert completed is not None
    assert completed.bearer_token_last_four == started.next_bearer_token[-4:]
    updated = scim.update(
        org_id,
        cid,
        display_name="Renamed",
        scim_group_implicit_role_assignments=[
            {"role_id": "viewer", "group_id": "g1", "group_name": "Readers"}
        ],
    ).connection
    assert updated is not None
    assert updated.scim_group_implicit_role_assignments[0].group_name == "Readers"
    for name in ("a", "b", "c"):
        seeded.emu.add_scim_group(org_id, cid, name)
    page = scim.get_groups(org_id, cid, limit=2)
    assert [g.group_name for g in page.scim_groups] == ["a", "b"]
    rest = scim.get_groups(org_id, cid, cursor=page.next_cursor)
    assert [g.group_name for g in rest.scim_groups] == ["c"]
    unset = scim.get_groups(org_id, cid, limit=0)  # minimum 0 in Stytch's OpenAPI: unset
    assert [g.group_name for g in unset.scim_groups] == ["a", "b", "c"]
    assert scim.delete(org_id, cid).connection_id == cid
    assert scim.get(org_id).connection is None
