"""AccessTokenVerifier on its own (no facade): verify() with its kinds, its memo and the
JWKS it is given, over a stand-in for Stytch's keys that counts fetches."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from stytch_rbac import AgentPrincipal, ServicePrincipal, Unauthenticated
from stytch_rbac.auth import ORGANIZATION_CLAIM, SESSION_CLAIM, JWKSCache
from stytch_rbac.auth.access_token import AccessTokenVerifier, accepted_issuers
from stytch_rbac.clock import ManualClock

from .tokens import BASE_URL, NOW, PROJECT, Issuer, claims

pytestmark = pytest.mark.anyio

DOMAIN = "acme-1234.customers.stytch.dev"


def agent_claims(**overrides: Any) -> dict[str, Any]:
    """A Connected-App token's payload at NOW."""
    return claims(
        **{
            SESSION_CLAIM: None,
            "iss": f"https://{DOMAIN}",
            "client_id": "connected-app-test-1",
            "scope": "openid read:documents",
            "exp": int(NOW) + 3600,
            **overrides,
        }
    )


def service_claims(**overrides: Any) -> dict[str, Any]:
    """An M2M token's payload at NOW."""
    return claims(
        **{
            SESSION_CLAIM: None,
            ORGANIZATION_CLAIM: None,
            "plan": None,
            "sub": "m2m-client-test-1",
            "scope": "read:documents",
            "exp": int(NOW) + 3600,
            **overrides,
        }
    )


def make(issuer: Issuer, clock: ManualClock, **kw: Any) -> AccessTokenVerifier:
    """A verifier for PROJECT accepting the project domain's tokens."""
    return AccessTokenVerifier(
        project_id=PROJECT,
        issuers=accepted_issuers(PROJECT, BASE_URL, DOMAIN),
        jwks=JWKSCache(issuer.fetch, clock=clock),
        clock=clock,
        **kw,
    )


async def test_verify_both_kinds_and_remember_them(issuer: Issuer, clock: ManualClock) -> None:
    """verify() returns an agent and a service, remembered: one JWKS fetch in all."""
    verifier = make(issuer, clock)
    agent_token, service_token = issuer.mint(agent_claims()), issuer.mint(service_claims())
    agent = await verifier.verify(agent_token)
    service = await verifier.verify(service_token)
    assert isinstance(agent, AgentPrincipal)
    assert (agent.member_id, agent.organization_id, agent.client_id) == (
        "member-test-1",
        "organization-test-1",
        "connected-app-test-1",
    )
    assert dict(agent.custom_claims) == {"plan": "pro"}
    assert isinstance(service, ServicePrincipal)
    assert service.client_id == "m2m-client-test-1"
    assert await verifier.verify(agent_token) is agent
    assert verifier.remembered(service_token) is service
    assert issuer.fetches == 1


async def test_verify_refuses_other_kinds(issuer: Issuer, clock: ManualClock) -> None:
    """A session JWT is wrong_kind even when 'session' is accepted (the facade sends it to the
    session verifier); a remembered token of another kind is wrong_kind too."""
    verifier = make(issuer, clock)
    for accept in ({"agent", "service"}, {"session", "agent"}):
        with pytest.raises(Unauthenticated) as refused:
            await verifier.verify(issuer.mint(), accept=accept)  # type: ignore[arg-type]  # runtime check of a literal set
        assert refused.value.reason == "wrong_kind"
    token = issuer.mint(service_claims())
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(token, accept={"agent"})
    assert refused.value.reason == "wrong_kind"
    await verifier.verify(token)
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(token, accept={"agent"})
    assert refused.value.reason == "wrong_kind"


async def test_expired_and_leeway(issuer: Issuer, clock: ManualClock) -> None:
    """Past exp: expired, unless within leeway; a negative leeway is a ValueError."""
    token = issuer.mint(agent_claims(exp=int(NOW) - 10))
    with pytest.raises(Unauthenticated) as refused:
        await make(issuer, clock).verify(token)
    assert refused.value.reason == "expired"
    assert (await make(issuer, clock, leeway=30).verify(token)).kind == "agent"
    with pytest.raises(ValueError, match="leeway"):
        make(issuer, clock, leeway=-1)


async def test_shared_memo_is_used(issuer: Issuer, clock: ManualClock) -> None:
    """A memo passed in is the one verified tokens go to."""
    first = make(issuer, clock)
    second = make(issuer, clock, memo=first.memo)
    token = issuer.mint(service_claims())
    principal = await first.verify(token)
    assert second.remembered(token) is principal


async def test_verify_read_refuses_a_session(issuer: Issuer, clock: ManualClock) -> None:
    """verify_read() given what read() says of a session JWT refuses it (wrong_kind) and
    remembers nothing: the dispatching caller made a mistake, the verifier fails closed."""
    verifier = make(issuer, clock)
    token = issuer.mint()
    unverified = verifier.read(token)
    assert unverified[0] == "session"
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify_read(token, unverified)
    assert refused.value.reason == "wrong_kind"
    assert verifier.remembered(token) is None


# Scope text mixing names with every kind of separator the two split rules disagree on.
_SCOPES = st.text(alphabet=st.sampled_from([*"ab:*,", " ", "\t", "\n", "\u00a0", "\x0b"]))


@settings(max_examples=200, deadline=None)
@given(scope=_SCOPES)
def test_scopes_split_as_the_sdk_splits_them(
    keys: dict[str, rsa.RSAPrivateKey], scope: str
) -> None:
    """For any scope text: an agent holds ``set(scope.split())`` (the stytch SDK's idp
    split), a service the non-empty parts of ``scope.split(" ")`` (its m2m split); a token
    naming no scope is malformed."""
    issuer = Issuer(keys)
    verifier = make(issuer, ManualClock(NOW))
    expected = {
        "agent": frozenset(scope.split()),
        "service": frozenset(s for s in scope.split(" ") if s),
    }

    async def check() -> None:
        for kind, payload in (("agent", agent_claims), ("service", service_claims)):
            token = issuer.mint(payload(scope=scope))
            if not expected[kind]:
                with pytest.raises(Unauthenticated) as refused:
                    await verifier.verify(token)
                assert refused.value.reason == "malformed"
                continue
            principal = await verifier.verify(token)
            assert (principal.kind, principal.scopes) == (kind, expected[kind])

    anyio.run(check)
