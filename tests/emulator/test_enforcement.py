"""Member-session enforcement on all 40 built-in endpoints, through the real sync SDK.

For each SDK method that takes ``method_options``: a session of another
organization gets ``session_authorization_tenancy_error``; a member of the
organization without the permission gets ``session_authorization_error``; a
member holding exactly the permission (through an org custom role) succeeds.
The needed permission is written here from reference 4.10 to 4.12 and Stytch's
API pages, independently of ``stytch_rbac.policy.builtin_calls``, so a drift in
either shows; where Stytch documents none, the case states that table's
``documented=False`` choice.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import stytch
from stytch.core.response_base import StytchError
from stytch.shared.method_options import Authorization

from stytch_rbac.emulator import Emulator, MemberRecord, SessionRecord
from stytch_rbac.policy.builtin_calls import BUILTIN_METHODS

from .conftest import EXAMPLES, new_client


@dataclass
class World:
    """An organization with a target member and every kind of connection, plus an outsider."""

    emu: Emulator
    client: stytch.B2BClient
    acme: str
    globex: str
    target: MemberRecord
    target_session: SessionRecord
    password_id: str
    retired_email: str
    app_id: str
    saml_id: str
    cert_id: str
    key_id: str
    oidc_id: str
    external_id: str
    globex_saml_id: str
    scim_id: str


Call = Callable[[stytch.B2BClient, World, Any], object]
Prepare = Callable[[World], None]


@dataclass(frozen=True)
class Case:
    """One SDK method: how to call it, its options class, and what it needs."""

    method: str
    module: str
    options: str
    needs: tuple[tuple[str, str], ...]
    call: Call
    prepare: Prepare | None = None


def _noop(w: World) -> None:
    """Nothing to prepare."""


def _delete_target(w: World) -> None:
    w.emu.create_session(w.target.member_id)  # a login verifies the email: reactivatable
    w.client.organizations.members.delete(w.acme, w.target.member_id)


def _delete_scim(w: World) -> None:
    w.client.scim.connection.delete(w.acme, w.scim_id)


def _rotate_start(w: World) -> None:
    w.client.scim.connection.rotate_start(w.acme, w.scim_id)


M = "stytch.member"
O = "stytch.organization"  # noqa: E741
SSO = "stytch.sso"
SCIM = "stytch.scim"

CASES = [
    Case(
        "magic_links.email.invite",
        "magic_links_email",
        "InviteRequestOptions",
        ((M, "create"),),
        lambda c, w, o: c.magic_links.email.invite(w.acme, "new@acme.test", method_options=o),
    ),
    Case(
        "organizations.update",
        "organizations",
        "UpdateRequestOptions",
        ((O, "update.info.name"),),
        lambda c, w, o: c.organizations.update(w.acme, organization_name="N", method_options=o),
    ),
    Case(
        "organizations.delete",
        "organizations",
        "DeleteRequestOptions",
        ((O, "delete"),),
        lambda c, w, o: c.organizations.delete(w.acme, method_options=o),
    ),
    Case(
        "organizations.connected_apps",
        "organizations",
        "ConnectedAppsRequestOptions",
        ((M, "get.connected-apps"),),  # not documented by Stytch: builtin_calls' choice
        lambda c, w, o: c.organizations.connected_apps(w.acme, method_options=o),
    ),
    Case(
        "organizations.get_connected_app",
        "organizations",
        "GetConnectedAppRequestOptions",
        ((M, "get.connected-apps"),),  # not documented by Stytch: builtin_calls' choice
        lambda c, w, o: c.organizations.get_connected_app(w.acme, w.app_id, method_options=o),
    ),
    Case(
        "organizations.delete_external_id",
        "organizations",
        "DeleteExternalIdRequestOptions",
        ((O, "update.info.slug"),),  # not documented by Stytch: builtin_calls' choice
        lambda c, w, o: c.organizations.delete_external_id(w.acme, method_options=o),
    ),
    Case(
        "organizations.members.create",
        "organizations_members",
        "CreateRequestOptions",
        ((M, "create"),),
        lambda c, w, o: c.organizations.members.create(w.acme, "n@acme.test", method_options=o),
    ),
    Case(
        "organizations.members.update",
        "organizations_members",
        "UpdateRequestOptions",
        ((M, "update.info.name"),),
        lambda c, w, o: c.organizations.members.update(
            w.acme, w.target.member_id, name="N", method_options=o
        ),
    ),
    Case(
        "organizations.members.delete",
        "organizations_members",
        "DeleteRequestOptions",
        ((M, "delete"),),
        lambda c, w, o: c.organizations.members.delete(
            w.acme, w.target.member_id, method_options=o
        ),
    ),
    Case(
        "organizations.members.reactivate",
        "organizations_members",
        "ReactivateRequestOptions",
        ((M, "create"),),
        lambda c, w, o: c.organizations.members.reactivate(
            w.acme, w.target.member_id, method_options=o
        ),
        _delete_target,
    ),
    Case(
        "organizations.members.delete_mfa_phone_number",
        "organizations_members",
        "DeleteMFAPhoneNumberRequestOptions",
        ((M, "update.info.delete.mfa-phone"),),
        lambda c, w, o: c.organizations.members.delete_mfa_phone_number(
            w.acme, w.target.member_id, method_options=o
        ),
    ),
    Case(
        "organizations.members.delete_totp",
        "organizations_members",
        "DeleteTOTPRequestOptions",
        ((M, "update.info.delete.mfa-totp"),),
        lambda c, w, o: c.organizations.members.delete_totp(
            w.acme, w.target.member_id, method_options=o
        ),
    ),
    Case(
        "organizations.members.delete_password",
        "organizations_members",
        "DeletePasswordRequestOptions",
        ((M, "update.info.delete.password"),),
        lambda c, w, o: c.organizations.members.delete_password(
            w.acme, w.password_id, method_options=o
        ),
    ),
    Case(
        "organizations.members.search",
        "organizations_members",
        "SearchRequestOptions",
        ((M, "search"),),
        lambda c, w, o: c.organizations.members.search([w.acme], method_options=o),
    ),
    Case(
        "organizations.members.unlink_retired_email",
        "organizations_members",
        "UnlinkRetiredEmailRequestOptions",
        ((M, "update.info.unlink.retired-email"),),
        lambda c, w, o: c.organizations.members.unlink_retired_email(
            w.acme, w.target.member_id, email_address=w.retired_email, method_options=o
        ),
    ),
    Case(
        "organizations.members.start_email_update",
        "organizations_members",
        "StartEmailUpdateRequestOptions",
        ((M, "update.info.email"),),
        lambda c, w, o: c.organizations.members.start_email_update(
            w.acme, w.target.member_id, "moved@acme.test", method_options=o
        ),
    ),
    Case(
        "organizations.members.get_connected_apps",
        "organizations_members",
        "GetConnectedAppsRequestOptions",
        ((M, "get.connected-apps"),),
        lambda c, w, o: c.organizations.members.get_connected_apps(
            w.acme, w.target.member_id, method_options=o
        ),
    ),
    Case(
        "organizations.members.delete_external_id",
        "organizations_members",
        "DeleteExternalIdRequestOptions",
        ((M, "update.info.email"),),  # not documented by Stytch: builtin_calls' choice
        lambda c, w, o: c.organizations.members.delete_external_id(
            w.acme, w.target.member_id, method_options=o
        ),
    ),
    Case(
        "organizations.members.connected_apps.revoke",
        "organizations_members_connected_apps",
        "RevokeRequestOptions",
        ((M, "revoke.connected-app"),),
        lambda c, w, o: c.organizations.members.connected_apps.revoke(
            w.acme, w.target.member_id, w.app_id, method_options=o
        ),
    ),
    Case(
        "passwords.email.require_reset",
        "passwords_email",
        "RequireResetRequestOptions",
        ((M, "update.info.delete.password"),),
        lambda c, w, o: c.passwords.email.require_reset(
            w.target.email_address, organization_id=w.acme, method_options=o
        ),
    ),
    Case(
        "sessions.revoke",
        "sessions",
        "RevokeRequestOptions",
        ((M, "revoke-sessions"),),
        lambda c, w, o: c.sessions.revoke(
            member_session_id=w.target_session.member_session_id, method_options=o
        ),
    ),
    Case(
        "sso.get_connections",
        "sso",
        "GetConnectionsRequestOptions",
        ((SSO, "get"),),
        lambda c, w, o: c.sso.get_connections(w.acme, method_options=o),
    ),
    Case(
        "sso.delete_connection",
        "sso",
        "DeleteConnectionRequestOptions",
        ((SSO, "delete"),),
        lambda c, w, o: c.sso.delete_connection(w.acme, w.saml_id, method_options=o),
    ),
    Case(
        "sso.saml.create_connection",
        "sso_saml",
        "CreateConnectionRequestOptions",
        ((SSO, "create"),),
        lambda c, w, o: c.sso.saml.create_connection(w.acme, method_options=o),
    ),
    Case(
        "sso.saml.update_connection",
        "sso_saml",
        "UpdateConnectionRequestOptions",
        ((SSO, "update"),),
        lambda c, w, o: c.sso.saml.update_connection(
            w.acme, w.saml_id, display_name="N", method_options=o
        ),
    ),
    Case(
        "sso.saml.update_by_url",
        "sso_saml",
        "UpdateByURLRequestOptions",
        ((SSO, "update"),),
        lambda c, w, o: c.sso.saml.update_by_url(
            w.acme, w.saml_id, "https://idp.test/m", method_options=o
        ),
    ),
    Case(
        "sso.saml.delete_verification_certificate",
        "sso_saml",
        "DeleteVerificationCertificateRequestOptions",
        ((SSO, "update"),),
        lambda c, w, o: c.sso.saml.delete_verification_certificate(
            w.acme, w.saml_id, w.cert_id, method_options=o
        ),
    ),
    Case(
        "sso.saml.delete_encryption_private_key",
        "sso_saml",
        "DeleteEncryptionPrivateKeyRequestOptions",
        ((SSO, "update"),),
        lambda c, w, o: c.sso.saml.delete_encryption_private_key(
            w.acme, w.saml_id, w.key_id, method_options=o
        ),
    ),
    Case(
        "sso.oidc.create_connection",
        "sso_oidc",
        "CreateConnectionRequestOptions",
        ((SSO, "create"),),
        lambda c, w, o: c.sso.oidc.create_connection(w.acme, method_options=o),
    ),
    Case(
        "sso.oidc.update_connection",
        "sso_oidc",
        "UpdateConnectionRequestOptions",
        ((SSO, "update"),),
        lambda c, w, o: c.sso.oidc.update_connection(
            w.acme, w.oidc_id, display_name="N", method_options=o
        ),
    ),
    Case(
        "sso.external.create_connection",
        "sso_external",
        "CreateConnectionRequestOptions",
        ((SSO, "create"),),
        lambda c, w, o: c.sso.external.create_connection(
            w.acme, w.globex, w.globex_saml_id, method_options=o
        ),
    ),
    Case(
        "sso.external.update_connection",
        "sso_external",
        "UpdateConnectionRequestOptions",
        ((SSO, "update"),),
        lambda c, w, o: c.sso.external.update_connection(
            w.acme, w.external_id, display_name="N", method_options=o
        ),
    ),
    Case(
        "scim.connection.create",
        "scim_connection",
        "CreateRequestOptions",
        ((SCIM, "create"),),
        lambda c, w, o: c.scim.connection.create(w.acme, method_options=o),
        _delete_scim,
    ),
    Case(
        "scim.connection.get",
        "scim_connection",
        "GetRequestOptions",
        ((SCIM, "get"),),
        lambda c, w, o: c.scim.connection.get(w.acme, method_options=o),
    ),
    Case(
        "scim.connection.get_groups",
        "scim_connection",
        "GetGroupsRequestOptions",
        ((SCIM, "get"),),
        lambda c, w, o: c.scim.connection.get_groups(w.acme, w.scim_id, method_options=o),
    ),
    Case(
        "scim.connection.update",
        "scim_connection",
        "UpdateRequestOptions",
        ((SCIM, "update"),),
        lambda c, w, o: c.scim.connection.update(
            w.acme, w.scim_id, display_name="N", method_options=o
        ),
    ),
    Case(
        "scim.connection.delete",
        "scim_connection",
        "DeleteRequestOptions",
        ((SCIM, "delete"),),
        lambda c, w, o: c.scim.connection.delete(w.acme, w.scim_id, method_options=o),
    ),
    Case(
        "scim.connection.rotate_start",
        "scim_connection",
        "RotateStartRequestOptions",
        ((SCIM, "update"),),
        lambda c, w, o: c.scim.connection.rotate_start(w.acme, w.scim_id, method_options=o),
    ),
    Case(
        "scim.connection.rotate_complete",
        "scim_connection",
        "RotateCompleteRequestOptions",
        ((SCIM, "update"),),
        lambda c, w, o: c.scim.connection.rotate_complete(w.acme, w.scim_id, method_options=o),
        _rotate_start,
    ),
    Case(
        "scim.connection.rotate_cancel",
        "scim_connection",
        "RotateCancelRequestOptions",
        ((SCIM, "update"),),
        lambda c, w, o: c.scim.connection.rotate_cancel(w.acme, w.scim_id, method_options=o),
        _rotate_start,
    ),
]


def _options(case: Case, session: SessionRecord, *, use_token: bool = False) -> Any:
    """The method's own ``*RequestOptions`` carrying the member session."""
    module = importlib.import_module(f"stytch.b2b.models.{case.module}")
    auth = (
        Authorization(session_token=session.session_token)
        if use_token
        else Authorization(session_jwt=session.session_jwt)
    )
    return getattr(module, case.options)(authorization=auth)


@pytest.fixture
def world() -> Iterator[World]:
    """A served emulator with everything the 40 calls act on, created with the secret only."""
    emu = Emulator(policy=EXAMPLES / "policy.json")
    acme = emu.create_organization("Acme", slug="acme").organization_id
    globex = emu.create_organization("Globex", slug="globex").organization_id
    target = emu.create_member(
        acme,
        "target@acme.test",
        roles=["viewer"],
        mfa_phone_number="+15555550100",
        member_password_id=True,
        totp_registration_id=True,
        external_id="t-ext",
    )
    target_session = emu.create_session(target.member_id)
    app_id = emu.create_connected_app("Reporter").client_id
    emu.grant_connected_app(target.member_id, app_id, ["read"])
    with emu.serve_in_thread() as url, requests.Session() as http:
        client = new_client(emu.project_id, emu.secret, url, http)
        client.organizations.members.update(acme, target.member_id, email_address="t2@acme.test")
        saml = client.sso.saml.create_connection(acme).connection
        globex_saml = client.sso.saml.create_connection(globex).connection
        oidc = client.sso.oidc.create_connection(acme).connection
        scim = client.scim.connection.create(acme).connection
        assert saml is not None
        assert globex_saml is not None
        assert oidc is not None
        assert scim is not None
        configured = client.sso.saml.update_connection(
            acme, saml.connection_id, x509_certificate="CERT", saml_encryption_private_key="KEY"
        ).connection
        assert configured is not None
        external = client.sso.external.create_connection(
            acme, globex, globex_saml.connection_id
        ).connection
        assert external is not None
        yield World(
            emu,
            client,
            acme,
            globex,
            emu.get_member(target.member_id),
            target_session,
            str(target.json["member_password_id"]),
            "target@acme.test",
            app_id,
            saml.connection_id,
            configured.verification_certificates[0].certificate_id,
            configured.encryption_private_keys[0].private_key_id,
            oidc.connection_id,
            external.connection_id,
            globex_saml.connection_id,
            scim.connection_id,
        )


def test_cases_cover_every_member_session_method() -> None:
    """The cases below are exactly the SDK methods that take ``method_options``."""
    assert {c.method for c in CASES} == set(BUILTIN_METHODS)
    assert len(CASES) == 40


@pytest.mark.parametrize("case", CASES, ids=[c.method for c in CASES])
def test_enforcement(world: World, case: Case) -> None:
    """Another org's session is a tenancy 403; no permission is a 403; the permission works."""
    emu, client = world.emu, world.client
    (case.prepare or _noop)(world)
    outsider = emu.create_member(world.globex, "boss@globex.test", roles=["stytch_admin"])
    with pytest.raises(StytchError) as tenancy:
        case.call(client, world, _options(case, emu.create_session(outsider.member_id)))
    assert (tenancy.value.details.status_code, tenancy.value.details.error_type) == (
        403,
        "session_authorization_tenancy_error",
    )
    if case.needs:
        plain = emu.create_member(world.acme, "plain@acme.test")
        with pytest.raises(StytchError) as denied:
            case.call(client, world, _options(case, emu.create_session(plain.member_id)))
        assert (denied.value.details.status_code, denied.value.details.error_type) == (
            403,
            "session_authorization_error",
        )
    grants: dict[str, list[str]] = {}
    for resource, action in case.needs:
        grants.setdefault(resource, []).append(action)
    emu.set_org_policy(
        world.acme,
        {
            "roles": [
                {
                    "role_id": "holder",
                    "description": "",
                    "permissions": [{"resource_id": r, "actions": a} for r, a in grants.items()],
                }
            ]
        },
    )
    holder = emu.create_member(world.acme, "holder@acme.test", roles=["holder"])
    case.call(client, world, _options(case, emu.create_session(holder.member_id), use_token=True))
