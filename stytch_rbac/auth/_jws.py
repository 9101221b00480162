"""What every Stytch JWT check shares: the strict split, the RS256 signature and the
registered claims. Session JWTs (:mod:`.session_jwt`) and access tokens
(:mod:`.access_token`) are verified by these same functions, so a rule tightened here
is tightened for every kind of token.

The rules are those of :mod:`.session_jwt`'s docstring: three segments of strict,
canonical base64url; a JSON object header saying ``alg: RS256`` with a ``kid``, no
``crit`` and no ``b64`` other than true; a signature that verifies with the JWKS key of
that ``kid``; ``aud``, ``iss``, ``exp``, ``iat`` and ``nbf`` present, the times JSON
numbers, ``aud`` containing the project id, ``iss`` in an allow-list, ``nbf``/``iat``
not in the future and ``exp`` not in the past (each with ``leeway``).

A header segment that passed those checks is remembered with its ``kid`` (at most
:data:`_HEADER_MEMO_SIZE`): every token a key signs carries the same header, so a fresh
token costs one dict look-up for it instead of a base64 decode and a JSON parse. It is
a pure function of the segment's bytes, so sharing it between facades is safe; a
header that failed is never remembered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import json.scanner
import math
from collections.abc import Collection, Mapping
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ..errors import Unauthenticated
from .claims import REQUIRED_CLAIMS, b64decode
from .jwks import JWKSCache

__all__ = [
    "StaleJWT",
    "check_key_signature",
    "check_registered_claims",
    "check_signature",
    "numeric_date",
    "rs256_verifies",
    "split",
]

# Built once: cryptography takes it as an argument at every call.
_PADDING: Final = padding.PKCS1v15()
# The DER DigestInfo of a SHA-256 digest, less the digest (RFC 8017 section 9.2, note 1).
_SHA256_DIGEST_INFO: Final = bytes.fromhex("3031300d060960864801650304020105000420")
_sha256: Final = hashlib.sha256

# What json.loads calls for a str when given no options, and the scanner it parses with.
_DECODER: Final = json.JSONDecoder()
_decode_json: Final = _DECODER.decode
# typeshed types its context as a make_scanner (its own TODO): json passes the decoder.
_scan_json: Final = json.scanner.make_scanner(_DECODER)  # type: ignore[arg-type]

_HEADER_MEMO_SIZE: Final = 64
# header segment -> kid, for headers that passed every header check.
_KIDS: dict[bytes, str] = {}


class StaleJWT(Exception):
    """A genuine session JWT that is expired or older than ``max_age``: ask Stytch."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        #: "expired" or "too_old".
        self.reason = reason


def numeric_date(value: Any) -> int | None:
    """A JWT NumericDate (a JSON number, RFC 7519 section 2) as whole seconds, else None."""
    if type(value) is int:
        return value
    if type(value) is float and math.isfinite(value):
        return int(value)
    return None


def _kid_of(header_segment: bytes) -> str:
    """The ``kid`` of a header segment that passes every header check; raises otherwise."""
    try:
        header = json.loads(b64decode(header_segment))
    except (ValueError, RecursionError):
        # RecursionError: JSON nested deeper than the stack allows (a 10 KB token can
        # hold 5,000 levels); it is a malformed token, never a server error.
        raise Unauthenticated("malformed", "the JWT header is not base64url JSON") from None
    if not isinstance(header, dict):
        raise Unauthenticated("malformed", "the JWT header is not a JSON object")
    alg = header.get("alg")
    if alg != "RS256":
        shown = alg if isinstance(alg, str) and len(alg) <= 16 else type(alg).__name__
        raise Unauthenticated("forged", f"JWT algorithm {shown!r} is not RS256")
    if "crit" in header:
        raise Unauthenticated("malformed", "the JWT header has unsupported 'crit' extensions")
    if header.get("b64", True) is not True:
        raise Unauthenticated("malformed", "the JWT header's 'b64' is not true")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthenticated("forged", "the JWT header names no signing key (kid)")
    if len(_KIDS) >= _HEADER_MEMO_SIZE:
        _KIDS.clear()  # only many distinct valid headers get here; the keys' own come back
    _KIDS[header_segment] = kid
    return kid


def _json_of(raw: bytes) -> Any:
    """``json.loads(raw)``, quicker for what a JWT payload is: ``json.loads`` of bytes
    first works out their encoding (``json.detect_encoding``), and bytes that start with
    ``{`` and a non-NUL byte are UTF-8 to it, so they are decoded as it would decode them.

    A text starting with ``{`` has no whitespace to skip, so it goes straight to the
    scanner ``decode()`` would run; when the object ends the text, that is ``decode()``'s
    answer without its two whitespace regexes (0.5 µs). Anything else after the object
    (whitespace or extra data) is left to ``decode()`` itself, which accepts or raises."""
    if raw[:1] == b"{" and raw[1:2] != b"\x00":
        text = raw.decode("utf-8", "surrogatepass")
        try:
            value, end = _scan_json(text, 0)
        except StopIteration:  # nothing parsed at 0 (never for "{"): decode() raises
            return _decode_json(text)
        return value if end == len(text) else _decode_json(text)
    return json.loads(raw)


def split(token: str) -> tuple[str, dict[str, Any], bytes, bytes]:
    """``(kid, payload, signing input, signature)`` of a JWT whose header passes; raises
    :class:`Unauthenticated` (``malformed`` or ``forged``) for anything else. Nothing is
    verified yet: the payload is only read."""
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError:
        raise Unauthenticated("malformed", "the JWT is not ASCII") from None
    if raw.count(b".") != 2:
        raise Unauthenticated("malformed", "a JWT has three dot-separated segments")
    signing_input, _, crypto = raw.rpartition(b".")
    header_segment, _, payload_segment = signing_input.partition(b".")
    kid = _KIDS.get(header_segment) or _kid_of(header_segment)
    try:
        signature = b64decode(crypto)
    except ValueError:
        raise Unauthenticated("malformed", "the JWT signature is not base64url") from None
    try:
        payload = _json_of(b64decode(payload_segment))
    except (ValueError, RecursionError):
        raise Unauthenticated("malformed", "the JWT payload is not base64url JSON") from None
    if type(payload) is not dict:
        raise Unauthenticated("malformed", "the JWT payload is not a JSON object")
    return kid, payload, signing_input, signature


async def check_signature(
    jwks: JWKSCache, kid: str, signing_input: bytes, signature: bytes
) -> None:
    """Raise ``Unauthenticated("forged")`` unless the RS256 signature verifies with the
    published key ``kid`` (an unknown ``kid`` may refetch the JWKS, rate limited)."""
    key = jwks.key_now(kid) or await jwks.key(kid)
    if key is None:
        raise Unauthenticated("forged", "the JWT is signed with a key Stytch does not publish")
    check_key_signature(key, signing_input, signature)


def check_key_signature(key: RSAPublicKey, signing_input: bytes, signature: bytes) -> None:
    """Raise ``Unauthenticated("forged")`` unless the RS256 signature verifies with ``key``:
    :func:`check_signature` once the key is in hand (no coroutine when it already is)."""
    if not rs256_verifies(key, signing_input, signature):
        raise Unauthenticated("forged", "the JWT signature does not verify")


def rs256_verifies(key: RSAPublicKey, signing_input: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is the RSASSA-PKCS1-v1_5 SHA-256 signature of ``signing_input``
    by ``key``: what ``key.verify(signature, signing_input, PKCS1v15(), SHA256())`` answers.

    Done as RFC 8017 (section 8.2.2) describes it, encode and compare, and 1.3 µs
    quicker than ``verify()`` (OpenSSL 3, 2048-bit key): OpenSSL undoes the RSA and
    checks the padding (``00 01 FF..FF 00``), and the DigestInfo left must be exactly
    the one of the SHA-256 of ``signing_input``. ``verify()``'s own length rule is kept:
    a signature is exactly as long as the modulus (a leading zero byte dropped would
    otherwise still recover), so each signature has one accepted form.
    """
    if len(signature) != (key.key_size + 7) >> 3:
        return False
    try:
        recovered = key.recover_data_from_signature(signature, _PADDING, None)
    except InvalidSignature:
        return False
    return hmac.compare_digest(recovered, _SHA256_DIGEST_INFO + _sha256(signing_input).digest())


def check_registered_claims(
    payload: Mapping[str, Any],
    *,
    project_id: str,
    issuers: Collection[str],
    now: float,
    leeway: float,
    max_age: float | None = None,
) -> tuple[int, int]:
    """PyJWT's checks with the SDK's options; returns ``(exp, iat)``. Raises
    :class:`Unauthenticated` (``malformed``, ``invalid_claims``) or, for a genuine token
    past ``exp`` (or older than ``max_age``), :class:`StaleJWT`."""
    get = payload.get
    aud, iss, exp, iat, nbf = get("aud"), get("iss"), get("exp"), get("iat"), get("nbf")
    if aud is None or iss is None or exp is None or iat is None or nbf is None:
        for claim in REQUIRED_CLAIMS:  # the first one missing, in PyJWT's order
            if payload.get(claim) is None:
                raise Unauthenticated("malformed", f"the JWT has no {claim!r} claim")
    # numeric_date, with its commonest case (an int) tested here first: three calls less.
    if type(exp) is not int:
        exp = numeric_date(exp)
    if type(iat) is not int:
        iat = numeric_date(iat)
    if type(nbf) is not int:
        nbf = numeric_date(nbf)
    if exp is None or iat is None or nbf is None:
        raise Unauthenticated("malformed", "the JWT's exp, iat and nbf must be numbers")
    if isinstance(aud, str):
        audience_ok = aud == project_id
    elif isinstance(aud, list) and project_id in aud:
        audience_ok = True
        for audience in aud:  # a loop, not all(<generator>): 0.2 µs less
            if not isinstance(audience, str):
                audience_ok = False
                break
    else:
        audience_ok = False
    if not audience_ok:
        raise Unauthenticated("invalid_claims", "the JWT audience is not this project")
    if not isinstance(iss, str) or iss not in issuers:
        raise Unauthenticated("invalid_claims", "the JWT issuer is not one this project accepts")
    if "jti" in payload and not isinstance(payload["jti"], str):
        raise Unauthenticated("malformed", "the JWT's jti is not a string")
    if iat > now + leeway or nbf > now + leeway:
        raise Unauthenticated("invalid_claims", "the JWT is not valid yet (iat/nbf)")
    if exp <= now - leeway:
        raise StaleJWT("expired")
    if max_age is not None and now - iat >= max_age:
        raise StaleJWT("too_old")
    return exp, iat
