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

1. segments must be canonical base64url (PyJWT drops characters outside the
   alphabet, accepts padding and ignores the trailing bits, so many strings
   verify as one token);
2. ``exp``, ``iat`` and ``nbf`` must be JSON numbers (PyJWT also takes numeric
   strings and booleans through ``int()``), and ``exp`` a time ``datetime``
   can hold;
3. a ``crit`` header, or a ``b64`` header other than ``true``, is refused
   (PyJWT understands the ``b64`` extension; Stytch never uses either);
4. the payload must carry Stytch's session claims (``sub``, the session and
   organization objects, roles as a list of strings).

Verified tokens are remembered until their ``exp`` (or until ``max_age``), in a
dict keyed by the token string itself, at most ``memo_size`` of them (0: none).
A repeated token costs one dict look-up and one clock read: the string's hash
is computed once per string object and the equality check is a memcmp, and the
key is the very string the Principal already holds (``session_jwt``), so it
costs no memory; a SHA-256 key would cost more per hit than the look-up itself.
Python's string hashing is keyed per process, so tokens cannot be crafted to
collide, and a collision could only cost time: keys are compared in full.
When the memo is full, expired entries go first (a heap of expiry times finds
them); if it is still full, the most recently added tenth gives way. The
residents stay until they expire, so more distinct tokens than ``memo_size``
degrade the hit rate gradually (about ``memo_size / tokens``) instead of to
zero, as evicting the oldest does when tokens come back in turn, and a burst of
new tokens cannot push every established session out.
"""

from __future__ import annotations

import heapq
import json
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
    if type(value) is float and value == value and abs(value) != float("inf"):
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
        #: At most this many tokens are remembered (0: none); read at each insertion.
        self.memo_size = memo_size
        self._clock: Clock = clock or SystemClock()
        # token -> (principal, valid until, kid it was verified with)
        self._memo: dict[str, tuple[Principal, float, str]] = {}
        # A heap of (valid until, token) for every remembered token; entries of tokens
        # evicted or forgotten since are skipped when they come up.
        self._expiries: list[tuple[float, str]] = []

    def forget(self, kids: Collection[str] | None = None) -> None:
        """Drop the remembered tokens verified with one of ``kids`` (every one with None),
        e.g. after those signing keys were withdrawn."""
        if kids is None:
            self._memo.clear()
            self._expiries.clear()
            return
        memo = self._memo
        for token in [t for t, (_, _, kid) in memo.items() if kid in kids]:
            del memo[token]

    def remembered(self, token: str) -> Principal | None:
        """The Principal of ``token`` if it was verified before and is still valid, else None."""
        hit = self._memo.get(token)
        if hit is None:
            return None
        if self._clock.time() < hit[1]:
            return hit[0]
        del self._memo[token]
        return None

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
        self._remember(token, (principal, valid_until, kid))
        return principal

    def _remember(self, token: str, entry: tuple[Principal, float, str]) -> None:
        size = self.memo_size
        if size <= 0:
            return
        memo = self._memo
        expiries = self._expiries
        now = self._clock.time()
        while expiries and expiries[0][0] <= now:
            _, old = heapq.heappop(expiries)
            held = memo.get(old)
            if held is not None and held[1] <= now:
                del memo[old]
        if token not in memo and len(memo) >= size:
            # Full of live entries: the newest tenth gives way and the residents stay
            # (see the module docs). Amortized O(1): one batch per size // 10 insertions.
            for _ in range(min(len(memo), max(1, size // 10, len(memo) - size + 1))):
                memo.popitem()
        memo[token] = entry
        heapq.heappush(expiries, (entry[1], token))
        if len(expiries) > 2 * size + 64:
            # Entries of evicted tokens linger until they expire: rebuild from the memo
            # (O(size), once per `size` evictions at most).
            self._expiries = [(held[1], t) for t, held in memo.items()]
            heapq.heapify(self._expiries)

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
