"""What an emulator costs to make and to serve (issue 14, item 17), kept correct.

Signing keys come from a per-process pool (an RSA key took 30-40 ms per emulator),
yet every emulator has its own ``kid``, a rotation always switches to a key the
emulator never held, and ``fresh_keys=True`` gives keys of its own. A served
emulator stops without uvicorn's fixed waits, yet cleanly: no thread left, the port
closed, a request in flight answered. Timings are in benchmarks/bench_fixtures.py.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from stytch_rbac.emulator import Emulator, EmulatorError
from stytch_rbac.serving import ThreadServer


def _jwks(emu: Emulator) -> list[dict[str, Any]]:
    return emu._state.keys.jwks()


def _moduli(emu: Emulator) -> list[str]:
    return [key["n"] for key in _jwks(emu)]


def test_emulators_share_the_process_key_under_kids_of_their_own() -> None:
    """Two emulators sign with the same pooled key (no new RSA key each), each under its own
    kid; a JWT of one is still refused by the other (unknown kid, other audience)."""
    first, second = Emulator(), Emulator()
    assert _moduli(first) == _moduli(second)
    assert first.kid != second.kid
    org = first.create_organization("Acme", slug="acme")
    member = first.create_member(org.organization_id, "a@acme.test")
    jwt = first.create_session(member.member_id).session_jwt
    assert first._state.keys.verify(jwt, project_id=first.project_id)["sub"] == member.member_id
    with pytest.raises(EmulatorError, match="not signed by a key of this project"):
        second._state.keys.verify(jwt, project_id=second.project_id)


def test_a_rotation_always_switches_to_a_key_never_held(tmp_path: Path) -> None:
    """Rotations walk the pool but never reuse a key this emulator holds or held, also after
    a restore from a snapshot (whose keys were the pool's)."""
    emu = Emulator()
    for _ in range(3):
        emu.rotate_keys(grace_seconds=60)
    held = _moduli(emu)
    assert len(set(held)) == len(held) == 4
    other = Emulator()
    other.rotate_keys(grace_seconds=60)
    assert _moduli(other) == held[:2]  # the same pool, in the same order
    path = tmp_path / "state.json"
    emu.save_state(path)
    restored = Emulator.from_state(path)
    assert _moduli(restored) == held
    restored.rotate_keys(grace_seconds=60)
    assert _moduli(restored)[-1] not in held
    assert len(set(_moduli(restored))) == 5


def test_fresh_keys_are_the_emulators_own() -> None:
    """``fresh_keys=True`` generates keys no other emulator signs with, rotations included."""
    shared = Emulator()
    fresh, other_fresh = Emulator(fresh_keys=True), Emulator(fresh_keys=True)
    assert len({_moduli(shared)[0], _moduli(fresh)[0], _moduli(other_fresh)[0]}) == 3
    fresh.rotate_keys(grace_seconds=60)
    shared.rotate_keys(grace_seconds=60)
    assert _moduli(fresh)[1] not in _moduli(shared)


def _refused(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def test_a_stopped_server_leaves_no_thread_and_no_listening_port() -> None:
    """Idle, used, or holding an open keep-alive connection: after stop() the server's thread
    is gone and its port refuses connections."""
    emu = Emulator()
    before = _threads()
    for clients in (0, 1, 3):
        server = ThreadServer(emu.app)
        url = server.start()
        assert _threads() - before, "the server runs in a thread of its own"
        open_clients = [httpx.Client(base_url=url) for _ in range(clients)]
        for client in open_clients:
            assert client.get("/v1/b2b/rbac/policy").status_code == 401  # kept alive
        server.stop()
        assert _threads() == before
        assert _refused(int(url.rsplit(":", 1)[1]))
        for client in open_clients:
            with pytest.raises(httpx.TransportError):
                client.get("/v1/b2b/rbac/policy")
            client.close()


def test_a_request_in_flight_is_answered_before_the_server_stops() -> None:
    """The fast stop keeps uvicorn's graceful part: a slow request still gets its answer."""
    emu = Emulator()
    emu.faults.latency("rbac.policy", 0.3, times=1)
    server = ThreadServer(emu.app)
    url = server.start()
    answers: list[int] = []

    def call() -> None:
        with httpx.Client(base_url=url, auth=(emu.project_id, emu.secret)) as client:
            answers.append(client.get("/v1/b2b/rbac/policy").status_code)

    caller = threading.Thread(target=call)
    caller.start()
    while emu.requests["rbac.policy"] == 0:  # the request has reached the emulator
        threading.Event().wait(0.005)
    server.stop()
    caller.join(timeout=10)
    assert answers == [200]


@pytest.mark.anyio
async def test_serve_stops_cleanly_on_every_backend() -> None:
    """``async with emu.serve()`` under asyncio and trio leaves no server thread behind (the
    backend's own worker threads, which started and stopped it, idle in their pools)."""
    emu = Emulator()
    async with emu.serve() as url, httpx.AsyncClient(base_url=url) as client:
        assert "stytch-emulator" in {t.name for t in _threads()}
        assert (await client.get("/v1/b2b/rbac/policy")).status_code == 401
    assert "stytch-emulator" not in {t.name for t in _threads()}
