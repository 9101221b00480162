"""Sessions and RBAC policy through the real sync SDK: authenticate, JWTs, keys, expiry."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
import requests
import stytch
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from stytch.b2b.models.sessions import AuthorizationCheck
from stytch.core.response_base import StytchError
from stytch.shared.rbac_local import RBACPermissionError, TenancyError

from stytch_rbac.auth import ORGANIZATION_CLAIM, SESSION_CLAIM, principal_from_claims
from stytch_rbac.clock import ManualClock
from stytch_rbac.emulator import Emulator
from stytch_rbac.emulator._tokens import CERTIFICATE_NAME

from .conftest import EXAMPLES, Seeded, new_client

Check = dict[str, str]


def _check(org_id: str, resource: str, action: str) -> Check:
    """An ``authorization_check`` for remote calls (the SDK would ``.dict()`` a model, which
    pydantic deprecates)."""
    return {"organization_id": org_id, "resource_id": resource, "action": action}


def _local(org_id: str, resource: str, action: str) -> AuthorizationCheck:
    """An ``authorization_check`` for the SDK's local path, which needs the model."""
    return AuthorizationCheck(organization_id=org_id, resource_id=resource, action=action)


def test_policy_and_org_policy(client: stytch.B2BClient, seeded: Seeded) -> None:
    """The policy round-trips; org policies start empty and are replaced wholesale."""
    policy = client.rbac.policy().policy
    assert policy is not None
    assert {r.role_id for r in policy.roles} == {r.role_id for r in seeded.emu.policy.roles}
    org_id = seeded.acme.organization_id
    assert client.rbac.organizations.get_org_policy(org_id).org_policy.roles == []
    role = {
        "role_id": "acme_reader",
        "description": "reads",
        "permissions": [{"resource_id": "documents", "actions": ["read"]}],
    }
    saved = client.rbac.organizations.set_org_policy(org_id, {"roles": [role]}).org_policy
    assert [r.role_id for r in saved.roles] == ["acme_reader"]
    org = client.organizations.get(org_id).organization
    assert [r.role_id for r in org.custom_roles] == ["acme_reader"]
    with pytest.raises(StytchError) as info:
        client.rbac.organizations.set_org_policy(org_id, {"roles": [{**role, "role_id": "editor"}]})
    assert info.value.details.error_type == "invalid_rbac_custom_role"


def test_authenticate_with_authorization_check(client: stytch.B2BClient, seeded: Seeded) -> None:
    """A granted check returns the verdict; a denied one is 403; another org is a tenancy 403."""
    org_id = seeded.acme.organization_id
    token = seeded.editor_session.session_token
    ok = client.sessions.authenticate(
        session_token=token, authorization_check=_check(org_id, "documents", "edit")
    )
    assert ok.verdict is not None
    assert (ok.verdict.authorized, ok.verdict.granting_roles) == (True, ["editor"])
    assert ok.member.member_id == seeded.editor.member_id
    with pytest.raises(StytchError) as denied:
        client.sessions.authenticate(
            session_token=token, authorization_check=_check(org_id, "billing", "read")
        )
    assert (denied.value.details.status_code, denied.value.details.error_type) == (
        403,
        "session_authorization_error",
    )
    with pytest.raises(StytchError) as tenancy:
        client.sessions.authenticate(
            session_jwt=seeded.editor_session.session_jwt,
            authorization_check=_check(seeded.globex.organization_id, "documents", "edit"),
        )
    assert tenancy.value.details.error_type == "session_authorization_tenancy_error"


def test_authenticate_extends_and_sets_custom_claims(
    client: stytch.B2BClient, seeded: Seeded
) -> None:
    """session_duration_minutes extends the session; custom claims land in the new JWT."""
    before = client.sessions.authenticate(session_token=seeded.viewer_session.session_token)
    after = client.sessions.authenticate(
        session_token=seeded.viewer_session.session_token,
        session_duration_minutes=600,
        session_custom_claims={"team": "blue"},
    )
    assert after.member_session.expires_at > before.member_session.expires_at
    claims = jwt.decode(after.session_jwt, options={"verify_signature": False})
    assert claims["team"] == "blue"
    assert after.member_session.custom_claims == {"team": "blue"}


def test_custom_claims_cannot_overwrite_the_claim_layout(
    client: stytch.B2BClient, seeded: Seeded
) -> None:
    """Custom claims named like a registered claim or a Stytch namespace are dropped, and the
    verifier's claim layout reads exactly the remaining ones as custom claims."""
    session = seeded.viewer_session
    answer = client.sessions.authenticate(
        session_token=session.session_token,
        session_custom_claims={
            "team": "blue",
            "sub": "member-test-someone-else",
            SESSION_CLAIM: {"id": "session-test-forged", "roles": ["owner"]},
            ORGANIZATION_CLAIM: {"organization_id": "organization-test-other"},
        },
    )
    claims = jwt.decode(answer.session_jwt, options={"verify_signature": False})
    assert answer.member_session.custom_claims == {"team": "blue"}
    principal = principal_from_claims(claims, session_jwt=answer.session_jwt)
    assert dict(principal.custom_claims) == {"team": "blue"}
    assert principal.member_id == seeded.viewer.member_id
    assert principal.session_id == session.member_session_id
    assert principal.organization_id == seeded.acme.organization_id
    assert "owner" not in principal.roles


def test_jwt_claim_layout(emu: Emulator, seeded: Seeded) -> None:
    """The JWT carries Stytch's claims, a kid from the JWKS and a five-minute lifetime."""
    token = seeded.editor_session.session_jwt
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "RS256"
    assert header["kid"] == emu.kid
    assert claims["iss"] == f"stytch.com/{emu.project_id}"
    assert claims["aud"] == [emu.project_id]
    assert claims["sub"] == seeded.editor.member_id
    assert claims["exp"] - claims["iat"] == 300
    assert claims["nbf"] == claims["iat"]
    session = claims["https://stytch.com/session"]
    assert session["id"] == seeded.editor_session.member_session_id
    assert session["roles"] == ["stytch_member", "editor"]
    assert set(session) == {
        "id",
        "started_at",
        "last_accessed_at",
        "expires_at",
        "authentication_factors",
        "roles",
    }
    assert claims["https://stytch.com/organization"] == {
        "organization_id": seeded.acme.organization_id,
        "slug": "acme",
    }


def test_authenticate_jwt_local_accepts_emulator_jwts(
    client: stytch.B2BClient, seeded: Seeded
) -> None:
    """The SDK's own local verification accepts the JWT, with and without a check."""
    org_id = seeded.acme.organization_id
    token = seeded.editor_session.session_jwt
    plain = client.sessions.authenticate_jwt_local(token)
    assert plain is not None
    assert plain.roles == ["stytch_member", "editor"]
    checked = client.sessions.authenticate_jwt_local(
        token, authorization_check=_local(org_id, "documents", "edit")
    )
    assert checked is not None
    with pytest.raises(RBACPermissionError):
        client.sessions.authenticate_jwt_local(
            token, authorization_check=_local(org_id, "billing", "read")
        )
    with pytest.raises(TenancyError):
        client.sessions.authenticate_jwt_local(
            token,
            authorization_check=_local(seeded.globex.organization_id, "documents", "edit"),
        )


def test_custom_org_role_grants_after_set_org_policy(
    client: stytch.B2BClient, seeded: Seeded
) -> None:
    """A member holding an org custom role passes checks from that role (server and SDK)."""
    emu, org_id = seeded.emu, seeded.acme.organization_id
    emu.set_org_policy(
        org_id,
        {
            "roles": [
                {
                    "role_id": "acme_auditor",
                    "description": "",
                    "permissions": [{"resource_id": "audit_logs", "actions": ["read"]}],
                }
            ]
        },
    )
    member = emu.create_member(org_id, "aud@acme.test", roles=["acme_auditor"])
    session = emu.create_session(member.member_id)
    check = _check(org_id, "audit_logs", "read")
    verdict = client.sessions.authenticate(
        session_jwt=session.session_jwt, authorization_check=check
    ).verdict
    assert verdict is not None
    assert verdict.granting_roles == ["acme_auditor"]
    local = _local(org_id, "audit_logs", "read")
    assert client.sessions.authenticate_jwt_local(session.session_jwt, authorization_check=local)


def test_sessions_get_and_revoke(client: stytch.B2BClient, seeded: Seeded) -> None:
    """sessions.get lists live sessions; revoke by id, token, JWT and member ends them."""
    emu, org_id, member_id = seeded.emu, seeded.acme.organization_id, seeded.viewer.member_id
    extra = [emu.create_session(member_id) for _ in range(3)]
    listed = client.sessions.get(org_id, member_id).member_sessions
    assert len(listed) == 4
    client.sessions.revoke(member_session_id=extra[0].member_session_id)
    client.sessions.revoke(session_token=extra[1].session_token)
    client.sessions.revoke(session_jwt=extra[2].session_jwt)
    assert len(client.sessions.get(org_id, member_id).member_sessions) == 1
    client.sessions.revoke(member_id=member_id)
    assert client.sessions.get(org_id, member_id).member_sessions == []
    with pytest.raises(StytchError) as info:
        client.sessions.authenticate(session_token=seeded.viewer_session.session_token)
    assert (info.value.details.status_code, info.value.details.error_type) == (
        404,
        "session_not_found",
    )
    with pytest.raises(StytchError) as none:
        client.sessions.revoke()
    assert none.value.details.error_type == "no_session_revoke_arguments"


def test_expired_jwt_is_refreshed_while_the_session_lives(
    make_client: Callable[[str, str, str], stytch.B2BClient],
) -> None:
    """After five minutes the JWT is expired but authenticate returns a fresh one; after the
    session's own expiry it is session_not_found."""
    clock = ManualClock()
    emu = Emulator(policy=EXAMPLES / "policy.json", clock=clock)
    org = emu.create_organization("Acme", slug="acme")
    member = emu.create_member(org.organization_id, "a@acme.test", roles=["viewer"])
    session = emu.create_session(member.member_id, duration_minutes=10)
    with emu.serve_in_thread() as url:
        client = make_client(emu.project_id, emu.secret, url)
        emu.advance_time(301)
        fresh = client.sessions.authenticate(session_jwt=session.session_jwt)
        assert fresh.session_jwt != session.session_jwt
        new_claims = jwt.decode(fresh.session_jwt, options={"verify_signature": False})
        assert new_claims["iat"] >= clock.time() - 1
        emu.advance_time(600)
        with pytest.raises(StytchError) as info:
            client.sessions.authenticate(session_jwt=fresh.session_jwt)
        assert info.value.details.error_type == "session_not_found"


def test_key_rotation_keeps_old_kid_during_grace(client: stytch.B2BClient, seeded: Seeded) -> None:
    """After rotation new JWTs use the new kid; both keys are served until the grace ends."""
    emu = seeded.emu
    old_kid, old_jwt = emu.kid, seeded.editor_session.session_jwt
    new_kid = emu.rotate_keys(grace_seconds=60)
    assert new_kid != old_kid
    kids = [k.kid for k in client.sessions.get_jwks(emu.project_id).keys]
    assert kids == [old_kid, new_kid]
    fresh = emu.session_jwt(seeded.editor_session.member_session_id)
    assert jwt.get_unverified_header(fresh)["kid"] == new_kid
    assert client.sessions.authenticate(session_jwt=old_jwt).member.member_id == (
        seeded.editor.member_id
    )
    emu.advance_time(61)
    assert [k.kid for k in client.sessions.get_jwks(emu.project_id).keys] == [new_kid]
    with pytest.raises(StytchError) as info:
        client.sessions.authenticate(session_jwt=old_jwt)
    assert info.value.details.error_type == "unable_to_parse_session_jwt"


def test_jwks_x5c_certificate_verifies_session_jwts(
    client: stytch.B2BClient, seeded: Seeded, tmp_path: Path
) -> None:
    """Each JWK's x5c is a certificate of its key: PyJWT verifies a session JWT with it."""
    emu = seeded.emu
    emu.rotate_keys(grace_seconds=60)
    keys = client.sessions.get_jwks(emu.project_id).keys
    token = emu.session_jwt(seeded.editor_session.member_session_id)
    for key in keys:
        assert len(key.x5c) == 1
        der = base64.b64decode(key.x5c[0], validate=True)
        assert key.x5tS256 == base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode()
        certificate = x509.load_der_x509_certificate(der)
        public = certificate.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        numbers = public.public_numbers()
        assert (numbers.n, numbers.e) == (_b64_int(key.n), _b64_int(key.e))
        assert certificate.subject.rfc4514_string() == f"CN={CERTIFICATE_NAME}"
    newest = keys[-1]
    assert jwt.get_unverified_header(token)["kid"] == newest.kid
    certificate = x509.load_der_x509_certificate(base64.b64decode(newest.x5c[0]))
    claims = jwt.decode(
        token,
        certificate.public_key(),  # type: ignore[arg-type]  # an RSA key, checked above
        algorithms=["RS256"],
        audience=emu.project_id,
        issuer=f"stytch.com/{emu.project_id}",
    )
    assert claims["sub"] == seeded.editor.member_id
    emu.save_state(tmp_path / "state.json")
    reloaded = Emulator.from_state(tmp_path / "state.json")
    with reloaded.serve_in_thread() as url, requests.Session() as http:
        again = new_client(emu.project_id, emu.secret, url, http).sessions.get_jwks(emu.project_id)
    assert [(k.x5c, k.x5tS256) for k in again.keys] == [(k.x5c, k.x5tS256) for k in keys]


def _b64_int(value: str) -> int:
    """The integer in a JWK's base64url ``n`` or ``e``."""
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def test_forged_jwt_is_refused(client: stytch.B2BClient, seeded: Seeded) -> None:
    """A JWT signed by another emulator's key is refused with a 401."""
    other = Emulator(project_id=seeded.emu.project_id)
    org = other.create_organization("Acme", slug="acme")
    member = other.create_member(org.organization_id, "x@acme.test")
    forged = other.create_session(member.member_id).session_jwt
    with pytest.raises(StytchError) as info:
        client.sessions.authenticate(session_jwt=forged)
    assert info.value.details.status_code == 401


def test_bad_credentials_get_stytchs_401(
    emu: Emulator, base_url: str, make_client: Callable[[str, str, str], stytch.B2BClient]
) -> None:
    """A wrong secret gets unauthorized_credentials; the JWKS needs no credentials."""
    bad = make_client(emu.project_id, "wrong", base_url)
    with pytest.raises(StytchError) as info:
        bad.rbac.policy()
    assert (info.value.details.status_code, info.value.details.error_type) == (
        401,
        "unauthorized_credentials",
    )
    assert bad.sessions.get_jwks(emu.project_id).keys
