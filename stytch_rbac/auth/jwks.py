"""Stytch's signing keys: parse a JWKS document, cache it (TTL, stale-if-error), follow rotations.

An unknown ``kid`` refetches the JWKS at most once per :data:`JWKS_REFETCH_INTERVAL`
seconds (single flight), to pick up a rotated key without letting forged
tokens drive requests to Stytch.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ..cache import RefreshingCache, Spawner
from ..clock import Clock, SystemClock
from ..errors import StytchUnavailable

if TYPE_CHECKING:
    from jwt import PyJWK

__all__ = ["JWKS_REFETCH_INTERVAL", "MIN_RSA_BITS", "JWKSCache", "parse_jwks"]

logger: logging.Logger = logging.getLogger("stytch_rbac")

#: An unknown ``kid`` refetches the JWKS at most this often (seconds).
JWKS_REFETCH_INTERVAL: Final = 30.0
#: RSA keys with a shorter modulus are refused (NIST SP 800-131A; Stytch's keys are 2048).
MIN_RSA_BITS: Final = 2048
_JWKS_KEY: Final = "jwks"


def parse_jwks(document: Any) -> dict[str, RSAPublicKey]:
    """``{kid: RSA public key}`` from a JWKS document (``{"keys": [...]}``), parsed by
    PyJWT's :class:`jwt.PyJWKSet` (the stytch SDK's own parser).

    Only RS256 signing keys with a ``kid`` and a modulus of at least
    :data:`MIN_RSA_BITS` bits are kept; the others are skipped (logged), as is a second
    key with a ``kid`` already seen (the first wins, as in ``PyJWKSet[kid]``). Raises
    ValueError when the document is not a JWKS or holds no usable key, so that a broken
    answer never replaces a working key set (the cache keeps serving the old one).
    """
    # Imported here: PyJWT (with the urllib it pulls in) would add ~60 ms to `import
    # stytch_rbac`, and a JWKS is parsed once per refresh, never on a request's path.
    from jwt import PyJWKSet, PyJWTError

    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document (no 'keys' list)")
    try:
        parsed = PyJWKSet(list(document["keys"]))
    except PyJWTError as exc:
        raise ValueError(f"no usable JWK ({exc.__class__.__name__})") from None
    keys: dict[str, RSAPublicKey] = {}
    for jwk in parsed:
        kid = jwk.key_id
        problem = _unusable(jwk)
        if problem is not None:
            level, reason = problem
            logger.log(level, "stytch_rbac: skipping JWK %r: %s", kid, reason)
        elif isinstance(kid, str) and kid not in keys:
            assert isinstance(jwk.key, RSAPublicKey)  # checked by _unusable
            keys[kid] = jwk.key
    if not keys:
        raise ValueError("no usable RS256 signing key")
    return keys


def _unusable(jwk: PyJWK) -> tuple[int, str] | None:
    """Why ``jwk`` cannot verify Stytch session JWTs, with the log level to say it at (a
    WARNING for what looks like a mistake or an attack, DEBUG for another kind of key,
    which a refresh would otherwise report every few minutes); None when it can."""
    if not isinstance(jwk.key_id, str) or not jwk.key_id:
        return logging.DEBUG, "it has no kid"
    if jwk.key_type != "RSA" or jwk.algorithm_name != "RS256":
        return logging.DEBUG, f"not RS256 (kty {jwk.key_type!r}, alg {jwk.algorithm_name!r})"
    if jwk.public_key_use not in (None, "sig"):
        return logging.DEBUG, f"not a signing key (use {jwk.public_key_use!r})"
    if not isinstance(jwk.key, RSAPublicKey):
        return logging.WARNING, "not an RSA public key (a private key in a JWKS is never used)"
    if jwk.key.key_size < MIN_RSA_BITS:
        bits = jwk.key.key_size
        return logging.WARNING, f"an RSA key of {bits} bits (at least {MIN_RSA_BITS} are required)"
    return None


class JWKSCache:
    """Stytch's signing keys by ``kid``, cached like the policy (TTL, stale-if-error).

    ``fetch()`` returns the JWKS JSON document. An unknown ``kid`` forces a
    refetch at most once per :data:`JWKS_REFETCH_INTERVAL` seconds; concurrent
    callers share it. ``on_rotate(kids)`` is called with the kids a newly loaded key
    set no longer holds (whatever happened in between: a refresh, an entry past
    ``max_stale`` reloaded, an invalidation), for the verifier to forget the tokens
    it remembers under them.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Any]],
        *,
        ttl: float = 300.0,
        max_stale: float = 3600.0,
        clock: Clock | None = None,
        spawn: Spawner | None = None,
        on_rotate: Callable[[frozenset[str]], None] | None = None,
        refetch_interval: float = JWKS_REFETCH_INTERVAL,
    ) -> None:
        self._fetch = fetch
        self._clock: Clock = clock or SystemClock()
        self._on_rotate = on_rotate
        self._refetch_interval = refetch_interval
        self._last_forced: float | None = None
        self._published: frozenset[str] | None = None
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
        _old: Mapping[str, RSAPublicKey] | None,
        new: Mapping[str, RSAPublicKey],
    ) -> None:
        # Compared with the kids this cache last loaded, not with the cache's old value:
        # an entry older than max_stale is dropped before it is reloaded (and invalidate()
        # drops it too), so the cache may see no old value while tokens verified with a
        # key that is now withdrawn are still remembered by the verifier.
        kids = frozenset(new)
        previous, self._published = self._published, kids
        if previous is None or previous == kids:
            return
        logger.info(
            "stytch_rbac: JWKS changed: kids %s -> %s",
            ", ".join(sorted(previous)),
            ", ".join(sorted(kids)),
        )
        withdrawn = previous - kids
        if withdrawn and self._on_rotate is not None:
            self._on_rotate(withdrawn)

    async def keys(self) -> Mapping[str, RSAPublicKey]:
        """The current key set (fetched or refreshed as needed)."""
        return await self.cache.get(_JWKS_KEY)

    def key_now(self, kid: str) -> RSAPublicKey | None:
        """The key for ``kid`` if the key set is cached and fresh and holds it, else None (then
        :meth:`key`): a read that never waits, for the verifiers' fast path."""
        keys = self.cache.peek(_JWKS_KEY, None)
        return None if keys is None else keys.get(kid)

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
