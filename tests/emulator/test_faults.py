"""Fault injection: failures by count and by time, Retry-After, latency, hangs, bad bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
import stytch
from stytch.core.response_base import StytchError

from stytch_rbac.clock import ManualClock
from stytch_rbac.emulator import Emulator

POLICY = "/v1/b2b/rbac/policy"


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client (httpx.ASGITransport) with the emulator's credentials."""
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", auth=(emu.project_id, emu.secret)
    ) as client:
        yield client


@pytest.mark.anyio
async def test_fail_times_then_recover(emu: Emulator, http: httpx.AsyncClient) -> None:
    """``fail(times=2)`` answers two Stytch-shaped 500s, then the real policy again."""
    emu.faults.fail("rbac.policy", status=500, times=2)
    for _ in range(2):
        response = await http.get(POLICY)
        assert response.status_code == 500
        assert response.json()["error_type"] == "internal_server_error"
    assert (await http.get(POLICY)).status_code == 200
    assert emu.requests["rbac.policy"] == 3


@pytest.mark.anyio
async def test_rate_limit_carries_retry_after(emu: Emulator, http: httpx.AsyncClient) -> None:
    """A 429 fault sends Retry-After and Stytch's too_many_requests body."""
    emu.faults.fail("sessions.jwks", status=429, times=1, retry_after=2)
    response = await http.get(f"/v1/b2b/sessions/jwks/{emu.project_id}")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json()["error_type"] == "too_many_requests"


@pytest.mark.anyio
async def test_duration_faults_end_on_the_emulator_clock() -> None:
    """A fault with ``duration`` stops once the emulator's clock passes it."""
    emu = Emulator(clock=ManualClock())
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://e", auth=(emu.project_id, emu.secret)
    ) as http:
        emu.faults.fail("*", status=503, duration=30)
        assert (await http.get(POLICY)).status_code == 503
        emu.advance_time(29)
        assert (await http.get(POLICY)).status_code == 503
        emu.advance_time(2)
        assert (await http.get(POLICY)).status_code == 200


@pytest.mark.anyio
async def test_garbage_and_truncated_bodies(emu: Emulator, http: httpx.AsyncClient) -> None:
    """garbage answers non-JSON; truncated answers the real JSON cut short."""
    emu.faults.garbage("rbac.policy", times=1)
    emu.faults.truncated("rbac.policy", times=1)
    garbage = await http.get(POLICY)
    assert garbage.headers["content-type"] == "application/json"
    truncated = await http.get(POLICY)
    for response in (garbage, truncated):
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)
    assert truncated.content.startswith(b'{"status_code":200')


@pytest.mark.anyio
async def test_redirect_answers_a_3xx_with_the_real_or_a_given_body(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    """redirect answers its 3xx status with a Location and the real JSON body, or the body
    given; the next request is served normally."""
    emu.faults.redirect("rbac.policy", 307, times=1)
    emu.faults.redirect("rbac.policy", body={"injected": True}, times=1)
    real, given, normal = [await http.get(POLICY) for _ in range(3)]
    assert (real.status_code, given.status_code, normal.status_code) == (307, 302, 200)
    assert real.headers["location"] == "/"
    assert real.json()["policy"] == normal.json()["policy"]
    assert given.json() == {"injected": True}


@pytest.mark.anyio
async def test_latency_and_hang_make_clients_time_out(emu: Emulator) -> None:
    """Over real HTTP, latency beyond the client timeout and a hang both time out; clear()
    releases the hang and the next call succeeds."""
    # Latency is real time by design; 5 s against a 0.3 s client timeout only fails if the
    # emulator ignored the fault, however slow the machine.
    emu.faults.latency("rbac.policy", 5.0, times=1)
    emu.faults.hang("sessions.jwks")
    async with (
        emu.serve() as url,
        httpx.AsyncClient(base_url=url, auth=(emu.project_id, emu.secret), timeout=0.3) as http,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await http.get(POLICY)
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"/v1/b2b/sessions/jwks/{emu.project_id}")
        emu.faults.clear()
        response = await http.get(f"/v1/b2b/sessions/jwks/{emu.project_id}")
        assert response.status_code == 200


def test_sdk_sees_injected_failures(client: stytch.B2BClient, emu: Emulator) -> None:
    """The sync SDK raises StytchError carrying the injected status and type."""
    emu.faults.fail("organizations.create", status=502, times=1)
    with pytest.raises(StytchError) as info:
        client.organizations.create(organization_name="X")
    assert (info.value.details.status_code, info.value.details.error_type) == (
        502,
        "server_unavailable",
    )


def test_fault_arguments_are_checked(emu: Emulator) -> None:
    """Typos in endpoint names and impossible values raise ValueError at once."""
    with pytest.raises(ValueError, match="unknown endpoint"):
        emu.faults.fail("rbac.polcy")
    with pytest.raises(ValueError, match="4xx or 5xx"):
        emu.faults.fail("rbac.policy", status=200)
    with pytest.raises(ValueError, match="3xx"):
        emu.faults.redirect("rbac.policy", status=200)
    with pytest.raises(ValueError, match="times"):
        emu.faults.hang("rbac.policy", times=0)
    assert emu.faults.active == []


async def _once_arrived(emu: Emulator, endpoint: str) -> None:
    """Return once ``endpoint`` has received a request. The ``fail_after`` is a hang guard
    only: nothing measures how long the request took to arrive."""
    with anyio.fail_after(30):
        while emu.requests[endpoint] == 0:  # noqa: ASYNC110  (the emulator signals no event)
            await anyio.sleep(0.001)


@pytest.mark.anyio
async def test_hang_in_process_is_cancellable(emu: Emulator, http: httpx.AsyncClient) -> None:
    """In process, a request hanging in the emulator ends when the caller cancels it."""
    emu.faults.hang("rbac.policy", times=1)

    async def cancel_once_hanging(scope: anyio.CancelScope) -> None:
        await _once_arrived(emu, "rbac.policy")
        scope.cancel()

    async with anyio.create_task_group() as tg:
        with anyio.CancelScope() as scope:
            tg.start_soon(cancel_once_hanging, scope)
            await http.get(POLICY)
    assert scope.cancelled_caught


@pytest.mark.anyio
async def test_hang_released_at_once_in_process_answers_503(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    """In process, a hang released as soon as the request arrives answers 503 and leaves the
    client's request stream fully read (trio warns about a half-read one)."""
    emu.faults.hang("rbac.policy", times=1)

    async def release_once_hanging() -> None:
        await _once_arrived(emu, "rbac.policy")
        emu.faults.release_hangs()

    async with anyio.create_task_group() as tg:
        tg.start_soon(release_once_hanging)
        response = await http.get(POLICY)
    assert response.status_code == 503
    assert response.json()["error_type"] == "server_unavailable"
