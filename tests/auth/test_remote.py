"""RemoteAuthenticator on its own: the slot wait is bounded, refusals are kept by digest only.

A stand-in for the ``sessions/authenticate`` call (like test_cache's ``Source``) holds calls
open or refuses them; the facade against the emulator is tested in test_client_remote_auth.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
import pytest

from stytch_rbac.auth.remote import RemoteAuthenticator
from stytch_rbac.clock import ManualClock
from stytch_rbac.errors import StytchUnavailable, Unauthenticated

pytestmark = pytest.mark.anyio


class Stytch:
    """Counts calls; holds each open until ``gate`` is set, then refuses it."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = anyio.Event()

    async def __call__(self, body: Mapping[str, str], timeout: float) -> Mapping[str, Any]:  # noqa: ASYNC109
        self.calls += 1
        await self.gate.wait()
        raise Unauthenticated("revoked", "Stytch answered session_not_found")


async def test_waiting_for_a_slot_counts_against_the_timeout() -> None:
    """With the one slot held, a second call ends with StytchUnavailable once the timeout is
    spent waiting, without calling Stytch."""
    stytch = Stytch()
    remote = RemoteAuthenticator(stytch, timeout=0.2, clock=ManualClock(), concurrency=1)
    async with anyio.create_task_group() as tg:
        tg.start_soon(remote.authenticate, {"session_token": "held"})
        await anyio.wait_all_tasks_blocked()
        # fail_after(10) is a hang guard only: the wait ends on the 0.2 s timeout.
        with anyio.fail_after(10), pytest.raises(StytchUnavailable, match="1 slots stayed busy"):
            await remote.authenticate({"session_token": "queued"})
        tg.cancel_scope.cancel()
    assert stytch.calls == 1


async def test_refusals_are_kept_by_digest_never_the_credential() -> None:
    """A refused credential is remembered under its SHA-256 with its kind: the memory holds no
    token, and a token and a JWT with the same text are different credentials."""
    stytch = Stytch()
    stytch.gate.set()
    remote = RemoteAuthenticator(stytch, timeout=5, clock=ManualClock())
    secret_token = "token-" + "s" * 38
    for body in ({"session_token": secret_token}, {"session_jwt": secret_token}):
        for _ in range(3):
            with pytest.raises(Unauthenticated, match="session_not_found"):
                await remote.authenticate(body)
    assert stytch.calls == 2
    memory = remote._refused  # what is kept, looked at directly
    assert len(memory) == 2
    assert all(len(k) == 32 for k in memory)
    assert secret_token not in repr(memory) + repr(remote)
    # Nor do the kept refusals hold it through a traceback (frames that held the request).
    assert all(error.__traceback__ is None for _, error in memory.values())


async def test_a_credential_replayed_at_once_costs_at_most_one_call_per_slot() -> None:
    """100 concurrent requests with one bogus token and 4 slots: the calls that waited for a
    slot find the refusal and do not call, so Stytch sees at most 4."""
    stytch = Stytch()
    remote = RemoteAuthenticator(stytch, timeout=5, clock=ManualClock(), concurrency=4)
    refused = 0

    async def call() -> None:
        nonlocal refused
        try:
            await remote.authenticate({"session_token": "replayed"})
        except Unauthenticated:
            refused += 1

    async with anyio.create_task_group() as tg:
        for _ in range(100):
            tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        stytch.gate.set()
    assert refused == 100
    assert stytch.calls == 4
