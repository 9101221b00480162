"""Stytch's JWKS: parsed by PyJWT, short RSA keys refused, and a key withdrawn while the
cached key set was past max_stale still forgets the tokens remembered under it."""

from __future__ import annotations

import logging

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from stytch_rbac import StytchRBAC, Unauthenticated
from stytch_rbac.auth import JWKSCache, parse_jwks
from stytch_rbac.auth.jwks import MIN_RSA_BITS
from stytch_rbac.clock import ManualClock
from stytch_rbac.emulator import Emulator
from stytch_rbac.errors import StytchUnavailable
from stytch_rbac.testing import MemberFactory

from .tokens import Issuer, b64, claims, jwk, make_verifier, signed


@pytest.fixture(scope="module")
def short_key() -> rsa.RSAPrivateKey:
    """A 1024-bit RSA key: valid, but too short to trust."""
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def test_rsa_keys_under_2048_bits_are_refused(
    keys: dict[str, rsa.RSAPrivateKey],
    short_key: rsa.RSAPrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 1024-bit key in the JWKS is skipped with a warning naming its size; a JWKS holding
    only such keys is unusable (ValueError), never a key set that verifies with them."""
    assert MIN_RSA_BITS == 2048
    with caplog.at_level(logging.WARNING, "stytch_rbac"):
        parsed = parse_jwks({"keys": [jwk(short_key, "short"), jwk(keys["k1"], "k1")]})
    assert set(parsed) == {"k1"}
    assert "1024 bits" in caplog.text
    with pytest.raises(ValueError, match="no usable"):
        parse_jwks({"keys": [jwk(short_key, "short")]})


@pytest.mark.anyio
async def test_a_token_signed_with_a_short_key_is_refused(
    keys: dict[str, rsa.RSAPrivateKey], short_key: rsa.RSAPrivateKey, clock: ManualClock
) -> None:
    """A genuine signature by a published 1024-bit key does not authenticate anyone."""
    issuer = Issuer({**keys, "short": short_key})
    issuer.published = ["k1", "short"]
    token = signed(issuer, {"alg": "RS256", "kid": "short"}, claims(), key="short")
    with pytest.raises(Unauthenticated) as info:
        await make_verifier(issuer, clock).verify(token)
    assert info.value.reason == "forged"


def test_parse_jwks_reads_what_pyjwt_reads(keys: dict[str, rsa.RSAPrivateKey]) -> None:
    """Private, symmetric and EC keys, keys without kid and a kid seen before are skipped (the
    first key of a kid wins, as PyJWKSet[kid] answers); exponent and modulus are read as
    PyJWT reads them."""
    private = keys["k2"].private_numbers()
    doc = {
        "keys": [
            jwk(keys["k1"], "good"),
            jwk(keys["k2"], "good"),
            {**jwk(keys["k2"], "private"), "d": b64(private.d)},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {
                "kty": "EC",
                "kid": "ec",
                "crv": "P-256",
                "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
            },
            {key: value for key, value in jwk(keys["k2"], "x").items() if key != "kid"},
        ]
    }
    parsed = parse_jwks(doc)
    assert set(parsed) == {"good"}
    assert parsed["good"].public_numbers() == keys["k1"].public_key().public_numbers()
    broken_documents: list[object] = [{"keys": []}, {"keys": "k1"}, {"nope": []}, ["keys"]]
    for broken in broken_documents:
        with pytest.raises(ValueError, match=r"JWKS|usable"):
            parse_jwks(broken)


@pytest.mark.anyio
async def test_an_unusable_jwks_keeps_the_old_keys(issuer: Issuer, clock: ManualClock) -> None:
    """A JWKS answer with no usable key is a failed load: StytchUnavailable, the cached keys
    stay in use."""
    cache = JWKSCache(issuer.fetch, clock=clock)
    assert set(await cache.keys()) == {"k1"}
    issuer.published = []
    with pytest.raises(StytchUnavailable, match="unusable"):
        await cache.cache.load("jwks")
    assert set(await cache.keys()) == {"k1"}


@pytest.mark.anyio
async def test_key_withdrawn_after_max_stale_forgets_its_tokens(
    issuer: Issuer, clock: ManualClock
) -> None:
    """When the cached JWKS is older than max_stale it is dropped before it is reloaded; a
    key withdrawn meanwhile must still forget the tokens remembered under it (it used to
    be compared with nothing, and they stayed accepted until their exp)."""
    verifier = make_verifier(issuer, clock, jwks_ttl=60, jwks_max_stale=120)
    token = issuer.mint()
    await verifier.verify(token)
    clock.advance(150)  # the JWKS is past max_stale; the token is valid for 300 s
    issuer.published = ["k2"]
    assert verifier.remembered(token) is not None
    await verifier.jwks.keys()
    assert verifier.remembered(token) is None
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


@pytest.mark.anyio
async def test_key_withdrawn_after_invalidate_forgets_its_tokens(
    issuer: Issuer, clock: ManualClock
) -> None:
    """An invalidated JWKS reloaded without k1 forgets k1's remembered tokens too."""
    verifier = make_verifier(issuer, clock)
    token = issuer.mint()
    await verifier.verify(token)
    verifier.jwks.cache.invalidate()
    issuer.published = ["k2"]
    await verifier.jwks.keys()
    assert verifier.remembered(token) is None
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


@pytest.mark.anyio
async def test_emulator_key_withdrawn_past_max_stale_is_no_longer_accepted(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """Against the emulator: a session JWT is remembered, the cached JWKS grows older than
    max_stale, the emulator rotates its key with no grace period (the old kid is withdrawn),
    and the next JWKS load (a token of the new key) makes the old JWT stop authenticating."""
    editor = member(["stytch_admin"])
    old_jwt = editor.session_jwt
    async with StytchRBAC(
        stytch_emulator.project_id,
        stytch_emulator.secret,
        base_url=stytch_rbac.base_url,
        http_client=stytch_rbac.http,
        clock=stytch_emulator.clock,
        policy_ttl=60,
        max_stale=120,
    ) as rbac:
        assert (await rbac.authenticate(session_jwt=old_jwt)).member_id == editor.member_id
        stytch_emulator.advance_time(150)  # the JWKS is past max_stale, the JWT lives 300 s
        stytch_emulator.rotate_keys(grace_seconds=0)
        new_jwt = stytch_emulator.create_session(editor.member_id).session_jwt
        assert (await rbac.authenticate(session_jwt=new_jwt)).member_id == editor.member_id
        with pytest.raises(Unauthenticated) as info:
            await rbac.authenticate(session_jwt=old_jwt)
        assert info.value.reason == "forged"
