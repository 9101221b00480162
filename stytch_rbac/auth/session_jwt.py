"""Session JWTs verified locally, as the stytch SDK does it, and remembered until they expire.

Verification (reference 3.5) accepts a token only if: it has three base64url
segments; its header says ``alg: RS256`` (``none``, ``HS256`` and everything
else are refused before any key is looked up) and names a ``kid`` present in
Stytch's JWKS; the RSA signature verifies; ``aud``, ``iss``, ``exp``, ``iat``
and ``nbf`` are all present; ``aud`` is (or contains) the project id; ``iss``
is ``stytch.com/{project_id}`` or the API base URL; ``nbf`` and ``iat`` are
not in the future and ``exp`` not in the past (each with ``leeway``); and,
with ``max_age``, ``now - iat < max_age``. Every refusal raises
:class:`~stytch_rbac.errors.Unauthenticated` with a reason code and makes no
network call, except an unknown ``kid``, which may refetch the JWKS (at most
once per 30 s, single flight) to pick up a rotated key.

Only a token that is genuine but expired (or older than ``max_age``) is
reported as :class:`StaleJWT`, for the caller to send to Stytch's
``sessions/authenticate``.

Verified tokens are remembered, keyed by the SHA-256 of the token, until their
``exp`` (bounded map): a repeated token costs one hash and one dict look-up.
"""

from __future__ import annotations

import binascii
import hashlib
import json
from collections.abc import Mapping
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


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (ValueError, TypeError, OverflowError):
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
        self.memo_size = memo_size
        self._clock: Clock = clock or SystemClock()
        # sha256(token) -> (principal, exp, iat)
        self._memo: dict[bytes, tuple[Principal, int, int]] = {}

    def __len__(self) -> int:
        """How many verified tokens are remembered."""
        return len(self._memo)

    def forget(self) -> None:
        """Drop every remembered token (e.g. after a signing key was withdrawn)."""
        self._memo.clear()

    def remembered(self, token: str, digest: bytes | None = None) -> Principal | None:
        """The Principal of ``token`` if it was verified before and is still valid, else None.

        ``digest`` (the token's SHA-256) may be passed when the caller has it already.
        """
        if digest is None:
            digest = hashlib.sha256(token.encode()).digest()
        hit = self._memo.get(digest)
        if hit is None:
            return None
        principal, exp, iat = hit
        now = self._clock.time()
        if exp <= now - self.leeway or (self.max_age is not None and now - iat >= self.max_age):
            del self._memo[digest]
            return None
        return principal

    async def verify(self, token: str, *, digest: bytes | None = None) -> Principal:
        """The Principal for a valid ``token``.

        Raises :class:`Unauthenticated` for anything not genuine and valid,
        :class:`StaleJWT` for a genuine token that is expired or too old, and
        :class:`StytchUnavailable` when the JWKS cannot be fetched at all.
        """
        _require_token(token)
        if digest is None:
            digest = hashlib.sha256(token.encode()).digest()
        principal = self.remembered(token, digest)
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
        self._remember(digest, principal, exp, iat)
        return principal

    def _remember(self, digest: bytes, principal: Principal, exp: int, iat: int) -> None:
        memo = self._memo
        if len(memo) >= self.memo_size:
            # Drop the oldest tenth: amortized O(1) per insert, and still bounded.
            for oldest in list(memo)[: max(1, self.memo_size // 10)]:
                del memo[oldest]
        memo[digest] = (principal, exp, iat)

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
        except (ValueError, binascii.Error):
            raise Unauthenticated("malformed", "the JWT header is not base64url JSON") from None
        if not isinstance(header, dict):
            raise Unauthenticated("malformed", "the JWT header is not a JSON object")
        alg = header.get("alg")
        if alg != "RS256":
            shown = alg if isinstance(alg, str) and len(alg) <= 16 else type(alg).__name__
            raise Unauthenticated("forged", f"JWT algorithm {shown!r} is not RS256")
        if "crit" in header:
            raise Unauthenticated("malformed", "the JWT header has unsupported 'crit' extensions")
        try:
            payload = json.loads(b64decode(payload_segment))
            signature = b64decode(crypto)
        except (ValueError, binascii.Error):
            raise Unauthenticated("malformed", "the JWT payload is not base64url JSON") from None
        if not isinstance(payload, dict):
            raise Unauthenticated("malformed", "the JWT payload is not a JSON object")
        return header, payload, signing_input, signature

    def _check_claims(self, payload: Mapping[str, Any]) -> tuple[int, int]:
        """PyJWT's checks with the SDK's options; returns (exp, iat). Raises or signals stale."""
        for claim in REQUIRED_CLAIMS:
            if payload.get(claim) is None:
                raise Unauthenticated("malformed", f"the JWT has no {claim!r} claim")
        exp = _as_int(payload["exp"])
        iat = _as_int(payload["iat"])
        nbf = _as_int(payload["nbf"])
        if exp is None or iat is None or nbf is None:
            raise Unauthenticated("malformed", "the JWT's exp, iat and nbf must be integers")
        aud = payload["aud"]
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or self.project_id not in audiences:
            raise Unauthenticated("invalid_claims", "the JWT audience is not this project")
        iss = payload["iss"]
        if not isinstance(iss, str) or iss not in self.issuers:
            raise Unauthenticated("invalid_claims", "the JWT issuer is not this project's")
        now = self._clock.time()
        if iat > now + self.leeway or nbf > now + self.leeway:
            raise Unauthenticated("invalid_claims", "the JWT is not valid yet (iat/nbf)")
        if exp <= now - self.leeway:
            raise StaleJWT("expired")
        if self.max_age is not None and now - iat >= self.max_age:
            raise StaleJWT("too_old")
        return exp, iat
