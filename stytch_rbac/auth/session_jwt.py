"""Session JWTs verified locally, as the stytch SDK does it, and remembered until they expire.

Verification (reference 3.5) accepts a token only if: it is three segments of
strict, canonical base64url (alphabet ``[A-Za-z0-9_-]``, no padding, zero
unused trailing bits, so one accepted spelling per token); its header is a JSON
object saying ``alg: RS256`` (``none``, ``HS256`` and everything else are
refused before any key is looked up) and naming a ``kid`` present in Stytch's
JWKS; the RSA signature verifies; ``aud``, ``iss``, ``exp``, ``iat`` and
``nbf`` are all present; ``aud`` is (or is a list of strings containing) the
project id; ``iss`` is ``stytch.com/{project_id}`` or the API base URL;
``nbf`` and ``iat`` are not in the future and ``exp`` not in the past (each
with ``leeway``); and, with ``max_age``, ``now - iat < max_age``. Every refusal
raises :class:`~stytch_rbac.errors.Unauthenticated` with a reason code (any
token that does not parse, JSON nested too deep for the stack included, is
``malformed``) and makes no network call, except an unknown ``kid``, which may
refetch the JWKS (at most once per 30 s, single flight) to pick up a rotated key.

Only a token that is genuine but expired (or older than ``max_age``) is
reported as :class:`StaleJWT`, for the caller to send to Stytch's
``sessions/authenticate``.

It is tested against PyJWT's ``jwt.decode`` with the SDK's options as an
oracle (``tests/auth/test_session_jwt_differential.py``): every token PyJWT
refuses is refused here. Deliberately stricter than PyJWT:

1. segments must be unpadded (PyJWT 2.15 accepts correct ``=`` padding, so
   ``sig`` and ``sig==`` verify as one token; it refuses, as this library does,
   characters outside the alphabet and non-zero trailing bits);
2. ``exp``, ``iat`` and ``nbf`` must be JSON numbers (PyJWT also takes numeric
   strings and booleans through ``int()``), and ``exp`` a time ``datetime``
   can hold;
3. a ``crit`` header, or a ``b64`` header other than ``true``, is refused
   (PyJWT understands the ``b64`` extension; Stytch never uses either);
4. the payload must carry Stytch's session claims (``sub``, the session and
   organization objects, roles as a list of strings).

Verified tokens are remembered until their ``exp`` (or until ``max_age``), at most
``memo_size`` of them (0: none), keyed by the token string itself: a repeated token
costs one dict look-up and one clock read (:mod:`stytch_rbac.auth.memo` says how it
is keyed and what it evicts).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.hashes import SHA256

from ..clock import Clock, SystemClock
from ..errors import Unauthenticated
from ..principal import Principal
from .claims import REQUIRED_CLAIMS, b64decode, principal_from_claims
from .jwks import JWKSCache
from .memo import TokenMemo

__all__ = ["SessionJWTVerifier", "StaleJWT"]

_PADDING: Final = padding.PKCS1v15()
_SHA256: Final = SHA256()


class StaleJWT(Exception):
    """A genuine session JWT that is expired or older than ``max_age``: ask Stytch."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        #: "expired" or "too_old".
        self.reason = reason


def _require_token(token: object) -> None:
    if not isinstance(token, str):
        raise TypeError(f"a session JWT is a str, got {type(token).__name__}")
    if not token:
        raise Unauthenticated("missing", "no session JWT")


def _numeric_date(value: Any) -> int | None:
    """A JWT NumericDate (a JSON number, RFC 7519 section 2) as whole seconds, else None."""
    if type(value) is int:
        return value
    if type(value) is float and math.isfinite(value):
        return int(value)
    return None


class SessionJWTVerifier:
    """Verify Stytch session JWTs locally and turn them into Principals (see module docs)."""

    def __init__(
        self,
        *,
        project_id: str,
        base_url: str,
        jwks: JWKSCache,
        clock: Clock | None = None,
        leeway: float = 0,
        max_age: float | None = None,
        memo_size: int = 10_000,
    ) -> None:
        if leeway < 0:
            raise ValueError(f"leeway must be >= 0, got {leeway!r}")
        if max_age is not None and max_age < 0:
            raise ValueError(f"jwt_max_age must be >= 0 or None, got {max_age!r}")
        self.project_id = project_id
        self.issuers: frozenset[str] = frozenset({f"stytch.com/{project_id}", base_url.rstrip("/")})
        self.jwks = jwks
        self.leeway: float = float(leeway)
        self.max_age = max_age
        self._clock: Clock = clock or SystemClock()
        self.memo: TokenMemo[Principal] = TokenMemo(memo_size)

    @property
    def memo_size(self) -> int:
        """At most this many verified tokens are remembered (0: none)."""
        return self.memo.size

    @memo_size.setter
    def memo_size(self, size: int) -> None:
        self.memo.size = size

    def forget(self, kids: Collection[str] | None = None) -> None:
        """Drop the remembered tokens verified with one of ``kids`` (every one with None),
        e.g. after those signing keys were withdrawn."""
        self.memo.forget(kids)

    def remembered(self, token: str) -> Principal | None:
        """The Principal of ``token`` if it was verified before and is still valid, else None."""
        return self.memo.get(token, self._clock.time())

    async def verify(self, token: str) -> Principal:
        """The Principal for a valid ``token``.

        Raises :class:`Unauthenticated` for anything not genuine and valid,
        :class:`StaleJWT` for a genuine token that is expired or too old, and
        :class:`StytchUnavailable` when the JWKS cannot be fetched at all.
        """
        _require_token(token)
        principal = self.remembered(token)
        if principal is not None:
            return principal
        header, payload, signing_input, signature = self._split(token)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("forged", "the JWT header names no signing key (kid)")
        key = await self.jwks.key(kid)
        if key is None:
            raise Unauthenticated("forged", "the JWT is signed with a key Stytch does not publish")
        try:
            key.verify(signature, signing_input, _PADDING, _SHA256)
        except InvalidSignature:
            raise Unauthenticated("forged", "the JWT signature does not verify") from None
        exp, iat = self._check_claims(payload)
        try:
            principal = principal_from_claims(payload, session_jwt=token)
        except (ValueError, TypeError, OverflowError) as exc:
            raise Unauthenticated("malformed", f"session JWT {exc}") from None
        valid_until = exp + self.leeway
        if self.max_age is not None:
            valid_until = min(valid_until, iat + self.max_age)
        self.memo.put(token, principal, valid_until, kid, self._clock.time())
        return principal

    @staticmethod
    def _split(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
        try:
            raw = token.encode("ascii")
        except UnicodeEncodeError:
            raise Unauthenticated("malformed", "the JWT is not ASCII") from None
        if raw.count(b".") != 2:
            raise Unauthenticated("malformed", "a JWT has three dot-separated segments")
        signing_input, _, crypto = raw.rpartition(b".")
        header_segment, _, payload_segment = signing_input.partition(b".")
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
        try:
            signature = b64decode(crypto)
        except ValueError:
            raise Unauthenticated("malformed", "the JWT signature is not base64url") from None
        try:
            payload = json.loads(b64decode(payload_segment))
        except (ValueError, RecursionError):
            raise Unauthenticated("malformed", "the JWT payload is not base64url JSON") from None
        if not isinstance(payload, dict):
            raise Unauthenticated("malformed", "the JWT payload is not a JSON object")
        return header, payload, signing_input, signature

    def _check_claims(self, payload: Mapping[str, Any]) -> tuple[int, int]:
        """PyJWT's checks with the SDK's options; returns (exp, iat). Raises or signals stale."""
        for claim in REQUIRED_CLAIMS:
            if payload.get(claim) is None:
                raise Unauthenticated("malformed", f"the JWT has no {claim!r} claim")
        exp = _numeric_date(payload["exp"])
        iat = _numeric_date(payload["iat"])
        nbf = _numeric_date(payload["nbf"])
        if exp is None or iat is None or nbf is None:
            raise Unauthenticated("malformed", "the JWT's exp, iat and nbf must be numbers")
        aud = payload["aud"]
        audiences = [aud] if isinstance(aud, str) else aud
        if (
            not isinstance(audiences, list)
            or self.project_id not in audiences
            or not all(isinstance(a, str) for a in audiences)
        ):
            raise Unauthenticated("invalid_claims", "the JWT audience is not this project")
        iss = payload["iss"]
        if not isinstance(iss, str) or iss not in self.issuers:
            raise Unauthenticated("invalid_claims", "the JWT issuer is not this project's")
        if "jti" in payload and not isinstance(payload["jti"], str):
            raise Unauthenticated("malformed", "the JWT's jti is not a string")
        now = self._clock.time()
        if iat > now + self.leeway or nbf > now + self.leeway:
            raise Unauthenticated("invalid_claims", "the JWT is not valid yet (iat/nbf)")
        if exp <= now - self.leeway:
            raise StaleJWT("expired")
        if self.max_age is not None and now - iat >= self.max_age:
            raise StaleJWT("too_old")
        return exp, iat
