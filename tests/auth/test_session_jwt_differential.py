"""The hand-written verifier against PyJWT's own, on random well-formed and mutated tokens.

The oracle is what the stytch SDK runs (``stytch/shared/jwt_helpers.py``): the key for the
header's ``kid`` from PyJWT's ``PyJWKSet``, then ``jwt.decode(token, key,
algorithms=["RS256"], audience=project_id, issuer=[...], options={"require": ["aud",
"iss", "exp", "iat", "nbf"]})``. Both sides run on the real clock; every time claim is
drawn at least 10 minutes from now, so the two never straddle a boundary.

The property: a token this library accepts, PyJWT accepts too (as the same member); a
token PyJWT accepts and this library refuses is one of the deliberate strictness cases
below, recognised from the token itself (not from the verifier's answer). Deliberately
stricter than PyJWT (docs/caching.md lists them for users too):

1. ``non-canonical base64url``: a segment with ``=`` padding. PyJWT 2.15 (the version
   in constraints.txt; it fixed GHSA-hxm8-2xgr-2p9m) refuses characters outside
   ``[A-Za-z0-9_-]`` and non-zero trailing bits as this library does, but accepts
   correct padding (some issuers send it), so ``sig`` and ``sig==`` verify as one
   token there; Stytch never pads;
2. ``time claim not a number``: ``exp``, ``iat`` or ``nbf`` a string, a boolean or
   anything but a JSON number (PyJWT takes whatever ``int()`` takes: ``"1800000000"``,
   ``true``);
3. ``exp beyond datetime``: an ``exp`` past year 9999 (the Principal holds it as a
   ``datetime``);
4. ``crit or b64 header``: any ``crit`` header, or ``b64`` other than ``true`` (PyJWT
   understands RFC 7797's ``b64``; Stytch uses neither);
5. ``not a Stytch session``: no non-empty string ``sub``, no session object with an
   ``id``, no organization object with an ``organization_id``, or roles that are not a
   list of strings (PyJWT knows no Stytch claim).
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
import warnings
from datetime import UTC, datetime
from typing import Any

import anyio
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from stytch_rbac.auth import ORGANIZATION_CLAIM, SESSION_CLAIM, StaleJWT
from stytch_rbac.clock import SystemClock
from stytch_rbac.errors import Unauthenticated

from .tokens import BASE_URL, PROJECT, Issuer, make_verifier, signed

ISSUERS = [f"stytch.com/{PROJECT}", BASE_URL]
_CANONICAL = re.compile(r"[A-Za-z0-9_-]*")


# -- the oracle and the listed differences -------------------------------------------------------


def pyjwt_verdict(token: str, jwk_set: pyjwt.PyJWKSet) -> dict[str, Any] | None:
    """The payload PyJWT accepts ``token`` with, as the stytch SDK calls it; None if refused."""
    try:
        key = jwk_set[pyjwt.get_unverified_header(token)["kid"]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            payload: dict[str, Any] = pyjwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=PROJECT,
                issuer=ISSUERS,
                options={"require": ["aud", "iss", "exp", "iat", "nbf"]},
            )
    except Exception:  # any refusal (PyJWT lets a few non-PyJWTError escape: OverflowError)
        return None
    return payload


def _canonical(segment: str) -> bool:
    if not _CANONICAL.fullmatch(segment) or len(segment) % 4 == 1:
        return False
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode() == segment


def _is_number(value: Any) -> bool:
    return type(value) is int or (type(value) is float and math.isfinite(value))


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def deliberate_difference(token: str) -> str | None:
    """Which listed strictness case ``token`` falls under (module docs), or None."""
    segments = token.split(".")
    if not all(_canonical(s) for s in segments):
        return "non-canonical base64url"
    header = json.loads(base64.urlsafe_b64decode(segments[0] + "=" * (-len(segments[0]) % 4)))
    payload = json.loads(base64.urlsafe_b64decode(segments[1] + "=" * (-len(segments[1]) % 4)))
    if "crit" in header or header.get("b64", True) is not True:
        return "crit or b64 header"
    if not all(_is_number(payload[c]) for c in ("exp", "iat", "nbf")):
        return "time claim not a number"
    try:
        datetime.fromtimestamp(int(payload["exp"]), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return "exp beyond datetime"
    session = payload.get(SESSION_CLAIM)
    org = payload.get(ORGANIZATION_CLAIM)
    roles = session.get("roles") if isinstance(session, dict) else None
    if (
        not _nonempty_str(payload.get("sub"))
        or not isinstance(session, dict)
        or not _nonempty_str(session.get("id"))
        or not isinstance(org, dict)
        or not _nonempty_str(org.get("organization_id"))
        or not (
            roles is None or (isinstance(roles, list) and all(isinstance(r, str) for r in roles))
        )
    ):
        return "not a Stytch session"
    return None


# -- token strategies ----------------------------------------------------------------------------

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

#: Seconds from now for time claims: never within 10 minutes of now.
OFFSETS = st.sampled_from([-(10**6), -3600, -600, 600, 3600, 10**6])

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([1e300, -1e300, math.inf, -math.inf, math.nan, 10**400, 2.5e11, 1.5]),
    st.text(max_size=8),
    st.sampled_from(["1800000000", " 42 ", "1_000", PROJECT, ISSUERS[0], ISSUERS[1], ""]),
    st.lists(st.sampled_from([PROJECT, "other", 1, None]), max_size=3),
    st.dictionaries(st.sampled_from(["id", "organization_id", "roles"]), st.text(max_size=4)),
)


@st.composite
def payloads(draw: st.DrawFn, changes: bool = True) -> dict[str, Any]:
    """A Stytch session payload around now, some of its claims changed or removed."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": draw(st.sampled_from(ISSUERS)),
        "aud": draw(st.sampled_from([[PROJECT], PROJECT, [PROJECT, "other"]])),
        "sub": "member-test-1",
        "iat": now + draw(st.sampled_from([-(10**6), -3600, -600])),
        "nbf": now + draw(st.sampled_from([-(10**6), -3600, -600])),
        "exp": now + draw(st.sampled_from([600, 3600, 10**6])),
        SESSION_CLAIM: {"id": "session-test-1", "roles": ["stytch_member", "editor"]},
        ORGANIZATION_CLAIM: {"organization_id": "organization-test-1", "slug": "acme"},
    }
    if draw(st.booleans()):
        payload["jti"] = "jti-1"
    names = ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", SESSION_CLAIM, ORGANIZATION_CLAIM]
    changed = draw(st.lists(st.sampled_from(names), max_size=3)) if changes else []
    for name in changed:
        change = draw(st.sampled_from(["delete", "odd", "time"]))
        if change == "delete":
            payload.pop(name, None)
        elif change == "time" and name in ("iat", "nbf", "exp"):
            payload[name] = now + draw(OFFSETS) + draw(st.sampled_from([0, 0.5]))
        else:
            payload[name] = draw(ODD_VALUES)
    if changes and draw(st.integers(0, 9)) == 0:
        payload[SESSION_CLAIM] = {"id": "session-test-1", "roles": draw(ODD_VALUES)}
    return payload


@st.composite
def headers(draw: st.DrawFn, changes: bool = True) -> dict[str, Any]:
    """An RS256 header naming k1, or one of its changes (alg, kid, typ, crit, b64)."""
    header: dict[str, Any] = {"alg": "RS256", "kid": "k1"}
    if draw(st.booleans()):
        header["typ"] = draw(st.sampled_from(["JWT", "jwt", "at+jwt", 1]))
    change = draw(st.integers(0, 14)) if changes else -1
    if change == 0:
        header["alg"] = draw(st.sampled_from(["HS256", "none", "RS512", "rs256", "", None, 256]))
    elif change == 1:
        header["kid"] = draw(st.sampled_from(["k2", "evil", "unknown", "", None, 5, ["k1"]]))
    elif change == 2:
        header.pop("kid")
    elif change == 3:
        header["crit"] = draw(st.sampled_from([["b64"], [], ["exp"], "b64"]))
        if draw(st.booleans()):
            header["b64"] = draw(st.booleans())
    elif change == 4:
        header["b64"] = draw(st.sampled_from([True, False, 1, "false"]))
    return header


def _json(obj: Any, draw: st.DrawFn, changes: bool = True) -> str:
    """``obj`` as JSON text, sometimes with a duplicate key, whitespace or deep nesting."""
    text = json.dumps(obj, separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])))
    form = draw(st.integers(0, 12)) if changes else -1
    if form == 0 and text.startswith("{") and len(text) > 2:
        # A duplicate key: which one wins must not differ between the two parsers.
        key = draw(st.sampled_from(["sub", "kid", "alg", "exp", "aud"]))
        text = "{" + json.dumps(key) + ":" + json.dumps(draw(ODD_VALUES)) + "," + text[1:]
    elif form == 1 and text.startswith("{") and len(text) > 2:
        depth = draw(st.sampled_from([10, 500, 5000]))
        text = '{"deep":' + "[" * depth + "]" * depth + "," + text[1:]
    elif form == 2:
        text = draw(st.sampled_from(["[1, 2]", '"text"', "42", "null", "{", ""]))
    return text


def _segment(text: str, padded: bool = False) -> str:
    encoded = base64.urlsafe_b64encode(text.encode()).decode()
    return encoded if padded else encoded.rstrip("=")


#: Respellings of a segment: what a lenient decoder skips (padding, characters outside the
#: alphabet) put into the signature, text added at the end or inserted, a character
#: replaced or the last one (its trailing bits) changed, the standard alphabet, a cut.
MUTATIONS = (
    "junk-in-signature",
    "append",
    "insert",
    "replace",
    "last",
    "standard-alphabet",
    "truncate",
)


def _bytes_segment(data: bytes, padded: bool) -> str:
    encoded = base64.urlsafe_b64encode(data).decode()
    return encoded if padded else encoded.rstrip("=")


def _mutate(token: str, draw: st.DrawFn, kind: str | None = None) -> str:
    """``token`` with one segment respelled (the signature most often: it is not signed)."""
    parts = token.split(".")
    kind = kind or draw(st.sampled_from(MUTATIONS))
    which = 2 if kind == "junk-in-signature" else draw(st.sampled_from([2, 2, 1, 0]))
    seg = parts[which]
    at = draw(st.integers(0, max(0, len(seg) - 1)))
    if kind == "junk-in-signature":
        # In fours (or padding): a lenient decoder counts them when it pads, then skips them.
        junk = draw(st.sampled_from(["=", "==", "!!!!", "    ", "\n\n\n\n", "éé", "$$$$", " "]))
        seg = seg + junk if draw(st.booleans()) else seg[:at] + junk + seg[at:]
    elif kind == "append":
        seg += draw(st.sampled_from(["=", "==", "===", "!!!!", " ", "\n", "A", "AA", "AAA"]))
    elif kind == "insert":
        seg = seg[:at] + draw(st.sampled_from(["=", "!", " ", "\n", "+", "/", ".", "é"])) + seg[at:]
    elif kind == "replace" and seg:
        seg = seg[:at] + draw(st.sampled_from(_ALPHABET)) + seg[at + 1 :]
    elif kind == "last" and seg:
        seg = seg[:-1] + draw(st.sampled_from(_ALPHABET))  # trailing bits and last byte
    elif kind == "standard-alphabet":
        seg = seg.replace("-", "+").replace("_", "/")
    elif kind == "truncate":
        seg = seg[: draw(st.integers(0, len(seg)))]
    parts[which] = seg
    return ".".join(parts)


@st.composite
def tokens(draw: st.DrawFn, keys: dict[str, rsa.RSAPrivateKey]) -> str:
    """A token signed by k1, k2 or an unpublished key over a well-formed header and payload
    or over changed ones (as JSON text, maybe oddly written), maybe respelled afterwards."""
    mode = draw(
        st.sampled_from(["well-formed", "changed", "respelled", "junk-in-signature", "padded"])
    )
    changes = mode == "changed"
    padded = mode == "padded"  # every segment with its '=' padding, signed as such
    header_text = _json(draw(headers(changes)), draw, changes)
    payload_text = _json(draw(payloads(changes)), draw, changes)
    signing_input = f"{_segment(header_text, padded)}.{_segment(payload_text, padded)}"
    signer = keys[draw(st.sampled_from(["k1", "k1", "k1", "k2", "evil"]))]
    signature = signer.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    token = f"{signing_input}.{_bytes_segment(signature, padded)}"
    if mode == "respelled":
        return _mutate(token, draw)
    if mode == "junk-in-signature":
        return _mutate(token, draw, "junk-in-signature")
    return token


# -- the property ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(keys: dict[str, rsa.RSAPrivateKey]) -> tuple[Issuer, pyjwt.PyJWKSet]:
    """An issuer publishing k1 and k2, and the same JWKS as PyJWT's PyJWKSet."""
    issuer = Issuer(keys)
    issuer.published = ["k1", "k2"]
    return issuer, pyjwt.PyJWKSet.from_dict(issuer.document())


async def ours(issuer: Issuer, token: str) -> tuple[str, str | None]:
    """This library's verdict: ("accepted", member id) or ("refused", reason)."""
    verifier = make_verifier(issuer, SystemClock())
    try:
        principal = await verifier.verify(token)
    except Unauthenticated as exc:
        return "refused", exc.reason
    except StaleJWT as exc:
        return "refused", f"stale: {exc.reason}"
    return "accepted", principal.member_id


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_token_pyjwt_refuses_is_refused(
    anyio_backend: str,
    keys: dict[str, rsa.RSAPrivateKey],
    published: tuple[Issuer, pyjwt.PyJWKSet],
    data: st.DataObject,
) -> None:
    """A token accepted here is accepted by PyJWT as the same member; a token PyJWT accepts
    and this library refuses falls under one of the listed deliberate differences."""
    issuer, jwk_set = published
    token = data.draw(tokens(keys))
    theirs = pyjwt_verdict(token, jwk_set)
    verdict, detail = anyio.run(ours, issuer, token, backend=anyio_backend)
    note(f"ours: {verdict} ({detail}); PyJWT: {'accepted' if theirs else 'refused'}")
    if verdict == "accepted":
        assert theirs is not None, "accepted here, refused by PyJWT"
        assert detail == theirs["sub"]
        event("both accept")
    elif theirs is not None:
        reason = deliberate_difference(token)
        assert reason is not None, f"PyJWT accepts, refused here ({detail}) for no listed reason"
        event(f"stricter: {reason}")
    else:
        event("both refuse")


@pytest.mark.anyio
async def test_the_oracle_accepts_a_genuine_token(
    published: tuple[Issuer, pyjwt.PyJWKSet],
) -> None:
    """The oracle is not vacuous: a well-formed token is accepted by both sides."""
    issuer, jwk_set = published
    now = int(time.time())
    payload = {
        "iss": ISSUERS[0],
        "aud": [PROJECT],
        "sub": "member-test-1",
        "iat": now - 600,
        "nbf": now - 600,
        "exp": now + 600,
        SESSION_CLAIM: {"id": "session-test-1", "roles": []},
        ORGANIZATION_CLAIM: {"organization_id": "organization-test-1"},
    }
    token = issuer.mint(payload)
    assert pyjwt_verdict(token, jwk_set) == payload
    assert await ours(issuer, token) == ("accepted", "member-test-1")
    stretched = token + "=="
    assert pyjwt_verdict(stretched, jwk_set) == payload
    assert await ours(issuer, stretched) == ("refused", "malformed")
    assert deliberate_difference(stretched) == "non-canonical base64url"


def _session(**changes: Any) -> dict[str, Any]:
    """A valid Stytch session payload around now, with ``changes`` (None deletes)."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": ISSUERS[0],
        "aud": [PROJECT],
        "sub": "member-test-1",
        "iat": now - 600,
        "nbf": now - 600,
        "exp": now + 600,
        SESSION_CLAIM: {"id": "session-test-1", "roles": []},
        ORGANIZATION_CLAIM: {"organization_id": "organization-test-1"},
    }
    for name, value in changes.items():
        if value is None:
            payload.pop(name)
        else:
            payload[name] = value
    return payload


RS256_K1 = {"alg": "RS256", "kid": "k1"}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("header", "payload", "difference"),
    [
        pytest.param(RS256_K1, "padded", "non-canonical base64url", id="padding"),
        pytest.param(
            RS256_K1,
            {"exp": str(int(time.time()) + 600)},
            "time claim not a number",
            id="exp-numeric-string",
        ),
        pytest.param(RS256_K1, {"iat": True}, "time claim not a number", id="iat-true"),
        pytest.param(RS256_K1, {"exp": 10**12}, "exp beyond datetime", id="exp-year-33658"),
        pytest.param(
            {**RS256_K1, "crit": ["b64"], "b64": True}, {}, "crit or b64 header", id="crit-b64"
        ),
        pytest.param(RS256_K1, {SESSION_CLAIM: None}, "not a Stytch session", id="no-session"),
        pytest.param(
            RS256_K1,
            {SESSION_CLAIM: {"id": "s", "roles": "admin"}},
            "not a Stytch session",
            id="roles-not-a-list",
        ),
    ],
)
async def test_each_listed_difference_is_real(
    published: tuple[Issuer, pyjwt.PyJWKSet],
    header: dict[str, Any],
    payload: dict[str, Any] | str,
    difference: str,
) -> None:
    """Each deliberate difference in the module docs is a token PyJWT accepts and this
    library refuses, recognised as that difference."""
    issuer, jwk_set = published
    if payload == "padded":
        token = issuer.mint(_session()) + "=="
    else:
        assert isinstance(payload, dict)
        token = signed(issuer, header, _session(**payload))
    assert pyjwt_verdict(token, jwk_set) is not None
    verdict, _ = await ours(issuer, token)
    assert verdict == "refused"
    assert deliberate_difference(token) == difference
