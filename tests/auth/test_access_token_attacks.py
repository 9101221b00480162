"""The attack corpus for Connected-App and M2M tokens: each named case is refused locally,
with no request to Stytch (the emulator counts every one), except an unknown ``kid``,
which costs exactly the one rate-limited JWKS refetch its rule allows.

Cases are numbered in their ids (``01-...`` to the last), so the corpus's size is visible
in the test report. Categories: kind confusion both ways, issuer, audience / another
project, scope bounds and separators, time claims, signature and header forgery, claim
shapes, tenancy and a service on an organization's route.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from stytch_rbac import (
    InsufficientScope,
    StytchRBAC,
    StytchRBACError,
    TenancyError,
    Unauthenticated,
)
from stytch_rbac.auth import SESSION_CLAIM
from stytch_rbac.auth.access_token import ACCESS_TOKEN_KINDS, MAX_SCOPE_LENGTH
from stytch_rbac.emulator import Emulator
from stytch_rbac.principal import PrincipalKind
from stytch_rbac.testing import AgentFactory, MemberFactory, ServiceFactory

from .access_tokens import (
    EXAMPLE_POLICY,
    claims_of,
    network,
    raw_signed,
    resign,
    segment,
    sign,
    with_changes,
)

pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(EXAMPLE_POLICY)]

ORGANIZATION_CLAIM = "https://stytch.com/organization"


@dataclass(frozen=True)
class Kit:
    """Genuine credentials of the test's emulator, to forge from."""

    emu: Emulator
    org: str
    other_org: str
    agent: str  # a Connected-App token for a viewer of ``org``: read:documents
    service: str  # an M2M token: read:documents
    session: str  # a viewer's session JWT
    evil: rsa.RSAPrivateKey

    @property
    def now(self) -> int:
        return int(self.emu.clock.time())


Forge = Callable[[Kit], str]
Run = Callable[[StytchRBAC, Kit, str], Awaitable[object]]


def as_access_token(*accept: PrincipalKind) -> Run:
    """Present the token to ``authenticate_access_token`` (default kinds unless ``accept``)."""
    kinds = frozenset(accept) or ACCESS_TOKEN_KINDS

    async def run(rbac: StytchRBAC, kit: Kit, token: str) -> object:
        return await rbac.authenticate_access_token(token, accept=kinds)

    return run


async def as_session_jwt(rbac: StytchRBAC, kit: Kit, token: str) -> object:
    """Present the token to ``authenticate(session_jwt=...)``."""
    return await rbac.authenticate(session_jwt=token)


def on_scope_guard(scope: str, accept: PrincipalKind, *, organization: str = "") -> Run:
    """Verify the token, then check it on a ``require_scopes(scope)`` guard, for the kit's
    ``org`` / ``other_org`` when ``organization`` says so."""

    async def run(rbac: StytchRBAC, kit: Kit, token: str) -> object:
        principal = await rbac.authenticate_access_token(token)
        guard = rbac.require_scopes(scope, accept={accept})
        organization_id = {"": None, "org": kit.org, "other": kit.other_org}[organization]
        return await guard.check(principal, organization_id=organization_id)

    return run


def decided(permission: str, *, organization: str) -> Run:
    """Verify the token, then ``rbac.authorize`` it for ``permission`` in the kit's ``org`` /
    ``other_org``: the decision's own tenancy rule, with no guard in front."""

    async def run(rbac: StytchRBAC, kit: Kit, token: str) -> object:
        principal = await rbac.authenticate_access_token(token)
        organization_id = {"org": kit.org, "other": kit.other_org}[organization]
        await rbac.authorize(principal, permission, organization_id=organization_id)
        return principal

    return run


async def on_session_guard(rbac: StytchRBAC, kit: Kit, token: str) -> object:
    """Verify the token, then check it on a guard that admits member sessions only."""
    principal = await rbac.authenticate_access_token(token)
    return await rbac.require().check(principal)


@dataclass(frozen=True)
class Attack:
    """A forged or misused token, how it is presented, and the refusal it must get."""

    forge: Forge
    run: Run
    refused: type[StytchRBACError]
    reason: str | None = None  # Unauthenticated's reason
    jwks_refetches: int = 0


def _alg_none(token: str) -> str:
    _, payload, _ = token.split(".")
    return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{payload}."


def _hs256_with_public_key(kit: Kit) -> str:
    """HS256 keyed with the project's own public key (PEM, as anyone can build it from the
    JWKS): the classic algorithm confusion."""
    pem = (
        _emulator_key(kit.emu)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": kit.emu.kid}
    signing_input = f"{segment(header)}.{segment(claims_of(kit.agent))}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def _tampered(token: str) -> str:
    header, _, signature = token.split(".")
    claims = claims_of(token)
    claims["scope"] = "read:documents write:documents read:billing"
    return f"{header}.{segment(claims)}.{signature}"


def _other_project(kit: Kit) -> str:
    """A genuine Connected-App token of another project (its own kid and audience)."""
    stranger = Emulator(policy=EXAMPLE_POLICY)
    org = stranger.create_organization(name="Else", slug="else").organization_id
    who = stranger.create_member(org, email_address="x@else.test", roles=["viewer"])
    app = stranger.create_connected_app("Stranger")
    return stranger.mint_connected_app_token(who.member_id, app.client_id, ["read:documents"])


def _with_header(kit: Kit, **header: object) -> str:
    full = {"alg": "RS256", "typ": "JWT", "kid": kit.emu.kid, **header}
    return raw_signed(_emulator_key(kit.emu), full, claims_of(kit.agent))


def _emulator_key(emu: Emulator) -> rsa.RSAPrivateKey:
    # The active signing key, from the emulator's private key ring (tests forge with it).
    ring = emu._state.keys
    key: rsa.RSAPrivateKey = ring._keys[-1].private
    return key


def _organization(value: object) -> Forge:
    return lambda k: resign(k.emu, k.agent, **{ORGANIZATION_CLAIM: value})


ATTACKS: dict[str, Attack] = {
    # -- kind confusion, both ways --------------------------------------------------------------
    "agent-token-as-session-jwt": Attack(
        lambda k: k.agent, as_session_jwt, Unauthenticated, "invalid_claims"
    ),
    "agent-token-with-stytch-issuer-as-session-jwt": Attack(
        lambda k: resign(k.emu, k.agent, iss=f"stytch.com/{k.emu.project_id}"),
        as_session_jwt,
        Unauthenticated,
        "malformed",
    ),
    "service-token-as-session-jwt": Attack(
        lambda k: k.service, as_session_jwt, Unauthenticated, "malformed"
    ),
    "expired-service-token-as-session-jwt": Attack(
        lambda k: resign(k.emu, k.service, exp=k.now - 1),
        as_session_jwt,
        Unauthenticated,
        "malformed",
    ),
    "session-jwt-as-access-token": Attack(
        lambda k: k.session, as_access_token(), Unauthenticated, "wrong_kind"
    ),
    "session-jwt-where-services": Attack(
        lambda k: k.session, as_access_token("service"), Unauthenticated, "wrong_kind"
    ),
    "service-token-where-agents": Attack(
        lambda k: k.service, as_access_token("agent"), Unauthenticated, "wrong_kind"
    ),
    "agent-token-where-services": Attack(
        lambda k: k.agent, as_access_token("service"), Unauthenticated, "wrong_kind"
    ),
    "session-claim-smuggled-into-agent-token": Attack(
        lambda k: resign(k.emu, k.agent, **{SESSION_CLAIM: {}}),
        as_access_token(),
        Unauthenticated,
        "wrong_kind",
    ),
    "organization-claim-stripped-where-agents": Attack(
        lambda k: resign(k.emu, k.agent, **{ORGANIZATION_CLAIM: None}),
        as_access_token("agent"),
        Unauthenticated,
        "wrong_kind",
    ),
    "agent-on-a-sessions-only-guard": Attack(
        lambda k: k.agent, on_session_guard, Unauthenticated, "wrong_kind"
    ),
    # -- issuer -----------------------------------------------------------------------------------
    "foreign-issuer": Attack(
        lambda k: resign(k.emu, k.agent, iss="https://evil.example.com"),
        as_access_token(),
        Unauthenticated,
        "invalid_claims",
    ),
    "issuer-with-trailing-slash": Attack(
        lambda k: resign(k.emu, k.agent, iss=f"https://{k.emu.project_domain}/"),
        as_access_token(),
        Unauthenticated,
        "invalid_claims",
    ),
    "issuer-over-http": Attack(
        lambda k: resign(k.emu, k.agent, iss=f"http://{k.emu.project_domain}"),
        as_access_token(),
        Unauthenticated,
        "invalid_claims",
    ),
    "issuer-lookalike-suffix": Attack(
        lambda k: resign(k.emu, k.agent, iss=f"https://{k.emu.project_domain}.evil.com"),
        as_access_token(),
        Unauthenticated,
        "invalid_claims",
    ),
    "service-issuer-of-another-project": Attack(
        lambda k: resign(k.emu, k.service, iss="stytch.com/project-test-someone-else"),
        as_access_token(),
        Unauthenticated,
        "invalid_claims",
    ),
    # -- audience, another project ---------------------------------------------------------------
    "other-projects-audience": Attack(
        lambda k: resign(k.emu, k.agent, aud=["project-test-someone-else"]),
        as_access_token(),
        Unauthenticated,
        "invalid_claims",
    ),
    "other-projects-genuine-token": Attack(
        _other_project, as_access_token(), Unauthenticated, "forged", jwks_refetches=1
    ),
    # -- scope bounds and separators -------------------------------------------------------------
    "missing-scope": Attack(
        lambda k: resign(k.emu, k.agent, scope=None),
        as_access_token(),
        Unauthenticated,
        "malformed",
    ),
    "empty-scope": Attack(
        lambda k: resign(k.emu, k.service, scope=""),
        as_access_token(),
        Unauthenticated,
        "malformed",
    ),
    "whitespace-only-agent-scope": Attack(
        lambda k: resign(k.emu, k.agent, scope=" \t\n "),
        as_access_token(),
        Unauthenticated,
        "malformed",
    ),
    "oversized-scope": Attack(
        lambda k: resign(
            k.emu, k.agent, scope=("read:documents " * MAX_SCOPE_LENGTH)[: MAX_SCOPE_LENGTH + 1]
        ),
        as_access_token(),
        Unauthenticated,
        "malformed",
    ),
    "scope-as-a-list": Attack(
        lambda k: resign(k.emu, k.service, scope=["read:documents", "write:documents"]),
        as_access_token(),
        Unauthenticated,
        "malformed",
    ),
    "comma-separated-agent-scopes": Attack(
        lambda k: resign(k.emu, k.agent, scope="read:documents,write:documents"),
        on_scope_guard("write:documents", "agent"),
        InsufficientScope,
    ),
    "tab-separated-service-scopes": Attack(
        lambda k: resign(k.emu, k.service, scope="read:documents\twrite:documents"),
        on_scope_guard("write:documents", "service"),
        InsufficientScope,
    ),
    # -- time ------------------------------------------------------------------------------------
    "expired-agent-token": Attack(
        lambda k: resign(k.emu, k.agent, exp=k.now), as_access_token(), Unauthenticated, "expired"
    ),
    "expired-service-token": Attack(
        lambda k: resign(k.emu, k.service, exp=k.now - 3600),
        as_access_token(),
        Unauthenticated,
        "expired",
    ),
    "nbf-in-the-future": Attack(
        lambda k: resign(k.emu, k.agent, nbf=k.now + 60),
        as_access_token(),
        Unauthenticated,
        "invalid_claims",
    ),
    "iat-in-the-future": Attack(
        lambda k: resign(k.emu, k.service, iat=k.now + 60),
        as_access_token(),
        Unauthenticated,
        "invalid_claims",
    ),
    "exp-as-a-string": Attack(
        lambda k: resign(k.emu, k.agent, exp=str(k.now + 600)),
        as_access_token(),
        Unauthenticated,
        "malformed",
    ),
    # -- signature and header --------------------------------------------------------------------
    "alg-none": Attack(lambda k: _alg_none(k.agent), as_access_token(), Unauthenticated, "forged"),
    "hs256-keyed-with-a-public-key": Attack(
        _hs256_with_public_key, as_access_token(), Unauthenticated, "forged"
    ),
    "unknown-kid": Attack(
        lambda k: raw_signed(k.evil, {"alg": "RS256", "kid": "jwk-unknown"}, claims_of(k.agent)),
        as_access_token(),
        Unauthenticated,
        "forged",
        jwks_refetches=1,
    ),
    "tampered-payload": Attack(
        lambda k: _tampered(k.agent), as_access_token(), Unauthenticated, "forged"
    ),
    "attacker-key-under-the-projects-kid": Attack(
        lambda k: raw_signed(k.evil, {"alg": "RS256", "kid": k.emu.kid}, claims_of(k.service)),
        as_access_token(),
        Unauthenticated,
        "forged",
    ),
    "crit-header": Attack(
        lambda k: _with_header(k, crit=["exp"]), as_access_token(), Unauthenticated, "malformed"
    ),
    # -- claim shapes ----------------------------------------------------------------------------
    "agent-without-client-id": Attack(
        lambda k: resign(k.emu, k.agent, client_id=None),
        as_access_token(),
        Unauthenticated,
        "malformed",
    ),
    "organization-claim-not-an-object": Attack(
        _organization("organization-test-1"), as_access_token(), Unauthenticated, "malformed"
    ),
    "organization-claim-without-an-id": Attack(
        _organization({"slug": "acme"}), as_access_token(), Unauthenticated, "malformed"
    ),
    "service-with-an-empty-subject": Attack(
        lambda k: resign(k.emu, k.service, sub=""),
        as_access_token(),
        Unauthenticated,
        "malformed",
    ),
    # -- tenancy ---------------------------------------------------------------------------------
    "agent-of-org-a-on-an-org-b-route": Attack(
        lambda k: k.agent,
        on_scope_guard("read:documents", "agent", organization="other"),
        TenancyError,
    ),
    "service-on-an-organization-route": Attack(
        lambda k: k.service,
        on_scope_guard("read:documents", "service", organization="org"),
        TenancyError,
    ),
    "agent-of-org-a-authorized-for-org-b": Attack(
        lambda k: k.agent,
        decided("documents:read", organization="other"),
        TenancyError,
    ),
    "service-authorized-for-an-organization": Attack(
        lambda k: k.service,
        decided("documents:read", organization="org"),
        TenancyError,
    ),
}

CASES = [
    pytest.param(attack, id=f"{n:02d}-{name}")
    for n, (name, attack) in enumerate(ATTACKS.items(), start=1)
]


@pytest.fixture(scope="module")
def evil_key() -> rsa.RSAPrivateKey:
    """An attacker's RSA key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def kit(
    stytch_emulator: Emulator,
    member: MemberFactory,
    agent: AgentFactory,
    service: ServiceFactory,
    evil_key: rsa.RSAPrivateKey,
) -> Kit:
    """Genuine tokens of the test's emulator for Acme, Globex being the other organization."""
    viewer = member(["viewer"])
    return Kit(
        emu=stytch_emulator,
        org=viewer.organization_id,
        other_org=member.organization("Globex").organization_id,
        agent=agent(["read:documents"], member=viewer).access_token,
        service=service(["read:documents"]).access_token,
        session=viewer.session_jwt,
        evil=evil_key,
    )


def test_the_corpus_is_large_enough() -> None:
    """At least 20 named cases, covering every category issue 13 lists."""
    assert len(ATTACKS) >= 20
    names = " ".join(ATTACKS)
    for category in (
        "session-jwt-as",
        "as-session-jwt",
        "issuer",
        "other-projects",
        "missing-scope",
        "empty-scope",
        "oversized-scope",
        "separated",
        "expired",
        "nbf",
        "org-a-on-an-org-b",
        "service-on-an-organization",
    ):
        assert category in names, category


@pytest.mark.parametrize("attack", CASES)
async def test_attack_is_refused_locally(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, kit: Kit, attack: Attack
) -> None:
    """The case is refused with its error (and reason), the refusal shows no token, and the
    emulator sees no request (but the one JWKS refetch an unknown kid may cost)."""
    emu = stytch_emulator
    token = attack.forge(kit)
    assert (await stytch_rbac.authenticate_access_token(kit.agent)).kind == "agent"  # warm
    before, jwks_before = network(emu), emu.requests["sessions.jwks"]
    with pytest.raises(attack.refused) as refused:
        await attack.run(stytch_rbac, kit, token)
    assert network(emu) - before == attack.jwks_refetches
    assert emu.requests["sessions.jwks"] - jwks_before == attack.jwks_refetches
    if attack.reason is not None:
        assert isinstance(refused.value, Unauthenticated)
        assert refused.value.reason == attack.reason
    shown = str(refused.value) + repr(refused.value)
    assert token not in shown
    assert kit.agent not in shown


async def test_a_second_unknown_kid_costs_nothing(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, kit: Kit
) -> None:
    """The unknown-kid refetch is rate limited: a flood of unknown kids costs one request."""
    emu = stytch_emulator
    await stytch_rbac.authenticate_access_token(kit.agent)
    before = network(emu)
    for n in range(20):
        forged = raw_signed(kit.evil, {"alg": "RS256", "kid": f"jwk-{n}"}, claims_of(kit.agent))
        with pytest.raises(Unauthenticated) as refused:
            await stytch_rbac.authenticate_access_token(forged)
        assert refused.value.reason == "forged"
    assert network(emu) - before == 1


async def test_forging_helpers_make_what_they_say(stytch_rbac: StytchRBAC, kit: Kit) -> None:
    """The forgeries start from genuine tokens: re-signed unchanged claims verify, and the
    HS256 and alg-none headers are what their names say."""
    same = sign(kit.emu, with_changes(claims_of(kit.agent)))
    assert (await stytch_rbac.authenticate_access_token(same)).kind == "agent"
    assert pyjwt.get_unverified_header(_hs256_with_public_key(kit))["alg"] == "HS256"
    header = _alg_none(kit.agent).split(".")[0]
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["alg"] == "none"
