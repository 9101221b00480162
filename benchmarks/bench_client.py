"""StytchRBAC against the stytch SDK 15.x on the same emulator, policy and JWTs. One run.

Prints every comparison of issue 4 item 8 with its target, and exits 1 if a
target is missed:

(a) ``authenticate`` + ``is_authorized`` for a fresh JWT (never seen before),
    warm caches, against the SDK's ``sessions.authenticate_jwt_local_async(jwt,
    authorization_check=...)``: median ratio, target >= 3x.
(b) the same JWT repeated: median ratio, target >= 20x.
(c) upstream fetches for 1,000 concurrent checks, on a cold cache and at cache
    expiry: ours 1 policy fetch and no org-policy fetch (the member holds only project
    roles, so no org policy can change the answer), the SDK's printed beside.
(d) policy endpoints hanging: a warm cache past its TTL answers every check
    without waiting (max latency printed), the SDK waits (its aiohttp default is
    300 s; we stop watching after a few seconds); a cold cache fails with
    StytchUnavailable within the default timeout (10 s).
(e) memory of the org-policy cache after checks for 100,000 organizations (each
    member holds an org custom role, so that each organization's policy is fetched)
    (growth of the process RSS, each library in its own fresh interpreter): ours
    bounded by ``org_cache_size`` (default 10,000), the SDK unbounded. Both run
    their real code paths (ours: ``is_authorized``; the SDK: its policy cache's
    ``get_with_org_async``, what its local check calls); the org-policy bodies
    are the emulator's own answers, replayed by an in-process httpx transport so
    that 100,000 fetches take seconds.
(f) import time and memory of ``import stytch_rbac`` (and of the facade
    module) against ``import stytch`` in fresh interpreters (median of 7), and
    proof that authenticate + a local decision never import the SDK.

Both sides talk to one emulator over real loopback HTTP (``Emulator.serve()``);
the SDK uses its own aiohttp session and PyJWKClient, as its users do. Timings
are per call (``time.perf_counter_ns``), blocks of ours and the SDK's calls
interleave so that machine load affects both alike; medians and p99 are over
calls. asyncio only: the SDK's async JWT path uses ``asyncio.to_thread``.

Run: ``.venv/bin/python benchmarks/bench_client.py [--orgs 100000] [--fresh 2000] [--only abcdef]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import anyio
import httpx
from _results import save  # benchmarks/_results.py, beside this script

from stytch_rbac.client import StytchRBAC
from stytch_rbac.clock import ManualClock
from stytch_rbac.emulator import Emulator
from stytch_rbac.errors import StytchUnavailable

POLICY_FILE = Path(__file__).resolve().parent.parent / "examples" / "policy.json"
RESULTS: list[tuple[str, str, str, bool]] = []  # (item, measured, target, met)
DATA: dict[str, Any] = {}  # the numbers behind RESULTS, for benchmarks/charts.py


def record(item: str, measured: str, target: str, met: bool) -> None:
    """Keep one result row and print it."""
    RESULTS.append((item, measured, target, met))
    print(f"  -> {'OK  ' if met else 'MISS'} {measured}   (target: {target})", flush=True)


def us(ns: float) -> str:
    """Nanoseconds as microseconds, for printing."""
    return f"{ns / 1000:.1f} µs"


def p99(values: list[int]) -> float:
    """99th percentile."""
    return statistics.quantiles(values, n=100)[98]


def sdk_client(emu: Emulator, base_url: str) -> Any:
    """The stytch SDK as its users build it: own aiohttp session, own PyJWKClient."""
    import stytch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # aiohttp's BasicAuth deprecation
        return stytch.B2BClient(emu.project_id, emu.secret, environment=base_url)


async def timed(call: Callable[[], Awaitable[object]]) -> int:
    """One call's duration in ns."""
    start = time.perf_counter_ns()
    await call()
    return time.perf_counter_ns() - start


async def interleaved(
    ours: Callable[[int], Awaitable[object]],
    theirs: Callable[[int], Awaitable[object]],
    n: int,
    block: int,
) -> tuple[list[int], list[int]]:
    """Per-call ns for ``ours(i)`` and ``theirs(i)``, i in range(n), in alternating blocks."""
    a: list[int] = []
    b: list[int] = []
    gc.collect()
    for start in range(0, n, block):
        for i in range(start, min(n, start + block)):
            a.append(await timed(lambda i=i: ours(i)))  # type: ignore[misc]
        for i in range(start, min(n, start + block)):
            b.append(await timed(lambda i=i: theirs(i)))  # type: ignore[misc]
    return a, b


# -- (a) and (b) ---------------------------------------------------------------------------------


def latency_data(ours: list[int], theirs: list[int]) -> dict[str, float]:
    """Median and p99 (µs) of both sides, for the charts."""
    return {
        "ours_median_us": statistics.median(ours) / 1000,
        "ours_p99_us": p99(ours) / 1000,
        "sdk_median_us": statistics.median(theirs) / 1000,
        "sdk_p99_us": p99(theirs) / 1000,
    }


async def bench_latency(emu: Emulator, base_url: str, org: str, member_id: str, fresh: int) -> None:
    from stytch.b2b.models.sessions import AuthorizationCheck

    print(f"\n(a) fresh JWT: authenticate + is_authorized, {fresh} distinct JWTs each", flush=True)
    tokens = [emu.create_session(member_id).session_jwt for _ in range(fresh + 1)]
    check = AuthorizationCheck(organization_id=org, resource_id="documents", action="edit")
    sdk = sdk_client(emu, base_url)
    try:
        async with StytchRBAC(emu.project_id, emu.secret, base_url=base_url) as rbac:

            async def ours(token: str) -> None:
                principal = await rbac.authenticate(session_jwt=token)
                assert await rbac.is_authorized(principal, "documents", "edit")

            async def theirs(token: str) -> None:
                session = await sdk.sessions.authenticate_jwt_local_async(
                    token, authorization_check=check
                )
                assert session is not None  # verified locally, allowed (it raises on denial)

            await ours(tokens[-1])  # warm JWKS, policy, org policy
            await theirs(tokens[-1])
            a, b = await interleaved(
                lambda i: ours(tokens[i]), lambda i: theirs(tokens[i]), fresh, 50
            )
            ratio = statistics.median(b) / statistics.median(a)
            print(f"  ours   median {us(statistics.median(a))}  p99 {us(p99(a))}")
            print(f"  stytch median {us(statistics.median(b))}  p99 {us(p99(b))}")
            DATA["fresh_jwt"] = latency_data(a, b)
            record("(a) fresh JWT", f"{ratio:.1f}x faster (median)", ">= 3x", ratio >= 3)

            print("\n(b) the same JWT repeated (one browser, many requests)", flush=True)
            same = tokens[0]
            a, b = await interleaved(lambda i: ours(same), lambda i: theirs(same), 5000, 100)
            ratio = statistics.median(b) / statistics.median(a)
            print(f"  ours   median {us(statistics.median(a))}  p99 {us(p99(a))}")
            print(f"  stytch median {us(statistics.median(b))}  p99 {us(p99(b))}")
            DATA["repeated_jwt"] = latency_data(a, b)
            record("(b) repeated JWT", f"{ratio:.1f}x faster (median)", ">= 20x", ratio >= 20)
    finally:
        await sdk.close()


# -- (c) -----------------------------------------------------------------------------------------


def delta(emu: Emulator, before: dict[str, int], *names: str) -> dict[str, int]:
    """Requests per endpoint since ``before``."""
    return {n: emu.requests[n] - before.get(n, 0) for n in names}


ENDPOINTS = ("rbac.policy", "rbac.org_policy", "sessions.jwks")


async def settle(emu: Emulator) -> None:
    """Wait until the emulator has seen no new request for 0.2 s (background refreshes done)."""
    last = -1
    while sum(emu.requests.values()) != last:
        last = sum(emu.requests.values())
        await anyio.sleep(0.2)


async def bench_fanout(emu: Emulator, base_url: str, org: str, token: str) -> None:
    from stytch.b2b.models.sessions import AuthorizationCheck

    print("\n(c) upstream fetches for 1,000 concurrent checks", flush=True)
    check = AuthorizationCheck(organization_id=org, resource_id="documents", action="edit")
    rows: list[tuple[str, dict[str, int], dict[str, int]]] = []

    # Cold: nothing cached anywhere.
    before = dict(emu.requests)
    async with StytchRBAC(emu.project_id, emu.secret, base_url=base_url) as rbac:

        async def ours_cold() -> None:
            principal = await rbac.authenticate(session_jwt=token)
            await rbac.is_authorized(principal, "documents", "edit")

        async with anyio.create_task_group() as tg:
            for _ in range(1000):
                tg.start_soon(ours_cold)
        await settle(emu)
    ours = delta(emu, before, *ENDPOINTS)

    sdk = sdk_client(emu, base_url)
    try:
        before = dict(emu.requests)
        await asyncio.gather(
            *(
                sdk.sessions.authenticate_jwt_local_async(token, authorization_check=check)
                for _ in range(1000)
            )
        )
        theirs = delta(emu, before, *ENDPOINTS)
        rows.append(("cold cache", ours, theirs))

        # At expiry: both warm, then every cached policy is past its refresh interval.
        clock = ManualClock()
        async with StytchRBAC(emu.project_id, emu.secret, base_url=base_url, clock=clock) as rbac:
            principal = await rbac.authenticate(session_jwt=token)
            await rbac.is_authorized(principal, "documents", "edit")
            clock.advance(rbac.policy_ttl + 1)
            before = dict(emu.requests)

            async def ours_warm() -> None:
                await rbac.is_authorized(principal, "documents", "edit")

            async with anyio.create_task_group() as tg:
                for _ in range(1000):
                    tg.start_soon(ours_warm)
            await settle(emu)
            ours = delta(emu, before, *ENDPOINTS[:2])

        cache = sdk.sessions.policy_cache
        cache.last_refresh_time = 0.0
        for entry in cache._org_cache.values():
            entry.last_refresh_time = 0.0
        before = dict(emu.requests)
        await asyncio.gather(
            *(
                sdk.sessions.authenticate_jwt_local_async(token, authorization_check=check)
                for _ in range(1000)
            )
        )
        theirs = delta(emu, before, *ENDPOINTS[:2])
        rows.append(("at expiry", ours, theirs))
    finally:
        await sdk.close()

    for label, ours, theirs in rows:
        print(f"  {label:<11} ours {ours}   stytch {theirs}")
        # The member holds only project roles: no org policy can change an answer, so none
        # is fetched (issue 14 item 15); the SDK fetches one regardless.
        met = ours["rbac.policy"] == 1 and ours["rbac.org_policy"] == 0
        record(
            f"(c) fetches, {label}",
            f"ours {ours['rbac.policy']}+{ours['rbac.org_policy']}, "
            f"stytch {theirs['rbac.policy']}+{theirs['rbac.org_policy']} (policy+org policy)",
            "ours 1+0",
            met,
        )


# -- (d) -----------------------------------------------------------------------------------------


async def bench_hang(emu: Emulator, base_url: str, org: str, token: str, sdk_wait: float) -> None:
    from stytch.b2b.models.sessions import AuthorizationCheck

    print("\n(d) policy endpoints hanging", flush=True)
    check = AuthorizationCheck(organization_id=org, resource_id="documents", action="edit")
    clock = ManualClock()
    sdk = sdk_client(emu, base_url)
    try:
        async with StytchRBAC(emu.project_id, emu.secret, base_url=base_url, clock=clock) as rbac:
            principal = await rbac.authenticate(session_jwt=token)
            await rbac.is_authorized(principal, "documents", "edit")
            await sdk.sessions.authenticate_jwt_local_async(token, authorization_check=check)
            emu.faults.hang("rbac.policy")
            emu.faults.hang("rbac.org_policy")
            clock.advance(rbac.policy_ttl + 1)
            times = []
            answers = []
            for _ in range(1000):
                start = time.perf_counter_ns()
                answers.append(await rbac.is_authorized(principal, "documents", "edit"))
                times.append(time.perf_counter_ns() - start)
            print(
                f"  ours, warm cache past TTL: {len(answers)} checks answered, median "
                f"{us(statistics.median(times))}, max {us(max(times))}"
            )
            record(
                "(d) warm cache, endpoint hanging",
                f"all {len(answers)} answered, max {us(max(times))}",
                "every check answered without waiting (< 10 ms)",
                all(answers) and max(times) < 10_000_000,
            )

            cache = sdk.sessions.policy_cache
            cache.last_refresh_time = 0.0
            for entry in cache._org_cache.values():
                entry.last_refresh_time = 0.0
            began = time.perf_counter()
            answered = False
            with anyio.move_on_after(sdk_wait):
                await sdk.sessions.authenticate_jwt_local_async(token, authorization_check=check)
                answered = True
            waited = time.perf_counter() - began
            print(
                f"  stytch at expiry: {'answered' if answered else 'still waiting'} after "
                f"{waited:.1f} s (its aiohttp session times out after 300 s)"
            )

        async with StytchRBAC(emu.project_id, emu.secret, base_url=base_url) as cold:
            principal = await cold.authenticate(session_jwt=token)
            began = time.perf_counter()
            failed = False
            try:
                await cold.is_authorized(principal, "documents", "edit")
            except StytchUnavailable:
                failed = True
            elapsed = time.perf_counter() - began
            print(f"  ours, cold cache: StytchUnavailable={failed} after {elapsed:.2f} s")
            record(
                "(d) cold cache, endpoint hanging",
                f"StytchUnavailable after {elapsed:.2f} s (timeout {cold.timeout:g} s)",
                "StytchUnavailable within the timeout (default 10 s)",
                failed and elapsed <= cold.timeout,
            )
    finally:
        emu.faults.clear()
        await sdk.close()


# -- (e) -----------------------------------------------------------------------------------------


MEMORY_CHILD = """
import asyncio, gc, sys
from datetime import datetime, timezone
import httpx
kind, policy_path, org_path, n_orgs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
policy_body = open(policy_path, "rb").read()
org_body = open(org_path, "rb").read()

def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) * 1024

class Replay(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request):
        body = policy_body if request.url.path.endswith("/rbac/policy") else org_body
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

async def ours(client):
    from stytch_rbac.client import Principal, StytchRBAC
    async with StytchRBAC("project-test-bench", "secret", base_url="http://e.invalid",
                          http_client=client) as rbac:
        await rbac.policy()
        expires = datetime(2030, 1, 1, tzinfo=timezone.utc)
        gc.collect()
        before = rss()
        for i in range(n_orgs):
            principal = Principal(member_id="m", organization_id=f"organization-test-{i}",
                                  organization_slug="s", roles=frozenset({"viewer", "org_custom"}),
                                  session_id="s", expires_at=expires)
            await rbac.is_authorized(principal, "documents", "read")
            await asyncio.sleep(0)  # a service yields to its loop between requests
        gc.collect()
        return rss() - before, rbac.cache_info()["org_policies"].size

async def sdk(client):
    from stytch_rbac._stytch.sdk import make_stytch_client
    stytch = make_stytch_client("project-test-bench", "secret", client,
                                environment="http://e.invalid")
    cache = stytch.sessions.policy_cache
    await cache.get_async()
    gc.collect()
    before = rss()
    for i in range(n_orgs):
        # What authenticate_jwt_local_async(authorization_check=...) does per check.
        await cache.get_with_org_async(f"organization-test-{i}")
        await asyncio.sleep(0)  # a service yields to its loop between requests
    gc.collect()
    return rss() - before, len(cache._org_cache)

async def main():
    async with httpx.AsyncClient(transport=Replay()) as client:
        used, size = await (ours if kind == "ours" else sdk)(client)
    print(used, size)

asyncio.run(main())
"""


async def bench_memory(emu: Emulator, org_with_roles: str, org_without: str, n_orgs: int) -> None:
    import tempfile

    print(f"\n(e) org-policy cache memory after checks for {n_orgs:,} organizations", flush=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app)) as http:
        auth = (emu.project_id, emu.secret)
        policy_body = (await http.get("http://e/v1/b2b/rbac/policy", auth=auth)).content
        bodies = {
            "no custom roles": (
                await http.get(f"http://e/v1/b2b/rbac/organizations/{org_without}", auth=auth)
            ).content,
            "2 custom roles": (
                await http.get(f"http://e/v1/b2b/rbac/organizations/{org_with_roles}", auth=auth)
            ).content,
        }
    mib = 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        policy_path = Path(tmp) / "policy.json"
        policy_path.write_bytes(policy_body)
        for label, org_body in bodies.items():
            org_path = Path(tmp) / "org.json"
            org_path.write_bytes(org_body)
            measured: dict[str, tuple[int, int]] = {}
            for kind in ("ours", "sdk"):
                result = await anyio.run_process(
                    [
                        sys.executable,
                        "-c",
                        MEMORY_CHILD,
                        kind,
                        str(policy_path),
                        str(org_path),
                        str(n_orgs),
                    ]
                )
                used, size = result.stdout.decode().split()
                measured[kind] = (int(used), int(size))
            (ours_bytes, ours_size), (sdk_bytes, sdk_size) = measured["ours"], measured["sdk"]
            DATA.setdefault("memory", {"organizations": n_orgs})[label] = {
                "ours_mib": ours_bytes / mib,
                "ours_cached": ours_size,
                "sdk_mib": sdk_bytes / mib,
                "sdk_cached": sdk_size,
            }
            print(
                f"  {label}: ours {ours_bytes / mib:.1f} MiB ({ours_size:,} orgs cached)   "
                f"stytch {sdk_bytes / mib:.1f} MiB ({sdk_size:,} orgs cached)"
            )
            record(
                f"(e) memory, {label}",
                f"ours {ours_bytes / mib:.1f} MiB / {ours_size:,} orgs, "
                f"stytch {sdk_bytes / mib:.1f} MiB / {sdk_size:,} orgs",
                "ours bounded by org_cache_size (10,000) and smaller than the SDK's",
                ours_size <= 10_000 and ours_bytes < sdk_bytes,
            )


# -- (f) -----------------------------------------------------------------------------------------

IMPORT_PROBE = """
import sys, time
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
before = rss()
start = time.perf_counter()
{stmt}
elapsed = time.perf_counter() - start
print(elapsed, (rss() - before) / 1024, "stytch" in sys.modules)
"""

DECISION_PROBE = """
import sys, anyio
from stytch_rbac.client import StytchRBAC
async def main():
    async with StytchRBAC(sys.argv[1], sys.argv[2], base_url=sys.argv[3]) as rbac:
        principal = await rbac.authenticate(session_jwt=sys.argv[4])
        assert await rbac.is_authorized(principal, "documents", "edit")
        await rbac.permissions(principal)
anyio.run(main)
print(sorted(m for m in sys.modules if m == "stytch" or m.startswith("stytch.")))
"""


def import_cost(stmt: str, runs: int = 7) -> tuple[float, float, bool]:
    """Median seconds and MiB of ``stmt`` in fresh interpreters, and whether it loads stytch."""
    times, mems, loaded = [], [], False
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", IMPORT_PROBE.format(stmt=stmt)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        times.append(float(out[0]))
        mems.append(float(out[1]))
        loaded = out[2] == "True"
    return statistics.median(times), statistics.median(mems), loaded


async def bench_import(emu: Emulator, base_url: str, token: str) -> None:
    print("\n(f) import cost (fresh interpreters, median of 7)", flush=True)
    rows = {
        "import stytch_rbac": import_cost("import stytch_rbac"),
        "... + StytchRBAC(...) built (loads httpx)": import_cost(
            "import stytch_rbac; stytch_rbac.StytchRBAC('project-test-x', 's')"
        ),
        "import stytch": import_cost("import stytch"),
    }
    for stmt, (seconds, mib, loaded) in rows.items():
        print(f"  {stmt:<46} {seconds * 1000:6.0f} ms  {mib:5.1f} MiB  stytch loaded: {loaded}")
    DATA["import"] = {
        stmt: {"ms": seconds * 1000, "mib": mib} for stmt, (seconds, mib, _) in rows.items()
    }
    sdk_time = rows["import stytch"][0]
    seconds, mib, loaded = rows["import stytch_rbac"]
    record(
        "(f) import stytch_rbac",
        f"{seconds * 1000:.0f} ms, {mib:.0f} MiB = {seconds / sdk_time:.2f} x import stytch "
        f"({sdk_time * 1000:.0f} ms, {rows['import stytch'][1]:.0f} MiB)",
        "<= 0.5 x import stytch, SDK not imported",
        seconds <= 0.5 * sdk_time and not loaded,
    )
    result = await anyio.run_process(
        [sys.executable, "-c", DECISION_PROBE, emu.project_id, emu.secret, base_url, token]
    )
    loaded_modules = json.loads(result.stdout.decode().strip().replace("'", '"'))
    print(f"  stytch modules after authenticate + decisions: {loaded_modules}")
    record(
        "(f) authenticate + local decision",
        f"stytch modules imported: {len(loaded_modules)}",
        "none",
        not loaded_modules,
    )


# -- main ----------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> int:
    print(
        f"stytch-rbac vs stytch {version('stytch')} | Python {platform.python_version()} | "
        f"{platform.machine()} | httpx {version('httpx')} | PyJWT {version('pyjwt')}"
    )
    emu = Emulator(policy=POLICY_FILE)
    org = emu.create_organization(name="Acme", slug="acme").organization_id
    other = emu.create_organization(name="Globex", slug="globex").organization_id
    emu.set_org_policy(
        other,
        {
            "roles": [
                {
                    "role_id": "archivist",
                    "description": "Archives projects",
                    "permissions": [{"resource_id": "projects", "actions": ["archive", "read"]}],
                },
                {
                    "role_id": "doc_lead",
                    "description": "Everything on documents",
                    "permissions": [{"resource_id": "documents", "actions": ["*"]}],
                },
            ]
        },
    )
    editor = emu.create_member(org, email_address="ed@acme.test", roles=["editor"]).member_id
    token = emu.create_session(editor).session_jwt
    only = set(args.only)
    async with emu.serve() as base_url:
        if "a" in only or "b" in only:
            await bench_latency(emu, base_url, org, editor, args.fresh)
        if "c" in only:
            await bench_fanout(emu, base_url, org, token)
        if "d" in only:
            await bench_hang(emu, base_url, org, token, args.sdk_wait)
        if "f" in only:
            await bench_import(emu, base_url, token)
    if "e" in only:
        await bench_memory(emu, other, org, args.orgs)

    print("\nSummary")
    width = max(len(r[0]) for r in RESULTS)
    for item, measured, target, met in RESULTS:
        print(f"  {'OK  ' if met else 'MISS'} {item:<{width}}  {measured}  [target {target}]")
    if only == set("abcdef"):
        save("client", DATA)
    else:
        print("(a partial run: results not saved)")
    missed = [r for r in RESULTS if not r[3]]
    return 1 if missed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orgs", type=int, default=100_000, help="organizations for (e)")
    parser.add_argument("--fresh", type=int, default=2_000, help="distinct JWTs for (a)")
    parser.add_argument(
        "--sdk-wait", type=float, default=3.0, help="seconds to watch the SDK in (d)"
    )
    parser.add_argument("--only", default="abcdef", help="which items to run, e.g. 'ae'")
    sys.exit(asyncio.run(main(parser.parse_args())))
