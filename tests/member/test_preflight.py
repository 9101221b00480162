"""The permission map, proven per wrapped method against the emulator.

For every ``stytch.B2BClient`` method that takes ``method_options`` there is one
case below stating, literally from the reference (sections 4.10 to 4.12), the
permission Stytch demands (where Stytch documents none, the case states the
choice ``builtin_calls`` marks ``documented=False``). Each case runs, in a fresh
organization whose custom roles are built for it:

* a member holding every permission *except* that one is refused by the
  pre-flight (``PermissionDenied``, no request reaches the emulator), and, with
  ``preflight=False``, by the emulator (403 -> ``PermissionDenied``);
* an admin of another organization is refused for tenancy, by the pre-flight and
  by the emulator;
* a member holding *exactly* that permission succeeds and gets the SDK's own
  response model.

Methods whose target member may be the caller are also run as a member holding
only the ``stytch.self`` action: allowed on themselves, refused on anyone else.
The cases are written from the reference, not from ``stytch_rbac.policy.builtin_calls``, so a
wrong row in that table makes these tests fail.
"""

from __future__ import annotations

import functools
import typing
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from stytch.b2b.models.sessions import AuthorizationCheck

from stytch_rbac import PermissionDenied, TenancyError
from stytch_rbac.client import StytchRBAC
from stytch_rbac.emulator import Emulator, SessionRecord
from stytch_rbac.member import MemberClient
from stytch_rbac.policy import builtin_calls

ORG: typing.Final = "stytch.organization"
MEMBER: typing.Final = "stytch.member"
SELF: typing.Final = "stytch.self"
SSO: typing.Final = "stytch.sso"
SCIM: typing.Final = "stytch.scim"

#: Stytch's default resources and actions (reference 4.7, the "(more)" rows included).
RESOURCES: dict[str, list[str]] = {
    ORG: [
        "update.info.name",
        "update.info.slug",
        "update.info.logo-url",
        "update.settings.allowed-auth-methods",
        "update.settings.allowed-mfa-methods",
        "update.settings.email-jit-provisioning",
        "update.settings.email-invites",
        "update.settings.allowed-domains",
        "update.settings.default-sso-connection",
        "update.settings.sso-jit-provisioning",
        "update.settings.mfa-policy",
        "update.settings.implicit-roles",
        "update.settings.oauth-tenant-jit-provisioning",
        "update.settings.allowed-oauth-tenants",
        "delete",
    ],
    MEMBER: [
        "create",
        "update.info.name",
        "update.info.email",
        "update.info.untrusted-metadata",
        "update.info.mfa-phone",
        "update.info.delete.mfa-phone",
        "update.info.delete.mfa-totp",
        "update.info.delete.password",
        "update.settings.is-breakglass",
        "update.settings.mfa-enrolled",
        "update.settings.default-mfa-method",
        "update.settings.roles",
        "search",
        "delete",
        "revoke-sessions",
        "update.info.unlink.retired-email",
        "get.connected-apps",
        "revoke.connected-app",
    ],
    SELF: [
        "update.info.name",
        "update.info.untrusted-metadata",
        "update.info.mfa-phone",
        "update.info.delete.mfa-phone",
        "update.info.delete.password",
        "update.info.delete.mfa-totp",
        "update.settings.mfa-enrolled",
        "update.settings.default-mfa-method",
        "delete",
        "revoke-sessions",
        "update.info.unlink.retired-email",
        "update.info.email",
        "get.connected-apps",
        "revoke.connected-app",
    ],
    SSO: ["create", "get", "update", "delete"],
    SCIM: ["create", "get", "update", "delete"],
}

#: Nobody holds anything by default: every permission below is granted on purpose.
PROJECT_POLICY: dict[str, Any] = {
    "resources": [
        {"resource_id": r, "description": "", "actions": a} for r, a in RESOURCES.items()
    ],
    "roles": [
        {"role_id": "stytch_member", "description": "", "permissions": []},
        {"role_id": "stytch_admin", "description": "", "permissions": []},
    ],
    "scopes": [],
}

PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIBfake\n-----END PRIVATE KEY-----"

Ids = dict[str, str]
Call = Callable[[MemberClient, Ids], Awaitable[object]]


async def _nothing(emu: Emulator, rbac: StytchRBAC, ids: Ids) -> None:
    """No seeding beyond the organization and its members."""


@dataclass(frozen=True)
class Case:
    """One wrapped method and, from the reference, exactly what Stytch demands for it."""

    method: str
    #: (resource, action) pairs; empty where Stytch documents no permission.
    needs: tuple[tuple[str, str], ...]
    call: Call
    seed: Callable[[Emulator, StytchRBAC, Ids], Awaitable[None]] = _nothing
    #: The stytch.self action that also suffices on oneself (reference "self alt.").
    self_action: str | None = None
    #: Whether the call names its organization (tenancy is checked before the network).
    tenancy: bool = True
    #: Whether the call names its target member (False: only Stytch can tell it is not you).
    names_target: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


# --- seeding helpers: project-authority calls (no member session) ------------------------


async def _saml(emu: Emulator, rbac: StytchRBAC, ids: Ids) -> None:
    created = await rbac.stytch.sso.saml.create_connection_async(ids["org"], display_name="IdP")
    assert created.connection is not None
    ids["conn"] = created.connection.connection_id


async def _saml_with_cert_and_key(emu: Emulator, rbac: StytchRBAC, ids: Ids) -> None:
    await _saml(emu, rbac, ids)
    updated = await rbac.stytch.sso.saml.update_connection_async(
        ids["org"], ids["conn"], x509_certificate=PEM_CERT, saml_encryption_private_key=PEM_KEY
    )
    assert updated.connection is not None
    ids["cert"] = updated.connection.verification_certificates[0].certificate_id
    ids["key"] = updated.connection.encryption_private_keys[0].private_key_id


async def _oidc(emu: Emulator, rbac: StytchRBAC, ids: Ids) -> None:
    created = await rbac.stytch.sso.oidc.create_connection_async(ids["org"], display_name="OIDC")
    assert created.connection is not None
    ids["conn"] = created.connection.connection_id


async def _external_source(emu: Emulator, rbac: StytchRBAC, ids: Ids) -> None:
    source = emu.create_organization(f"Source {uuid.uuid4()}", slug=f"src-{uuid.uuid4()}")
    created = await rbac.stytch.sso.saml.create_connection_async(source.organization_id)
    assert created.connection is not None
    ids["ext_org"] = source.organization_id
    ids["ext_conn"] = created.connection.connection_id


async def _external(emu: Emulator, rbac: StytchRBAC, ids: Ids) -> None:
    await _external_source(emu, rbac, ids)
    created = await rbac.stytch.sso.external.create_connection_async(
        ids["org"], ids["ext_org"], ids["ext_conn"], display_name="External"
    )
    assert created.connection is not None
    ids["conn"] = created.connection.connection_id


async def _scim(emu: Emulator, rbac: StytchRBAC, ids: Ids) -> None:
    created = await rbac.stytch.scim.connection.create_async(ids["org"], display_name="SCIM")
    assert created.connection is not None
    ids["scim"] = created.connection.connection_id


async def _scim_rotating(emu: Emulator, rbac: StytchRBAC, ids: Ids) -> None:
    await _scim(emu, rbac, ids)
    await rbac.stytch.scim.connection.rotate_start_async(ids["org"], ids["scim"])


async def _retired_email(emu: Emulator, rbac: StytchRBAC, ids: Ids) -> None:
    new = f"renamed-{uuid.uuid4().hex[:8]}@acme.test"
    await rbac.stytch.organizations.members.update_async(
        ids["org"], ids["target"], email_address=new
    )
    ids["retired"] = ids["target_email"]
    ids["target_email"] = new


async def _connected_app(emu: Emulator, rbac: StytchRBAC, ids: Ids) -> None:
    ids["app"] = emu.create_connected_app("Reporting").client_id
    emu.grant_connected_app(ids["target"], ids["app"], ["openid"])


async def _deleted_target(emu: Emulator, rbac: StytchRBAC, ids: Ids) -> None:
    await rbac.stytch.organizations.members.delete_async(ids["org"], ids["target"])


# --- the cases: one per wrapped method (reference 4.10; per-field rows 4.11, 4.12) --------

CASES: list[Case] = [
    Case(
        "magic_links.email.invite",
        ((MEMBER, "create"),),
        lambda m, i: m.magic_links.email.invite(i["org"], f"new-{uuid.uuid4().hex[:8]}@acme.test"),
    ),
    Case(
        "organizations.update",
        ((ORG, "update.info.name"),),
        lambda m, i: m.organizations.update(i["org"], organization_name="Renamed"),
    ),
    Case("organizations.delete", ((ORG, "delete"),), lambda m, i: m.organizations.delete(i["org"])),
    # Stytch documents no permission for the next five: builtin_calls' documented=False choice.
    Case(
        "organizations.connected_apps",
        ((MEMBER, "get.connected-apps"),),
        lambda m, i: m.organizations.connected_apps(i["org"]),
    ),
    Case(
        "organizations.get_connected_app",
        ((MEMBER, "get.connected-apps"),),
        lambda m, i: m.organizations.get_connected_app(i["org"], i["app"]),
        seed=_connected_app,
    ),
    Case(
        "organizations.delete_external_id",
        ((ORG, "update.info.slug"),),
        lambda m, i: m.organizations.delete_external_id(i["org"]),
    ),
    Case(
        "organizations.members.create",
        ((MEMBER, "create"),),
        lambda m, i: m.organizations.members.create(
            i["org"], f"c-{uuid.uuid4().hex[:8]}@acme.test"
        ),
    ),
    Case(
        "organizations.members.update",
        ((MEMBER, "update.info.name"),),
        lambda m, i: m.organizations.members.update(i["org"], i["target"], name="New Name"),
        self_action="update.info.name",
    ),
    Case(
        "organizations.members.delete",
        ((MEMBER, "delete"),),
        lambda m, i: m.organizations.members.delete(i["org"], i["target"]),
        self_action="delete",
    ),
    Case(
        "organizations.members.reactivate",
        ((MEMBER, "create"),),
        lambda m, i: m.organizations.members.reactivate(i["org"], i["target"]),
        seed=_deleted_target,
    ),
    Case(
        "organizations.members.delete_mfa_phone_number",
        ((MEMBER, "update.info.delete.mfa-phone"),),
        lambda m, i: m.organizations.members.delete_mfa_phone_number(i["org"], i["target"]),
        self_action="update.info.delete.mfa-phone",
    ),
    Case(
        "organizations.members.delete_totp",
        ((MEMBER, "update.info.delete.mfa-totp"),),
        lambda m, i: m.organizations.members.delete_totp(i["org"], i["target"]),
        self_action="update.info.delete.mfa-totp",
    ),
    Case(
        "organizations.members.delete_password",
        ((MEMBER, "update.info.delete.password"),),
        lambda m, i: m.organizations.members.delete_password(i["org"], i["password"]),
        self_action="update.info.delete.password",
        names_target=False,
    ),
    Case(
        "organizations.members.search",
        ((MEMBER, "search"),),
        lambda m, i: m.organizations.members.search([i["org"]]),
    ),
    Case(
        "organizations.members.unlink_retired_email",
        ((MEMBER, "update.info.unlink.retired-email"),),
        lambda m, i: m.organizations.members.unlink_retired_email(
            i["org"], i["target"], email_address=i["retired"]
        ),
        seed=_retired_email,
        self_action="update.info.unlink.retired-email",
    ),
    Case(
        "organizations.members.start_email_update",
        ((MEMBER, "update.info.email"),),
        lambda m, i: m.organizations.members.start_email_update(
            i["org"], i["target"], f"next-{uuid.uuid4().hex[:8]}@acme.test"
        ),
        self_action="update.info.email",
    ),
    Case(
        "organizations.members.get_connected_apps",
        ((MEMBER, "get.connected-apps"),),
        lambda m, i: m.organizations.members.get_connected_apps(i["org"], i["target"]),
        seed=_connected_app,
        self_action="get.connected-apps",
    ),
    Case(
        "organizations.members.delete_external_id",
        ((MEMBER, "update.info.email"),),
        lambda m, i: m.organizations.members.delete_external_id(i["org"], i["target"]),
    ),
    Case(
        "organizations.members.connected_apps.revoke",
        ((MEMBER, "revoke.connected-app"),),
        lambda m, i: m.organizations.members.connected_apps.revoke(i["org"], i["target"], i["app"]),
        seed=_connected_app,
        self_action="revoke.connected-app",
    ),
    Case(
        "passwords.email.require_reset",
        ((MEMBER, "update.info.delete.password"),),
        lambda m, i: m.passwords.email.require_reset(
            i["target_email"], organization_id=i["org"], member_id=i["target"]
        ),
        self_action="update.info.delete.password",
    ),
    Case(
        "sessions.revoke",
        ((MEMBER, "revoke-sessions"),),
        lambda m, i: m.sessions.revoke(member_id=i["target"]),
        self_action="revoke-sessions",
        tenancy=False,
    ),
    Case("sso.get_connections", ((SSO, "get"),), lambda m, i: m.sso.get_connections(i["org"])),
    Case(
        "sso.delete_connection",
        ((SSO, "delete"),),
        lambda m, i: m.sso.delete_connection(i["org"], i["conn"]),
        seed=_saml,
    ),
    Case(
        "sso.saml.create_connection",
        ((SSO, "create"),),
        lambda m, i: m.sso.saml.create_connection(i["org"], display_name="New IdP"),
    ),
    Case(
        "sso.saml.update_connection",
        ((SSO, "update"),),
        lambda m, i: m.sso.saml.update_connection(i["org"], i["conn"], display_name="Renamed"),
        seed=_saml,
    ),
    Case(
        "sso.saml.update_by_url",
        ((SSO, "update"),),
        lambda m, i: m.sso.saml.update_by_url(
            i["org"], i["conn"], "https://idp.example.test/metadata"
        ),
        seed=_saml,
    ),
    Case(
        "sso.saml.delete_verification_certificate",
        ((SSO, "update"),),
        lambda m, i: m.sso.saml.delete_verification_certificate(i["org"], i["conn"], i["cert"]),
        seed=_saml_with_cert_and_key,
    ),
    Case(
        "sso.saml.delete_encryption_private_key",
        ((SSO, "update"),),
        lambda m, i: m.sso.saml.delete_encryption_private_key(i["org"], i["conn"], i["key"]),
        seed=_saml_with_cert_and_key,
    ),
    Case(
        "sso.oidc.create_connection",
        ((SSO, "create"),),
        lambda m, i: m.sso.oidc.create_connection(i["org"], display_name="New OIDC"),
    ),
    Case(
        "sso.oidc.update_connection",
        ((SSO, "update"),),
        lambda m, i: m.sso.oidc.update_connection(i["org"], i["conn"], display_name="Renamed"),
        seed=_oidc,
    ),
    Case(
        "sso.external.create_connection",
        ((SSO, "create"),),
        lambda m, i: m.sso.external.create_connection(i["org"], i["ext_org"], i["ext_conn"]),
        seed=_external_source,
    ),
    Case(
        "sso.external.update_connection",
        ((SSO, "update"),),
        lambda m, i: m.sso.external.update_connection(i["org"], i["conn"], display_name="R"),
        seed=_external,
    ),
    Case(
        "scim.connection.create",
        ((SCIM, "create"),),
        lambda m, i: m.scim.connection.create(i["org"], display_name="SCIM"),
    ),
    Case("scim.connection.get", ((SCIM, "get"),), lambda m, i: m.scim.connection.get(i["org"])),
    Case(
        "scim.connection.get_groups",
        ((SCIM, "get"),),
        lambda m, i: m.scim.connection.get_groups(i["org"], i["scim"]),
        seed=_scim,
    ),
    Case(
        "scim.connection.update",
        ((SCIM, "update"),),
        lambda m, i: m.scim.connection.update(i["org"], i["scim"], display_name="Renamed"),
        seed=_scim,
    ),
    Case(
        "scim.connection.delete",
        ((SCIM, "delete"),),
        lambda m, i: m.scim.connection.delete(i["org"], i["scim"]),
        seed=_scim,
    ),
    Case(
        "scim.connection.rotate_start",
        ((SCIM, "update"),),
        lambda m, i: m.scim.connection.rotate_start(i["org"], i["scim"]),
        seed=_scim,
    ),
    Case(
        "scim.connection.rotate_complete",
        ((SCIM, "update"),),
        lambda m, i: m.scim.connection.rotate_complete(i["org"], i["scim"]),
        seed=_scim_rotating,
    ),
    Case(
        "scim.connection.rotate_cancel",
        ((SCIM, "update"),),
        lambda m, i: m.scim.connection.rotate_cancel(i["org"], i["scim"]),
        seed=_scim_rotating,
    ),
]

#: Fields (and forms) with their own rule, beyond the one case per method above. Where
#: Stytch documents no permission, the need is builtin_calls' documented=False choice.
FIELD_CASES: list[Case] = [
    Case(
        "organizations.members.update",
        ((MEMBER, "update.info.email"),),
        lambda m, i: m.organizations.members.update(
            i["org"], i["target"], external_id=f"x-{uuid.uuid4().hex[:8]}"
        ),
        extra={"id": "members.update(external_id)"},
    ),
    Case(
        "organizations.update",
        ((ORG, "update.info.slug"),),
        lambda m, i: m.organizations.update(
            i["org"], organization_external_id=f"x-{uuid.uuid4().hex[:8]}"
        ),
        extra={"id": "organizations.update(organization_external_id)"},
    ),
    Case(
        "organizations.update",
        ((ORG, "update.settings.allowed-domains"),),
        lambda m, i: m.organizations.update(i["org"], claimed_email_domains=["acme.test"]),
        extra={"id": "organizations.update(claimed_email_domains)"},
    ),
    *(
        Case(
            "organizations.update",
            ((ORG, "update.settings.allowed-auth-methods"),),
            call,
            extra={"id": f"organizations.update({name})"},
        )
        for name, call in [
            (
                "first_party_connected_apps_allowed_type",
                lambda m, i: m.organizations.update(
                    i["org"], first_party_connected_apps_allowed_type="NOT_ALLOWED"
                ),
            ),
            (
                "allowed_first_party_connected_apps",
                lambda m, i: m.organizations.update(
                    i["org"], allowed_first_party_connected_apps=["app-1"]
                ),
            ),
            (
                "third_party_connected_apps_allowed_type",
                lambda m, i: m.organizations.update(
                    i["org"], third_party_connected_apps_allowed_type="NOT_ALLOWED"
                ),
            ),
            (
                "allowed_third_party_connected_apps",
                lambda m, i: m.organizations.update(
                    i["org"], allowed_third_party_connected_apps=["app-1"]
                ),
            ),
        ]
    ),
    # Stytch documents trusted_metadata as refused with a session on the two updates only.
    Case(
        "organizations.members.create",
        ((MEMBER, "create"),),
        lambda m, i: m.organizations.members.create(
            i["org"], f"t-{uuid.uuid4().hex[:8]}@acme.test", trusted_metadata={"tier": "gold"}
        ),
        extra={"id": "members.create(trusted_metadata)"},
    ),
    Case(
        "magic_links.email.invite",
        ((MEMBER, "create"),),
        lambda m, i: m.magic_links.email.invite(
            i["org"], f"t-{uuid.uuid4().hex[:8]}@acme.test", trusted_metadata={"tier": "gold"}
        ),
        extra={"id": "invite(trusted_metadata)"},
    ),
]

SELF_CASES = [c for c in CASES if c.self_action is not None]


def _case_id(case: Case) -> str:
    return str(case.extra.get("id", case.method))


def test_there_is_one_case_per_wrapped_method() -> None:
    """The case table covers exactly the methods MemberClient wraps (and builtin_calls maps)."""
    methods = [c.method for c in CASES]
    assert len(methods) == len(set(methods))
    assert set(methods) == builtin_calls.BUILTIN_METHODS


def _grants(grants: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [{"resource_id": r, "actions": a} for r, a in grants.items() if a]


def _roles(case: Case) -> list[dict[str, Any]]:
    """Org custom roles for one case: exactly the needs, everything else, and the self action."""
    needed: dict[str, list[str]] = {}
    for resource, action in case.needs:
        needed.setdefault(resource, []).append(action)
    # Whatever Stytch could accept instead is withheld too: the same action on stytch.self.
    withheld = {r: set(a) for r, a in needed.items()}
    withheld.setdefault(SELF, set()).update(needed.get(MEMBER, ()))
    everything_else = {
        r: [a for a in acts if a not in withheld.get(r, set())] for r, acts in RESOURCES.items()
    }
    roles = [
        {"role_id": "holder", "description": "", "permissions": _grants(needed)},
        {"role_id": "lacker", "description": "", "permissions": _grants(everything_else)},
    ]
    if case.self_action is not None:
        selfish = _grants({SELF: [case.self_action]})
        roles.append({"role_id": "selfer", "description": "", "permissions": selfish})
    return roles


@dataclass
class Served:
    """The module's emulator, its URL, and an admin of another organization."""

    emu: Emulator
    base_url: str
    outsider: SessionRecord


# Not the plugin's stytch_emulator/stytch_base_url: those are per test, and starting a served
# emulator (uvicorn in a thread) for each of this module's ~100 parametrized cases would add
# a server start and stop to every one of them.
@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """One emulator over real HTTP for the module; each test gets its own organization."""
    emu = Emulator(policy=PROJECT_POLICY)
    other = emu.create_organization("Elsewhere", slug="elsewhere").organization_id
    everything = _grants(RESOURCES)
    emu.set_org_policy(
        other, {"roles": [{"role_id": "all", "description": "", "permissions": everything}]}
    )
    outsider = emu.create_member(other, "boss@elsewhere.test", roles=["all"])
    with emu.serve_in_thread() as base_url:
        yield Served(emu, base_url, emu.create_session(outsider.member_id))


def _org_for(served: Served, case: Case) -> tuple[Ids, dict[str, SessionRecord]]:
    """A fresh organization with this case's roles, a target member and a session per role."""
    emu = served.emu
    suffix = uuid.uuid4().hex[:10]
    org = emu.create_organization(
        f"Org {suffix}", slug=f"org-{suffix}", organization_external_id=f"ext-{suffix}"
    ).organization_id
    emu.set_org_policy(org, {"roles": _roles(case)})
    seeds: dict[str, Any] = {
        "mfa_phone_number": "+15555550100",
        "mfa_phone_number_verified": True,
        "totp_registration_id": True,
        "member_password_id": True,
        "email_address_verified": True,
    }
    members = {
        "holder": emu.create_member(org, f"holder-{suffix}@acme.test", roles=["holder"]),
        "lacker": emu.create_member(org, f"lacker-{suffix}@acme.test", roles=["lacker"]),
        "selfer": emu.create_member(
            org, f"selfer-{suffix}@acme.test", roles=["selfer"] if case.self_action else [], **seeds
        ),
        "target": emu.create_member(
            org, f"target-{suffix}@acme.test", external_id=f"t-{suffix}", **seeds
        ),
    }
    ids = {"org": org, "target": members["target"].member_id}
    ids["target_email"] = members["target"].email_address
    sessions = {name: emu.create_session(m.member_id) for name, m in members.items()}
    ids["selfer"] = members["selfer"].member_id
    return ids, sessions


def _returns(member: MemberClient, method: str) -> type:
    """The SDK response model the wrapper is declared to return."""
    bound = functools.reduce(getattr, method.split("."), member)
    hint: type = typing.get_type_hints(bound)["return"]
    return hint


def _password_of(served: Served, member_id: str) -> str:
    password: str = served.emu.get_member(member_id).json["member_password_id"]
    assert password
    return password


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES + FIELD_CASES, ids=_case_id)
async def test_exact_permission_allows_and_anything_else_is_refused(
    case: Case, served: Served
) -> None:
    """Lacking the permission: refused locally and by Stytch; other org: tenancy; exact: allowed."""
    emu, requests = served.emu, served.emu.requests
    ids, sessions = _org_for(served, case)
    async with StytchRBAC(emu.project_id, emu.secret, base_url=served.base_url) as rbac:
        await case.seed(emu, rbac, ids)
        ids["password"] = _password_of(served, ids["target"])

        async def as_(session: SessionRecord, preflight: bool = True) -> MemberClient:
            principal = await rbac.authenticate(session_jwt=session.session_jwt)
            return rbac.as_member(principal, preflight=preflight)

        sent = requests[case.method]
        if case.needs:
            lacker = sessions["lacker"]
            with pytest.raises(PermissionDenied) as local:
                await case.call(await as_(lacker), ids)
            assert (local.value.resource, local.value.action) == case.needs[0]
            assert local.value.request_id is None
            assert requests[case.method] == sent, "the pre-flight let a request through"
            with pytest.raises(PermissionDenied) as remote:
                await case.call(await as_(lacker, preflight=False), ids)
            assert remote.value.error_type == "session_authorization_error"
            assert remote.value.request_id
            sent += 1
            assert requests[case.method] == sent
        if case.tenancy:
            with pytest.raises(TenancyError):
                await case.call(await as_(served.outsider), ids)
            assert requests[case.method] == sent, "the pre-flight let a cross-tenant call through"
            with pytest.raises(TenancyError) as remote_tenancy:
                await case.call(await as_(served.outsider, preflight=False), ids)
            assert remote_tenancy.value.request_id
            sent += 1
            assert requests[case.method] == sent
        else:
            # The call names no organization: only Stytch can see the target is elsewhere.
            with pytest.raises(TenancyError) as remote_only:
                await case.call(await as_(served.outsider), ids)
            assert remote_only.value.request_id
            sent += 1
            assert requests[case.method] == sent
        holder = await as_(sessions["holder"])
        result = await case.call(holder, ids)
        assert isinstance(result, _returns(holder, case.method))
        assert requests[case.method] == sent + 1


@pytest.mark.anyio
@pytest.mark.parametrize("case", SELF_CASES, ids=lambda c: c.method)
async def test_self_action_allows_acting_on_oneself_only(case: Case, served: Served) -> None:
    """Holding only the stytch.self action: refused on another member, allowed on oneself."""
    emu, requests = served.emu, served.emu.requests
    ids, sessions = _org_for(served, case)
    async with StytchRBAC(emu.project_id, emu.secret, base_url=served.base_url) as rbac:
        await case.seed(emu, rbac, ids)
        ids["password"] = _password_of(served, ids["target"])
        principal = await rbac.authenticate(session_jwt=sessions["selfer"].session_jwt)
        selfer = rbac.as_member(principal)
        sent = requests[case.method]

        with pytest.raises(PermissionDenied) as on_other:
            await case.call(selfer, ids)
        if case.names_target:
            assert on_other.value.request_id is None
            assert requests[case.method] == sent
        else:
            # Only Stytch knows whose password this is: the pre-flight lets it through.
            assert on_other.value.request_id
            sent += 1
        with pytest.raises(PermissionDenied):
            await case.call(rbac.as_member(principal, preflight=False), ids)
        sent += 1
        assert requests[case.method] == sent

        own = dict(ids, target=ids["selfer"])
        own["target_email"] = emu.get_member(ids["selfer"]).email_address
        await case.seed(emu, rbac, own)
        own["password"] = _password_of(served, ids["selfer"])
        result = await case.call(selfer, own)
        assert isinstance(result, _returns(selfer, case.method))
        assert requests[case.method] == sent + 1


# --- "*" grants actions the policy's action list omits (Stytch's rule) ----------------------

#: Actions built-in calls need that Stytch's own frontend mock policy leaves out of
#: ``stytch.member`` (stytch-browser, packages/web/.storybook/handlers.ts).
UNLISTED: tuple[str, ...] = (
    "update.info.email",
    "update.info.unlink.retired-email",
    "revoke-sessions",
    "get.connected-apps",
    "revoke.connected-app",
)

#: The built-in resources with ``stytch.member`` listed as that mock lists it, and
#: Stytch's two default roles.
SHORT_LIST_POLICY: dict[str, Any] = {
    "resources": [
        {
            "resource_id": r,
            "description": "",
            "actions": [a for a in acts if r != MEMBER or a not in UNLISTED],
        }
        for r, acts in RESOURCES.items()
    ],
    "roles": [
        {"role_id": "stytch_member", "description": "", "permissions": _grants({SELF: ["*"]})},
        {
            "role_id": "stytch_admin",
            "description": "",
            "permissions": _grants({r: ["*"] for r in (ORG, MEMBER, SSO, SCIM)}),
        },
    ],
    "scopes": [],
}


@pytest.mark.anyio
@pytest.mark.parametrize("preflight", [True, False], ids=["preflight", "emulator"])
async def test_star_grants_actions_the_policy_does_not_list(preflight: bool) -> None:
    """stytch.member "*" grants actions the policy omits: authorization_check and enforcement."""
    emu = Emulator(policy=SHORT_LIST_POLICY)
    org = emu.create_organization("Acme", slug="acme").organization_id
    admin = emu.create_member(org, "admin@acme.test", roles=["stytch_admin"])
    target = emu.create_member(org, "target@acme.test")
    app = emu.create_connected_app("Reporting").client_id
    emu.grant_connected_app(target.member_id, app, ["openid"])
    emu.create_session(target.member_id)
    session = emu.create_session(admin.member_id)
    async with (
        emu.serve() as base_url,
        StytchRBAC(emu.project_id, emu.secret, base_url=base_url) as rbac,
    ):
        for action in UNLISTED:
            # A dict, as the SDK sends it: its model's .dict() is deprecated in pydantic 2.
            check = typing.cast(
                AuthorizationCheck,
                {"organization_id": org, "resource_id": MEMBER, "action": action},
            )
            verdict = await rbac.stytch.sessions.authenticate_async(
                session_token=session.session_token, authorization_check=check
            )
            assert verdict.verdict is not None
            assert verdict.verdict.authorized
            assert verdict.verdict.granting_roles == ["stytch_admin"]
        principal = await rbac.authenticate(session_jwt=session.session_jwt)
        member = rbac.as_member(principal, preflight=preflight)
        apps = await member.organizations.members.get_connected_apps(org, target.member_id)
        assert [a.connected_app_id for a in apps.connected_apps] == [app]
        await member.organizations.members.connected_apps.revoke(org, target.member_id, app)
        await member.sessions.revoke(member_id=target.member_id)
        assert emu.requests["sessions.revoke"] == 1
        left = await rbac.stytch.sessions.get_async(org, target.member_id)
        assert left.member_sessions == []


@pytest.mark.anyio
@pytest.mark.parametrize("preflight", [True, False], ids=["preflight", "emulator"])
async def test_chosen_external_id_rules_have_no_self_alternative(preflight: bool) -> None:
    """A member holding all of stytch.self may neither set nor delete their own external_id."""
    emu = Emulator(policy=SHORT_LIST_POLICY)
    org = emu.create_organization("Acme", slug="acme").organization_id
    me = emu.create_member(org, "me@acme.test", external_id="me-1")
    session = emu.create_session(me.member_id)
    async with (
        emu.serve() as base_url,
        StytchRBAC(emu.project_id, emu.secret, base_url=base_url) as rbac,
    ):
        principal = await rbac.authenticate(session_jwt=session.session_jwt)
        member = rbac.as_member(principal, preflight=preflight)
        with pytest.raises(PermissionDenied) as setting:
            await member.organizations.members.update(org, me.member_id, external_id="me-2")
        with pytest.raises(PermissionDenied) as deleting:
            await member.organizations.members.delete_external_id(org, me.member_id)
        for refused in (setting.value, deleting.value):
            assert (refused.resource, refused.action) == (MEMBER, "update.info.email")
            assert (refused.request_id is None) is preflight
        renamed = await member.organizations.members.update(org, me.member_id, name="Me")
        assert renamed.member.name == "Me"
        assert emu.get_member(me.member_id).json["external_id"] == "me-1"
