"""The project secret never shows in a traceback printed with its frames' locals (pytest ``-l``,
rich's ``show_locals``, ``traceback.TracebackException(capture_locals=True)``), and no exception
of the chain (``__cause__`` / ``__context__``) carries the ``Authorization: Basic`` header.

Failing calls of every kind: the facade's GETs (policy, JWKS) and its POST
(``sessions/authenticate``), and the stytch SDK's GET and POST over the adapter; each against
nothing listening (connection refused) and against a Stytch that never answers (timeout)."""

from __future__ import annotations

import base64
import io
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from stytch_rbac import StytchRBAC, StytchRBACError
from stytch_rbac.emulator import Emulator

pytestmark = pytest.mark.anyio

PROJECT_ID = "project-test-00000000-0000-0000-0000-000000000000"
SECRET = "secret-test-DO-NOT-SHOW-8f3a1c2b9d"
BASIC = base64.b64encode(f"{PROJECT_ID}:{SECRET}".encode()).decode()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception reachable through ``__cause__`` and ``__context__``."""
    seen: list[BaseException] = []
    stack = [exc]
    while stack:
        e = stack.pop()
        if any(e is s for s in seen):
            continue
        seen.append(e)
        stack.extend(x for x in (e.__cause__, e.__context__) if x is not None)
        if isinstance(e, BaseExceptionGroup):
            stack.extend(e.exceptions)
    return seen


def leaks(exc: BaseException) -> list[str]:
    """Where the secret or the Basic header shows: the formatted traceback with locals (the
    standard library's and rich's), and the request any chained exception keeps."""
    found: list[str] = []
    text = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    from rich.console import Console
    from rich.traceback import Traceback

    out = io.StringIO()
    Console(file=out, width=200).print(
        Traceback.from_exception(type(exc), exc, exc.__traceback__, show_locals=True)
    )
    for where, rendered in (("traceback", text), ("rich", out.getvalue())):
        found += [f"{where}: {what}" for what in (SECRET, BASIC) if what in rendered]
    for e in _chain(exc):
        request = getattr(e, "_request", None)  # httpx keeps the request it failed on
        if request is not None and "authorization" in request.headers:
            found.append(f"{type(e).__name__}.request carries Authorization")
        found += [
            f"{type(e).__name__} attributes" for what in (SECRET, BASIC) if what in repr(vars(e))
        ]
    return found


Call = Callable[[StytchRBAC], Awaitable[Any]]

CALLS: list[Any] = [
    pytest.param(lambda rbac: rbac.policy(), id="policy-GET"),
    pytest.param(lambda rbac: rbac.authenticate(session_token="x" * 44), id="authenticate-POST"),
    pytest.param(lambda rbac: rbac.stytch.rbac.policy_async(), id="sdk-GET"),
    pytest.param(lambda rbac: rbac.stytch.organizations.search_async(), id="sdk-POST"),
]


@pytest.fixture
async def refused() -> AsyncIterator[StytchRBAC]:
    """A facade pointed at a port nothing listens on."""
    base_url = f"http://127.0.0.1:{_closed_port()}"
    async with StytchRBAC(PROJECT_ID, SECRET, base_url=base_url, timeout=2) as rbac:
        yield rbac


@pytest.fixture
async def hanging() -> AsyncIterator[StytchRBAC]:
    """A facade over real HTTP to an emulator that never answers (the facade times out)."""
    emu = Emulator(project_id=PROJECT_ID, secret=SECRET)
    emu.faults.hang("*")
    with emu.serve_in_thread() as base_url:
        async with StytchRBAC(PROJECT_ID, SECRET, base_url=base_url, timeout=0.3) as rbac:
            yield rbac
        emu.faults.clear()


@pytest.mark.parametrize("call", CALLS)
async def test_no_secret_when_stytch_is_unreachable(refused: StytchRBAC, call: Call) -> None:
    """Connection refused: neither the formatted traceback with locals nor the chain shows the
    secret or the Basic header."""
    with pytest.raises(StytchRBACError) as info:
        await call(refused)
    assert leaks(info.value) == []


@pytest.mark.parametrize("call", CALLS)
async def test_no_secret_when_stytch_times_out(hanging: StytchRBAC, call: Call) -> None:
    """A timeout (a cancellation inside httpx, chained): the same holds."""
    with pytest.raises(StytchRBACError) as info:
        await call(hanging)
    assert leaks(info.value) == []


def test_no_secret_when_the_constructor_refuses_a_setting() -> None:
    """A bad setting raises ValueError from inside the constructor, which holds the secret:
    the traceback printed with locals does not show it."""
    with pytest.raises(ValueError, match="timeout") as info:
        StytchRBAC(PROJECT_ID, SECRET, timeout=0)
    assert leaks(info.value) == []


def test_no_secret_or_environment_when_from_env_fails() -> None:
    """StytchRBAC.from_env with a bad setting: no frame local holds the secret or the whole
    environment mapping."""

    def environment() -> dict[str, str]:
        # Made in a frame of its own: the test's frame, first in the traceback, holds none.
        return {"STYTCH_PROJECT_ID": PROJECT_ID, "STYTCH_SECRET": SECRET, "OTHER": "x"}

    with pytest.raises(ValueError, match="timeout") as info:
        StytchRBAC.from_env(environment(), timeout=0)
    assert leaks(info.value) == []
