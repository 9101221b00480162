"""Remote authentication (Stytch's ``sessions/authenticate``) that a flood of bogus credentials
cannot turn into a flood of calls, nor into a denial of service for everything else.

Every session token, and every expired JWT, costs a call to Stytch; an attacker sending random
``stytch_session`` cookies chooses how many. :class:`RemoteAuthenticator` bounds what that costs:

* **Bounded concurrency.** At most ``concurrency`` calls are in flight; the others wait for a
  slot. The wait counts against the call's ``timeout`` (a caller waits at most ``timeout``
  seconds in all, then gets :class:`~stytch_rbac.errors.StytchUnavailable`), so a flood queues
  for a bounded time and never holds more than ``concurrency`` connections: the facade gives
  its pool that many connections on top of the ones policy and JWKS fetches use.
* **Refusals remembered briefly.** When Stytch says a credential is not valid
  (:class:`~stytch_rbac.errors.Unauthenticated`: not found, revoked, malformed), that verdict is
  kept for ``failure_ttl`` seconds, keyed by the SHA-256 of the credential (never the
  credential itself), in a bounded memory (``failure_cache_size`` digests, oldest first out).
  A replayed bogus cookie then costs a hash and a dict look-up; replayed by many requests at
  once, it costs at most ``concurrency`` calls (a call that waited for a slot looks again).
  A refusal cannot turn into an allow by being remembered, and Stytch being unavailable is
  never remembered as a refusal.

It never speaks HTTP itself: the facade gives it the call (``_stytch``'s endpoint).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import anyio

from ..clock import Clock
from ..errors import StytchUnavailable, Unauthenticated

__all__ = [
    "DEFAULT_FAILURE_CACHE_SIZE",
    "DEFAULT_FAILURE_TTL",
    "DEFAULT_REMOTE_AUTH_CONCURRENCY",
    "RemoteAuthenticator",
    "SessionsAuthenticate",
]

#: Calls to ``sessions/authenticate`` in flight at once, by default.
DEFAULT_REMOTE_AUTH_CONCURRENCY: Final = 32
#: Seconds a credential Stytch refused is remembered as refused, by default.
DEFAULT_FAILURE_TTL: Final = 10.0
#: How many refused credentials (their digests) are remembered, by default.
DEFAULT_FAILURE_CACHE_SIZE: Final = 10_000

SessionsAuthenticate = Callable[[Mapping[str, str], float], Awaitable[Mapping[str, Any]]]
"""``(body, timeout) -> Stytch's answer``: one ``sessions/authenticate`` call within ``timeout``."""


class RemoteAuthenticator:
    """``sessions/authenticate`` with bounded concurrency and a brief memory of refusals.

    ``call`` sends one request (see :data:`SessionsAuthenticate`); ``timeout`` bounds each
    :meth:`authenticate`, the wait for a slot included; ``clock`` times the memory.
    """

    __slots__ = (
        "_call",
        "_clock",
        "_limiter",
        "_refused",
        "concurrency",
        "failure_cache_size",
        "failure_ttl",
        "timeout",
    )

    def __init__(
        self,
        call: SessionsAuthenticate,
        *,
        timeout: float,
        clock: Clock,
        concurrency: int = DEFAULT_REMOTE_AUTH_CONCURRENCY,
        failure_ttl: float = DEFAULT_FAILURE_TTL,
        failure_cache_size: int = DEFAULT_FAILURE_CACHE_SIZE,
    ) -> None:
        _check_count(concurrency, "remote_auth_concurrency")
        _check_count(failure_cache_size, "remote_auth_failure_cache_size")
        if not failure_ttl >= 0:
            raise ValueError(f"remote_auth_failure_ttl must be >= 0 seconds, got {failure_ttl!r}")
        self._call = call
        self._clock = clock
        self.timeout: float = timeout
        self.concurrency: int = concurrency
        self.failure_ttl: float = float(failure_ttl)
        self.failure_cache_size: int = failure_cache_size
        # Made on first use, inside an event loop (anyio's limiter needs one), and again
        # after reset() (a facade opened again, perhaps on another loop).
        self._limiter: anyio.CapacityLimiter | None = None
        # digest -> (when Stytch refused it, the refusal)
        self._refused: OrderedDict[bytes, tuple[float, Unauthenticated]] = OrderedDict()

    def __repr__(self) -> str:
        return (
            f"<RemoteAuthenticator concurrency={self.concurrency} "
            f"remembered_refusals={len(self._refused)}>"
        )

    def reset(self) -> None:
        """Forget the limiter (rebuilt on next use): for a facade opened again."""
        self._limiter = None

    async def authenticate(self, body: Mapping[str, str]) -> Mapping[str, Any]:
        """Stytch's answer for ``body`` (one credential), or the refusal it gave recently."""
        digest = _digest(body)
        self._raise_if_refused(digest)
        try:
            return await self._send(body, digest)
        except Unauthenticated as exc:
            # A copy is kept: the original's traceback holds the frames that held the
            # credential, which must not stay in memory with it.
            self._remember(digest, _copy(exc))
            raise

    def _raise_if_refused(self, digest: bytes) -> None:
        refused = self._refused.get(digest)
        if refused is None:
            return
        refused_at, error = refused
        if self._clock.time() - refused_at < self.failure_ttl:
            raise _copy(error)
        del self._refused[digest]

    async def _send(self, body: Mapping[str, str], digest: bytes) -> Mapping[str, Any]:
        limiter = self._limiter
        if limiter is None:
            limiter = self._limiter = anyio.CapacityLimiter(self.concurrency)
        deadline = anyio.current_time() + self.timeout
        with anyio.move_on_after(self.timeout) as waiting:
            await limiter.acquire()
        if waiting.cancelled_caught:  # no slot was taken
            raise self._busy()
        try:
            # Looked up again: while this call waited for a slot, the same credential
            # (a cookie replayed by many requests at once) may have been refused.
            self._raise_if_refused(digest)
            left = deadline - anyio.current_time()
            if left <= 0:  # a slot, but no time left to use it
                raise self._busy()
            return await self._call(body, left)
        finally:
            limiter.release()

    def _busy(self) -> StytchUnavailable:
        return StytchUnavailable(
            f"remote authentication: all {self.concurrency} slots stayed busy for "
            f"{self.timeout:g}s (Stytch slow, or a flood of credentials to check)"
        )

    def _remember(self, digest: bytes, error: Unauthenticated) -> None:
        if self.failure_ttl <= 0:
            return
        self._refused[digest] = (self._clock.time(), error)
        self._refused.move_to_end(digest)
        while len(self._refused) > self.failure_cache_size:
            self._refused.popitem(last=False)


def _digest(body: Mapping[str, str]) -> bytes:
    """SHA-256 of the credential, with its kind (a token and a JWT never share a digest)."""
    h = hashlib.sha256()
    for name in sorted(body):
        h.update(name.encode())
        h.update(b"\0")
        h.update(body[name].encode())
        h.update(b"\0")
    return h.digest()


def _copy(error: Unauthenticated) -> Unauthenticated:
    """A fresh exception for each remembered refusal, every attribute kept (one object raised
    many times would pile every raise onto its traceback)."""
    clone = Unauthenticated.__new__(type(error))
    clone.args = error.args
    clone.__dict__.update(error.__dict__)
    return clone


def _check_count(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
