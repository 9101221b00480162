"""Session JWT verification: the SDK's rules, offline rejection, memo, key rotation, claims."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import anyio
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st

from stytch_rbac.auth import (
    ORGANIZATION_CLAIM,
    SESSION_CLAIM,
    StaleJWT,
    parse_datetime,
    parse_jwks,
    principal_from_member_session,
)
from stytch_rbac.auth.claims import b64decode, unverified_claims, unverified_expiry
from stytch_rbac.clock import ManualClock
from stytch_rbac.errors import StytchUnavailable, Unauthenticated
from stytch_rbac.integrations.responses import status_for

from .tokens import BASE_URL, NOW, PROJECT, Issuer, claims, jwk, make_verifier, signed
from .tokens import segment as _segment

# -- valid tokens ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_valid_token_becomes_a_principal(issuer: Issuer, clock: ManualClock) -> None:
    """A genuine token yields the member, organization, roles, session and custom claims."""
    token = issuer.mint()
    p = await make_verifier(issuer, clock).verify(token)
    assert p.member_id == "member-test-1"
    assert p.organization_id == "organization-test-1"
    assert p.organization_slug == "acme"
    assert p.roles == frozenset({"stytch_member", "editor"})
    assert p.session_id == "session-test-1"
    assert p.expires_at == datetime(2027, 1, 15, 9, tzinfo=UTC)
    assert p.jwt_expires_at == datetime.fromtimestamp(NOW + 300, tz=UTC)
    assert p.started_at == datetime(2027, 1, 15, 8, tzinfo=UTC)
    assert dict(p.custom_claims) == {"plan": "pro"}
    assert p.session_jwt == token
    assert p.session_token is None
    assert not p.jwt_refreshed
    assert p.authentication_factors[0]["type"] == "magic_link"


@pytest.mark.anyio
async def test_principal_repr_never_shows_the_token(issuer: Issuer, clock: ManualClock) -> None:
    """repr() and str() of a Principal name ids and roles but not the JWT."""
    token = issuer.mint()
    p = await make_verifier(issuer, clock).verify(token)
    for text in (repr(p), str(p)):
        assert token not in text
        assert token.split(".")[2][:20] not in text
        assert "member-test-1" in text


@pytest.mark.anyio
@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"aud": PROJECT}, id="aud-as-string"),
        pytest.param({"iss": BASE_URL}, id="issuer-is-base-url"),
        pytest.param({"jti": "abc"}, id="jti-allowed"),
        pytest.param(
            {SESSION_CLAIM: {"id": "s", "authentication_factors": []}}, id="no-roles-no-expiry"
        ),
    ],
)
async def test_accepted_variants(
    issuer: Issuer, clock: ManualClock, overrides: dict[str, Any]
) -> None:
    """Variants the stytch SDK accepts verify here too."""
    p = await make_verifier(issuer, clock).verify(issuer.mint(claims(**overrides)))
    assert p.member_id == "member-test-1"
    assert "jti" not in p.custom_claims


@pytest.mark.anyio
async def test_missing_session_expiry_falls_back_to_exp(issuer: Issuer, clock: ManualClock) -> None:
    """Without the session claim's expires_at, expires_at is the JWT's exp (as in the SDK)."""
    payload = claims(**{SESSION_CLAIM: {"id": "s", "roles": []}})
    p = await make_verifier(issuer, clock).verify(issuer.mint(payload))
    assert p.expires_at == datetime.fromtimestamp(NOW + 300, tz=UTC)
    assert p.roles == frozenset()


# -- rejections --------------------------------------------------------------------------------


def _none_token(_: Issuer) -> str:
    return f"{_segment({'alg': 'none', 'kid': 'k1'})}.{_segment(claims())}."


def _hs256_token(issuer: Issuer) -> str:
    # The classic confusion attack: HMAC keyed with the RSA public key's PEM.
    pem = (
        issuer.keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = _segment({"alg": "HS256", "kid": "k1", "typ": "JWT"})
    body = _segment(claims())
    import hashlib
    import hmac

    sig = hmac.new(pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"


def _es256_token(_: Issuer) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return pyjwt.encode(claims(), key, algorithm="ES256", headers={"kid": "k1"})


def _tampered(issuer: Issuer) -> str:
    header, _, sig = issuer.mint().split(".")
    richer = claims(**{SESSION_CLAIM: {**claims()[SESSION_CLAIM], "roles": ["stytch_admin"]}})
    return f"{header}.{_segment(richer)}.{sig}"


REJECTIONS: list[Any] = [
    pytest.param(lambda i: i.mint(key="evil"), "forged", True, id="signed-by-another-key"),
    pytest.param(_tampered, "forged", True, id="payload-tampered"),
    pytest.param(_none_token, "forged", False, id="alg-none"),
    pytest.param(_hs256_token, "forged", False, id="hs256-with-public-key"),
    pytest.param(_es256_token, "forged", False, id="es256"),
    pytest.param(lambda i: i.mint(claims(aud=["other"])), "invalid_claims", True, id="wrong-aud"),
    pytest.param(
        lambda i: i.mint(claims(iss="stytch.com/project-test-other")),
        "invalid_claims",
        True,
        id="wrong-iss",
    ),
    pytest.param(
        lambda i: i.mint(claims(iss=BASE_URL + "/")),
        "invalid_claims",
        True,
        id="iss-with-trailing-slash",
    ),
    pytest.param(
        lambda i: i.mint(claims(nbf=int(NOW) + 60)), "invalid_claims", True, id="nbf-future"
    ),
    pytest.param(
        lambda i: i.mint(claims(iat=int(NOW) + 60)), "invalid_claims", True, id="iat-future"
    ),
    pytest.param(lambda i: i.mint(claims(iat=None)), "malformed", True, id="no-iat"),
    pytest.param(lambda i: i.mint(claims(nbf=None)), "malformed", True, id="no-nbf"),
    pytest.param(lambda i: i.mint(claims(exp=None)), "malformed", True, id="no-exp"),
    pytest.param(lambda i: i.mint(claims(aud=None)), "malformed", True, id="no-aud"),
    pytest.param(lambda i: i.mint(claims(iss=None)), "malformed", True, id="no-iss"),
    pytest.param(lambda i: i.mint(claims(exp="soon")), "malformed", True, id="exp-not-int"),
    pytest.param(
        lambda i: i.mint(claims(**{SESSION_CLAIM: None})), "malformed", True, id="no-session"
    ),
    pytest.param(
        lambda i: i.mint(claims(**{ORGANIZATION_CLAIM: None})), "malformed", True, id="no-org"
    ),
    pytest.param(
        lambda i: i.mint(claims(**{SESSION_CLAIM: {"id": "s", "roles": "admin"}})),
        "malformed",
        True,
        id="roles-not-list",
    ),
    pytest.param(
        lambda i: i.mint(claims(exp=str(int(NOW) + 300))),
        "malformed",
        True,
        id="exp-numeric-string",
    ),
    pytest.param(lambda i: i.mint(claims(iat=True)), "malformed", True, id="iat-bool"),
    pytest.param(lambda i: i.mint(claims(exp=10**20)), "malformed", True, id="exp-beyond-datetime"),
    pytest.param(
        lambda i: i.mint(claims(aud=[PROJECT, 1])), "invalid_claims", True, id="aud-non-string"
    ),
    pytest.param(lambda i: i.mint(claims(jti=5)), "malformed", True, id="jti-not-string"),
    pytest.param(
        lambda i: signed(i, {"alg": "RS256", "kid": "k1", "b64": False}, claims()),
        "malformed",
        False,
        id="b64-false",
    ),
    pytest.param(lambda i: "not-a-jwt", "malformed", False, id="one-segment"),
    pytest.param(lambda i: "a.b.c.d", "malformed", False, id="four-segments"),
    pytest.param(lambda i: "!!!.@@@.###", "malformed", False, id="not-base64-json"),
    pytest.param(lambda i: f"{_segment([1])}.e30.", "malformed", False, id="header-not-object"),
    pytest.param(lambda i: "héllo.wörld.x", "malformed", False, id="not-ascii"),
    pytest.param(
        lambda i: f"{_segment({'alg': 'RS256', 'kid': 'k1', 'crit': ['x']})}.e30.",
        "malformed",
        False,
        id="crit-header",
    ),
    pytest.param(
        lambda i: f"{_segment({'alg': 'RS256'})}.{_segment(claims())}.",
        "forged",
        False,
        id="no-kid",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("make_token", "reason", "fetches_jwks"), REJECTIONS)
async def test_bad_tokens_are_rejected_offline(
    issuer: Issuer,
    clock: ManualClock,
    make_token: Callable[[Issuer], str],
    reason: str,
    fetches_jwks: bool,
) -> None:
    """Forged, malformed or foreign tokens raise Unauthenticated(reason); only a token that
    names a published kid even reads the (cached) JWKS, and nothing else is fetched."""
    verifier = make_verifier(issuer, clock)
    token = make_token(issuer)
    with pytest.raises(Unauthenticated) as info:
        await verifier.verify(token)
    assert info.value.reason == reason
    assert status_for(info.value) == 401
    assert issuer.fetches == (1 if fetches_jwks else 0)
    assert token not in str(info.value)
    assert token not in repr(info.value)


@pytest.mark.anyio
async def test_empty_token_is_missing(issuer: Issuer, clock: ManualClock) -> None:
    """An empty string is reason 'missing'; a non-string is a TypeError."""
    verifier = make_verifier(issuer, clock)
    with pytest.raises(Unauthenticated) as info:
        await verifier.verify("")
    assert info.value.reason == "missing"
    with pytest.raises(TypeError, match="str"):
        await verifier.verify(b"abc")  # type: ignore[arg-type]  # proving the runtime check


# -- expiry, leeway, max age -------------------------------------------------------------------


@pytest.mark.anyio
async def test_expired_genuine_token_is_stale_not_rejected(
    issuer: Issuer, clock: ManualClock
) -> None:
    """A genuine token past exp raises StaleJWT('expired') for the caller to ask Stytch."""
    verifier = make_verifier(issuer, clock)
    token = issuer.mint()
    clock.advance(300)
    with pytest.raises(StaleJWT) as info:
        await verifier.verify(token)
    assert info.value.reason == "expired"


@pytest.mark.anyio
async def test_expired_forged_token_is_rejected_not_stale(
    issuer: Issuer, clock: ManualClock
) -> None:
    """An expired token with a bad signature is forged: it never reaches Stytch."""
    verifier = make_verifier(issuer, clock)
    token = issuer.mint(key="evil")
    clock.advance(1000)
    with pytest.raises(Unauthenticated) as info:
        await verifier.verify(token)
    assert info.value.reason == "forged"


@pytest.mark.anyio
async def test_leeway_tolerates_clock_skew(issuer: Issuer, clock: ManualClock) -> None:
    """With leeway 10 s a token 5 s past exp, or with nbf 5 s ahead, still verifies."""
    verifier = make_verifier(issuer, clock, leeway=10)
    late = issuer.mint()
    early = issuer.mint(claims(nbf=int(NOW) + 5, iat=int(NOW) + 5))
    await verifier.verify(early)
    clock.advance(305)
    assert (await verifier.verify(late)).member_id == "member-test-1"
    clock.advance(10)
    verifier.forget()
    with pytest.raises(StaleJWT):
        await verifier.verify(late)


@pytest.mark.anyio
async def test_max_age_sends_old_tokens_to_stytch(issuer: Issuer, clock: ManualClock) -> None:
    """With max_age 60, a token issued 60 s ago or more is StaleJWT('too_old'); 0 means always."""
    token = issuer.mint()
    verifier = make_verifier(issuer, clock, max_age=60)
    await verifier.verify(token)
    clock.advance(60)
    with pytest.raises(StaleJWT) as info:
        await verifier.verify(token)
    assert info.value.reason == "too_old"
    with pytest.raises(StaleJWT):
        await make_verifier(issuer, ManualClock(NOW), max_age=0).verify(issuer.mint())


# -- memo --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_verified_token_is_remembered_until_exp(issuer: Issuer, clock: ManualClock) -> None:
    """A repeated token is answered from the memo (same Principal) until its exp."""
    verifier = make_verifier(issuer, clock)
    token = issuer.mint()
    first = await verifier.verify(token)
    issuer.published = []  # the memo must not need the key any more
    verifier.jwks.cache.invalidate()
    assert await verifier.verify(token) is first
    assert verifier.remembered(token) is first
    clock.advance(300)
    assert verifier.remembered(token) is None


@pytest.mark.anyio
async def test_memo_is_bounded(issuer: Issuer, clock: ManualClock) -> None:
    """The memo never holds more than memo_size tokens."""
    verifier = make_verifier(issuer, clock, memo_size=10)
    for n in range(25):
        await verifier.verify(issuer.mint(claims(sub=f"member-{n}")))
        assert len(verifier.memo) <= 10


# -- key rotation ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_rotated_key_is_picked_up_with_one_refetch(
    issuer: Issuer, clock: ManualClock
) -> None:
    """A token signed with a new kid triggers one JWKS refetch and verifies."""
    verifier = make_verifier(issuer, clock)
    await verifier.verify(issuer.mint())
    issuer.published = ["k1", "k2"]
    p = await verifier.verify(issuer.mint(kid="k2"))
    assert p.member_id == "member-test-1"
    assert issuer.fetches == 2


@pytest.mark.anyio
async def test_unknown_kid_refetch_is_rate_limited_and_single_flight(
    issuer: Issuer, clock: ManualClock
) -> None:
    """Concurrent unknown-kid tokens share one refetch; another within 30 s fetches nothing."""
    verifier = make_verifier(issuer, clock)
    await verifier.verify(issuer.mint())
    bogus = issuer.mint(kid="evil")  # kid never published
    reasons: list[str] = []

    async def attempt() -> None:
        try:
            await verifier.verify(bogus)
        except Unauthenticated as exc:
            reasons.append(exc.reason)

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(attempt)
    assert reasons == ["forged"] * 50
    assert issuer.fetches == 2
    clock.advance(29)
    await attempt()
    assert issuer.fetches == 2
    clock.advance(1)
    issuer.published = ["k1", "k2"]
    assert (await verifier.verify(issuer.mint(kid="k2"))).member_id == "member-test-1"
    assert issuer.fetches == 3


@pytest.mark.anyio
async def test_withdrawn_key_clears_the_memo(issuer: Issuer, clock: ManualClock) -> None:
    """When a refreshed JWKS drops a kid, tokens remembered under it are forgotten."""
    verifier = make_verifier(issuer, clock)
    token = issuer.mint()
    await verifier.verify(token)
    issuer.published = ["k2"]
    await verifier.jwks.cache.load("jwks")
    assert verifier.remembered(token) is None
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


@pytest.mark.anyio
async def test_unreachable_jwks_is_unavailable_not_unauthenticated(
    issuer: Issuer, clock: ManualClock
) -> None:
    """With no JWKS ever fetched and the endpoint down, verification raises StytchUnavailable."""
    issuer.fail = True
    with pytest.raises(StytchUnavailable):
        await make_verifier(issuer, clock).verify(issuer.mint())


# -- parsing helpers ---------------------------------------------------------------------------


def test_parse_jwks_keeps_only_rsa_signing_keys(keys: dict[str, rsa.RSAPrivateKey]) -> None:
    """Encryption keys, non-RSA keys, keys without kid and broken keys are skipped."""
    doc = {
        "keys": [
            jwk(keys["k1"], "good"),
            jwk(keys["k2"], "enc", use="enc"),
            jwk(keys["k2"], "hs", alg="HS256"),
            {"kty": "EC", "kid": "ec"},
            {**jwk(keys["k2"], ""), "kid": None},
            {**jwk(keys["k2"], "broken"), "n": ""},
            "junk",
        ]
    }
    assert set(parse_jwks(doc)) == {"good"}
    with pytest.raises(ValueError, match="keys"):
        parse_jwks({"nope": []})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2027-01-15T09:00:00Z", datetime(2027, 1, 15, 9, tzinfo=UTC), id="Z"),
        pytest.param(
            "2027-01-15T09:00:00.123456789Z",
            datetime(2027, 1, 15, 9, 0, 0, 123456, tzinfo=UTC),
            id="nanoseconds",
        ),
        pytest.param("2027-01-15T09:00:00", datetime(2027, 1, 15, 9, tzinfo=UTC), id="naive"),
        pytest.param(0, datetime(1970, 1, 1, tzinfo=UTC), id="epoch"),
    ],
)
def test_parse_datetime(text: Any, expected: datetime) -> None:
    """RFC 3339 strings (any fraction length) and epoch numbers parse to aware datetimes."""
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    "value", [1e300, 10**20, float("inf"), float("nan"), True, None, "", "soon"]
)
def test_parse_datetime_refuses_what_is_not_a_time(value: Any) -> None:
    """Anything but a timestamp in datetime's range is a ValueError, never another exception."""
    with pytest.raises(ValueError, match=r"timestamp|not a number|isoformat"):
        parse_datetime(value)


def test_member_session_with_an_impossible_expiry_is_refused() -> None:
    """A member_session whose expires_at is out of range is a ValueError naming no secret."""
    session = {
        "member_session_id": "session-1",
        "member_id": "member-1",
        "organization_id": "org-1",
        "expires_at": 10**20,
    }
    with pytest.raises(ValueError, match="out of range"):
        principal_from_member_session(session, session_jwt=None, session_token="tok")


def test_principal_from_member_session_requires_ids() -> None:
    """A sessions/authenticate member_session becomes a Principal; missing ids are errors."""
    session = {
        "member_session_id": "session-1",
        "member_id": "member-1",
        "organization_id": "org-1",
        "organization_slug": "acme",
        "roles": ["stytch_member"],
        "expires_at": "2027-01-15T09:00:00Z",
        "started_at": "2027-01-15T08:00:00Z",
        "last_accessed_at": "2027-01-15T08:00:00Z",
        "authentication_factors": [],
        "custom_claims": {"plan": "pro"},
    }
    p = principal_from_member_session(session, session_jwt=None, session_token="tok")
    assert (p.member_id, p.organization_id, p.session_id) == ("member-1", "org-1", "session-1")
    assert p.session_token == "tok"
    assert dict(p.custom_claims) == {"plan": "pro"}
    with pytest.raises(ValueError, match="member_id"):
        principal_from_member_session(
            {**session, "member_id": ""}, session_jwt=None, session_token=None
        )


def _unsigned(payload: str) -> str:
    """A JWT-shaped string with ``payload`` (raw JSON text) as its payload segment."""
    segment = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJub25lIn0.{segment}.c2ln"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        pytest.param(_unsigned('{"exp": 1800000300}'), 1_800_000_300.0, id="int"),
        pytest.param(_unsigned('{"exp": 1800000300.5}'), 1_800_000_300.5, id="float"),
        pytest.param(_unsigned('{"sub": "m"}'), None, id="no-exp"),
        pytest.param(_unsigned('{"exp": true}'), None, id="bool"),
        pytest.param(_unsigned('{"exp": "1800000300"}'), None, id="string"),
        pytest.param(_unsigned("[1, 2]"), None, id="payload-not-an-object"),
        pytest.param("not-a-jwt", None, id="one-segment"),
        pytest.param("a.%%%.c", None, id="not-base64"),
    ],
)
def test_unverified_expiry(token: str, expected: float | None) -> None:
    """unverified_expiry reads a numeric exp and gives None for anything else, never raising."""
    assert unverified_expiry(token) == expected


@pytest.mark.parametrize("exp", ["Infinity", "NaN", "1e300", "1800000300"])
def test_member_session_jwt_expiry_is_read_or_left_out(exp: str) -> None:
    """The exp of a JWT Stytch returned becomes jwt_expires_at, or None when it is unusable."""
    session = {
        "member_session_id": "session-1",
        "member_id": "member-1",
        "organization_id": "org-1",
        "expires_at": "2027-01-15T09:00:00Z",
    }
    token = _unsigned(f'{{"exp": {exp}}}')
    p = principal_from_member_session(session, session_jwt=token, session_token=None)
    if exp == "1800000300":
        assert p.jwt_expires_at == datetime.fromtimestamp(1_800_000_300, tz=UTC)
    else:
        assert p.jwt_expires_at is None


@pytest.mark.anyio
async def test_memo_eviction_never_maps_a_token_to_another_member(
    anyio_backend: str, issuer: Issuer, clock: ManualClock
) -> None:
    """Past the memo's bound, every token still authenticates as its own member, whether
    answered from the memo or verified again after eviction (regression: eviction once
    stored a new Principal under an evicted token's hash)."""
    verifier = make_verifier(issuer, clock, memo_size=5)
    tokens = {f"member-test-{i}": issuer.mint(claims(sub=f"member-test-{i}")) for i in range(23)}
    for _ in range(2):
        for member_id, token in tokens.items():
            assert (await verifier.verify(token)).member_id == member_id
            remembered = verifier.remembered(token)
            assert remembered is None or remembered.member_id == member_id
    assert len(verifier.memo) <= verifier.memo_size


# -- malformed and malleable tokens ------------------------------------------------------------


def _nested(levels: int) -> str:
    """A JSON object holding ``levels`` nested arrays (2 bytes per level)."""
    return '{"deep": ' + "[" * levels + "]" * levels + "}"


def _raw_segment(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@pytest.mark.anyio
@pytest.mark.parametrize("where", ["header", "payload"])
async def test_deeply_nested_json_is_malformed(
    issuer: Issuer, clock: ManualClock, where: str
) -> None:
    """A 10 KB token nesting 5,000 levels of JSON is Unauthenticated('malformed'), never a
    RecursionError (which guards and the middleware turned into 500)."""
    header, payload, sig = issuer.mint().split(".")
    if where == "header":
        header = _raw_segment(_nested(5000)[:-1] + ', "alg": "RS256", "kid": "k1"}')
    else:
        payload = _raw_segment(_nested(5000))
    token = f"{header}.{payload}.{sig}"
    assert len(token) > 10_000
    with pytest.raises(Unauthenticated) as info:
        await make_verifier(issuer, clock).verify(token)
    assert info.value.reason == "malformed"
    assert issuer.fetches == 0
    if where == "payload":
        assert unverified_claims(token) is None


def _variants(token: str) -> dict[str, str]:
    """Other spellings of ``token`` that a lenient base64url decoder reads as the same
    bytes (or as the same signature)."""
    header, payload, sig = token.split(".")
    # RS256 signatures are 256 bytes: 342 characters, 2 unused trailing bits in the last.
    flipped_bits = sig[:-1] + "AEIMQUYcgkosw048"[("AEIMQUYcgkosw048".index(sig[-1]) + 1) % 16]
    last_value = (
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(sig[-1]) | 1
    )
    trailing = (
        sig[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last_value]
    )
    return {
        "sig=": f"{header}.{payload}.{sig}=",
        "sig==": f"{header}.{payload}.{sig}==",
        "sig!!!!": f"{header}.{payload}.{sig[:100]}!!!!{sig[100:]}",
        "sig-inner-=": f"{header}.{payload}.{sig[:100]}={sig[100:]}",
        "sig-space": f"{header}.{payload}.{sig[:100]} {sig[100:]}",
        "sig-newline": f"{header}.{payload}.{sig[:100]}\n{sig[100:]}",
        "sig-plus-slash": f"{header}.{payload}.{sig.replace('-', '+').replace('_', '/')}",
        "sig-trailing-bits": f"{header}.{payload}.{trailing}",
        "sig-length-1-mod-4": f"{header}.{payload}.{sig}AAA",
        "header=": f"{header}=.{payload}.{sig}",
        "payload!": f"{header}.{payload}!.{sig}",
        "rotated-trailing-bits": f"{header}.{payload}.{flipped_bits}",
    }


@pytest.mark.anyio
async def test_other_spellings_of_a_token_are_refused_before_rsa(
    issuer: Issuer, clock: ManualClock
) -> None:
    """Padding, characters outside base64url, whitespace and non-zero trailing bits in any
    segment make a token malformed: no variant verifies as the genuine session, none is
    remembered (so none can evict another session) and none costs an RSA check."""
    verifier = make_verifier(issuer, clock)
    token = issuer.mint()
    genuine = await verifier.verify(token)
    variants = _variants(token)
    assert len(set(variants.values()) | {token}) == len(variants) + 1
    for name, variant in variants.items():
        if name == "sig-plus-slash" and variant == token:
            continue  # this signature happened to hold no '-' or '_'
        with pytest.raises(Unauthenticated) as info:
            await verifier.verify(variant)
        assert info.value.reason == "malformed", name
        assert verifier.remembered(variant) is None, name
    assert len(verifier.memo) == 1
    assert token in verifier.memo
    assert verifier.remembered(token) is genuine


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@given(st.binary(max_size=64))
def test_b64decode_reads_back_the_canonical_encoding(data: bytes) -> None:
    """Every byte string's unpadded base64url encoding decodes back to it."""
    assert b64decode(base64.urlsafe_b64encode(data).rstrip(b"=")) == data


@given(st.text(alphabet=_ALPHABET + "=+/! \n.", max_size=24))
def test_b64decode_accepts_one_spelling_per_byte_string(text: str) -> None:
    """Whatever b64decode accepts is exactly the canonical encoding of what it returns, so
    two different strings never decode to the same bytes."""
    try:
        data = b64decode(text)
    except ValueError:
        return
    assert base64.urlsafe_b64encode(data).rstrip(b"=").decode() == text
