"""Serving an ASGI app with uvicorn in a background thread, on 127.0.0.1 and a free port.

The server runs its own asyncio loop in its own thread, so the caller may run
under asyncio, trio, or no event loop at all. Starting and stopping cost a few
milliseconds: a test suite starts one server per test.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, Literal

from ._extras import raise_missing_extra

try:
    import uvicorn
except ImportError as exc:
    raise_missing_extra(exc, extra="emulator", needed_by="stytch_rbac.serving", modules={"uvicorn"})

__all__ = ["Lifespan", "ThreadServer", "bind", "run_forever"]

Lifespan = Literal["auto", "on", "off"]

_START_TIMEOUT = 10.0


_DRAIN_POLL = 0.001
"""Seconds between two looks at the connections still open while shutting down."""


class _Server(uvicorn.Server):
    """uvicorn's server, stopping as soon as it is asked, without uvicorn's fixed waits,
    and with a hook called once it listens (and its signal handlers are in place).

    uvicorn notices ``should_exit`` at its next 100 ms tick, then its shutdown sleeps
    100 ms and polls every 100 ms for connections to close: 100-300 ms at every stop,
    which a suite starting a server per test pays a thousand times. Here a stop
    (:meth:`request_exit`, from any thread, or a signal) wakes the loop at once and
    the shutdown polls every millisecond, with uvicorn's graceful timeout.
    """

    on_ready: Callable[[], None] | None = None

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's startup, then ``on_ready``."""
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)
        if self.on_ready is not None and not self.should_exit:
            self.on_ready()

    def request_exit(self) -> None:
        """Ask the server to stop now (from any thread)."""
        self.should_exit = True
        self._wake_up()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """uvicorn's SIGINT/SIGTERM handler, which also wakes the loop."""
        super().handle_exit(sig, frame)
        self._wake_up()

    def _wake_up(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        """Wait for ``should_exit``, running uvicorn's housekeeping (``on_tick``) every
        100 ms as uvicorn does, and waking at once when asked to stop."""
        assert self._wake is not None
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown (stop listening, close idle connections, let running requests
        finish within ``timeout_graceful_shutdown``, then cancel them), polling every
        millisecond instead of sleeping 100 ms."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            await asyncio.wait_for(self._drain(), timeout=self.config.timeout_graceful_shutdown)
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def _drain(self) -> None:
        state = self.server_state
        # uvicorn's ServerState signals nothing when its last connection closes: poll.
        while (state.connections or state.tasks) and not self.force_exit:  # noqa: ASYNC110
            await asyncio.sleep(_DRAIN_POLL)
        for server in self.servers:
            await server.wait_closed()


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on ``host:port`` (port 0: any free port)."""
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets whose proto says TCP;
    # with proto 0 every response waits ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _config(
    app: Any, sock: socket.socket, log_level: str = "warning", lifespan: Lifespan = "off"
) -> uvicorn.Config:
    host, port = sock.getsockname()[:2]
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan=lifespan,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=1,
        backlog=4096,
    )


def _ignore(signum: int, frame: Any) -> None:
    """A signal handler that does nothing (uvicorn re-raises the signal that stopped it)."""


def run_forever(app: Any, sock: socket.socket, on_ready: Callable[[], None]) -> None:
    """Serve on ``sock`` in this (main) thread until SIGINT or SIGTERM, then return.

    ``on_ready`` runs once the server listens and handles those signals.
    """
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, _ignore) for sig in stops}
    try:
        server = _Server(_config(app, sock))
        server.on_ready = on_ready
        server.run(sockets=[sock])
    finally:
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class ThreadServer:
    """One uvicorn server on a pre-bound socket, started and stopped from any thread."""

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, lifespan: Lifespan = "off"
    ) -> None:
        self._app = app
        self._lifespan = lifespan
        self._host = host
        self._port = port
        self._sock: socket.socket | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.base_url: str = ""

    def _run(self) -> None:
        assert self._server is not None
        assert self._sock is not None
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # reported to the starting thread
            self._error = exc

    def start(self) -> str:
        """Bind, start serving, wait until ready; return the base URL."""
        sock = bind(self._host, self._port)
        self._sock = sock
        config = _config(self._app, sock, lifespan=self._lifespan)
        ready = threading.Event()
        self._server = _Server(config)
        self._server.on_ready = ready.set
        self._thread = threading.Thread(target=self._run, name="stytch-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not ready.wait(0.05):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start: {self._error!r}")
        self.base_url = f"http://{self._host}:{sock.getsockname()[1]}"
        return self.base_url

    def stop(self) -> None:
        """Ask the server to exit, wait for its thread, close the socket."""
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
