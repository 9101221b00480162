"""Requests/second of a guarded FastAPI endpoint: stytch-rbac's guard vs the stytch SDK. One run.

Two FastAPI apps, identical but for the dependency that guards ``GET /doc``
(member must hold ``documents:edit`` in organization Acme):

* **stytch-rbac**: ``Depends(rbac.require(P.documents.edit, organization_id=ACME))``;
  the session JWT is verified locally (RS256, cached JWKS) and the policy
  decided locally (cached, compiled);
* **stytch SDK**: a dependency calling
  ``await client.sessions.authenticate_jwt_async(jwt, authorization_check=...)``
  (local JWT verification and local RBAC check; its async client runs on aiohttp).

Each app runs in its own process (uvicorn, one worker, asyncio loop) against
the same Stytch emulator served over loopback HTTP (only reached while
warming up: JWKS and policy are cached by both).

The load generator must not take the servers' CPU: on a machine with two or
more cores the servers are pinned to one half of the cores and the load
generator to the other half. The generator is ``wrk`` when it is installed
(``apt-get install wrk``; one thread, a Lua script cycling the tokens and
counting wrong statuses), else this script's own raw HTTP/1.1 client over
anyio. Both keep 16 connections alive and check every status. Series are
interleaved round by round (order rotated), so load from elsewhere on the
machine hits both alike; the reported figure is the median round.

Series:

* ``repeated token``: every request carries one of 64 member JWTs. stytch-rbac
  remembers a verified JWT until its ``exp``, so it skips RSA after the first
  sight of each token; the SDK verifies every time.
* ``memo off``: the same, with stytch-rbac's JWT memo shrunk to one entry
  (an internal knob, set only here), so about 98% of its requests verify RSA:
  the cost when every request brings a JWT not seen before.
* ``unguarded``: the same app's ``GET /open`` with no dependency, the ceiling.
  ``guard / unguarded`` is the share of that ceiling each guard keeps.

Run: ``.venv/bin/python benchmarks/bench_guard.py`` (or ``make bench``).
Exit status 1 if any response is not the expected one.
"""

# No ``from __future__ import annotations``: FastAPI must see the live Annotated dependencies
# of the apps built inside functions below.

import argparse
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import anyio
from _results import save  # benchmarks/_results.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
POLICY_FILE = ROOT / "examples" / "policy.json"
TOKENS = 64  # distinct member sessions the requests cycle through
CONNECTIONS = 16
ROUND_SECONDS = 2.0
ROUNDS = 5
WARMUP_REQUESTS = 300
SERIES = ("stytch-rbac", "stytch-rbac memo off", "stytch SDK", "unguarded")


# -- the servers (child processes) -----------------------------------------------------------


def _bind() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _ours_app(organization_id: str, memo: bool) -> Any:
    from fastapi import Depends, FastAPI

    from stytch_rbac import Permission
    from stytch_rbac.client import StytchRBAC
    from stytch_rbac.principal import Principal

    rbac = StytchRBAC.from_env()
    if not memo:
        rbac._verifier.memo_size = 1  # benchmark-only: measure RSA verification on every request

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with rbac:
            yield

    app = FastAPI(lifespan=lifespan)
    guard = rbac.require(Permission("documents", "edit"), organization_id=organization_id)

    @app.get("/doc")
    async def doc(who: Annotated[Principal, Depends(guard)]) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.get("/open")
    async def open_() -> dict[str, str]:
        return {"member_id": "-"}

    return app


def _sdk_app(organization_id: str) -> Any:
    import stytch
    from fastapi import Depends, FastAPI, HTTPException, Request
    from stytch.b2b.models.sessions import AuthorizationCheck, MemberSession
    from stytch.core.response_base import StytchError
    from stytch.shared.rbac_local import RBACPermissionError, TenancyError

    client = stytch.B2BClient(
        os.environ["STYTCH_PROJECT_ID"],
        os.environ["STYTCH_SECRET"],
        environment=os.environ["STYTCH_BASE_URL"],
        suppress_warnings=True,
    )
    check = AuthorizationCheck(
        organization_id=organization_id, resource_id="documents", action="edit"
    )

    async def sdk_guard(request: Request) -> MemberSession:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
        try:
            answer = await client.sessions.authenticate_jwt_async(token, authorization_check=check)
        except (RBACPermissionError, TenancyError):
            raise HTTPException(403) from None
        except StytchError:
            raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"}) from None
        return answer.member_session

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await client.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/doc")
    async def doc(who: Annotated[MemberSession, Depends(sdk_guard)]) -> dict[str, str]:
        return {"member_id": who.member_id}

    return app


def serve(kind: str, organization_id: str) -> int:
    """Child process: serve one app, print its port, run until SIGTERM."""
    import uvicorn

    if kind == "sdk":
        app = _sdk_app(organization_id)
    else:
        app = _ours_app(organization_id, memo=kind == "ours")
    sock = _bind()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=sock.getsockname()[1],
        loop="asyncio",
        log_level="warning",
        access_log=False,
        lifespan="on",
        backlog=1024,
    )
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


# -- the load generator ----------------------------------------------------------------------


def _requests(path: str, tokens: Sequence[str]) -> list[bytes]:
    return [
        f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {t}\r\n\r\n".encode()
        for t in tokens
    ]


_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


async def load(
    port: int, requests: Sequence[bytes], seconds: float, expected: int = 200
) -> tuple[int, int]:
    """Send requests on CONNECTIONS keep-alive connections for ``seconds``: (done, wrong)."""
    done = wrong = 0
    deadline = time.perf_counter() + seconds

    async def connection(k: int) -> None:
        nonlocal done, wrong
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            buffer = b""
            i = k
            while time.perf_counter() < deadline:
                await stream.send(requests[i % len(requests)])
                i += CONNECTIONS
                while b"\r\n\r\n" not in buffer:
                    buffer += await stream.receive()
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                match = _LENGTH.search(head)
                length = int(match.group(1)) if match else 0
                while len(buffer) < length:
                    buffer += await stream.receive()
                buffer = buffer[length:]
                done += 1
                if int(head[9:12]) != expected:
                    wrong += 1

    async with anyio.create_task_group() as tg:
        for k in range(CONNECTIONS):
            tg.start_soon(connection, k)
    return done, wrong


_WRK_SCRIPT = """
local tokens = {%(tokens)s}
local threads = {}
local i = 0
wrong = 0
function setup(thread) table.insert(threads, thread) end
function request()
  i = i + 1
  local token = tokens[(i %% #tokens) + 1]
  return wrk.format("GET", "%(path)s", {["Authorization"] = "Bearer " .. token})
end
function response(status, headers, body)
  if status ~= %(expected)d then wrong = wrong + 1 end
end
function done(summary, latency, requests)
  local total_wrong = 0
  for _, t in ipairs(threads) do total_wrong = total_wrong + t:get("wrong") end
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    total_wrong, e.connect + e.read + e.write + e.timeout))
end
"""


def load_wrk(
    port: int, path: str, tokens: Sequence[str], seconds: float, expected: int = 200
) -> tuple[int, int, float]:
    """Run wrk for ``seconds``: (done, wrong, elapsed seconds); socket errors count as wrong."""
    script = _WRK_SCRIPT % {
        "tokens": ", ".join(f'"{t}"' for t in tokens),
        "path": path,
        "expected": expected,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{round(seconds)}s", "-s", file.name,
             f"http://127.0.0.1:{port}{path}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(file.name)
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    done, micros, wrong, errors = (int(x) for x in line.split()[1:])
    return done, wrong + errors, micros / 1e6


def cpu_halves() -> tuple[set[int], set[int]] | None:
    """(server cores, load-generator cores), or None on a one-core machine."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    half = len(cores) // 2
    return set(cores[:half]), set(cores[half:])


def _start(
    kind: str, env: dict[str, str], organization_id: str, cores: set[int] | None
) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--organization-id", organization_id],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"{kind} server did not start")
    return proc, int(line.split()[1])


def main() -> int:
    """Run every series, print the table and the ratios."""
    from stytch_rbac.emulator import Emulator

    emulator = Emulator(policy=POLICY_FILE)
    acme = emulator.create_organization("Acme", slug="acme").organization_id
    member = emulator.create_member(acme, email_address="bench@acme.test", roles=["editor"])
    viewer = emulator.create_member(acme, email_address="viewer@acme.test", roles=["viewer"])
    tokens = [
        emulator.create_session(member.member_id, duration_minutes=60).session_jwt
        for _ in range(TOKENS)
    ]
    denied = _requests("/doc", [emulator.create_session(viewer.member_id).session_jwt])
    failures: list[str] = []
    halves = cpu_halves()
    server_cores, load_cores = halves if halves else (None, None)
    generator = "wrk" if shutil.which("wrk") else "python (anyio)"
    with emulator.serve_in_thread() as base_url:
        env = {
            **os.environ,
            "STYTCH_PROJECT_ID": emulator.project_id,
            "STYTCH_SECRET": emulator.secret,
            "STYTCH_BASE_URL": base_url,
        }
        servers = {
            kind: _start(kind, env, acme, server_cores) for kind in ("ours", "ours-nomemo", "sdk")
        }
        ports = {
            "stytch-rbac": servers["ours"][1],
            "stytch-rbac memo off": servers["ours-nomemo"][1],
            "stytch SDK": servers["sdk"][1],
            "unguarded": servers["ours"][1],
        }
        paths = {name: "/open" if name == "unguarded" else "/doc" for name in SERIES}
        payloads = {name: _requests(paths[name], tokens) for name in SERIES}

        def measure(name: str) -> tuple[int, int, float]:
            if generator == "wrk":
                return load_wrk(ports[name], paths[name], tokens, ROUND_SECONDS)
            start = time.perf_counter()
            done, wrong = anyio.run(load, ports[name], payloads[name], ROUND_SECONDS)
            return done, wrong, time.perf_counter() - start

        rps: dict[str, list[float]] = {name: [] for name in SERIES}
        try:
            for name in SERIES:  # warm caches (JWKS, policy, aiohttp session) and check answers
                ok, wrong = anyio.run(load, ports[name], payloads[name][:WARMUP_REQUESTS], 0.5)
                if wrong:
                    failures.append(f"{name}: {wrong} of {ok} warm-up answers were not 200")
                if name != "unguarded":
                    _, allowed = anyio.run(load, ports[name], denied, 0.2, 403)
                    if allowed:
                        failures.append(f"{name}: {allowed} answers to a viewer were not 403")
            if load_cores:  # the emulator thread is idle from here on: this process only loads
                os.sched_setaffinity(0, load_cores)
            for r in range(ROUNDS):
                order = SERIES[r % len(SERIES) :] + SERIES[: r % len(SERIES)]
                for name in order:
                    done, wrong, elapsed = measure(name)
                    rps[name].append(done / elapsed)
                    if wrong:
                        failures.append(f"{name}: {wrong} of {done} answers were not 200")
        finally:
            for proc, _ in servers.values():
                proc.send_signal(signal.SIGTERM)
            for proc, _ in servers.values():
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                if proc.stdout is not None:
                    proc.stdout.close()

    print(__doc__.splitlines()[0])
    print(
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}; stytch {version('stytch')}, fastapi "
        f"{version('fastapi')}, uvicorn {version('uvicorn')}, aiohttp {version('aiohttp')}"
    )
    pinning = (
        f"servers on cores {sorted(server_cores)}, load on cores {sorted(load_cores)}"
        if server_cores and load_cores
        else "one core: servers and load share it"
    )
    print(
        f"load generator {generator}, {CONNECTIONS} keep-alive connections, {TOKENS} member "
        f"JWTs, {ROUNDS} interleaved rounds of {ROUND_SECONDS:.0f} s per series; {pinning}\n"
    )
    print(f"{'series':<24}{'median req/s':>14}{'min':>10}{'max':>10}")
    median = {name: statistics.median(values) for name, values in rps.items()}
    for name in SERIES:
        print(f"{name:<24}{median[name]:>14,.0f}{min(rps[name]):>10,.0f}{max(rps[name]):>10,.0f}")
    print()
    sdk = median["stytch SDK"]
    print(f"ratio stytch-rbac / stytch SDK (repeated tokens): {median['stytch-rbac'] / sdk:.2f}x")
    print(
        f"ratio stytch-rbac / stytch SDK (memo off, RSA every request): "
        f"{median['stytch-rbac memo off'] / sdk:.2f}x"
    )
    ceiling = median["unguarded"]
    print(
        f"ceiling ratio guard / unguarded: stytch-rbac {median['stytch-rbac'] / ceiling:.2f}, "
        f"memo off {median['stytch-rbac memo off'] / ceiling:.2f}, stytch SDK {sdk / ceiling:.2f}"
    )
    print(
        f"guard overhead vs unguarded: stytch-rbac "
        f"{1e6 / median['stytch-rbac'] - 1e6 / median['unguarded']:.0f} µs/request, "
        f"stytch SDK {1e6 / sdk - 1e6 / median['unguarded']:.0f} µs/request"
    )
    save(
        "guard",
        {
            "unit": "requests per second",
            "load_generator": generator,
            "pinned": bool(server_cores),
            "connections": CONNECTIONS,
            "tokens": TOKENS,
            "rounds": ROUNDS,
            "round_seconds": ROUND_SECONDS,
            "series": {
                name: {
                    "median": median[name],
                    "min": min(rps[name]),
                    "max": max(rps[name]),
                    "rounds": rps[name],
                }
                for name in SERIES
            },
        },
    )
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=("ours", "ours-nomemo", "sdk"))
    parser.add_argument("--organization-id")
    arguments = parser.parse_args()
    if arguments.serve:
        sys.exit(serve(arguments.serve, arguments.organization_id))
    sys.exit(main())
