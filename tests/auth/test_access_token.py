"""Connected-App (agent) and M2M (service) access tokens verified locally against the
emulator: the principals, kinds told apart both ways, the issuer allow-list, audience,
time claims with leeway, scope bounds and separators, the JWKS and memo shared with
session JWTs, authentication events, and the blocking twin."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

import pytest

from stytch_rbac import AgentPrincipal, Principal, ServicePrincipal, StytchRBAC, Unauthenticated
from stytch_rbac.auth.access_token import (
    ACCESS_TOKEN_KINDS,
    MAX_SCOPE_LENGTH,
    accepted_issuers,
    accepted_kinds,
    normalize_domain,
    token_kind,
)
from stytch_rbac.emulator import Emulator
from stytch_rbac.observe import AuthenticationEvent
from stytch_rbac.principal import PrincipalKind
from stytch_rbac.sync import StytchRBAC as SyncStytchRBAC
from stytch_rbac.testing import AgentFactory, MemberFactory, ServiceFactory

from .access_tokens import EXAMPLE_POLICY, claims_of, facade, network, resign

pytestmark = pytest.mark.stytch_policy(EXAMPLE_POLICY)

anyio = pytest.mark.anyio


async def verified(rbac: StytchRBAC, token: str) -> AgentPrincipal | ServicePrincipal:
    """``rbac.authenticate_access_token(token)``, which must be an agent or a service."""
    principal = await rbac.authenticate_access_token(token)
    assert isinstance(principal, AgentPrincipal | ServicePrincipal)
    return principal


# -- principals ---------------------------------------------------------------------------------


@anyio
async def test_agent_token_becomes_an_agent_principal(
    stytch_rbac: StytchRBAC, agent: AgentFactory
) -> None:
    """A Connected-App token yields the member, organization, client and scopes it names."""
    seeded = agent(["openid", "read:documents"], roles=["viewer"])
    principal = await stytch_rbac.authenticate_access_token(seeded.access_token)
    assert isinstance(principal, AgentPrincipal)
    assert principal == seeded.principal
    assert principal.kind == "agent"
    assert principal.scopes == frozenset({"openid", "read:documents"})
    assert principal.organization_slug == "acme"
    assert principal.access_token == seeded.access_token
    assert dict(principal.custom_claims) == dict(seeded.principal.custom_claims) == {}
    assert seeded.access_token not in repr(principal)


@anyio
async def test_service_token_becomes_a_service_principal(
    stytch_rbac: StytchRBAC, service: ServiceFactory
) -> None:
    """An M2M token yields its client id, scopes and custom claims."""
    seeded = service(["read:documents", "write:documents"], custom_claims={"tenant": "acme"})
    principal = await stytch_rbac.authenticate_access_token(seeded.access_token)
    assert isinstance(principal, ServicePrincipal)
    assert principal == seeded.principal
    assert principal.kind == "service"
    assert dict(principal.custom_claims) == {"tenant": "acme"}
    assert seeded.access_token not in repr(principal)


@anyio
async def test_custom_claims_exclude_what_stytch_registers(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """Custom claims are the token's other claims: never jti, scope, client_id, the
    organization claim or a registered claim, for agents and services alike."""
    emu = stytch_emulator
    for token in (agent(["openid"], roles=["viewer"]).access_token, service(["a"]).access_token):
        extended = resign(emu, token, client_id="connected-app-test-1", plan="pro", jti="j-1")
        principal = await stytch_rbac.authenticate_access_token(extended)
        assert dict(principal.custom_claims) == {"plan": "pro"}


def test_token_kind_reads_the_claims(
    agent: AgentFactory, service: ServiceFactory, member: MemberFactory
) -> None:
    """token_kind: session claim -> session, organization claim -> agent, neither -> service;
    None for what is no JWT."""
    assert token_kind(member(["viewer"]).session_jwt) == "session"
    assert token_kind(agent(["openid"], roles=["viewer"]).access_token) == "agent"
    assert token_kind(service(["a"]).access_token) == "service"
    for junk in ("", "abc", "a.b", "a.b.c.d", "a.b.c", 42, None):
        assert token_kind(junk) is None


# -- kinds told apart, both ways ----------------------------------------------------------------


@anyio
async def test_agent_token_is_never_a_session(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, agent: AgentFactory
) -> None:
    """A Connected-App token is refused by authenticate(session_jwt=...), as issued and with
    Stytch's own issuer, before and after it was verified as an agent; nothing reaches Stytch."""
    seeded = agent(["read:documents"], roles=["viewer"])
    stytch_issued = resign(
        stytch_emulator, seeded.access_token, iss=f"stytch.com/{stytch_emulator.project_id}"
    )
    for token in (seeded.access_token, stytch_issued):
        with pytest.raises(Unauthenticated):
            await stytch_rbac.authenticate(session_jwt=token)
        assert isinstance(await stytch_rbac.authenticate_access_token(token), AgentPrincipal)
        with pytest.raises(Unauthenticated):  # now remembered as an agent: still no session
            await stytch_rbac.authenticate(session_jwt=token)
    assert stytch_emulator.requests["sessions.authenticate"] == 0


@anyio
async def test_session_jwt_is_never_an_access_token(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """A session JWT is wrong_kind for authenticate_access_token (agents, services, either),
    before and after it was verified as a session; with "session" accepted it is a Principal."""
    jwt = member(["editor"]).session_jwt
    for _ in range(2):
        accepts: tuple[Collection[PrincipalKind], ...] = (
            ACCESS_TOKEN_KINDS,
            {"agent"},
            {"service"},
        )
        for accept in accepts:
            with pytest.raises(Unauthenticated) as refused:
                await stytch_rbac.authenticate_access_token(jwt, accept=accept)
            assert refused.value.reason == "wrong_kind"
        await stytch_rbac.authenticate(session_jwt=jwt)
    session = await stytch_rbac.authenticate_access_token(jwt, accept={"session", "agent"})
    assert isinstance(session, Principal)
    assert stytch_emulator.requests["sessions.authenticate"] == 0


@anyio
@pytest.mark.parametrize(
    ("kind", "accept"),
    [
        pytest.param("agent", {"service"}, id="agent-where-services"),
        pytest.param("service", {"agent"}, id="service-where-agents"),
        pytest.param("agent", {"session"}, id="agent-where-sessions"),
        pytest.param("service", {"session"}, id="service-where-sessions"),
    ],
)
async def test_access_token_kinds_are_not_interchangeable(
    stytch_rbac: StytchRBAC,
    agent: AgentFactory,
    service: ServiceFactory,
    kind: str,
    accept: Collection[PrincipalKind],
) -> None:
    """An M2M token is refused where agents are accepted and the other way round, whether
    verified before (memo) or not."""
    token = (
        agent(["read:documents"], roles=["viewer"]).access_token
        if kind == "agent"
        else service(["read:documents"]).access_token
    )
    for _ in range(2):
        with pytest.raises(Unauthenticated) as refused:
            await stytch_rbac.authenticate_access_token(token, accept=accept)
        assert refused.value.reason == "wrong_kind"
        principal = await stytch_rbac.authenticate_access_token(token)
        assert principal.kind == kind


@anyio
async def test_service_token_is_never_a_session(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, service: ServiceFactory
) -> None:
    """An M2M token (issued by stytch.com/{project_id}, as session JWTs are) is refused as a
    session JWT, fresh or expired, without a sessions/authenticate call."""
    token = service(["read:documents"]).access_token
    with pytest.raises(Unauthenticated):
        await stytch_rbac.authenticate(session_jwt=token)
    stytch_emulator.advance_time(3601)
    with pytest.raises(Unauthenticated):
        await stytch_rbac.authenticate(session_jwt=token)
    assert stytch_emulator.requests["sessions.authenticate"] == 0


def test_accept_is_checked() -> None:
    """accept= is a non-empty collection of known kinds; anything else is a clear ValueError."""
    assert accepted_kinds(["agent"]) == frozenset({"agent"})
    for bad, message in (
        ("agent", "collection"),
        (set(), "empty"),
        ({"robot"}, "'robot'"),
        (3, "collection"),
    ):
        with pytest.raises(ValueError, match=message):
            accepted_kinds(bad)


# -- issuers ------------------------------------------------------------------------------------


def test_accepted_issuers_builds_the_allow_list() -> None:
    """stytch.com/{project_id}, the base URL without '/', https://{project_domain} and custom
    domains (hosts or URLs, normalised)."""
    issuers = accepted_issuers(
        "project-test-1",
        "https://test.stytch.com/",
        "ACME-1.customers.stytch.dev",
        ["login.acme.com", "https://auth.acme.com/", "http://localhost:8080"],
    )
    assert issuers == {
        "stytch.com/project-test-1",
        "https://test.stytch.com",
        "https://acme-1.customers.stytch.dev",
        "https://login.acme.com",
        "https://auth.acme.com",
        "http://localhost:8080",
    }


@pytest.mark.parametrize(
    "domain",
    [
        pytest.param("", id="empty"),
        pytest.param("http://acme.customers.stytch.dev", id="http-scheme"),
        pytest.param("https://acme.customers.stytch.dev/path", id="path"),
        pytest.param("https://user@acme.customers.stytch.dev", id="user"),
        pytest.param("acme customers", id="space"),
        pytest.param("-acme.dev", id="leading-hyphen"),
    ],
)
def test_bad_domains_are_refused(domain: str) -> None:
    """A project domain that is no https host is a ValueError naming the option."""
    with pytest.raises(ValueError, match="project_domain"):
        normalize_domain(domain)


def test_token_issuers_must_be_a_collection() -> None:
    """token_issuers="https://x" (one string) is refused, as is a bad entry."""
    with pytest.raises(ValueError, match="collection"):
        accepted_issuers("p", "https://test.stytch.com", None, "https://login.acme.com")
    with pytest.raises(ValueError, match="token_issuers entry"):
        accepted_issuers("p", "https://test.stytch.com", None, ["https://a.com/x"])


@anyio
async def test_issuer_allow_list(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, agent: AgentFactory
) -> None:
    """Tokens issued by stytch.com/{project_id}, https://{project_domain}, a custom domain
    in token_issuers and the base URL are accepted; any other issuer is invalid_claims."""
    emu = stytch_emulator
    async with facade(emu, stytch_rbac, token_issuers=["login.acme.com"]) as rbac:
        assert rbac.access_token_issuers == {
            f"stytch.com/{emu.project_id}",
            f"https://{emu.project_domain}",
            "https://login.acme.com",
            rbac.base_url,
        }
        for issuer in sorted(rbac.access_token_issuers):
            seeded = agent(["openid"], roles=["viewer"], issuer=issuer)
            principal = await verified(rbac, seeded.access_token)
            assert principal.issuer == issuer
        for foreign in (
            "https://evil.example.com",
            f"https://{emu.project_domain}/",
            f"http://{emu.project_domain}",
            f"https://{emu.project_domain}.evil.com",
            "stytch.com/project-test-someone-else",
        ):
            token = agent(["openid"], roles=["viewer"], issuer=foreign).access_token
            with pytest.raises(Unauthenticated) as refused:
                await rbac.authenticate_access_token(token)
            assert refused.value.reason == "invalid_claims"


@anyio
async def test_project_domain_is_needed_for_connected_app_tokens(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, agent: AgentFactory
) -> None:
    """Without project_domain, a Connected-App token issued by https://{project_domain} is
    refused: the allow-list widens only when configured."""
    async with facade(stytch_emulator, stytch_rbac, project_domain=None) as rbac:
        assert rbac.project_domain is None
        with pytest.raises(Unauthenticated) as refused:
            await rbac.authenticate_access_token(agent(["openid"], roles=["viewer"]).access_token)
    assert refused.value.reason == "invalid_claims"


@anyio
async def test_other_projects_audience_is_refused(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """A genuine signature over another project's audience is invalid_claims."""
    emu = stytch_emulator
    for token in (agent(["openid"], roles=["viewer"]).access_token, service(["a"]).access_token):
        for aud in (["project-test-other"], "project-test-other", [], [emu.project_id, 7]):
            with pytest.raises(Unauthenticated) as refused:
                await stytch_rbac.authenticate_access_token(resign(emu, token, aud=aud))
            assert refused.value.reason == "invalid_claims"
        plain = await stytch_rbac.authenticate_access_token(resign(emu, token, aud=emu.project_id))
        assert plain.kind in {"agent", "service"}


# -- time ---------------------------------------------------------------------------------------


@anyio
async def test_expiry_with_and_without_leeway(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """Past exp an access token is 'expired' (never sent to Stytch); leeway extends it, the
    memo forgets it at exp + leeway."""
    emu = stytch_emulator
    short = agent(["openid"], roles=["viewer"], expires_in=60).access_token
    m2m = service(["a"]).access_token
    async with facade(emu, stytch_rbac, leeway=30) as lenient:
        await stytch_rbac.authenticate_access_token(short)  # remembered until exp
        await lenient.authenticate_access_token(short)  # remembered until exp + 30
        emu.advance_time(61)
        with pytest.raises(Unauthenticated) as refused:
            await stytch_rbac.authenticate_access_token(short)
        assert refused.value.reason == "expired"
        assert (await lenient.authenticate_access_token(short)).kind == "agent"
        emu.advance_time(30)
        with pytest.raises(Unauthenticated) as refused:
            await lenient.authenticate_access_token(short)
        assert refused.value.reason == "expired"
        emu.advance_time(3600 - 91)
        with pytest.raises(Unauthenticated) as refused:
            await stytch_rbac.authenticate_access_token(m2m)
        assert refused.value.reason == "expired"
        assert (await lenient.authenticate_access_token(m2m)).kind == "service"
    assert emu.requests["sessions.authenticate"] == 0


@anyio
@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_not_yet_valid_with_and_without_leeway(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, agent: AgentFactory, claim: str
) -> None:
    """nbf or iat 20 s ahead is invalid_claims, accepted with leeway=30; 40 s ahead never."""
    emu = stytch_emulator
    token = agent(["openid"], roles=["viewer"]).access_token
    now = int(emu.clock.time())
    soon, later = resign(emu, token, **{claim: now + 20}), resign(emu, token, **{claim: now + 40})
    async with facade(emu, stytch_rbac, leeway=30) as lenient:
        for rbac, accepted in ((stytch_rbac, ()), (lenient, (soon,))):
            for candidate in (soon, later):
                if candidate in accepted:
                    assert (await rbac.authenticate_access_token(candidate)).kind == "agent"
                    continue
                with pytest.raises(Unauthenticated) as refused:
                    await rbac.authenticate_access_token(candidate)
                assert refused.value.reason == "invalid_claims"


@anyio
async def test_times_are_reported(stytch_rbac: StytchRBAC, agent: AgentFactory) -> None:
    """expires_at and issued_at are the token's exp and iat, in UTC."""
    seeded = agent(["openid"], roles=["viewer"], expires_in=600)
    claims = claims_of(seeded.access_token)
    principal = await stytch_rbac.authenticate_access_token(seeded.access_token)
    assert principal.expires_at == datetime.fromtimestamp(claims["exp"], tz=UTC)
    assert isinstance(principal, AgentPrincipal)
    assert principal.issued_at == datetime.fromtimestamp(claims["iat"], tz=UTC)


# -- scope --------------------------------------------------------------------------------------


@anyio
@pytest.mark.parametrize(
    ("scope", "agent_scopes", "service_scopes"),
    [
        pytest.param("a b", {"a", "b"}, {"a", "b"}, id="space"),
        pytest.param("  a   b  ", {"a", "b"}, {"a", "b"}, id="extra-spaces"),
        pytest.param("a\tb", {"a", "b"}, {"a\tb"}, id="tab"),
        pytest.param("a\nb c", {"a", "b", "c"}, {"a\nb", "c"}, id="newline"),
        pytest.param("a\u00a0b", {"a", "b"}, {"a\u00a0b"}, id="no-break-space"),
        pytest.param("a,b", {"a,b"}, {"a,b"}, id="comma"),
        pytest.param("x" * MAX_SCOPE_LENGTH, {"x" * MAX_SCOPE_LENGTH}, None, id="at-the-limit"),
    ],
)
async def test_scopes_are_split_as_the_sdk_splits_them(
    stytch_emulator: Emulator,
    stytch_rbac: StytchRBAC,
    agent: AgentFactory,
    service: ServiceFactory,
    scope: str,
    agent_scopes: set[str],
    service_scopes: set[str] | None,
) -> None:
    """An agent's scope splits on any whitespace (idp's str.split()), a service's on spaces
    only (m2m.authenticate_token's split(" ")); a comma never separates."""
    emu = stytch_emulator
    agent_token = resign(emu, agent(["openid"], roles=["viewer"]).access_token, scope=scope)
    service_token = resign(emu, service(["a"]).access_token, scope=scope)
    assert (await verified(stytch_rbac, agent_token)).scopes == agent_scopes
    if service_scopes is not None:
        got = (await verified(stytch_rbac, service_token)).scopes
        assert got == service_scopes


@anyio
@pytest.mark.parametrize(
    "scope",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces-only"),
        pytest.param("x" * (MAX_SCOPE_LENGTH + 1), id="oversized"),
        pytest.param(["a", "b"], id="a-list"),
        pytest.param(7, id="a-number"),
    ],
)
async def test_scope_bounds(
    stytch_emulator: Emulator,
    stytch_rbac: StytchRBAC,
    agent: AgentFactory,
    service: ServiceFactory,
    scope: object,
) -> None:
    """A scope claim that is missing, names no scope, is not a string or is longer than
    MAX_SCOPE_LENGTH is malformed, for agents and services alike."""
    emu = stytch_emulator
    for token in (agent(["openid"], roles=["viewer"]).access_token, service(["a"]).access_token):
        with pytest.raises(Unauthenticated) as refused:
            await stytch_rbac.authenticate_access_token(resign(emu, token, scope=scope))
        assert refused.value.reason == "malformed"


@anyio
async def test_whitespace_only_scope_is_refused_for_agents(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """Tabs and newlines alone name no agent scope (malformed); for a service they are one
    (odd) scope name, which grants nothing a policy can name."""
    emu = stytch_emulator
    odd = "\t\n"
    with pytest.raises(Unauthenticated) as refused:
        await stytch_rbac.authenticate_access_token(
            resign(emu, agent(["openid"], roles=["viewer"]).access_token, scope=odd)
        )
    assert refused.value.reason == "malformed"
    principal = await verified(stytch_rbac, resign(emu, service(["a"]).access_token, scope=odd))
    assert principal.scopes == {odd}


# -- shared JWKS and memo -----------------------------------------------------------------------


@anyio
async def test_jwks_and_memo_are_shared_with_session_jwts(
    stytch_emulator: Emulator,
    stytch_rbac: StytchRBAC,
    member: MemberFactory,
    agent: AgentFactory,
    service: ServiceFactory,
) -> None:
    """One JWKS fetch serves a session JWT, an agent and a service token; a second
    verification of each is answered from the one memo, with no request at all."""
    emu = stytch_emulator
    jwt = member(["editor"]).session_jwt
    agent_token = agent(["read:documents"], roles=["viewer"]).access_token
    service_token = service(["a"]).access_token
    first = [
        await stytch_rbac.authenticate(session_jwt=jwt),
        await stytch_rbac.authenticate_access_token(agent_token),
        await stytch_rbac.authenticate_access_token(service_token),
    ]
    assert emu.requests["sessions.jwks"] == 1
    seen = network(emu)
    assert stytch_rbac.jwt_memo_size == 3
    again = [
        await stytch_rbac.authenticate(session_jwt=jwt),
        await stytch_rbac.authenticate_access_token(agent_token),
        await stytch_rbac.authenticate_access_token(service_token),
    ]
    assert all(a is b for a, b in zip(first, again, strict=True))
    assert network(emu) == seen


@anyio
async def test_key_rotation_refetches_once(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """After a key rotation, tokens under the new kid cost one JWKS refetch in all; old
    tokens still verify."""
    emu = stytch_emulator
    old = agent(["openid"], roles=["viewer"]).access_token
    await stytch_rbac.authenticate_access_token(old)
    emu.rotate_keys()
    fresh_agent = agent(["openid"], roles=["viewer"]).access_token
    fresh_service = service(["a"]).access_token
    await stytch_rbac.authenticate_access_token(fresh_agent)
    await stytch_rbac.authenticate_access_token(fresh_service)
    assert (await stytch_rbac.authenticate_access_token(old)).kind == "agent"
    assert emu.requests["sessions.jwks"] == 2


# -- events -------------------------------------------------------------------------------------


@anyio
async def test_authentication_events(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, agent: AgentFactory, service: ServiceFactory
) -> None:
    """on_authentication gets credential 'access_token', the kind, principal and client ids,
    local then memo, and a refusal's reason; no event shows the token."""
    events: list[AuthenticationEvent] = []
    seeded_agent = agent(["openid"], roles=["viewer"])
    seeded_service = service(["a"])
    tokens = [seeded_agent.access_token, seeded_service.access_token]
    async with facade(stytch_emulator, stytch_rbac, on_authentication=events.append) as rbac:
        for token in tokens:
            await rbac.authenticate_access_token(token)
            await rbac.authenticate_access_token(token)
        with pytest.raises(Unauthenticated):
            await rbac.authenticate_access_token(seeded_agent.access_token, accept={"service"})
    assert [e.credential for e in events] == ["access_token"] * 5
    assert [e.answered_by for e in events[:4]] == ["local", "memo", "local", "memo"]
    agent_event, service_event, refusal = events[0], events[2], events[4]
    assert agent_event.principal_kind == "agent"
    assert agent_event.principal_id == seeded_agent.member_id
    assert agent_event.client_id == seeded_agent.client_id
    assert agent_event.organization_id == seeded_agent.organization_id
    assert service_event.principal_kind == "service"
    assert service_event.client_id == seeded_service.client_id
    assert service_event.organization_id is None
    assert refusal.outcome.value == "refused"
    assert refusal.reason == "wrong_kind"
    for event in events:
        text = repr(event) + repr(event.as_dict())
        for token in tokens:
            assert token not in text
            assert token.split(".")[2][:16] not in text


# -- the blocking twin --------------------------------------------------------------------------


def test_blocking_twin_gives_the_same_principals(
    stytch_emulator: Emulator,
    stytch_rbac_sync: SyncStytchRBAC,
    agent: AgentFactory,
    service: ServiceFactory,
    member: MemberFactory,
) -> None:
    """SyncStytchRBAC.authenticate_access_token: the same principals, the same refusals,
    the warm path answered without a request."""
    rbac = stytch_rbac_sync
    seeded_agent = agent(["read:documents"], roles=["viewer"])
    seeded_service = service(["a"], custom_claims={"tenant": "acme"})
    assert rbac.access_token_issuers == {
        f"stytch.com/{stytch_emulator.project_id}",
        f"https://{stytch_emulator.project_domain}",
        rbac.base_url,
    }
    assert rbac.project_domain == stytch_emulator.project_domain
    assert rbac.authenticate_access_token(seeded_agent.access_token) == seeded_agent.principal
    assert rbac.authenticate_access_token(seeded_service.access_token) == seeded_service.principal
    seen = network(stytch_emulator)
    assert rbac.authenticate_access_token(seeded_agent.access_token) == seeded_agent.principal
    assert network(stytch_emulator) == seen
    with pytest.raises(Unauthenticated) as refused:
        rbac.authenticate_access_token(seeded_agent.access_token, accept={"service"})
    assert refused.value.reason == "wrong_kind"
    with pytest.raises(Unauthenticated) as refused:
        rbac.authenticate_access_token(member(["viewer"]).session_jwt)
    assert refused.value.reason == "wrong_kind"
    with pytest.raises(ValueError, match="empty"):
        rbac.authenticate_access_token(seeded_agent.access_token, accept=())


@anyio
async def test_blocking_twin_from_another_loop(
    stytch_rbac_sync: SyncStytchRBAC, agent: AgentFactory
) -> None:
    """aauthenticate_access_token: the same principal from async code on another loop."""
    seeded = agent(["openid"], roles=["viewer"])
    assert (
        await stytch_rbac_sync.aauthenticate_access_token(seeded.access_token) == seeded.principal
    )
    assert (
        await stytch_rbac_sync.aauthenticate_access_token(seeded.access_token) == seeded.principal
    )


@anyio
async def test_withdrawn_key_forgets_remembered_access_tokens(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, agent: AgentFactory, member: MemberFactory
) -> None:
    """When the JWKS refetch shows a key withdrawn, access tokens it signed leave the shared
    memo with the session JWTs and are refused from then on."""
    emu = stytch_emulator
    old = agent(["openid"], roles=["viewer"]).access_token
    await stytch_rbac.authenticate_access_token(old)
    emu.rotate_keys(grace_seconds=0)
    await stytch_rbac.authenticate(session_jwt=member(["viewer"]).session_jwt)  # new kid
    with pytest.raises(Unauthenticated) as refused:
        await stytch_rbac.authenticate_access_token(old)
    assert refused.value.reason == "forged"


@anyio
@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        pytest.param({"exp": 10**20}, "agent", id="exp-beyond-datetime"),
        pytest.param({"iat": True}, "service", id="iat-a-bool"),
        pytest.param({"jti": 5}, "service", id="jti-not-a-string"),
        pytest.param({"sub": 5}, "agent", id="agent-sub-not-a-string"),
        pytest.param({"client_id": ""}, "agent", id="agent-client-id-empty"),
        pytest.param({"iss": None}, "service", id="no-iss"),
        pytest.param({"aud": None}, "agent", id="no-aud"),
    ],
)
async def test_claim_shapes(
    stytch_emulator: Emulator,
    stytch_rbac: StytchRBAC,
    agent: AgentFactory,
    service: ServiceFactory,
    changes: dict[str, object],
    kind: str,
) -> None:
    """A claim of the wrong type or range, or a required one missing, is malformed."""
    token = (
        agent(["openid"], roles=["viewer"]).access_token
        if kind == "agent"
        else service(["a"]).access_token
    )
    with pytest.raises(Unauthenticated) as refused:
        await stytch_rbac.authenticate_access_token(resign(stytch_emulator, token, **changes))
    assert refused.value.reason == "malformed"


@anyio
async def test_organization_slug_is_optional(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, agent: AgentFactory
) -> None:
    """An organization claim without a (string) slug still names the organization."""
    seeded = agent(["openid"], roles=["viewer"])
    for slug_claim in ({}, {"slug": 7}):
        org = {"organization_id": seeded.organization_id, **slug_claim}
        token = resign(
            stytch_emulator, seeded.access_token, **{"https://stytch.com/organization": org}
        )
        principal = await stytch_rbac.authenticate_access_token(token)
        assert isinstance(principal, AgentPrincipal)
        assert (principal.organization_id, principal.organization_slug) == (
            seeded.organization_id,
            "",
        )


@anyio
async def test_usage_errors(stytch_rbac: StytchRBAC) -> None:
    """A non-str token is a TypeError, an empty one 'missing', garbage 'malformed'."""
    with pytest.raises(TypeError, match="str"):
        await stytch_rbac.authenticate_access_token(b"a.b.c")  # type: ignore[arg-type]  # runtime check
    with pytest.raises(Unauthenticated) as refused:
        await stytch_rbac.authenticate_access_token("")
    assert refused.value.reason == "missing"
    with pytest.raises(Unauthenticated) as refused:
        await stytch_rbac.authenticate_access_token("not-a-jwt")
    assert refused.value.reason == "malformed"


@anyio
async def test_jwt_max_age_does_not_apply(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, agent: AgentFactory
) -> None:
    """jwt_max_age sends old session JWTs to Stytch; an access token has no such check, so
    an old but unexpired one is still verified locally (and nothing reaches Stytch)."""
    token = agent(["openid"], roles=["viewer"]).access_token
    async with facade(stytch_emulator, stytch_rbac, jwt_max_age=60) as rbac:
        stytch_emulator.advance_time(120)
        assert (await rbac.authenticate_access_token(token)).kind == "agent"
    assert stytch_emulator.requests["sessions.authenticate"] == 0


@anyio
async def test_a_client_without_scopes_gets_no_principal(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, service: ServiceFactory
) -> None:
    """An M2M client holding no scope gets a token with scope "" from Stytch (the stytch SDK
    accepts it, with no scopes); here it is refused as malformed: a deliberate, fail-closed
    difference, since such a token can be granted nothing."""
    token = service([]).access_token
    assert claims_of(token)["scope"] == ""
    with pytest.raises(Unauthenticated) as refused:
        await stytch_rbac.authenticate_access_token(token)
    assert refused.value.reason == "malformed"
