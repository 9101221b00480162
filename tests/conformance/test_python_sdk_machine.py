"""The real ``stytch`` Python SDK's machine-caller paths against the emulator over HTTP.

``client.m2m.token`` / ``m2m.authenticate_token`` (M2M), ``client.m2m.clients`` and
``client.connected_app.clients`` (the clients APIs), ``client.idp.introspect_token_network``
and ``client.idp.introspect_access_token_local`` (Connected-App tokens), unmodified.

The SDK accepts two issuers only, ``stytch.com/{project_id}`` and its own base URL without
the trailing ``/``: ``introspect_access_token_local`` returns ``None`` for a Connected-App
token whose ``iss`` is the project domain unless the client was built with that domain as
base URL. So the accepting test mints with ``issuer=<the SDK's base URL>`` (docs/emulator.md).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
import requests
import stytch
from cryptography.hazmat.primitives.asymmetric import rsa
from stytch.b2b.models.sessions import AuthorizationCheck
from stytch.core.response_base import StytchError
from stytch.shared.rbac_local import RBACPermissionError

from stytch_rbac.emulator import Emulator, MemberRecord, OrganizationRecord

from .recorder import recording

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"


@dataclass
class Served:
    """An emulator over real HTTP, an SDK client for it, and a seeded member."""

    emu: Emulator
    base_url: str
    client: stytch.B2BClient
    acme: OrganizationRecord
    editor: MemberRecord
    sessions: list[requests.Session]

    def new_client(self) -> stytch.B2BClient:
        """Another SDK client (its own JWKS cache)."""
        self.sessions.append(requests.Session())
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "BasicAuth is deprecated", DeprecationWarning)
            return stytch.B2BClient(
                self.emu.project_id,
                self.emu.secret,
                environment=self.base_url,
                sync_session=self.sessions[-1],
            )


@pytest.fixture
def served() -> Iterator[Served]:
    """The example policy served over HTTP; responses in the B2B description are checked."""
    emu = Emulator(policy=POLICY)
    with recording(emu) as log, emu.serve_in_thread() as base_url:
        acme = emu.create_organization("Acme", slug="acme")
        editor = emu.create_member(acme.organization_id, "ed@acme.test", roles=["editor"])
        world = Served(emu, base_url, None, acme, editor, [])  # type: ignore[arg-type]
        world.client = world.new_client()
        yield world
        for session in world.sessions:
            session.close()
    assert not log.problems()


def test_m2m_token_and_authenticate_token(served: Served) -> None:
    """``m2m.token`` mints over HTTP; ``m2m.authenticate_token`` accepts it, with its scopes
    and custom claims, and applies ``required_scopes`` (Stytch's ``action:resource`` rule)."""
    record = served.emu.create_m2m_client("svc", ["read:documents", "write:*"], {"tenant": "acme"})
    got = served.client.m2m.token(record.client_id, record.client_secret)
    assert (got.token_type, got.expires_in) == ("bearer", 3600)
    claims = served.client.m2m.authenticate_token(got.access_token)
    assert claims is not None
    assert claims.client_id == record.client_id
    assert claims.scopes == ["read:documents", "write:*"]
    assert claims.custom_claims is not None
    assert claims.custom_claims["tenant"] == "acme"
    assert served.client.m2m.authenticate_token(got.access_token, required_scopes=["write:reports"])
    assert (
        served.client.m2m.authenticate_token(got.access_token, required_scopes=["read:billing"])
        is None
    )
    narrow = served.client.m2m.token(record.client_id, record.client_secret, ["read:documents"])
    narrow_claims = served.client.m2m.authenticate_token(narrow.access_token)
    assert narrow_claims is not None
    assert narrow_claims.scopes == ["read:documents"]


def test_m2m_token_refusals_raise_stytch_errors(served: Served) -> None:
    """A wrong secret and a scope outside the client's raise ``StytchError`` with the
    OAuth error code as its ``error_type``."""
    record = served.emu.create_m2m_client("svc", ["read"])
    with pytest.raises(StytchError) as wrong:
        served.client.m2m.token(record.client_id, "not-the-secret")
    assert (wrong.value.details.status_code, wrong.value.details.error_type) == (
        401,
        "invalid_client",
    )
    with pytest.raises(StytchError) as scope:
        served.client.m2m.token(record.client_id, record.client_secret, ["write"])
    assert scope.value.details.error_type == "invalid_scope"


def test_authenticate_token_refuses_after_rotation_and_forgery(served: Served) -> None:
    """Once the signing key is rotated out (no grace), a client with no cached keys cannot
    find the old token's key (the SDK raises ``PyJWKClientError``) and accepts a new token;
    a token signed with another key under the current ``kid`` is refused (``None``)."""
    record = served.emu.create_m2m_client("svc", ["read"])
    old = served.client.m2m.token(record.client_id, record.client_secret).access_token
    assert served.client.m2m.authenticate_token(old) is not None
    served.emu.rotate_keys(grace_seconds=0)
    fresh_client = served.new_client()
    with pytest.raises(jwt.PyJWKClientError):
        fresh_client.m2m.authenticate_token(old)
    new = served.client.m2m.token(record.client_id, record.client_secret).access_token
    assert fresh_client.m2m.authenticate_token(new) is not None
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = jwt.decode(new, options={"verify_signature": False})
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": served.emu.kid})
    assert fresh_client.m2m.authenticate_token(forged) is None


def test_m2m_clients_through_the_sdk(served: Served) -> None:
    """``client.m2m.clients`` create / get / search / update / delete and the three
    secret-rotation calls, parsed by the SDK's own models."""
    clients = served.client.m2m.clients
    created = clients.create(scopes=["read:documents"], client_name="svc").m2m_client
    assert created.client_secret
    got = clients.get(created.client_id).m2m_client
    assert (got.client_name, got.scopes, got.client_secret_last_four) == (
        "svc",
        ["read:documents"],
        created.client_secret[-4:],
    )
    found = clients.search(
        query={
            "operator": "AND",
            "operands": [{"filter_name": "client_ids", "filter_value": [created.client_id]}],
        }
    )
    assert [c.client_id for c in found.m2m_clients] == [created.client_id]
    updated = clients.update(created.client_id, client_name="renamed", scopes=["a", "b"])
    assert (updated.m2m_client.client_name, updated.m2m_client.scopes) == ("renamed", ["a", "b"])
    started = clients.secrets.rotate_start(created.client_id).m2m_client
    both = [
        served.client.m2m.token(created.client_id, s).access_token
        for s in (created.client_secret, started.next_client_secret)
    ]
    assert all(served.client.m2m.authenticate_token(t) for t in both)
    rotated = clients.secrets.rotate(created.client_id).m2m_client
    assert rotated.client_secret_last_four == started.next_client_secret[-4:]
    clients.secrets.rotate_start(created.client_id)
    cancelled = clients.secrets.rotate_cancel(created.client_id).m2m_client
    assert cancelled.next_client_secret_last_four is None
    assert clients.delete(created.client_id).client_id == created.client_id
    with pytest.raises(StytchError) as gone:
        clients.get(created.client_id)
    assert gone.value.details.error_type == "m2m_client_not_found"


def test_connected_app_clients_through_the_sdk(served: Served) -> None:
    """``client.connected_app.clients`` create / get / update / search / delete."""
    apps = served.client.connected_app.clients
    created = apps.create(client_type="third_party", client_name="Agent").connected_app
    assert created.client_secret
    assert apps.get(created.client_id).connected_app.client_name == "Agent"
    apps.update(created.client_id, client_name="Bot")
    assert [a.client_name for a in apps.search().connected_apps] == ["Bot"]
    assert apps.delete(created.client_id).client_id == created.client_id


def test_introspect_access_token_local_needs_the_issuer_as_base_url(served: Served) -> None:
    """Minted with ``issuer`` equal to the SDK's base URL, a Connected-App token is accepted
    (with the policy's scope rule for ``authorization_check``); with the default issuer
    (``https://{project_domain}``) the SDK returns ``None``."""
    emu = served.emu
    app = emu.create_connected_app("Agent")
    org = served.acme.organization_id
    issuer = served.base_url.rstrip("/")
    token = emu.mint_connected_app_token(
        served.editor.member_id, app, ["openid", "read:documents"], issuer=issuer
    )
    claims = served.client.idp.introspect_access_token_local(token)
    assert claims is not None
    assert (claims.subject, claims.issuer, claims.scope) == (
        served.editor.member_id,
        issuer,
        "openid read:documents",
    )
    assert claims.organization_claim == {"organization_id": org, "slug": "acme"}
    allowed = AuthorizationCheck(organization_id=org, resource_id="documents", action="read")
    assert served.client.idp.introspect_access_token_local(token, allowed) is not None
    denied = AuthorizationCheck(organization_id=org, resource_id="documents", action="edit")
    with pytest.raises(RBACPermissionError):
        served.client.idp.introspect_access_token_local(token, denied)
    default = emu.mint_connected_app_token(served.editor.member_id, app, ["openid"])
    assert served.client.idp.introspect_access_token_local(default) is None


def test_introspect_token_network_active_then_revoked(served: Served) -> None:
    """``idp.introspect_token_network`` (form-encoded) returns the claims while the grant
    stands and ``None`` once ``organizations.members.connected_apps.revoke`` ends it."""
    emu = served.emu
    app = emu.create_connected_app("Agent")
    member = served.editor.member_id
    token = emu.mint_connected_app_token(member, app, ["read:documents"])
    idp = served.client.idp
    claims = idp.introspect_token_network(token, app.client_id, app.client_secret)
    assert claims is not None
    assert (claims.subject, claims.issuer, claims.token_type) == (
        member,
        emu.access_token_issuer,
        "access_token",
    )
    served.client.organizations.members.connected_apps.revoke(
        served.acme.organization_id, member, app.client_id
    )
    assert idp.introspect_token_network(token, app.client_id, app.client_secret) is None
