"""The blocking facade's event loop: one daemon thread running anyio, reached through a portal.

The async facade lives on this loop for its whole life: its pooled httpx client,
its caches' single-flight loads and its background refreshes (the task group of
its ``async with``) all run here, so the sync facade adds no second engine.
Other threads reach the loop through anyio's :class:`~anyio.from_thread.BlockingPortal`:
:meth:`LoopThread.call` blocks the calling thread, :meth:`LoopThread.call_async`
awaits from another event loop (an async Django view) without blocking it.

Why not ``anyio.from_thread.start_blocking_portal()``: its thread belongs to a
``ThreadPoolExecutor``, which the interpreter joins at exit, so a script that
forgets ``close()`` would hang on exit. This thread is a daemon; the facade
also stops it from a ``weakref.finalize`` (at garbage collection or at exit).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from contextlib import AbstractAsyncContextManager
from typing import Any, Final, Literal, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

__all__ = ["Backend", "LoopThread"]

_T = TypeVar("_T")

Backend = Literal["asyncio", "trio"]

#: Name of the loop thread (``threading.enumerate()`` shows it).
THREAD_NAME: Final = "stytch-rbac-loop"


class LoopThread:
    """One daemon thread running an event loop for as long as ``resource`` is entered.

    ``resource`` (the async facade) is entered with ``async with`` on the loop when
    the thread starts and left when it stops, after every call in flight has ended.
    :meth:`start` and :meth:`stop` may be called again (a facade opened again).
    """

    def __init__(self, resource: AbstractAsyncContextManager[Any], backend: Backend) -> None:
        self._resource = resource
        self._backend: Backend = backend
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._portal: BlockingPortal | None = None

    @property
    def running(self) -> bool:
        """Whether the loop thread is up and taking calls."""
        return self._portal is not None

    def start(self) -> None:
        """Start the thread and wait until ``resource`` is entered (no-op when running).

        Raises what entering ``resource`` raised, in the calling thread.
        """
        with self._lock:
            if self._portal is not None:
                return
            ready: Future[BlockingPortal] = Future()
            thread = threading.Thread(
                target=self._run, args=(ready,), name=THREAD_NAME, daemon=True
            )
            thread.start()
            try:
                portal = ready.result()
            except BaseException:
                thread.join()
                raise
            self._thread, self._portal = thread, portal

    def _run(self, ready: Future[BlockingPortal]) -> None:
        try:
            anyio.run(self._main, ready, backend=self._backend)
        except BaseException as exc:  # the failure is the caller's, raised by start()
            if not ready.done():
                ready.set_exception(exc)

    async def _main(self, ready: Future[BlockingPortal]) -> None:
        # The portal is left first, so the resource outlives every call made through it.
        async with self._resource, BlockingPortal() as portal:
            ready.set_result(portal)
            await portal.sleep_until_stopped()

    def stop(self) -> None:
        """Let calls in flight finish, leave ``resource``, end the thread. Idempotent."""
        with self._lock:
            portal, thread = self._portal, self._thread
            if thread is not None and thread is threading.current_thread():
                raise RuntimeError("the facade cannot be closed from its own event loop")
            self._portal = self._thread = None
        if portal is None or thread is None:
            return
        # RuntimeError: the loop already ended (the interpreter is exiting).
        with contextlib.suppress(RuntimeError):
            portal.call(portal.stop)
        thread.join()

    def _running_portal(self) -> BlockingPortal:
        portal = self._portal
        if portal is None:
            raise RuntimeError("the facade's event loop is not running")
        return portal

    def call(self, func: Callable[[], Awaitable[_T]]) -> _T:
        """Await ``func()`` on the loop and block until it returns; its exception is raised
        here."""
        return self._running_portal().call(func)

    async def call_async(self, func: Callable[[], Awaitable[_T]]) -> _T:
        """Await ``func()`` on the loop from the caller's own event loop (asyncio or trio)
        without blocking that loop; cancelling the caller cancels it."""
        return await self._running_portal().call_async(func)
