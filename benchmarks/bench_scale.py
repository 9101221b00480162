"""StytchRBAC at a large customer's scale: issue 14, items 13, 14 and 15. One run.

(13) Event-loop lag while the project policy (10,000 roles) is refreshed, unchanged
     (a new request_id, the same policy) and changed: a ticker task sleeps 1 ms at a
     time and records how late it wakes; p100 (the worst wake-up) is the lag any
     request would have seen. Target: p100 < 10 ms for both. "Before" runs the old
     loader's steps on the event loop in the same run (json.loads, Policy.parse,
     CompiledPolicy, the two canonical-JSON hashes of the change log line). Every
     pause of CPython's cyclic GC meanwhile is recorded too (``gc.callbacks``): the
     longest is printed, and so is the p100 lag of the ticks no GC pause overlapped
     (the library's own steps; target < 10 ms as well). A GC pause stops every
     thread, whichever triggered it; the library leaves the process's GC settings
     alone (docs/caching.md).
(14) The first check of an organization's member after a project-policy change, at
     10,000 project roles: the org's merge is redone then. Target: < 20 µs (median).
     "Before" is the old merge's validation step alone (``org_problems`` against the
     whole project policy), timed on the same policies. And the decision for a member
     holding an org custom role against one holding a project role, on warm caches:
     target ratio <= 1.25 (median of ``CompiledPolicy.allows``; ``is_authorized`` end
     to end printed beside it: a custom role also reads the org-policy cache).
(15) Org-policy requests to Stytch per TTL for N processes x M organizations, by
     share of organizations using custom roles. One process is simulated for real
     (its StytchRBAC, an in-process transport counting requests, members drawn at
     random, every organization met once per TTL) and multiplied by N. "Before" is
     counted in the same simulation through ``StytchRBAC.policy(organization_id)``,
     which is what every decision called before (every org met fetched its policy).

Stytch is replaced by an in-process httpx transport replaying fixed answers, so that
only the library's own work is measured. Timings are medians over calls
(``time.perf_counter_ns``) unless said otherwise.

Run: ``.venv/bin/python benchmarks/bench_scale.py [--roles 10000] [--orgs 10000]
[--processes 1000] [--only abc]``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import json
import math
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from _results import save  # benchmarks/_results.py, beside this script

from stytch_rbac import CompiledPolicy, OrgPolicy, Policy
from stytch_rbac.client import Principal, StytchRBAC
from stytch_rbac.policy.problems import org_problems

POLICY_FILE = Path(__file__).resolve().parent.parent / "examples" / "policy.json"
RESULTS: list[tuple[str, str, str, bool]] = []
DATA: dict[str, Any] = {}
EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)
ORG_ROLES: dict[str, Any] = {
    "roles": [
        {
            "role_id": "lead",
            "description": "every documents action",
            "permissions": [{"resource_id": "documents", "actions": ["*"]}],
        },
        {
            "role_id": "archivist",
            "description": "archives projects",
            "permissions": [
                {"resource_id": "projects", "actions": ["archive", "read"]},
                {"resource_id": "billing", "actions": ["read"]},
            ],
        },
    ]
}


def record(item: str, measured: str, target: str, met: bool) -> None:
    """Keep one result row and print it."""
    RESULTS.append((item, measured, target, met))
    print(f"  -> {'OK  ' if met else 'FAIL'} {item}: {measured}   [target {target}]", flush=True)


def us(ns: float) -> str:
    """Nanoseconds as microseconds, for printing."""
    return f"{ns / 1000:.2f} µs"


def replicate(doc: dict[str, Any], n_roles: int) -> dict[str, Any]:
    """examples/policy.json with its roles and resources copied to ``n_roles`` roles (copy k
    of role R is ``R_k``, granting on copy k of its resources), as bench_decide.py does."""
    copies = math.ceil(n_roles / len(doc["roles"]))
    out = copy.deepcopy(doc)
    for k in range(1, copies):
        for resource in doc["resources"]:
            out["resources"].append({**resource, "resource_id": f"{resource['resource_id']}_{k}"})
        for role in doc["roles"]:
            perms = [
                {"resource_id": f"{p['resource_id']}_{k}", "actions": p["actions"]}
                for p in role["permissions"]
            ]
            out["roles"].append({**role, "role_id": f"{role['role_id']}_{k}", "permissions": perms})
    out["roles"] = out["roles"][:n_roles]
    return out


class Stytch(httpx.AsyncBaseTransport):
    """Stytch's policy and org-policy endpoints, answered in process, requests counted.

    Every answer carries a new request_id, as Stytch's do. ``custom`` holds the
    organizations that have custom roles; every other one has none.
    """

    def __init__(self, policy: dict[str, Any]) -> None:
        self.custom: set[str] = set()
        self.requests: Counter[str] = Counter()
        self._policy_json = json.dumps(policy).encode()
        self._org_json = json.dumps(ORG_ROLES)

    def set_policy(self, policy: dict[str, Any]) -> None:
        self.set_policy_json(json.dumps(policy).encode())

    def set_policy_json(self, policy_json: bytes) -> None:
        # Encoded once: only a copy of the body is made per request (as a network read
        # would), so that this stand-in for Stytch adds next to nothing to the lag.
        self._policy_json = policy_json

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        n = sum(self.requests.values())
        envelope = f'{{"status_code": 200, "request_id": "request-id-test-{n}", '
        if request.url.path.endswith("/rbac/policy"):
            self.requests["policy"] += 1
            body = b"".join([f'{envelope}"policy": '.encode(), self._policy_json, b"}"])
        else:
            self.requests["org_policy"] += 1
            organization_id = request.url.path.rsplit("/", 1)[1]
            roles = self._org_json if organization_id in self.custom else '{"roles": []}'
            body = f'{envelope}"org_policy": {roles}}}'.encode()
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


def facade(stytch: Stytch) -> StytchRBAC:
    return StytchRBAC(
        "project-test-bench",
        "secret-bench",
        base_url="http://stytch.invalid",
        http_client=httpx.AsyncClient(transport=stytch),
        org_cache_size=1_000_000,
    )


def principal(organization_id: str, roles: frozenset[str]) -> Principal:
    return Principal(
        member_id="member-test-bench",
        organization_id=organization_id,
        organization_slug="bench",
        roles=roles,
        session_id="session-test-bench",
        expires_at=EXPIRES,
    )


# -- (13) event-loop lag -------------------------------------------------------------------------


class GCPauses:
    """Every pause of the cyclic garbage collector while it is installed: (start, end)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float]] = []
        self._start = 0.0

    def __call__(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append((self._start, time.perf_counter()))

    @property
    def longest(self) -> float:
        return max((end - start for start, end in self.pauses), default=0.0)

    def overlaps(self, start: float, end: float) -> bool:
        return any(p_start < end and start < p_end for p_start, p_end in self.pauses)


async def lag_during(work: Callable[[], Awaitable[object]]) -> tuple[float, float, float, float]:
    """Run ``work`` beside a ticker sleeping 1 ms at a time: (p100 lag, p99 lag, the longest
    cyclic-GC pause meanwhile, p100 lag of the ticks no GC pause overlapped), in ms."""
    ticks: list[tuple[float, float]] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            ticks.append((start, time.perf_counter()))

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    ticks.clear()
    pauses = GCPauses()
    gc.callbacks.append(pauses)
    try:
        await work()
    finally:
        gc.callbacks.remove(pauses)
        done.set()
        await task
    lags = sorted(end - start - 0.001 for start, end in ticks)
    outside = [end - start - 0.001 for start, end in ticks if not pauses.overlaps(start, end)]
    p99 = lags[int(len(lags) * 0.99)] if lags else 0.0
    return (
        (lags[-1] if lags else 0.0) * 1000,
        p99 * 1000,
        pauses.longest * 1000,
        max(outside, default=0.0) * 1000,
    )


def old_loader(body: bytes) -> CompiledPolicy:
    """What a refresh did on the event loop before: decode, parse, compile, and the change
    log line's two canonical-JSON hashes."""
    compiled = CompiledPolicy(Policy.parse(json.loads(body)))
    compiled.policy.sha256()
    compiled.policy.sha256()
    return compiled


async def bench_lag(n_roles: int, runs: int) -> None:
    print(f"\n(13) event-loop lag during a refresh of a {n_roles:,}-role policy", flush=True)
    # Only the bytes are kept: a service holds no decoded copy of Stytch's answer, and
    # one here would double what every collection of the cyclic GC walks.
    policy_json = json.dumps(replicate(json.loads(POLICY_FILE.read_text()), n_roles)).encode()
    stytch = Stytch({})
    stytch.set_policy_json(policy_json)
    print(f"  policy body: {len(policy_json) / 1e6:.1f} MB")
    rows: dict[str, list[tuple[float, float, float, float]]] = {
        "unchanged": [],
        "changed": [],
        "before": [],
    }
    async with facade(stytch) as rbac:
        await rbac.policy()
        for run in range(runs):
            before = await rbac.policy()
            rows["unchanged"].append(await lag_during(rbac.refresh_policy))
            assert await rbac.policy() is before
            # One role's description changed: the next unchanged refresh serves it again.
            stytch.set_policy_json(
                policy_json.replace(b'"description": "', b'"description": "%d ' % run, 1)
            )
            rows["changed"].append(await lag_during(rbac.refresh_policy))
            assert await rbac.policy() is not before
            await asyncio.sleep(0.5)  # the replaced policy is freed in a worker thread
    body = b'{"status_code": 200, "request_id": "x", "policy": ' + policy_json + b"}"

    async def old() -> None:
        old_loader(body)

    for _ in range(min(runs, 3)):
        gc.collect()
        rows["before"].append(await lag_during(old))
    DATA["lag"] = {}
    for label, samples in rows.items():
        p100 = statistics.median(s[0] for s in samples)
        print(
            f"  {label:<9} p100 lag median of {len(samples)} runs {p100:8.2f} ms "
            f"(runs: {', '.join(f'{s[0]:.1f}' for s in samples)}; p99 "
            f"{statistics.median(s[1] for s in samples):.2f} ms; longest cyclic-GC pause "
            f"{statistics.median(s[2] for s in samples):.1f} ms; p100 outside GC pauses "
            f"{statistics.median(s[3] for s in samples):.2f} ms)"
        )
        DATA["lag"][label] = {
            "p100_ms": [s[0] for s in samples],
            "p99_ms": [s[1] for s in samples],
            "gc_pause_ms": [s[2] for s in samples],
            "p100_outside_gc_ms": [s[3] for s in samples],
        }
    for label in ("unchanged", "changed"):
        outside = statistics.median(s[3] for s in rows[label])
        record(
            f"(13) refresh lag outside cyclic-GC pauses, {label}",
            f"p100 {outside:.2f} ms (median of runs; the library's own steps)",
            "< 10 ms",
            outside < 10,
        )
    for label in ("unchanged", "changed"):
        p100 = statistics.median(s[0] for s in rows[label])
        record(
            f"(13) refresh lag, {label}",
            f"p100 {p100:.2f} ms (median of runs; longest GC pause "
            f"{statistics.median(s[2] for s in rows[label]):.0f} ms; before: "
            f"{statistics.median(s[0] for s in rows['before']):.0f} ms)",
            "< 10 ms",
            p100 < 10,
        )


# -- (14) merges ---------------------------------------------------------------------------------


async def bench_merge(n_roles: int, n_orgs: int) -> None:
    print(f"\n(14) first check per organization after a policy change, {n_roles:,} roles")
    doc = replicate(json.loads(POLICY_FILE.read_text()), n_roles)
    stytch = Stytch(doc)
    orgs = [f"organization-test-{i}" for i in range(n_orgs)]
    stytch.custom.update(orgs)
    lead = frozenset({"stytch_member", "lead"})
    editor = frozenset({"stytch_member", "editor"})
    async with facade(stytch) as rbac:
        for org in orgs:
            await rbac.policy(org)  # every org policy fetched and cached
        changed = copy.deepcopy(doc)
        changed["roles"][0]["description"] = "changed"
        stytch.set_policy(changed)
        await rbac.refresh_policy()  # every merge is now for an older project policy
        first: list[int] = []
        for org in orgs:
            p = principal(org, lead)
            start = time.perf_counter_ns()
            allowed = await rbac.is_authorized(p, "documents", "delete")
            first.append(time.perf_counter_ns() - start)
            assert allowed
        warm_custom: list[int] = []
        warm_project: list[int] = []
        custom, project = principal(orgs[0], lead), principal(orgs[0], editor)
        for _ in range(20):
            for _ in range(500):
                start = time.perf_counter_ns()
                await rbac.is_authorized(custom, "documents", "delete")
                warm_custom.append(time.perf_counter_ns() - start)
            for _ in range(500):
                start = time.perf_counter_ns()
                await rbac.is_authorized(project, "documents", "edit")
                warm_project.append(time.perf_counter_ns() - start)
        base = await rbac.policy()
        merged = await rbac.policy(orgs[0])
    allows_custom, allows_project = timed_pair(
        lambda: merged.allows(lead, "documents", "delete"),
        lambda: base.allows(editor, "documents", "edit"),
    )
    org_policy = OrgPolicy.parse(ORG_ROLES)
    project_policy = base.policy
    old = [timed(lambda: org_problems(project_policy, org_policy)) for _ in range(50)]
    median_first = statistics.median(first)
    print(f"  first check, {n_orgs:,} orgs: median {us(median_first)}, max {us(max(first))}")
    print(f"  before: the old merge's validation alone: median {us(statistics.median(old))}")
    record(
        "(14) org's first check after a policy change",
        f"median {us(median_first)} (before: >= {us(statistics.median(old))} for the merge)",
        "< 20 µs",
        median_first < 20_000,
    )
    ratio = statistics.median(warm_custom) / statistics.median(warm_project)
    print(
        f"  warm is_authorized: custom role {us(statistics.median(warm_custom))}, project role "
        f"{us(statistics.median(warm_project))} ({ratio:.2f}x: the custom role also reads the "
        f"org-policy cache); CompiledPolicy.allows: custom {allows_custom:.0f} ns, project "
        f"{allows_project:.0f} ns"
    )
    record(
        "(14) decision for a custom role / for a project role",
        f"{allows_custom / allows_project:.2f}x (CompiledPolicy.allows, median; is_authorized "
        f"end to end {ratio:.2f}x)",
        "<= 1.25x",
        allows_custom <= 1.25 * allows_project,
    )
    DATA["merge"] = {
        "first_check_median_us": median_first / 1000,
        "old_merge_validation_median_us": statistics.median(old) / 1000,
        "custom_check_median_us": statistics.median(warm_custom) / 1000,
        "project_check_median_us": statistics.median(warm_project) / 1000,
        "allows_custom_ns": allows_custom,
        "allows_project_ns": allows_project,
    }


def timed(call: Callable[[], object]) -> int:
    start = time.perf_counter_ns()
    call()
    return time.perf_counter_ns() - start


def timed_pair(
    a: Callable[[], object], b: Callable[[], object], n: int = 10_000
) -> tuple[float, float]:
    """Per-call ns of ``a`` and ``b``: medians over 21 blocks of ``n`` calls each, the
    blocks of the two alternating so that machine load weighs on both alike."""
    blocks: tuple[list[float], list[float]] = ([], [])
    for _ in range(21):
        for call, out in ((a, blocks[0]), (b, blocks[1])):
            start = time.perf_counter_ns()
            for _ in range(n):
                call()
            out.append((time.perf_counter_ns() - start) / n)
    return statistics.median(blocks[0]), statistics.median(blocks[1])


# -- (15) the fleet ------------------------------------------------------------------------------


async def one_process(n_orgs: int, share: float, seed: int) -> tuple[int, int]:
    """Org-policy requests one process makes in one TTL meeting every organization once
    (3 members each; in an organization using custom roles, each member holds one with
    probability 1/2): (after, before)."""
    rng = random.Random(seed)
    stytch = Stytch(json.loads(POLICY_FILE.read_text()))
    orgs = [f"organization-test-{i}" for i in range(n_orgs)]
    stytch.custom.update(org for org in orgs if rng.random() < share)
    project_roles = ["viewer", "editor", "developer", "auditor", "owner", "stytch_admin"]
    counts = []
    for old_rule in (False, True):
        stytch.requests.clear()
        async with facade(stytch) as rbac:
            await rbac.policy()
            for org in orgs:
                for _ in range(3):
                    roles = {"stytch_member", rng.choice(project_roles)}
                    if org in stytch.custom and rng.random() < 0.5:
                        roles.add(rng.choice(["lead", "archivist"]))
                    p = principal(org, frozenset(roles))
                    if old_rule:  # every decision merged the org policy: fetched once per TTL
                        compiled = await rbac.policy(org)
                        compiled.allows(p.roles, "documents", "read")
                    else:
                        await rbac.is_authorized(p, "documents", "read")
        counts.append(stytch.requests["org_policy"])
    return counts[0], counts[1]


async def bench_fleet(n_orgs: int, processes: int, ttl: float) -> None:
    print(
        f"\n(15) org-policy requests to Stytch per {ttl:.0f} s TTL: {processes:,} processes, "
        f"each meeting {n_orgs:,} organizations (3 members each) per TTL"
    )
    print(
        f"  {'orgs with custom roles':>22} | {'before /TTL':>12} {'/s':>8} | "
        f"{'after /TTL':>12} {'/s':>8}"
    )
    DATA["fleet"] = []
    ok = True
    for share in (0.0, 0.01, 0.1, 0.5, 1.0):
        after, before = await one_process(n_orgs, share, seed=int(share * 1000))
        fleet_after, fleet_before = after * processes, before * processes
        print(
            f"  {share:>21.0%} | {fleet_before:>12,} {fleet_before / ttl:>8,.0f} | "
            f"{fleet_after:>12,} {fleet_after / ttl:>8,.0f}"
        )
        DATA["fleet"].append(
            {"share": share, "before_per_ttl": fleet_before, "after_per_ttl": fleet_after}
        )
        ok = (
            ok
            and fleet_before == n_orgs * processes
            and fleet_after <= fleet_before * share * 1.2 + 1
        )
    record(
        "(15) org-policy requests follow the share of orgs using custom roles",
        f"0% -> {DATA['fleet'][0]['after_per_ttl']:,}/TTL, 1% -> "
        f"{DATA['fleet'][1]['after_per_ttl']:,}/TTL (before: {n_orgs * processes:,}/TTL, "
        f"{n_orgs * processes / ttl:,.0f}/s)",
        "after <= share x before",
        ok,
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--roles", type=int, default=10_000)
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3, help="refreshes measured per case (13)")
    parser.add_argument("--only", default="abc", help="a: lag (13), b: merge (14), c: fleet (15)")
    args = parser.parse_args()
    if "a" in args.only:
        await bench_lag(args.roles, args.runs)
    if "b" in args.only:
        await bench_merge(args.roles, min(args.orgs, 2_000))
    if "c" in args.only:
        await bench_fleet(args.orgs, args.processes, 300.0)
    save("scale", DATA)
    print("\ntargets:")
    for item, measured, target, met in RESULTS:
        print(f"  {'OK  ' if met else 'FAIL'} {item}: {measured} [target {target}]")
    return 0 if all(met for *_, met in RESULTS) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
