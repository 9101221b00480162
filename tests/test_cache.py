"""RefreshingCache: single flight, stale-while-revalidate, stale-if-error, LRU bound."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
import pytest

from stytch_rbac.cache import RefreshingCache
from stytch_rbac.clock import ManualClock
from stytch_rbac.errors import StytchAPIError, StytchUnavailable

pytestmark = pytest.mark.anyio


class Source:
    """A stand-in for Stytch: counts loads, can fail or block, returns a versioned value."""

    def __init__(self) -> None:
        self.loads = 0
        self.version = 1
        self.fail: Exception | None = None
        self.gate: anyio.Event | None = None
        self.started = anyio.Event()

    async def __call__(self, key: str) -> str:
        self.loads += 1
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return f"{key}@v{self.version}"


def spawner(tg: anyio.abc.TaskGroup) -> Callable[[Callable[[], Coroutine[Any, Any, None]]], bool]:
    """A spawn function running background refreshes in ``tg``."""

    def spawn(fn: Callable[[], Coroutine[Any, Any, None]]) -> bool:
        tg.start_soon(fn)
        return True

    return spawn


def make(source: Source, clock: ManualClock, **kw: Any) -> RefreshingCache[str, str]:
    """A cache with ttl 300 s and max_stale 3600 s unless overridden."""
    options: dict[str, Any] = {"name": "test", "ttl": 300, "max_stale": 3600, "clock": clock}
    options.update(kw)
    return RefreshingCache(source, **options)


async def test_fresh_value_is_served_without_reloading() -> None:
    """Within the TTL a value is loaded once and then served from memory."""
    source, clock = Source(), ManualClock()
    cache = make(source, clock)
    assert await cache.get("a") == "a@v1"
    clock.advance(299)
    assert await cache.get("a") == "a@v1"
    assert source.loads == 1
    assert cache.stats.hits == 1
    assert cache.stats.misses == 1


async def test_concurrent_cold_reads_share_one_load() -> None:
    """A thousand concurrent reads of a cold key cause exactly one load."""
    source, clock = Source(), ManualClock()
    source.gate = anyio.Event()
    cache = make(source, clock)
    results: list[str] = []

    async def read() -> None:
        results.append(await cache.get("a"))

    async with anyio.create_task_group() as tg:
        for _ in range(1000):
            tg.start_soon(read)
        await source.started.wait()
        await anyio.lowlevel.checkpoint()
        source.gate.set()
    assert source.loads == 1
    assert results == ["a@v1"] * 1000


async def test_stale_value_is_served_while_one_background_refresh_runs() -> None:
    """Past the TTL readers get the old value at once and exactly one refresh runs."""
    source, clock = Source(), ManualClock()
    async with anyio.create_task_group() as tg:
        cache = make(source, clock, spawn=spawner(tg))
        await cache.get("a")
        clock.advance(301)
        source.version = 2
        source.gate = anyio.Event()
        source.started = anyio.Event()
        answers = [await cache.get("a") for _ in range(50)]
        await source.started.wait()
        assert answers == ["a@v1"] * 50
        source.gate.set()
    assert source.loads == 2
    assert await cache.get("a") == "a@v2"


async def test_without_a_spawner_the_first_stale_reader_refreshes_inline() -> None:
    """With no background runner one reader refreshes; concurrent readers keep the old value."""
    source, clock = Source(), ManualClock()
    cache = make(source, clock)
    await cache.get("a")
    clock.advance(301)
    source.version = 2
    source.gate = anyio.Event()
    source.started = anyio.Event()
    got: list[str] = []

    async def first() -> None:
        got.append(await cache.get("a"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        await source.started.wait()
        assert await cache.get("a") == "a@v1"  # does not wait for the refresh in flight
        source.gate.set()
    assert got == ["a@v2"]
    assert source.loads == 2


async def test_failed_refresh_keeps_serving_until_max_stale_then_raises() -> None:
    """Stale-if-error: a failing source is masked until max_stale, then StytchUnavailable."""
    source, clock = Source(), ManualClock()
    cache = make(source, clock, retry_after_error=0)
    await cache.get("a")
    source.fail = StytchUnavailable("policy endpoint down")
    for _ in range(10):
        clock.advance(60)
        assert await cache.get("a") == "a@v1"
    clock.advance(3600 - 600)
    with pytest.raises(StytchUnavailable, match="policy endpoint down"):
        await cache.get("a")
    assert "a" not in cache


async def test_failed_refresh_is_retried_only_after_retry_after_error() -> None:
    """After a failed refresh, the next attempt waits retry_after_error seconds."""
    source, clock = Source(), ManualClock()
    cache = make(source, clock, retry_after_error=30)
    await cache.get("a")
    source.fail = StytchUnavailable("down")
    clock.advance(301)
    await cache.get("a")
    assert source.loads == 2
    clock.advance(10)
    await cache.get("a")
    assert source.loads == 2
    clock.advance(21)
    source.fail = None
    source.version = 3
    assert await cache.get("a") == "a@v3"
    assert source.loads == 3


async def test_cold_failure_raises_to_every_waiter() -> None:
    """A failed cold load raises StytchUnavailable in every waiter; a read after the retry
    interval tries again."""
    source, clock = Source(), ManualClock()
    source.gate = anyio.Event()
    source.fail = RuntimeError("boom")
    cache = make(source, clock)
    errors: list[BaseException] = []

    async def read() -> None:
        try:
            await cache.get("a")
        except StytchUnavailable as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(read)
        await source.started.wait()
        await anyio.lowlevel.checkpoint()
        source.gate.set()
    assert len(errors) == 5
    assert source.loads == 1
    source.fail = None
    clock.advance(cache.retry_after_error)
    assert await cache.get("a") == "a@v1"


async def test_every_waiter_of_a_failed_load_keeps_what_stytch_said() -> None:
    """Waiters sharing a failed load each get Stytch's status, request id and Retry-After."""
    source, clock = Source(), ManualClock()
    source.gate = anyio.Event()
    source.fail = StytchUnavailable(
        "rate limited",
        error_type="too_many_requests",
        request_id="request-id-test-1",
        stytch_status=429,
        retry_after=7.0,
    )
    cache = make(source, clock)
    errors: list[StytchUnavailable] = []

    async def read() -> None:
        try:
            await cache.get("a")
        except StytchUnavailable as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(read)
        await source.started.wait()
        await anyio.lowlevel.checkpoint()
        source.gate.set()
    assert source.loads == 1
    assert [(e.stytch_status, e.retry_after, e.request_id) for e in errors] == [
        (429, 7.0, "request-id-test-1")
    ] * 3


async def test_loader_errors_of_our_own_kind_pass_through() -> None:
    """A StytchRBACError from the loader (e.g. a 404 from Stytch) is raised as is."""
    source, clock = Source(), ManualClock()
    source.fail = StytchAPIError(
        404, error_type="organization_not_found", error_message="no", request_id="r"
    )
    cache = make(source, clock)
    with pytest.raises(StytchAPIError) as info:
        await cache.get("a")
    assert info.value.error_type == "organization_not_found"


async def test_a_failed_cold_load_is_remembered_for_the_retry_interval() -> None:
    """50 sequential reads of a key whose cold load fails cause one load, each read raising
    what Stytch said; after retry_after_error the next read loads again."""
    source, clock = Source(), ManualClock()
    source.fail = StytchUnavailable("down", stytch_status=503, request_id="request-id-test-1")
    cache = make(source, clock, retry_after_error=5)
    errors: list[StytchUnavailable] = []
    for _ in range(50):
        with pytest.raises(StytchUnavailable) as info:
            await cache.get("a")
        errors.append(info.value)
    assert source.loads == 1
    assert {(e.message, e.stytch_status, e.request_id) for e in errors} == {
        ("down", 503, "request-id-test-1")
    }
    assert len({id(e) for e in errors}) == 50  # a fresh exception per raise
    assert cache.info().failure_hits == 49
    clock.advance(4.9)
    with pytest.raises(StytchUnavailable):
        await cache.get("a")
    assert source.loads == 1
    clock.advance(0.1)
    source.fail = None
    assert await cache.get("a") == "a@v1"
    assert source.loads == 2


async def test_a_remembered_failure_is_per_key_and_forgotten_on_invalidate() -> None:
    """A failure remembered for one key does not stop another key loading; invalidate and an
    explicit load() (a caller who knows better) bypass it."""
    source, clock = Source(), ManualClock()
    source.fail = StytchAPIError(404, error_type="organization_not_found")
    cache = make(source, clock)
    with pytest.raises(StytchAPIError):
        await cache.get("a")
    source.fail = None
    assert await cache.get("b") == "b@v1"
    with pytest.raises(StytchAPIError) as again:
        await cache.get("a")
    assert again.value.error_type == "organization_not_found"
    assert source.loads == 2
    assert await cache.load("a") == "a@v1"
    assert source.loads == 3
    source.fail = StytchUnavailable("down")
    cache.invalidate("a")
    with pytest.raises(StytchUnavailable):
        await cache.get("a")
    cache.invalidate("a")
    source.fail = None
    assert await cache.get("a") == "a@v1"


@pytest.mark.parametrize("background", [False, True], ids=["inline", "spawned"])
async def test_cancelling_the_leader_of_a_cold_load_makes_no_second_fetch(
    background: bool,
) -> None:
    """The load belongs to the cache, not to the caller that started it: with 200 readers
    waiting, cancelling that caller neither cancels the load nor makes a waiter fetch again."""
    source, clock = Source(), ManualClock()
    source.gate = anyio.Event()
    got: list[str] = []

    async def waiter() -> None:
        got.append(await cache.get("a"))

    leader_scope = anyio.CancelScope()

    async def leader() -> None:
        with leader_scope:
            await cache.get("a")

    async with anyio.create_task_group() as tg:
        cache = make(source, clock, spawn=spawner(tg) if background else None)
        tg.start_soon(leader)
        await source.started.wait()
        for _ in range(200):
            tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        leader_scope.cancel()
        await anyio.wait_all_tasks_blocked()
        source.gate.set()
    assert got == ["a@v1"] * 200
    assert source.loads == 1
    assert cache.info().loads == 1


async def test_waiters_of_a_failed_cold_load_do_not_retry_it() -> None:
    """When the one load fails, its 200 waiters and the readers after them get the error; no
    one fetches again within the retry interval."""
    source, clock = Source(), ManualClock()
    source.gate = anyio.Event()
    source.fail = StytchUnavailable("down")
    cache = make(source, clock)
    failures = 0

    async def read() -> None:
        nonlocal failures
        try:
            await cache.get("a")
        except StytchUnavailable:
            failures += 1

    async with anyio.create_task_group() as tg:
        for _ in range(201):
            tg.start_soon(read)
        await source.started.wait()
        await anyio.wait_all_tasks_blocked()
        source.gate.set()
    for _ in range(10):
        await read()
    assert failures == 211
    assert source.loads == 1


async def test_lru_bound_evicts_least_recently_used() -> None:
    """With maxsize, the cache never holds more keys and evicts the least recently used."""
    source, clock = Source(), ManualClock()
    cache = make(source, clock, maxsize=3)
    for key in ("a", "b", "c"):
        await cache.get(key)
    await cache.get("a")  # a is now most recently used
    await cache.get("d")
    assert len(cache) == 3
    assert "b" not in cache
    assert "a" in cache
    assert cache.stats.evictions == 1


async def test_negative_entries_are_cached() -> None:
    """A None value ("no custom roles") is cached like any other value."""
    loads = 0

    async def loader(key: str) -> str | None:
        nonlocal loads
        loads += 1
        return None

    cache: RefreshingCache[str, str | None] = RefreshingCache(
        loader, name="neg", ttl=10, max_stale=10, clock=ManualClock()
    )
    assert await cache.get("org") is None
    assert await cache.get("org") is None
    assert loads == 1
    assert "org" in cache


async def test_invalidate_forgets_a_key_or_everything() -> None:
    """invalidate() forgets a key (or all of them): the next read waits for a fresh load."""
    source, clock = Source(), ManualClock()
    cache = make(source, clock)
    await cache.get("a")
    await cache.get("b")
    source.version = 2
    cache.invalidate("a")
    assert "a" not in cache
    assert "b" in cache
    assert await cache.get("a") == "a@v2"
    cache.invalidate()
    assert len(cache) == 0
    assert source.loads == 3


async def test_on_update_sees_old_and_new_values() -> None:
    """The on_update hook is called with the previous and the new value."""
    seen: list[tuple[str, str | None, str]] = []
    source, clock = Source(), ManualClock()
    cache = make(source, clock, on_update=lambda k, old, new: seen.append((k, old, new)))
    await cache.get("a")
    source.version = 2
    await cache.load("a")
    assert seen == [("a", None, "a@v1"), ("a", "a@v1", "a@v2")]


async def test_closed_cache_serves_what_it_holds_and_loads_nothing() -> None:
    """After close() a cached value is still served; a miss raises without calling the loader."""
    source, clock = Source(), ManualClock()
    cache = make(source, clock)
    await cache.get("a")
    cache.close()
    assert await cache.get("a") == "a@v1"
    with pytest.raises(StytchUnavailable, match="cache is closed"):
        await cache.get("b")
    clock.advance(301)  # stale: the refresh is refused, the cached value keeps serving
    assert await cache.get("a") == "a@v1"
    assert source.loads == 1


async def test_close_releases_waiters_of_a_load_in_flight() -> None:
    """close() wakes the readers waiting on a load; they fail instead of hanging."""
    source, clock = Source(), ManualClock()
    source.gate = anyio.Event()
    cache = make(source, clock)
    errors: list[StytchUnavailable] = []

    async def waiter() -> None:
        try:
            await cache.get("a")
        except StytchUnavailable as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(cache.get, "a")  # the leader, held inside the loader
        await source.started.wait()
        tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()  # the waiter waits on the leader's load
        cache.close()
        await anyio.wait_all_tasks_blocked()
        assert [str(e) for e in errors] == ["test: the cache is closed, nothing loads"]
        source.gate.set()  # the leader finishes its load
    assert source.loads == 1


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        pytest.param({"ttl": 0}, "ttl must be > 0", id="ttl"),
        pytest.param({"ttl": 10, "max_stale": 5}, "max_stale", id="max_stale"),
        pytest.param({"maxsize": 0}, "maxsize", id="maxsize"),
    ],
)
def test_bad_settings_are_rejected(kw: dict[str, Any], message: str) -> None:
    """Nonsensical TTL, max_stale or size raise ValueError naming the setting."""
    with pytest.raises(ValueError, match=message):
        make(Source(), ManualClock(), **kw)


# -- what is logged when Stytch fails ------------------------------------------------------------

START = 1_800_000_000.0  # 2027-01-15T08:00:00Z
START_ISO = "2027-01-15T08:00:00Z"


def logged(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    """``(level, message)`` of the stytch_rbac records so far, then forget them."""
    records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "stytch_rbac"]
    caplog.clear()
    return records


def warnings_of(records: list[tuple[int, str]]) -> list[str]:
    """The messages logged at WARNING."""
    return [message for level, message in records if level == logging.WARNING]


async def test_cold_failures_warn_at_most_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing cached and Stytch down: the first failure is a WARNING naming what could not
    be fetched, why and since when; repeats within warn_every go to DEBUG and are counted
    in the next WARNING, which still says when the failures began."""
    caplog.set_level(logging.DEBUG, logger="stytch_rbac")
    source, clock = Source(), ManualClock(START)
    cache = make(source, clock, name="RBAC policy", warn_every=60)
    source.fail = StytchUnavailable("Stytch answered 503")
    with pytest.raises(StytchUnavailable):
        await cache.get("policy")
    (first,) = warnings_of(logged(caplog))
    assert first == (
        "stytch_rbac: cannot fetch RBAC policy (StytchUnavailable: Stytch answered 503); "
        "nothing is cached to serve, so what needs it fails closed "
        f"(failing since {START_ISO}, 1 failed loads)"
    )
    for _ in range(5):
        clock.advance(10)
        with pytest.raises(StytchUnavailable):
            await cache.get("policy")
    quiet = logged(caplog)
    assert warnings_of(quiet) == []
    assert len([m for level, m in quiet if level == logging.DEBUG and "cannot fetch" in m]) == 5
    clock.advance(10)
    with pytest.raises(StytchUnavailable):
        await cache.get("policy")
    (again,) = warnings_of(logged(caplog))
    assert f"failing since {START_ISO}, 7 failed loads" in again
    assert again.endswith("; 5 more such warnings in the last 60s were logged at DEBUG")


async def test_recovery_is_logged_and_rearms_the_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When a load works again an INFO says after how long; a new failure right after is a
    WARNING again, not swallowed by the previous outage's rate limit."""
    caplog.set_level(logging.INFO, logger="stytch_rbac")
    source, clock = Source(), ManualClock(START)
    cache = make(source, clock, describe=lambda org: f"organization policy of {org}")
    source.fail = StytchUnavailable("down")
    for _ in range(3):
        with pytest.raises(StytchUnavailable):
            await cache.get("org-1")
        clock.advance(20)
    logged(caplog)
    source.fail = None
    assert await cache.get("org-1") == "org-1@v1"
    assert logged(caplog) == [
        (
            logging.INFO,
            "stytch_rbac: fetched organization policy of org-1 again, after 60s of failed "
            f"loads (3 since {START_ISO})",
        )
    ]
    source.fail = StytchUnavailable("down again")
    with pytest.raises(StytchUnavailable):
        await cache.get("org-2")
    (warning,) = warnings_of(logged(caplog))
    assert "cannot fetch organization policy of org-2 (StytchUnavailable: down again)" in warning


async def test_stale_serving_start_and_stop_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A failed refresh of a cached value warns that the stale value is being served and
    until when; the refresh that works again says it stopped, and for how long it served."""
    caplog.set_level(logging.INFO, logger="stytch_rbac")
    source, clock = Source(), ManualClock(START)
    cache = make(source, clock, name="JWKS", retry_after_error=0)
    await cache.get("jwks")
    logged(caplog)
    clock.advance(301)
    source.fail = StytchUnavailable("down")
    assert await cache.get("jwks") == "jwks@v1"
    (start,) = warnings_of(logged(caplog))
    assert start == (
        "stytch_rbac: refreshing JWKS failed (StytchUnavailable: down); serving the cached "
        "value, 301s old, until it is 3600s old (failing since 2027-01-15T08:05:01Z)"
    )
    clock.advance(30)
    assert await cache.get("jwks") == "jwks@v1"
    assert warnings_of(logged(caplog)) == []  # within warn_every
    clock.advance(30)
    source.fail = None
    source.version = 2
    assert await cache.get("jwks") == "jwks@v2"  # refreshed inline (no spawner)
    assert logged(caplog) == [
        (
            logging.INFO,
            "stytch_rbac: fetched JWKS again, after 60s of failed loads "
            "(2 since 2027-01-15T08:05:01Z); stopped serving its stale value, served for 60s",
        )
    ]


async def test_a_stale_value_past_max_stale_is_logged_as_no_longer_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When the stale value being served for a failing Stytch passes max_stale, a WARNING
    says it is no longer served and what needs it fails closed."""
    caplog.set_level(logging.WARNING, logger="stytch_rbac")
    source, clock = Source(), ManualClock(START)
    cache = make(source, clock, name="RBAC policy", retry_after_error=0)
    await cache.get("policy")
    clock.advance(301)
    source.fail = StytchUnavailable("down")
    assert await cache.get("policy") == "policy@v1"
    logged(caplog)
    clock.advance(3600)
    with pytest.raises(StytchUnavailable):
        await cache.get("policy")
    messages = warnings_of(logged(caplog))
    assert messages[0] == (
        "stytch_rbac: the cached RBAC policy is now older than max_stale (3600s) and is no "
        "longer served: what needs it fails closed until Stytch answers "
        "(failing since 2027-01-15T08:05:01Z)"
    )


async def test_closing_logs_no_failure(caplog: pytest.LogCaptureFixture) -> None:
    """A read refused because the cache is closed (shutting down) is not logged as Stytch
    failing."""
    caplog.set_level(logging.DEBUG, logger="stytch_rbac")
    cache = make(Source(), ManualClock(START))
    cache.close()
    with pytest.raises(StytchUnavailable, match="closed"):
        await cache.get("a")
    assert logged(caplog) == []
