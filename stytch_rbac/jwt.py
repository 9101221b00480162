"""Session JWTs: the JWKS cache, RS256 verification as the stytch SDK does it, claims -> Principal.

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

import base64
import binascii
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers
from cryptography.hazmat.primitives.hashes import SHA256

from ._clock import Clock, SystemClock
from .cache import RefreshingCache, Spawner
from .errors import StytchUnavailable, Unauthenticated
from .principal import Principal

__all__ = [
    "JWKS_REFETCH_INTERVAL",
    "ORGANIZATION_CLAIM",
    "SESSION_CLAIM",
    "JWKSCache",
    "SessionJWTVerifier",
    "StaleJWT",
    "parse_datetime",
    "parse_jwks",
    "principal_from_claims",
    "principal_from_member_session",
]

logger = logging.getLogger("stytch_rbac")

SESSION_CLAIM: Final = "https://stytch.com/session"
ORGANIZATION_CLAIM: Final = "https://stytch.com/organization"
RESERVED_CLAIMS: Final = frozenset({"aud", "exp", "iat", "iss", "jti", "nbf", "sub"})
REQUIRED_CLAIMS: Final = ("aud", "iss", "exp", "iat", "nbf")
#: An unknown ``kid`` refetches the JWKS at most this often (seconds).
JWKS_REFETCH_INTERVAL: Final = 30.0
_JWKS_KEY: Final = "jwks"
_PADDING: Final = padding.PKCS1v15()
_SHA256: Final = SHA256()


class StaleJWT(Exception):
    """A genuine session JWT that is expired or older than ``max_age``: ask Stytch."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        #: "expired" or "too_old".
        self.reason = reason


# -- JWKS --------------------------------------------------------------------------------------


def _b64decode(segment: str | bytes) -> bytes:
    raw = segment.encode("ascii") if isinstance(segment, str) else segment
    return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))


def _b64_int(value: Any, what: str) -> int:
    if not isinstance(value, str) or not value:
        raise ValueError(f"JWK field {what!r} is missing")
    return int.from_bytes(_b64decode(value), "big")


def parse_jwks(document: Any) -> dict[str, RSAPublicKey]:
    """``{kid: RSA public key}`` from a JWKS document (``{"keys": [...]}``).

    Keys that are not RSA signing keys, or have no ``kid``, are skipped like
    PyJWKClient does. Raises ValueError when the document is not a JWKS.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document (no 'keys' list)")
    keys: dict[str, RSAPublicKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, Mapping):
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        if jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
            continue
        if jwk.get("alg", "RS256") != "RS256":
            continue
        try:
            numbers = RSAPublicNumbers(_b64_int(jwk.get("e"), "e"), _b64_int(jwk.get("n"), "n"))
            keys[kid] = numbers.public_key()
        except (ValueError, binascii.Error) as exc:
            logger.warning("stytch_rbac: skipping unusable JWK %r: %s", kid, exc)
    return keys


class JWKSCache:
    """Stytch's signing keys by ``kid``, cached like the policy (TTL, stale-if-error).

    ``fetch()`` returns the JWKS JSON document. An unknown ``kid`` forces a
    refetch at most once per :data:`JWKS_REFETCH_INTERVAL` seconds; concurrent
    callers share it.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Any]],
        *,
        ttl: float = 300.0,
        max_stale: float = 3600.0,
        clock: Clock | None = None,
        spawn: Spawner | None = None,
        on_rotate: Callable[[], None] | None = None,
        refetch_interval: float = JWKS_REFETCH_INTERVAL,
    ) -> None:
        self._fetch = fetch
        self._clock: Clock = clock or SystemClock()
        self._on_rotate = on_rotate
        self._refetch_interval = refetch_interval
        self._last_forced: float | None = None
        self.cache: RefreshingCache[str, Mapping[str, RSAPublicKey]] = RefreshingCache(
            self._load,
            name="JWKS",
            ttl=ttl,
            max_stale=max_stale,
            clock=self._clock,
            spawn=spawn,
            on_update=self._updated,
        )

    async def _load(self, _key: str) -> Mapping[str, RSAPublicKey]:
        document = await self._fetch()
        try:
            return MappingProxyType(parse_jwks(document))
        except ValueError as exc:
            raise StytchUnavailable(f"Stytch's JWKS is unusable: {exc}") from None

    def _updated(
        self,
        _key: str,
        old: Mapping[str, RSAPublicKey] | None,
        new: Mapping[str, RSAPublicKey],
    ) -> None:
        if old is None or set(old) == set(new):
            return
        logger.info(
            "stytch_rbac: JWKS changed: kids %s -> %s", ", ".join(sorted(old)), ", ".join(new)
        )
        if self._on_rotate is not None and set(old) - set(new):
            self._on_rotate()

    async def keys(self) -> Mapping[str, RSAPublicKey]:
        """The current key set (fetched or refreshed as needed)."""
        return await self.cache.get(_JWKS_KEY)

    async def key(self, kid: str) -> RSAPublicKey | None:
        """The key for ``kid``, refetching once (rate limited) if it is unknown; None if absent."""
        keys = await self.cache.get(_JWKS_KEY)
        found = keys.get(kid)
        if found is not None:
            return found
        now = self._clock.time()
        in_flight = self.cache.loading(_JWKS_KEY)
        if not in_flight:
            if self._last_forced is not None and now - self._last_forced < self._refetch_interval:
                return None
            self._last_forced = now
            logger.info("stytch_rbac: unknown JWT kid %r, refetching the JWKS", kid)
        keys = await self.cache.load(_JWKS_KEY)
        return keys.get(kid)


# -- claims ------------------------------------------------------------------------------------

_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_datetime(value: Any) -> datetime:
    """An RFC 3339 timestamp (``...Z``, any fraction length) or epoch seconds, as aware UTC."""
    if type(value) is str:
        try:
            # Python 3.11+ reads Stytch's form ("2024-01-01T00:00:00Z") directly.
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = _parse_datetime_slow(value)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
    if isinstance(value, bool):
        raise ValueError("not a timestamp")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    raise ValueError("not a timestamp")


def _parse_datetime_slow(value: str) -> datetime:
    text = value.strip()
    if not text:
        raise ValueError("not a timestamp")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(_FRACTION.sub(r"\1", text))


def _optional_datetime(value: Any) -> datetime | None:
    try:
        return None if value is None else parse_datetime(value)
    except ValueError:
        return None


def _roles(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise ValueError("roles is not a list of strings")
    return frozenset(value)


def _factors(value: Any) -> tuple[Mapping[str, Any], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(MappingProxyType(dict(f)) for f in value if isinstance(f, dict))


def principal_from_claims(
    payload: Mapping[str, Any],
    *,
    session_jwt: str | None,
    jwt_refreshed: bool = False,
) -> Principal:
    """A Principal from a verified session JWT payload (Stytch's claim layout, reference 3.2).

    Raises ValueError naming the missing or mistyped claim.
    """
    session = payload.get(SESSION_CLAIM)
    org = payload.get(ORGANIZATION_CLAIM)
    if not isinstance(session, dict):
        raise ValueError(f"claim {SESSION_CLAIM!r} is missing")
    if not isinstance(org, dict):
        raise ValueError(f"claim {ORGANIZATION_CLAIM!r} is missing")
    member_id = payload.get("sub")
    session_id = session.get("id")
    organization_id = org.get("organization_id")
    for name, value in (
        ("sub", member_id),
        ("session id", session_id),
        ("organization_id", organization_id),
    ):
        if not isinstance(value, str) or not value:
            raise ValueError(f"claim {name!r} is missing or not a string")
    assert isinstance(member_id, str)
    assert isinstance(session_id, str)
    assert isinstance(organization_id, str)
    slug = org.get("slug")
    exp = payload["exp"]
    expires_at = _optional_datetime(session.get("expires_at")) or parse_datetime(int(exp))
    custom = {
        k: v
        for k, v in payload.items()
        if k not in RESERVED_CLAIMS and k != SESSION_CLAIM and k != ORGANIZATION_CLAIM
    }
    return Principal(
        member_id=member_id,
        organization_id=organization_id,
        organization_slug=slug if isinstance(slug, str) else "",
        roles=_roles(session.get("roles")),
        session_id=session_id,
        expires_at=expires_at,
        custom_claims=MappingProxyType(custom),
        session_jwt=session_jwt,
        jwt_refreshed=jwt_refreshed,
        started_at=_optional_datetime(session.get("started_at")),
        last_accessed_at=_optional_datetime(session.get("last_accessed_at")),
        jwt_expires_at=parse_datetime(int(exp)),
        authentication_factors=_factors(session.get("authentication_factors")),
    )


def principal_from_member_session(
    member_session: Any,
    *,
    session_jwt: str | None,
    session_token: str | None,
    jwt_refreshed: bool = False,
) -> Principal:
    """A Principal from the ``member_session`` object of a ``sessions/authenticate`` response.

    Raises ValueError naming the missing field.
    """
    if not isinstance(member_session, dict):
        raise ValueError("member_session is missing")
    values: dict[str, str] = {}
    for name in ("member_id", "organization_id", "member_session_id"):
        value = member_session.get(name)
        if not isinstance(value, str) or not value:
            raise ValueError(f"member_session.{name} is missing")
        values[name] = value
    slug = member_session.get("organization_slug")
    claims = member_session.get("custom_claims")
    return Principal(
        member_id=values["member_id"],
        organization_id=values["organization_id"],
        organization_slug=slug if isinstance(slug, str) else "",
        roles=_roles(member_session.get("roles")),
        session_id=values["member_session_id"],
        expires_at=parse_datetime(member_session.get("expires_at")),
        custom_claims=MappingProxyType(dict(claims) if isinstance(claims, dict) else {}),
        session_jwt=session_jwt or None,
        session_token=session_token or None,
        jwt_refreshed=jwt_refreshed,
        started_at=_optional_datetime(member_session.get("started_at")),
        last_accessed_at=_optional_datetime(member_session.get("last_accessed_at")),
        jwt_expires_at=_unverified_exp(session_jwt) if session_jwt else None,
        authentication_factors=_factors(member_session.get("authentication_factors")),
    )


def _unverified_exp(token: str) -> datetime | None:
    """``exp`` of a JWT Stytch itself just returned (read, not verified)."""
    try:
        payload = json.loads(_b64decode(token.split(".")[1]))
        return parse_datetime(int(payload["exp"]))
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error):
        return None


# -- verification ------------------------------------------------------------------------------


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
        self.issuers = frozenset({f"stytch.com/{project_id}", base_url.rstrip("/")})
        self.jwks = jwks
        self.leeway = float(leeway)
        self.max_age = max_age
        self.memo_size = memo_size
        self._clock: Clock = clock or SystemClock()
        # sha256(token) -> (principal, exp, iat)
        self._memo: dict[bytes, tuple[Principal, int, int]] = {}

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
            header = json.loads(_b64decode(header_segment))
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
            payload = json.loads(_b64decode(payload_segment))
            signature = _b64decode(crypto)
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
