"""Stytch's signing keys: parse a JWKS document, cache it (TTL, stale-if-error), follow rotations.

An unknown ``kid`` refetches the JWKS at most once per :data:`JWKS_REFETCH_INTERVAL`
seconds (single flight), to pick up a rotated key without letting forged
tokens drive requests to Stytch.
"""

from __future__ import annotations

import binascii
import logging
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

from ..cache import RefreshingCache, Spawner
from ..clock import Clock, SystemClock
from ..errors import StytchUnavailable
from .claims import b64decode

__all__ = ["JWKS_REFETCH_INTERVAL", "JWKSCache", "parse_jwks"]

logger: logging.Logger = logging.getLogger("stytch_rbac")

#: An unknown ``kid`` refetches the JWKS at most this often (seconds).
JWKS_REFETCH_INTERVAL: Final = 30.0
_JWKS_KEY: Final = "jwks"


def _b64_int(value: Any, what: str) -> int:
    if not isinstance(value, str) or not value:
        raise ValueError(f"JWK field {what!r} is missing")
    return int.from_bytes(b64decode(value), "big")


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
