"""Load: 1,000 concurrent requests across endpoints over loopback, no errors, no lost writes.

Each request has its own TCP connection, all open at once: this measures the
emulator, not a client pool (httpx's pool spends most of its time queueing when
1,000 requests wait on it). HTTP/1.1 is spoken with ``h11``, uvicorn's own parser.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import h11
import pytest

from .conftest import Seeded

REQUESTS = 1000


async def _request(
    port: int, auth: str, method: str, path: str, body: dict[str, Any] | None
) -> tuple[int, Any]:
    """One HTTP/1.1 request on a fresh connection; the status and the decoded JSON body."""
    conn = h11.Connection(h11.CLIENT)
    payload = b"" if body is None else json.dumps(body).encode()
    headers = [
        ("Host", "127.0.0.1"),
        ("Authorization", f"Basic {auth}"),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(payload))),
        ("Connection", "close"),
    ]
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        data = conn.send(h11.Request(method=method, target=path, headers=headers))
        data += conn.send(h11.Data(data=payload)) + conn.send(h11.EndOfMessage())
        await stream.send(data)
        status, chunks = 0, []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive())
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return status, json.loads(b"".join(chunks))


@pytest.mark.anyio
async def test_thousand_concurrent_requests(seeded: Seeded) -> None:
    """Mixed reads, session checks and 250 member creations, all in flight at once, all
    succeed, and every created member is found afterwards."""
    emu, org_id = seeded.emu, seeded.acme.organization_id
    auth = base64.b64encode(f"{emu.project_id}:{emu.secret}".encode()).decode()
    calls: list[tuple[str, str, dict[str, Any] | None]] = []
    for i in range(REQUESTS):
        kind = i % 4
        if kind == 0:
            calls.append(
                (
                    "POST",
                    f"/v1/b2b/organizations/{org_id}/members",
                    {"organization_id": org_id, "email_address": f"load{i}@acme.test"},
                )
            )
        elif kind == 1:
            calls.append(
                (
                    "POST",
                    "/v1/b2b/sessions/authenticate",
                    {"session_jwt": seeded.editor_session.session_jwt},
                )
            )
        elif kind == 2:
            calls.append(("GET", f"/v1/b2b/rbac/organizations/{org_id}", None))
        else:
            calls.append(("GET", "/v1/b2b/rbac/policy", None))
    statuses: list[int] = []
    created: list[str] = []
    async with emu.serve() as url:
        port = int(url.rsplit(":", 1)[1])

        async def one(method: str, path: str, body: dict[str, Any] | None) -> None:
            status, answer = await _request(port, auth, method, path, body)
            statuses.append(status)
            if body is not None and "email_address" in body:
                created.append(answer["member_id"])

        with anyio.fail_after(60):  # a hang guard only: nothing here measures speed
            async with anyio.create_task_group() as tg:
                for method, path, body in calls:
                    tg.start_soon(one, method, path, body)
        _, search = await _request(
            port,
            auth,
            "POST",
            "/v1/b2b/organizations/members/search",
            {"organization_ids": [org_id], "limit": 1000},
        )
    assert statuses == [200] * REQUESTS
    assert len(created) == REQUESTS // 4
    assert set(created) <= {m["member_id"] for m in search["members"]}
    assert emu.requests["organizations.members.create"] == REQUESTS // 4
