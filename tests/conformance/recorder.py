"""An opt-in recorder of what an emulator answers, checked against Stytch's description.

``recording(emu)`` wraps ``emu.app`` (the ASGI app that ``serve_in_thread``, ``serve``
and in-process transports all use) so every response is kept; ``problems()`` then
validates each JSON success body against the documented schema of its route. Bodies
are validated after the test, not while it runs, so the served path stays as fast as
it was. Management API paths (``/pwa/``) are checked against its own description.
Fault-injected bodies (not JSON), emulator-only ``/_emulator`` routes, the frontend
SDK's ``/sdk/v1`` and :data:`UNDESCRIBED_PATHS` (not in the backend API's description)
are skipped; error bodies have
no documented schema.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

from stytch_rbac.emulator import Emulator

from .description import Description, description, management_description

__all__ = ["UNDESCRIBED_PATHS", "UNDESCRIBED_ROUTES", "Exchange", "ResponseLog", "recording"]

#: Paths of the API families the B2B description does not cover (M2M clients, Connected-App
#: clients, the OAuth endpoints, discovery): their shapes are checked against the ``stytch``
#: SDK's own models instead (tests/emulator/test_machine_callers.py).
UNDESCRIBED_PATHS = ("/v1/m2m/", "/v1/connected_apps/", "/v1/public/", "/.well-known/")
#: The emulator's route names of those families.
UNDESCRIBED_ROUTES = ("m2m.", "connected_apps.clients.", "oauth2.", "well_known.")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request line and the response the emulator sent for it."""

    method: str
    path: str
    status: int
    body: bytes


class ResponseLog:
    """Every exchange seen by the wrapped app, in arrival order (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """An ASGI app answering exactly like ``app`` and recording each response."""

        async def recorded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            status = 0
            chunks: list[bytes] = []

            async def capture(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                elif message["type"] == "http.response.body":
                    chunks.append(bytes(message.get("body", b"")))
                await send(message)

            await app(scope, receive, capture)
            raw = scope.get("raw_path") or str(scope["path"]).encode()
            path = bytes(raw).decode("latin-1").partition("?")[0]
            with self._lock:
                self.exchanges.append(Exchange(scope["method"], path, status, b"".join(chunks)))

        return recorded

    def problems(self, spec: Description | None = None) -> list[str]:
        """Every recorded response that breaks the description, one line each."""
        b2b = spec or description()
        with self._lock:
            exchanges = list(self.exchanges)
        found: list[str] = []
        for ex in exchanges:
            if ex.path.startswith(("/_emulator/", "/sdk/v1/", *UNDESCRIBED_PATHS)):
                continue
            if 300 <= ex.status < 400:
                continue  # an injected redirection (faults.redirect): Stytch sends none
            spec = management_description() if ex.path.startswith("/pwa/") else b2b
            op = spec.find(ex.method, ex.path)
            if op is None:
                if ex.status != 404:
                    found.append(f"{ex.method} {ex.path}: no such operation in the description")
                continue
            try:
                body = json.loads(ex.body)
            except ValueError:
                continue  # an injected garbage or truncated body
            found.extend(
                f"{ex.method} {op.path} -> {ex.status}: {problem}"
                for problem in spec.response_problems(op, ex.status, body)
            )
        return found


@contextlib.contextmanager
def recording(emu: Emulator) -> Iterator[ResponseLog]:
    """Record everything ``emu`` answers while the block runs; yields the log."""
    log = ResponseLog()
    original = emu.app
    emu.app = log.wrap(original)  # type: ignore[assignment]
    try:
        yield log
    finally:
        emu.app = original
