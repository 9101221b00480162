"""The memo of verified session JWTs: size option, expired entries first, residents kept
past the size (no cliff), keyed by the exact token, forgotten per withdrawn key."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stytch_rbac import StytchRBAC
from stytch_rbac.auth import SessionJWTVerifier
from stytch_rbac.clock import ManualClock

from .tokens import NOW, Issuer, claims, make_verifier


def member_token(issuer: Issuer, n: int, *, lifetime: int = 300, kid: str = "k1") -> str:
    """A genuine token of member ``member-<n>``, valid from NOW for ``lifetime`` seconds."""
    return issuer.mint(claims(sub=f"member-{n}", exp=int(NOW) + lifetime), kid=kid)


async def hits_in_turn(verifier: SessionJWTVerifier, tokens: list[str]) -> int:
    """Request each token once, in order; how many were answered from the memo."""
    hits = 0
    for n, token in enumerate(tokens):
        if verifier.remembered(token) is not None:
            hits += 1
        assert (await verifier.verify(token)).member_id == f"member-{n}"
    return hits


@pytest.mark.parametrize("size", [-1, 1.5, "10", True, None])
def test_memo_size_must_be_a_non_negative_int(size: Any) -> None:
    """StytchRBAC(jwt_memo_size=...) refuses anything but an int >= 0, naming the option."""
    with pytest.raises(ValueError, match="jwt_memo_size must be an int >= 0"):
        StytchRBAC("project-test-1", "secret-test-1", jwt_memo_size=size)


@pytest.mark.anyio
async def test_memo_size_reaches_the_verifier() -> None:
    """The facade's option is the verifier's bound; the default is 10,000."""
    async with (
        StytchRBAC("project-test-1", "secret") as default,
        StytchRBAC("project-test-1", "secret", jwt_memo_size=7) as small,
    ):
        assert default._verifier.memo_size == 10_000
        assert small._verifier.memo_size == 7


@pytest.mark.anyio
async def test_memo_size_zero_remembers_nothing(issuer: Issuer, clock: ManualClock) -> None:
    """With memo_size 0 every token is verified in full and none is remembered."""
    verifier = make_verifier(issuer, clock, memo_size=0)
    token = member_token(issuer, 0)
    await verifier.verify(token)
    assert verifier.remembered(token) is None
    assert (await verifier.verify(token)).member_id == "member-0"


@pytest.mark.anyio
async def test_past_its_size_the_memo_keeps_its_residents(
    issuer: Issuer, clock: ManualClock
) -> None:
    """Twice as many tokens as the memo holds, requested in turn, still hit for the tokens
    it holds (evicting the oldest made every request a miss: the 100% -> 0% cliff)."""
    verifier = make_verifier(issuer, clock, memo_size=10)
    tokens = [member_token(issuer, n) for n in range(20)]
    await hits_in_turn(verifier, tokens)
    for _ in range(3):
        assert await hits_in_turn(verifier, tokens) >= 9
        assert len(verifier.memo) <= 10


@pytest.mark.anyio
async def test_expired_entries_are_evicted_first(issuer: Issuer, clock: ManualClock) -> None:
    """When the memo is full, tokens past their exp make room before any live one goes."""
    verifier = make_verifier(issuer, clock, memo_size=10)
    long_lived = [member_token(issuer, n, lifetime=3600) for n in range(5)]
    short_lived = [member_token(issuer, n, lifetime=60) for n in range(5, 10)]
    for token in long_lived + short_lived:
        await verifier.verify(token)
    clock.advance(120)
    newcomers = [member_token(issuer, n, lifetime=3600) for n in range(10, 15)]
    for token in newcomers:
        await verifier.verify(token)
    assert all(verifier.remembered(t) is not None for t in long_lived + newcomers)
    assert len(verifier.memo) == 10
    assert not any(t in verifier.memo for t in short_lived)


@pytest.mark.anyio
async def test_a_burst_of_new_tokens_does_not_push_out_established_sessions(
    issuer: Issuer, clock: ManualClock
) -> None:
    """Three memos' worth of new tokens leave the sessions already remembered in place."""
    verifier = make_verifier(issuer, clock, memo_size=10)
    established = [member_token(issuer, n) for n in range(5)]
    for token in established:
        await verifier.verify(token)
    for n in range(100, 130):
        await verifier.verify(member_token(issuer, n))
    assert all(verifier.remembered(t) is not None for t in established)


@pytest.mark.anyio
async def test_a_busy_session_that_comes_late_stays_remembered(
    issuer: Issuer, clock: ManualClock
) -> None:
    """A token asked for again while remembered (a page load's second request) is kept,
    however many one-off tokens come after it: no later request verifies it in full."""
    verifier = make_verifier(issuer, clock, memo_size=20)
    for n in range(20):
        await verifier.verify(member_token(issuer, n))
    busy = member_token(issuer, 1000)
    await verifier.verify(busy)
    assert verifier.remembered(busy) is not None  # the second request
    misses = 0
    for n in range(100, 160):
        if n % 3 == 0:
            misses += verifier.remembered(busy) is None
            await verifier.verify(busy)
        await verifier.verify(member_token(issuer, n))
    assert misses == 0


@pytest.mark.anyio
async def test_withdrawn_kid_forgets_only_its_tokens(issuer: Issuer, clock: ManualClock) -> None:
    """When a refreshed JWKS drops k1, k1's tokens are forgotten and k2's stay remembered."""
    issuer.published = ["k1", "k2"]
    verifier = make_verifier(issuer, clock)
    old, new = member_token(issuer, 1, kid="k1"), member_token(issuer, 2, kid="k2")
    await verifier.verify(old)
    await verifier.verify(new)
    issuer.published = ["k2"]
    await verifier.jwks.cache.load("jwks")
    assert verifier.remembered(old) is None
    assert verifier.remembered(new) is not None


#: Token lifetimes (seconds from NOW) the property below draws from.
LIFETIMES = (30, 90, 400)


@pytest.fixture(scope="module")
def pool(keys: dict[str, rsa.RSAPrivateKey]) -> tuple[Issuer, list[tuple[str, int]]]:
    """An issuer and 24 tokens of distinct members, with lifetimes from LIFETIMES."""
    issuer = Issuer(keys)
    return issuer, [
        (member_token(issuer, n, lifetime=LIFETIMES[n % 3]), LIFETIMES[n % 3]) for n in range(24)
    ]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    size=st.integers(min_value=1, max_value=8),
    steps=st.lists(
        st.one_of(st.integers(min_value=0, max_value=23), st.sampled_from([-1, -2])),
        max_size=80,
    ),
)
def test_memo_invariants(
    anyio_backend: str, pool: tuple[Issuer, list[tuple[str, int]]], size: int, steps: list[int]
) -> None:
    """Under any sequence of requests and clock moves: the memo never holds more than its
    size, never answers for an expired token, answers every token as its own member, and
    its expiry heap stays bounded."""
    issuer, tokens = pool

    async def run() -> None:
        clock = ManualClock(NOW)
        verifier = make_verifier(issuer, clock, memo_size=size)
        for step in steps:
            if step < 0:
                clock.advance(50 * -step)
                continue
            token, lifetime = tokens[step]
            expired = clock.time() >= NOW + lifetime
            remembered = verifier.remembered(token)
            if expired:
                assert remembered is None
            elif remembered is not None:
                assert remembered.member_id == f"member-{step}"
            if not expired:
                assert (await verifier.verify(token)).member_id == f"member-{step}"
            assert len(verifier.memo) <= size
            assert len(verifier.memo._expiries) <= 2 * size + 65

    anyio.run(run, backend=anyio_backend)
