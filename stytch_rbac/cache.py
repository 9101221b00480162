"""An async TTL cache for values fetched from Stytch (policy, org policies, JWKS).

Semantics, per key:

* **fresh** (younger than ``ttl``): returned as is, no await, no I/O;
* **stale** (older than ``ttl``, younger than ``max_stale``): returned at once
  while exactly one refresh runs in the background (stale-while-revalidate).
  If that refresh fails the old value keeps serving (stale-if-error) and the
  next attempt waits ``retry_after_error`` seconds;
* **too old or absent**: the caller waits for a load; concurrent callers for
  the same key share one load (single flight). A failed load raises
  :class:`~stytch_rbac.errors.StytchUnavailable` (or the
  :class:`~stytch_rbac.errors.StytchRBACError` the loader raised) in every
  waiter, and is remembered for ``retry_after_error`` seconds: reads meanwhile
  raise a copy of that error without loading (an explicit :meth:`load` does
  load), so a failing Stytch sees one load per key per interval, not one per read.

The load belongs to the cache, not to the caller that happened to start it:
with a background runner (``spawn``) it runs there and every caller, the first
included, only waits for it; without one the first caller runs it shielded from
its own cancellation. Cancelling a caller (a client that went away) therefore
never abandons a load others wait on, nor makes each of them fetch again.

``maxsize`` bounds the number of keys (least recently used evicted first).
A value of ``None`` is a legitimate cached value (a negative entry such as
"this organization has no custom roles"). Only anyio primitives are used.

Failures are logged on the ``stytch_rbac`` logger, timed by the cache's clock:
a WARNING when a load fails (naming what could not be fetched, the error, and
since when loads have been failing), when a stale value starts being served
because a refresh failed, and when a stale value passes ``max_stale`` and stops
being served; at most one WARNING per ``warn_every`` seconds per cache (the
others at DEBUG, counted in the next WARNING). INFO when loads succeed again
after failures, saying how long they failed and how long a stale value was served.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import anyio

from .clock import Clock, SystemClock
from .errors import StytchRBACError, StytchUnavailable

__all__ = ["CacheStats", "RefreshingCache", "Spawner"]

logger: logging.Logger = logging.getLogger("stytch_rbac")

#: How many remembered failures a cache without ``maxsize`` keeps.
_FAILURES_WITHOUT_MAXSIZE = 1024

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")

Spawner = Callable[[Callable[[], Coroutine[Any, Any, None]]], bool]
"""Start a coroutine function in the background; False when no background runner exists."""


@dataclass(slots=True)
class CacheStats:
    """Counters for one cache: what was served and what was fetched."""

    size: int = 0
    hits: int = 0
    stale_hits: int = 0
    misses: int = 0
    loads: int = 0
    load_errors: int = 0
    evictions: int = 0
    #: Reads answered with a remembered failure (a failed load younger than
    #: ``retry_after_error``), without loading.
    failure_hits: int = 0


class _Entry(Generic[V]):
    __slots__ = ("fetched_at", "last_error_at", "stale_since", "value")

    def __init__(self, value: V, fetched_at: float) -> None:
        self.value = value
        self.fetched_at = fetched_at
        self.last_error_at: float | None = None
        # When a failed refresh made this value stale-served (None while it is not).
        self.stale_since: float | None = None


class _Outage:
    """Failed loads of one cache since its last successful load, and the WARNING limiter."""

    __slots__ = ("failures", "last_warning", "since", "suppressed")

    def __init__(self) -> None:
        self.since: float | None = None
        self.failures = 0
        self.last_warning: float | None = None
        self.suppressed = 0


class _Flight(Generic[V]):
    __slots__ = ("done", "error", "event", "value")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.done = False
        self.value: V | None = None
        self.error: BaseException | None = None


class RefreshingCache(Generic[K, V]):
    """A keyed cache with single-flight loads, stale-while-revalidate and stale-if-error.

    ``loader(key)`` fetches a value; it should raise a
    :class:`~stytch_rbac.errors.StytchRBACError` (usually ``StytchUnavailable``)
    on failure. ``spawn`` starts background refreshes; without it (or when it
    returns False) the first caller that finds a stale value refreshes inline
    while concurrent callers keep getting the stale value. After :meth:`close` the cache
    serves what it holds and refuses every load.
    """

    def __init__(
        self,
        loader: Callable[[K], Awaitable[V]],
        *,
        name: str,
        ttl: float,
        max_stale: float,
        clock: Clock | None = None,
        maxsize: int | None = None,
        retry_after_error: float = 5.0,
        spawn: Spawner | None = None,
        on_update: Callable[[K, V | None, V], None] | None = None,
        describe: Callable[[K], str] | None = None,
        warn_every: float = 60.0,
    ) -> None:
        if ttl <= 0:
            raise ValueError(f"{name}: ttl must be > 0, got {ttl!r}")
        if max_stale < ttl:
            raise ValueError(f"{name}: max_stale ({max_stale!r}) must be >= ttl ({ttl!r})")
        if maxsize is not None and maxsize < 1:
            raise ValueError(f"{name}: maxsize must be >= 1, got {maxsize!r}")
        self.name = name
        self.ttl: float = float(ttl)
        self.max_stale: float = float(max_stale)
        self.maxsize = maxsize
        self.retry_after_error: float = float(retry_after_error)
        self.stats: CacheStats = CacheStats()
        self._loader = loader
        self._clock: Clock = clock or SystemClock()
        self._spawn = spawn
        self._on_update = on_update
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._flights: dict[K, _Flight[V]] = {}
        # key -> (when, error) of its last failed load, for ``retry_after_error`` seconds.
        self._failures: OrderedDict[K, tuple[float, StytchRBACError]] = OrderedDict()
        self._closed = False
        self._describe_key = describe or (lambda _key: name)
        self.warn_every: float = float(warn_every)
        self._outage = _Outage()

    def __repr__(self) -> str:
        return f"<RefreshingCache {self.name} size={len(self._entries)} ttl={self.ttl:g}s>"

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    # -- reading ------------------------------------------------------------------------------

    def info(self) -> CacheStats:
        """A snapshot of the counters, with the current number of keys in ``size``."""
        stats = self.stats
        return CacheStats(
            size=len(self._entries),
            hits=stats.hits,
            stale_hits=stats.stale_hits,
            misses=stats.misses,
            loads=stats.loads,
            load_errors=stats.load_errors,
            evictions=stats.evictions,
            failure_hits=stats.failure_hits,
        )

    def held(self, key: K) -> tuple[V, float] | None:
        """The value held for ``key`` and when it was fetched (the cache clock's time),
        without loading, counting or refreshing; None when nothing is held."""
        entry = self._entries.get(key)
        return None if entry is None else (entry.value, entry.fetched_at)

    def holder(self, key: K) -> Callable[[], _Entry[V] | None]:
        """A function returning what :meth:`held` tells, in one C call: the entry itself
        (``value`` and ``fetched_at``, which never change once it is held: a refresh
        holds a new entry), or None. For a snapshot taken at every observed decision."""
        return functools.partial(self._entries.get, key)

    def loading(self, key: K) -> bool:
        """Whether a load of ``key`` is in flight."""
        return key in self._flights

    def peek(self, key: K, default: D) -> V | D:
        """The value for ``key`` if it is cached and fresh, else ``default``: a read that never
        loads, never starts a refresh and never waits.

        For the blocking facade, whose threads read a warm cache without a hop to the
        loop: safe from any thread (single dict reads; the LRU bump tolerates a key
        evicted meanwhile), and a stale or absent value is left to :meth:`get`.
        Counted as a hit (under threads the counters are approximate).
        """
        entry = self._entries.get(key)
        if entry is None or self._clock.time() - entry.fetched_at >= self.ttl:
            return default
        self.stats.hits += 1
        if self.maxsize is not None:
            try:  # noqa: SIM105 (a with-statement costs a µs on this hot path)
                self._entries.move_to_end(key)
            except KeyError:  # evicted by the loop thread since the read: still fresh
                pass
        return entry.value

    async def get(self, key: K) -> V:
        """The value for ``key``: cached if fresh or servable-stale, otherwise loaded."""
        entry = self._entries.get(key)
        if entry is not None:
            now = self._clock.time()
            age = now - entry.fetched_at
            if age < self.ttl:
                self.stats.hits += 1
                if self.maxsize is not None:
                    self._entries.move_to_end(key)
                return entry.value
            if age < self.max_stale:
                self.stats.stale_hits += 1
                if self.maxsize is not None:
                    self._entries.move_to_end(key)
                return await self._serve_stale(key, entry, now)
            # Older than max_stale: it may not be served any more.
            del self._entries[key]
            if entry.stale_since is not None:
                self._warn(
                    now,
                    "stytch_rbac: the cached %s is now older than max_stale (%.0fs) and is no "
                    "longer served: what needs it fails closed until Stytch answers "
                    "(failing since %s)",
                    self._describe_key(key),
                    self.max_stale,
                    _when(self._outage.since if self._outage.since is not None else now),
                )
        self.stats.misses += 1
        failure = self._failures.get(key)
        if failure is not None:
            failed_at, error = failure
            if self._clock.time() - failed_at < self.retry_after_error:
                self.stats.failure_hits += 1
                raise _copy_error(error, self.name) from error
            del self._failures[key]
        return await self.load(key)

    async def _serve_stale(self, key: K, entry: _Entry[V], now: float) -> V:
        if key in self._flights:
            return entry.value
        if entry.last_error_at is not None and now - entry.last_error_at < self.retry_after_error:
            return entry.value
        # Claim the flight now, synchronously, so no other reader starts a second refresh
        # between here and the moment the background task gets to run.
        flight = _Flight[V]()
        self._flights[key] = flight
        if self._spawn is not None and self._spawn(lambda: self._refresh_quietly(key, flight)):
            return entry.value
        # No background runner: this caller refreshes, concurrent callers keep the stale value.
        await self._refresh_quietly(key, flight)
        current = self._entries.get(key)
        return entry.value if current is None else current.value

    async def _refresh_quietly(self, key: K, flight: _Flight[V]) -> None:
        """Background refresh: failures are remembered (and logged by ``_lead``), never
        raised."""
        try:
            await self._lead(key, flight)
        except Exception:
            entry = self._entries.get(key)
            if entry is not None:
                entry.last_error_at = self._clock.time()

    async def load(self, key: K) -> V:
        """Fetch ``key`` now (joining a load already in flight) and cache the result."""
        while True:
            flight = self._flights.get(key)
            if flight is None:
                flight = _Flight[V]()
                self._flights[key] = flight
                run = functools.partial(self._refresh_quietly, key, flight)
                if self._spawn is None or not self._spawn(run):
                    # No background runner: this caller runs the load, shielded, so that
                    # its cancellation does not abandon the load others are waiting on
                    # (the loader's own timeout bounds the wait).
                    with anyio.CancelScope(shield=True):
                        return await self._lead(key, flight)
            await flight.event.wait()
            if flight.done:
                return flight.value  # type: ignore[return-value]  # V may include None
            if flight.error is not None:
                raise _copy_error(flight.error, self.name) from flight.error
            # The load was cancelled (shutdown) or the cache closed: try again (maybe
            # as leader; a closed cache refuses).

    async def _lead(self, key: K, flight: _Flight[V]) -> V:
        """Run the load for ``flight`` (already registered in ``_flights``) and settle it."""
        try:
            self.stats.loads += 1
            try:
                if self._closed:
                    raise StytchUnavailable(f"{self.name}: the cache is closed, nothing loads")
                value = await self._loader(key)
            except StytchRBACError as exc:
                self.stats.load_errors += 1
                flight.error = exc
                self._failed(key, exc)
                self._remember_failure(key, exc)
                raise
            except Exception as exc:
                self.stats.load_errors += 1
                error = StytchUnavailable(f"{self.name}: {_describe(exc)}")
                flight.error = error
                self._failed(key, exc)
                self._remember_failure(key, error)
                raise error from exc
            self._store(key, value)
            flight.value = value
            flight.done = True
            return value
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
            flight.event.set()

    def _remember_failure(self, key: K, error: StytchRBACError) -> None:
        """Keep ``error`` for ``retry_after_error`` seconds (bounded like the entries)."""
        if self._closed or self.retry_after_error <= 0:
            return  # a closed cache refuses by itself; 0 disables remembering
        self._failures[key] = (self._clock.time(), error)
        self._failures.move_to_end(key)
        limit = self.maxsize if self.maxsize is not None else _FAILURES_WITHOUT_MAXSIZE
        while len(self._failures) > limit:
            self._failures.popitem(last=False)

    # -- logging failures -----------------------------------------------------------------------

    def _failed(self, key: K, exc: BaseException) -> None:
        """Log a failed load of ``key``: what, why, since when, and what is served instead."""
        if self._closed:
            return  # shutting down: refusing loads is the point
        now = self._clock.time()
        outage = self._outage
        if outage.since is None:
            outage.since = now
        outage.failures += 1
        what = self._describe_key(key)
        entry = self._entries.get(key)
        if entry is None:
            self._warn(
                now,
                "stytch_rbac: cannot fetch %s (%s); nothing is cached to serve, so what needs "
                "it fails closed (failing since %s, %d failed loads)",
                what,
                _describe(exc),
                _when(outage.since),
                outage.failures,
            )
            return
        age = now - entry.fetched_at
        if entry.stale_since is None:
            entry.stale_since = now
            self._warn(
                now,
                "stytch_rbac: refreshing %s failed (%s); serving the cached value, %.0fs old, "
                "until it is %.0fs old (failing since %s)",
                what,
                _describe(exc),
                age,
                self.max_stale,
                _when(outage.since),
            )
        else:
            self._warn(
                now,
                "stytch_rbac: refreshing %s failed again (%s); still serving the cached value, "
                "%.0fs old, until it is %.0fs old (failing since %s, %d failed loads)",
                what,
                _describe(exc),
                age,
                self.max_stale,
                _when(outage.since),
                outage.failures,
            )

    def _warn(self, now: float, message: str, *args: object) -> None:
        """A WARNING, unless one was logged less than ``warn_every`` seconds ago (then DEBUG,
        counted in the next WARNING)."""
        outage = self._outage
        last = outage.last_warning
        if last is not None and now - last < self.warn_every:
            outage.suppressed += 1
            logger.debug(message, *args)
            return
        if outage.suppressed and last is not None:
            message += "; %d more such warnings in the last %.0fs were logged at DEBUG"
            args = (*args, outage.suppressed, now - last)
        outage.last_warning = now
        outage.suppressed = 0
        logger.warning(message, *args)

    def _recovered(self, key: K, old: _Entry[V] | None, now: float) -> None:
        """Log that loads work again after failures, and a stale value is no longer served."""
        outage = self._outage
        stale_for = None if old is None or old.stale_since is None else now - old.stale_since
        if outage.since is None and stale_for is None:
            return
        what = self._describe_key(key)
        if outage.since is not None:
            message = "stytch_rbac: fetched %s again, after %.0fs of failed loads (%d since %s)"
            args: tuple[object, ...] = (
                what,
                now - outage.since,
                outage.failures,
                _when(outage.since),
            )
        else:
            message, args = "stytch_rbac: fetched %s again", (what,)
        if stale_for is not None:
            message += "; stopped serving its stale value, served for %.0fs"
            args = (*args, stale_for)
        logger.info(message, *args)
        self._outage = _Outage()

    # -- writing ------------------------------------------------------------------------------

    def _store(self, key: K, value: V) -> None:
        old = self._entries.get(key)
        now = self._clock.time()
        self._failures.pop(key, None)
        self._recovered(key, old, now)
        self._entries[key] = _Entry(value, now)
        self._entries.move_to_end(key)
        if self.maxsize is not None:
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
                self.stats.evictions += 1
        if self._on_update is not None:
            self._on_update(key, None if old is None else old.value, value)

    def close(self) -> None:
        """Stop loading, for shutting down: every reader waiting on a load is released, and
        from now on a read the cache cannot serve raises :class:`StytchUnavailable`."""
        self._closed = True
        flights, self._flights = self._flights, {}
        for flight in flights.values():
            flight.event.set()

    def reopen(self) -> None:
        """Load again after :meth:`close` (the owner was opened again); entries are kept."""
        self._closed = False

    def invalidate(self, key: K | None = None) -> None:
        """Forget ``key`` (or everything): the next read waits for a load."""
        if key is None:
            self._entries.clear()
            self._failures.clear()
        else:
            self._entries.pop(key, None)
            self._failures.pop(key, None)


def _describe(exc: BaseException) -> str:
    """A short description of a failure, safe for logs (type and message, no payloads)."""
    text = str(exc)
    if len(text) > 200:
        text = text[:200] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _when(timestamp: float) -> str:
    """``timestamp`` (seconds since the epoch, the clock's reading) as UTC ISO 8601."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _copy_error(error: BaseException, name: str) -> BaseException:
    """A fresh exception for each waiter of a failed flight, and each read answered with a
    remembered failure: raising one object many times would pile every raise onto its
    traceback (and chain it to itself)."""
    if isinstance(error, StytchRBACError):
        # Every attribute kept: what Stytch said (a 503 answers each with its Retry-After).
        clone = type(error).__new__(type(error))
        clone.args = error.args
        clone.__dict__.update(error.__dict__)
        return clone
    return StytchUnavailable(f"{name}: {_describe(error)}")
