"""Serving: real HTTP under asyncio, trio and plain threads; clean start and stop."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import stytch

from stytch_rbac.emulator import Emulator


@pytest.mark.anyio
async def test_serve_answers_over_http_on_every_backend(emu: Emulator) -> None:
    """``async with emu.serve()`` gives a loopback URL that answers under asyncio and trio."""
    async with emu.serve() as url, httpx.AsyncClient(base_url=url) as http:
        assert url.startswith("http://127.0.0.1:")
        response = await http.get(f"/v1/b2b/sessions/jwks/{emu.project_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["keys"][0]["kid"] == emu.kid
    assert emu.requests["sessions.jwks"] == 1


def test_serve_in_thread_serves_the_sync_sdk(
    emu: Emulator, make_client: Callable[[str, str, str], stytch.B2BClient]
) -> None:
    """The sync context manager serves the real SDK and stops cleanly afterwards."""
    with emu.serve_in_thread() as url:
        client = make_client(emu.project_id, emu.secret, url)
        assert client.rbac.policy().policy is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v1/b2b/rbac/policy")


def test_two_emulators_serve_side_by_side() -> None:
    """Each emulator gets its own free port and its own project."""
    first, second = Emulator(), Emulator()
    with first.serve_in_thread() as url1, second.serve_in_thread() as url2:
        assert url1 != url2
        assert first.project_id != second.project_id
