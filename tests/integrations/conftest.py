"""Fixtures for apps run by Starlette's ``TestClient`` (lifespans, WebSockets) on asyncio, trio."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Literal

import anyio
import httpx
import pytest

from stytch_rbac import StytchRBAC
from stytch_rbac.emulator import Emulator

if TYPE_CHECKING:
    from starlette.testclient import TestClient
    from starlette.types import ASGIApp

#: Where an app's own StytchRBAC reaches the in-process emulator (no socket).
IN_PROCESS_URL = "http://stytch-emulator.invalid"


def _test_client_class() -> type[TestClient]:
    # Starlette >= 1.x warns, on import, that TestClient over httpx (not httpx2) is deprecated.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
        from starlette.testclient import TestClient
    return TestClient


@pytest.fixture(params=["asyncio", "trio"])
def make_client(request: pytest.FixtureRequest) -> Callable[[ASGIApp], TestClient]:
    """``make_client(app)``: a Starlette ``TestClient`` running ``app`` on asyncio, then trio."""
    test_client = _test_client_class()
    backend: Literal["asyncio", "trio"] = request.param

    def make(app: ASGIApp) -> TestClient:
        return test_client(app, backend=backend)

    return make


@pytest.fixture
def app_rbac(stytch_emulator: Emulator) -> Iterator[StytchRBAC]:
    """A StytchRBAC an app opens itself (in its lifespan), reaching the emulator in process;
    built outside any event loop, like a module-level one."""
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=stytch_emulator.app), base_url=IN_PROCESS_URL
    )
    yield StytchRBAC(
        stytch_emulator.project_id,
        stytch_emulator.secret,
        base_url=IN_PROCESS_URL,
        http_client=http,
        clock=stytch_emulator.clock,
    )
    anyio.run(http.aclose)
