"""The blocking facade: warm answers in the caller's thread, one engine on one loop thread,
thread safety at cache expiry, clean shutdown, and an API that mirrors the async facade's.

Plain (sync) test functions on the plugin's ``stytch_rbac_sync``; each runs with the
facade's loop on asyncio and on trio (the ``anyio_backend`` fixture of tests/conftest.py).
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from examples.permissions import P
from stytch_rbac import (
    PermissionDenied,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
)
from stytch_rbac import StytchRBAC as AsyncStytchRBAC
from stytch_rbac.emulator import Emulator
from stytch_rbac.integrations.blocking import run_unsuspended
from stytch_rbac.sync import StytchRBAC
from stytch_rbac.testing import MemberFactory

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"

pytestmark = pytest.mark.stytch_policy(EXAMPLE_POLICY)


@pytest.fixture
def rbac(stytch_rbac_sync: StytchRBAC, anyio_backend: str) -> StytchRBAC:
    """The plugin's blocking facade, its loop on the test's backend (asyncio, trio)."""
    return stytch_rbac_sync


def _loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "stytch-rbac-loop"]


#: Worker-thread pools of the event-loop libraries: a policy is compiled in one of their
#: daemon threads, which they end themselves (anyio's when its loop ends, trio's after 10 s
#: idle, kept for reuse meanwhile). Not threads of ours.
_POOL_THREADS = ("AnyIO worker thread", "Trio thread")


def _ours(before: set[threading.Thread]) -> set[threading.Thread]:
    """Threads started since ``before`` that are not an event-loop library's pool thread."""
    new = set(threading.enumerate()) - before
    pool = {t for t in new if t.name.startswith(_POOL_THREADS)}
    assert all(t.daemon for t in pool)
    return new - pool


def _wait_for(condition: Callable[[], bool]) -> None:
    """Wait for background work to land; the deadline is a hang guard, not a measurement."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.fixture
def separate(stytch_emulator: Emulator, anyio_backend: str) -> Iterator[StytchRBAC]:
    """A blocking facade of its own over real HTTP (no in-process client to close), not open."""
    with stytch_emulator.serve_in_thread() as base_url:
        rbac = StytchRBAC(
            stytch_emulator.project_id,
            stytch_emulator.secret,
            base_url=base_url,
            clock=stytch_emulator.clock,
            backend="trio" if anyio_backend == "trio" else "asyncio",
        )
        try:
            yield rbac
        finally:
            rbac.close()


def test_warm_answers_need_no_loop(
    rbac: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """Once warm, authenticate and every decision answer with the loop stopped; what is stale
    needs the loop, and a closed facade refuses it with a clear error."""
    editor = member(["editor"])
    principal = rbac.authenticate(session_jwt=editor.session_jwt)
    assert rbac.is_authorized(principal, P.documents.edit)
    rbac.close()
    assert not _loop_threads()
    assert rbac.authenticate(session_jwt=editor.session_jwt) is principal
    assert rbac.is_authorized(principal, P.documents.edit)
    assert not rbac.is_authorized(principal, "documents", "delete")
    assert rbac.explain(principal, P.documents.edit).granted_by == frozenset({"editor"})
    assert rbac.permissions(principal)["documents"]["edit"] is True
    with pytest.raises(PermissionDenied):
        rbac.authorize(principal, P.documents.delete)
    stytch_emulator.advance_time(301)
    with pytest.raises(RuntimeError, match="closed"):
        rbac.is_authorized(principal, P.documents.edit)


def test_thirty_two_threads_at_expiry_make_one_fetch(
    rbac: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """32 threads deciding when the policy has just gone stale all get the stale answer at
    once and cause exactly one policy fetch (single flight, stale-while-revalidate)."""
    principal = rbac.authenticate(session_jwt=member(["editor"]).session_jwt)
    assert rbac.is_authorized(principal, P.documents.edit)
    assert stytch_emulator.requests["rbac.policy"] == 1
    stytch_emulator.advance_time(301)
    barrier = threading.Barrier(32)
    answers: list[bool] = []

    def decide() -> None:
        barrier.wait()
        answers.append(rbac.is_authorized(principal, P.documents.edit))

    threads = [threading.Thread(target=decide) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [True] * 32
    # The background refreshes run on the loop after the answers: wait for them to arrive.
    requests = stytch_emulator.requests
    _wait_for(lambda: requests["rbac.policy"] >= 2)
    _wait_for(lambda: rbac.cache_info()["policy"].loads == 2)
    assert requests["rbac.policy"] == 2
    assert requests["rbac.org_policy"] == 0  # an editor holds only project roles: none needed


def test_thirty_two_threads_on_a_cold_cache_make_one_fetch(
    rbac: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """32 threads finding nothing cached wait for one shared load (single flight)."""
    principal = member(["viewer"]).principal
    barrier = threading.Barrier(32)
    answers: list[bool] = []

    def decide() -> None:
        barrier.wait()
        answers.append(rbac.is_authorized(principal, P.documents.read))

    threads = [threading.Thread(target=decide) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [True] * 32
    assert stytch_emulator.requests["rbac.policy"] == 1
    assert stytch_emulator.requests["rbac.org_policy"] == 0  # project roles only: none needed


def test_stale_if_error_then_unavailable(
    rbac: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """With Stytch failing, the stale policy keeps answering until max_stale, then every
    decision fails closed with StytchUnavailable."""
    principal = member(["editor"]).principal
    assert rbac.is_authorized(principal, P.documents.edit)
    stytch_emulator.faults.fail("rbac.policy", 500)
    stytch_emulator.faults.fail("rbac.org_policy", 500)
    stytch_emulator.advance_time(301)
    assert rbac.is_authorized(principal, P.documents.edit)
    _wait_for(lambda: rbac.cache_info()["policy"].load_errors >= 1)
    assert rbac.is_authorized(principal, P.documents.edit)
    stytch_emulator.advance_time(3600)
    with pytest.raises(StytchUnavailable):
        rbac.is_authorized(principal, P.documents.edit)


def test_expired_jwt_is_refreshed_through_the_loop(
    rbac: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """An expired JWT goes to Stytch on the loop and comes back refreshed; a forged one is
    refused without a call."""
    editor = member(["editor"])
    stytch_emulator.advance_time(301)
    refreshed = rbac.authenticate(session_jwt=editor.session_jwt)
    assert refreshed.jwt_refreshed
    assert refreshed.session_jwt != editor.session_jwt
    assert stytch_emulator.requests["sessions.authenticate"] == 1
    head, payload, _signature = editor.session_jwt.split(".")
    with pytest.raises(Unauthenticated) as refused:
        rbac.authenticate(session_jwt=f"{head}.{payload}.AAAA")
    assert refused.value.reason in {"forged", "malformed"}
    assert stytch_emulator.requests["sessions.authenticate"] == 1


def test_tenancy_is_enforced(rbac: StytchRBAC, member: MemberFactory) -> None:
    """Another organization than the principal's is denied by every decision."""
    principal = member(["stytch_admin"]).principal
    other = member(["editor"], organization="Globex").principal.organization_id
    assert not rbac.is_authorized(principal, P.documents.read, organization_id=other)
    with pytest.raises(TenancyError):
        rbac.authorize(principal, P.documents.read, organization_id=other)
    assert not rbac.explain(principal, P.documents.read, organization_id=other).allowed


def test_with_block_and_close_leave_no_thread(separate: StytchRBAC, member: MemberFactory) -> None:
    """Nothing runs before first use; `with` starts one loop thread and its end stops it;
    close() is idempotent; a closed facade opens again with `with`."""
    before = set(threading.enumerate())
    principal = member(["editor"]).principal
    assert not _loop_threads()
    with separate as rbac:
        assert rbac.is_authorized(principal, P.documents.edit)
        assert len(_loop_threads()) == 1
        with pytest.raises(RuntimeError, match="already in use"):
            rbac.__enter__()
    assert _ours(before) == set()
    separate.close()
    separate.close()
    with separate as rbac:
        rbac.invalidate()
        assert rbac.is_authorized(principal, P.documents.edit)
    assert _ours(before) == set()


def test_first_use_starts_the_loop_and_close_stops_it(
    separate: StytchRBAC, member: MemberFactory
) -> None:
    """Without `with`, the first call that needs the loop starts it; close() stops it."""
    before = set(threading.enumerate())
    assert separate.is_authorized(member(["viewer"]).principal, P.documents.read)
    assert len(_loop_threads()) == 1
    separate.close()
    assert _ours(before) == set()


def test_garbage_collection_stops_the_loop(stytch_emulator: Emulator, anyio_backend: str) -> None:
    """A facade nobody holds any more stops its loop thread (its finalizer)."""
    import gc

    with stytch_emulator.serve_in_thread() as base_url:
        rbac = StytchRBAC(
            stytch_emulator.project_id,
            stytch_emulator.secret,
            base_url=base_url,
            backend="trio" if anyio_backend == "trio" else "asyncio",
        )
        rbac.policy()
        assert len(_loop_threads()) == 1
        del rbac
        gc.collect()
        assert not _loop_threads()


def test_bad_arguments_are_refused_in_the_caller() -> None:
    """Constructor errors are the async facade's, raised at once; an unknown backend too."""
    with pytest.raises(ValueError, match="project_id"):
        StytchRBAC("", "secret")
    with pytest.raises(ValueError, match="backend"):
        StytchRBAC("project-test-x", "secret", backend="curio")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="STYTCH_SECRET"):
        StytchRBAC.from_env({"STYTCH_PROJECT_ID": "project-test-x"})


def test_from_env_builds_a_blocking_facade() -> None:
    """from_env reads the same variables as the async facade's."""
    rbac = StytchRBAC.from_env(
        {"STYTCH_PROJECT_ID": "project-test-x", "STYTCH_SECRET": "s", "STYTCH_BASE_URL": ""}
    )
    assert isinstance(rbac, StytchRBAC)
    assert rbac.project_id == "project-test-x"
    assert "test.stytch.com" in rbac.base_url
    assert "secret" not in repr(rbac)
    rbac.close()


def test_run_unsuspended_refuses_a_coroutine_that_suspends() -> None:
    """Driving a coroutine that really waits is an error, not a hang or a silent result."""

    class Suspend:
        def __await__(self) -> Generator[None, None, None]:
            yield  # what an event loop's sleep or I/O does: hand control back to the loop

    async def waits() -> None:
        await Suspend()

    with pytest.raises(RuntimeError, match="suspends"):
        run_unsuspended(waits())


#: The async facade's public names that the blocking one spells differently, by design.
_RENAMED = {"aclose": "close", "__aenter__": "__enter__", "__aexit__": "__exit__"}


def _public(cls: type) -> dict[str, object]:
    return {
        name: value
        for name, value in inspect.getmembers(cls)
        if not name.startswith("_") or name in {*_RENAMED, *_RENAMED.values()}
    }


def test_every_async_method_has_a_blocking_twin_with_its_signature() -> None:
    """Each public method and property of the async facade exists on the blocking one, with
    the same parameters (coroutines become plain functions); construction adds backend."""
    blocking = _public(StytchRBAC)
    for name, value in _public(AsyncStytchRBAC).items():
        twin_name = _RENAMED.get(name, name)
        assert twin_name in blocking, f"stytch_rbac.sync.StytchRBAC lacks {twin_name}"
        twin = blocking[twin_name]
        if isinstance(value, property):
            assert isinstance(twin, property), name
            continue
        if name in _RENAMED:
            continue
        mine = inspect.signature(twin)  # type: ignore[arg-type]
        theirs = inspect.signature(value)  # type: ignore[arg-type]
        # ``backend`` (the loop the engine runs on) is the blocking facade's one addition.
        mine_params = [p for p in mine.parameters.values() if p.name != "backend"]
        assert mine_params == list(theirs.parameters.values()), name
        if inspect.iscoroutinefunction(value):
            assert not inspect.iscoroutinefunction(twin), name
    init = inspect.signature(StytchRBAC.__init__).parameters
    async_init = inspect.signature(AsyncStytchRBAC.__init__).parameters
    assert list(init) == [*async_init, "backend"]
    assert all(init[n] == async_init[n] for n in async_init)
