"""Remote authentication under a flood of bogus session cookies (issue 14, item 3). One run.

(a) ``sessions/authenticate`` calls for 300 requests replaying one bogus ``stytch_session``
    cookie, and for 300 distinct bogus cookies: target 1 call for the replays (a refusal is
    remembered by hash); the distinct ones cost one each, printed.
(b) 400 distinct bogus cookies in flight against a Stytch that takes ``--latency`` seconds
    (default 2) to answer each, then a genuine session JWT whose check needs a cold JWKS,
    policy and org-policy fetch: its latency, target answered (no ``StytchUnavailable``) in
    under 1 s. With one shared pool the fetches queue behind the flood.

Everything talks to one emulator over real loopback HTTP in its own thread, with default
``StytchRBAC`` settings (so the script runs against older versions too, for a before/after).

Run: ``.venv/bin/python benchmarks/bench_flood.py [--latency 2] [--flood 400]``.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import time
from pathlib import Path
from typing import Any

import anyio
from _results import save  # benchmarks/_results.py, beside this script

from stytch_rbac.client import StytchRBAC
from stytch_rbac.emulator import Emulator
from stytch_rbac.errors import StytchRBACError, Unauthenticated

POLICY_FILE = Path(__file__).resolve().parent.parent / "examples" / "policy.json"
RESULTS: list[tuple[str, str, str, bool]] = []
DATA: dict[str, Any] = {}


def record(item: str, measured: str, target: str, met: bool) -> None:
    """Keep one comparison for the summary and print it."""
    RESULTS.append((item, measured, target, met))
    print(f"  -> {'OK  ' if met else 'MISS'} {measured}   (target: {target})", flush=True)


def bogus() -> str:
    """A random string shaped like a session token."""
    return secrets.token_urlsafe(33)


async def refused(rbac: StytchRBAC, token: str) -> None:
    """One request with a bogus cookie (refused, or Stytch unavailable)."""
    with contextlib.suppress(StytchRBACError):
        await rbac.authenticate(session_token=token)


async def bench_replays(emu: Emulator, base_url: str) -> None:
    """(a) calls for 300 replays of one bogus cookie and for 300 distinct ones."""
    print("(a) sessions/authenticate calls for 300 bogus cookies", flush=True)
    async with StytchRBAC(emu.project_id, emu.secret, base_url=base_url, clock=emu.clock) as rbac:
        before = emu.requests["sessions.authenticate"]
        token = bogus()
        for _ in range(300):
            with contextlib.suppress(Unauthenticated):
                await rbac.authenticate(session_token=token)
        replayed = emu.requests["sessions.authenticate"] - before
        before = emu.requests["sessions.authenticate"]
        async with anyio.create_task_group() as tg:
            for _ in range(300):
                tg.start_soon(refused, rbac, bogus())
        distinct = emu.requests["sessions.authenticate"] - before
    print(f"     one cookie replayed 300 times: {replayed} calls; 300 distinct: {distinct}")
    DATA["replayed_calls"], DATA["distinct_calls"] = replayed, distinct
    record("(a) replayed bogus cookie", f"{replayed} calls for 300 requests", "1", replayed == 1)


async def bench_flood(emu: Emulator, base_url: str, jwt: str, flood: int, latency: float) -> None:
    """(b) a genuine cold check while ``flood`` bogus cookies wait on a slow Stytch."""
    print(f"(b) a genuine cold check during {flood} bogus cookies ({latency:g} s each)")
    emu.faults.latency("sessions.authenticate", latency)
    rbac = StytchRBAC(emu.project_id, emu.secret, base_url=base_url, clock=emu.clock)
    async with rbac, anyio.create_task_group() as tg:
        for _ in range(flood):
            tg.start_soon(refused, rbac, bogus())
        arrivals = emu.requests["sessions.authenticate"]
        with anyio.fail_after(30):
            while emu.requests["sessions.authenticate"] == arrivals:  # noqa: ASYNC110
                await anyio.sleep(0.01)  # the flood has reached Stytch
        start = time.perf_counter()
        outcome = "answered"
        try:
            principal = await rbac.authenticate(session_jwt=jwt)
            allowed = await rbac.is_authorized(principal, "projects", "archive")
            outcome = "allowed" if allowed else "denied (wrong!)"
        except StytchRBACError as exc:
            outcome = type(exc).__name__
        seconds = time.perf_counter() - start
        in_flight = emu.requests["sessions.authenticate"] - arrivals
        tg.cancel_scope.cancel()
    emu.faults.clear()
    print(f"     genuine check: {outcome} in {seconds * 1000:.0f} ms")
    DATA["genuine_check_ms"], DATA["genuine_outcome"] = round(seconds * 1000, 1), outcome
    DATA["bogus_calls_started_meanwhile"] = in_flight
    record(
        "(b) genuine check under a flood",
        f"{outcome} in {seconds * 1000:.0f} ms",
        "allowed in < 1000 ms",
        outcome == "allowed" and seconds < 1.0,
    )


async def main(args: argparse.Namespace) -> int:
    emu = Emulator(policy=POLICY_FILE)
    org = emu.create_organization(name="Acme").organization_id
    emu.set_org_policy(
        org,
        {
            "roles": [
                {
                    "role_id": "archivist",
                    "description": "Acme only",
                    "permissions": [{"resource_id": "projects", "actions": ["archive"]}],
                }
            ]
        },
    )
    member = emu.create_member(org, email_address="a@acme.test", roles=["archivist"])
    jwt = emu.create_session(member.member_id).session_jwt
    with emu.serve_in_thread() as base_url:
        await bench_replays(emu, base_url)
        await bench_flood(emu, base_url, jwt, args.flood, args.latency)
    print("\nSummary")
    width = max(len(r[0]) for r in RESULTS)
    for item, measured, target, met in RESULTS:
        print(f"  {'OK  ' if met else 'MISS'} {item:<{width}}  {measured}  [target {target}]")
    save("flood", DATA)
    return 1 if any(not r[3] for r in RESULTS) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--latency", type=float, default=2.0, help="seconds Stytch takes")
    parser.add_argument("--flood", type=int, default=400, help="bogus cookies in flight")
    raise SystemExit(anyio.run(main, parser.parse_args()))
