"""CompiledPolicy.allows / decide against the stytch SDK's own local RBAC check. One run.

Same policy (examples/policy.json, replicated to about 10, 40 and 160 roles),
same members, same checks, side by side with:

* ``rbac_local.perform_authorization_check``: what the SDK pays per check
  inside ``sessions.authenticate_jwt_local(..., authorization_check=...)``. It
  rebuilds its policy objects from the ``Policy`` model on every call and
  raises on denial.
* ``rbac_local.is_authorized``: the SDK's inner pure scan, given an already
  converted policy (its best case: nothing rebuilt).

Method: ``time.perf_counter_ns`` around a loop of N calls (N chosen so a sample
lasts about 20 µs; 1 for the SDK's full path), many samples per series; the
median and p99 are over samples (per-call mean within a sample). allows,
decide and is_authorized are sampled in turn, round after round, so that
their ratios hold even when the machine is busy. For decide
a second series times single calls (timer overhead included, not subtracted),
which is the p99 the target is about. The garbage collector stays enabled, as
in a service; ``gc.collect()`` runs before each series. One extra series times
the SDK's full path with the collector disabled, to show what of its p99 is gc.

Run: ``.venv/bin/python benchmarks/bench_decide.py`` (or ``make bench``).
Exit status 1 if a target is missed.
"""

from __future__ import annotations

import copy
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from _results import save  # benchmarks/_results.py, beside this script
from stytch.b2b.models.rbac import Policy as SDKPolicy
from stytch.b2b.models.sessions import AuthorizationCheck
from stytch.shared import rbac_local

from stytch_rbac import CompiledPolicy, Policy

POLICY_FILE = Path(__file__).resolve().parent.parent / "examples" / "policy.json"
SIZES = (10, 40, 160)
ORG_ID = "organization-test-bench"
SAMPLE_NS = 20_000  # target duration of one sample
FAST_SAMPLES = 3_000  # samples per series for the local checks
SDK_SAMPLES = 1_500  # samples per series for perform_authorization_check (1 call each)
SINGLE_SAMPLES = 20_000  # single-call samples for decide's p99

FOUR = ["stytch_member", "viewer", "developer", "auditor"]


@dataclass(frozen=True)
class Case:
    """One member and one check."""

    name: str
    roles: list[str]
    resource: str
    action: str
    allowed: bool


CASES = (
    Case("1 role, allow", ["editor"], "documents", "edit", True),
    Case("1 role, deny", ["viewer"], "documents", "delete", False),
    Case("4 roles, allow", FOUR, "audit_logs", "export", True),
    Case("4 roles, deny", FOUR, "billing", "update", False),
    # The scan's best case: the member's only role is the policy's first role.
    Case("1st role, allow", ["stytch_member"], "stytch.self", "update.info.name", True),
)


def replicate(doc: dict[str, Any], n_roles: int) -> dict[str, Any]:
    """The policy with its roles and resources copied until it has ``n_roles`` roles.

    Copy k of role R is ``R_k`` and grants on copy k of its resources; the
    original roles stay first, so the SDK's scan finds the members' roles early.
    """
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


def scan_length(policy: rbac_local.Policy, case: Case) -> int:
    """How many policy roles the SDK's scan walks before it answers."""
    for i, role in enumerate(policy.roles, 1):
        if role.role_id in case.roles:
            for p in role.permissions:
                if p.resource_id == case.resource and (
                    "*" in p.actions or case.action in p.actions
                ):
                    return i
    return len(policy.roles)


def calibrate(call: Callable[[], object]) -> int:
    """Calls per sample so that one sample lasts about SAMPLE_NS (median of 5 estimates)."""
    for _ in range(200):
        call()
    estimates = []
    for _ in range(5):
        n, start = 0, time.perf_counter_ns()
        while time.perf_counter_ns() - start < 1_000_000:
            call()
            n += 1
        estimates.append((time.perf_counter_ns() - start) / n)
    return max(1, round(SAMPLE_NS / statistics.median(estimates)))


def bind(fn: Callable[..., object], args: tuple[Any, ...]) -> Callable[[], object]:
    """``fn`` with ``args`` applied."""
    return lambda: fn(*args)


def series(fn: Callable[..., object], args: tuple[Any, ...], samples: int, per: int) -> list[float]:
    """``samples`` timings in ns per call, each the mean of ``per`` back-to-back calls."""
    for _ in range(100):
        fn(*args)
    gc.collect()
    clock = time.perf_counter_ns
    out: list[float] = []
    loop = range(per)
    for _ in range(samples):
        start = clock()
        for _ in loop:
            fn(*args)
        out.append((clock() - start) / per)
    return out


def interleaved(
    calls: dict[str, tuple[Callable[..., object], tuple[Any, ...]]], rounds: int
) -> dict[str, Stats]:
    """Like :func:`series` for several functions, one sample of each per round.

    Interleaving gives each function the same share of whatever else the
    machine is doing, so their ratios hold even on a busy machine.
    """
    pers = {name: calibrate(bind(fn, args)) for name, (fn, args) in calls.items()}
    plan = [(name, fn, args, range(pers[name]), pers[name]) for name, (fn, args) in calls.items()]
    out: dict[str, list[float]] = {name: [] for name in calls}
    clock = time.perf_counter_ns
    gc.collect()
    for _ in range(rounds):
        for name, fn, args, loop, per in plan:
            start = clock()
            for _ in loop:
                fn(*args)
            out[name].append((clock() - start) / per)
    return {name: Stats.of(out[name], pers[name]) for name in calls}


@dataclass(frozen=True)
class Stats:
    """Median and p99 of one series, in ns."""

    median: float
    p99: float
    per: int

    @classmethod
    def of(cls, timings: list[float], per: int) -> Stats:
        """Summarise a series."""
        ordered = sorted(timings)
        return cls(statistics.median(ordered), ordered[int(0.99 * (len(ordered) - 1))], per)


def us(ns: float) -> str:
    """ns as µs with a sensible number of digits."""
    value = ns / 1000
    return f"{value:.3f}" if value < 10 else f"{value:.1f}" if value < 1000 else f"{value:.0f}"


def perform(policy: SDKPolicy, roles: list[str], check: AuthorizationCheck) -> bool:
    """The SDK's per-check cost in authenticate_jwt_local: allowed, or it raises."""
    try:
        rbac_local.perform_authorization_check(policy, roles, ORG_ID, check)
    except rbac_local.RBACPermissionError:
        return False
    return True


@dataclass(frozen=True)
class Row:
    """All measurements of one (policy size, case)."""

    size: int
    case: Case
    walked: int
    allows: Stats
    decide: Stats
    decide_single: Stats
    scan: Stats
    sdk: Stats


def measure(size: int, doc: dict[str, Any]) -> list[Row]:
    """Every case against one policy size."""
    compiled = CompiledPolicy(Policy.parse(doc))
    sdk_policy = SDKPolicy.model_validate(doc)
    pure = rbac_local.policy_from_b2b_policy(sdk_policy)
    rows = []
    for case in CASES:
        check = AuthorizationCheck(
            organization_id=ORG_ID, resource_id=case.resource, action=case.action
        )
        ours = (case.roles, case.resource, case.action)
        # Same answer from all four before timing anything.
        answers = {
            compiled.allows(*ours),
            compiled.decide(*ours).allowed,
            rbac_local.is_authorized(pure, case.roles, check),
            perform(sdk_policy, case.roles, check),
        }
        assert answers == {case.allowed}, (size, case, answers)
        timed = interleaved(
            {
                "allows": (compiled.allows, ours),
                "decide": (compiled.decide, ours),
                "scan": (rbac_local.is_authorized, (pure, case.roles, check)),
            },
            FAST_SAMPLES,
        )
        timed["sdk"] = Stats.of(series(perform, (sdk_policy, case.roles, check), SDK_SAMPLES, 1), 1)
        timed["decide_single"] = Stats.of(series(compiled.decide, ours, SINGLE_SAMPLES, 1), 1)
        rows.append(Row(size, case, scan_length(pure, case), **timed))
    return rows


def main() -> int:
    """Run every series once, print the table and the targets; 1 if a target is missed."""
    base = json.loads(POLICY_FILE.read_text())
    policies = {size: replicate(base, size) for size in SIZES}
    print("bench_decide: CompiledPolicy vs stytch.shared.rbac_local (one run)")
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.machine()}, {os.cpu_count()} CPUs, stytch {version('stytch')}, "
        f"pydantic {version('pydantic')}, gc enabled (thresholds {gc.get_threshold()}), "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"policy {POLICY_FILE.name} replicated to: "
        + ", ".join(
            f"{len(d['roles'])} roles/{len(d['resources'])} resources" for d in policies.values()
        )
    )
    print(
        f"timer perf_counter_ns; median and p99 over samples; a sample = N calls lasting "
        f"~{SAMPLE_NS // 1000} µs (N shown), {FAST_SAMPLES} interleaved samples per local series, "
        f"{SDK_SAMPLES} single-call samples for perform_authorization_check, "
        f"{SINGLE_SAMPLES} single-call samples for 'decide 1-call p99'"
    )
    print("times in µs per call; ratios are medians: SDK time / allows time")
    print()
    rows = [row for size in SIZES for row in measure(size, policies[size])]
    header = (
        "| roles | case | scan walks | allows med (N) | allows p99 | decide med | decide p99 "
        "| decide 1-call p99 | is_authorized med | is_authorized p99 | perform_check med "
        "| perform_check p99 | perform/allows | is_authorized/allows |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        print(
            f"| {r.size} | {r.case.name} | {r.walked} | {us(r.allows.median)} ({r.allows.per}) "
            f"| {us(r.allows.p99)} | {us(r.decide.median)} | {us(r.decide.p99)} "
            f"| {us(r.decide_single.p99)} | {us(r.scan.median)} | {us(r.scan.p99)} "
            f"| {us(r.sdk.median)} | {us(r.sdk.p99)} "
            f"| {r.sdk.median / r.allows.median:.0f}x | {r.scan.median / r.allows.median:.2f}x |"
        )
    print()
    save(
        "decide",
        {
            "unit": "ns per call, median over samples",
            "rows": [
                {
                    "roles": r.size,
                    "case": r.case.name,
                    "allowed": r.case.allowed,
                    "scan_walks": r.walked,
                    "allows": r.allows.median,
                    "decide": r.decide.median,
                    "decide_single_p99": r.decide_single.p99,
                    "is_authorized": r.scan.median,
                    "perform_authorization_check": r.sdk.median,
                    "perform_authorization_check_p99": r.sdk.p99,
                }
                for r in rows
            ],
        },
    )
    return report_targets(rows)


def sdk_without_gc(row: Row) -> Stats:
    """perform_authorization_check for one row's case with the collector off: what gc costs."""
    doc = replicate(json.loads(POLICY_FILE.read_text()), row.size)
    sdk_policy = SDKPolicy.model_validate(doc)
    check = AuthorizationCheck(
        organization_id=ORG_ID, resource_id=row.case.resource, action=row.case.action
    )
    gc.collect()
    gc.disable()
    try:
        return Stats.of(series(perform, (sdk_policy, row.case.roles, check), SDK_SAMPLES, 1), 1)
    finally:
        gc.enable()


def report_targets(rows: list[Row]) -> int:
    """Print each target with the worst measured value and PASS/FAIL."""
    results = []
    worst_sdk = min(rows, key=lambda r: r.sdk.median / r.allows.median)
    results.append(
        (
            "allows >= 50x faster than perform_authorization_check in every case (median)",
            f"worst {worst_sdk.sdk.median / worst_sdk.allows.median:.0f}x "
            f"({worst_sdk.size} roles, {worst_sdk.case.name})",
            all(r.sdk.median >= 50 * r.allows.median for r in rows),
        )
    )
    worst_scan = min(rows, key=lambda r: r.scan.median / r.allows.median)
    results.append(
        (
            "allows no slower than is_authorized in any case (median)",
            f"worst {worst_scan.scan.median / worst_scan.allows.median:.2f}x "
            f"({worst_scan.size} roles, {worst_scan.case.name})",
            all(r.allows.median <= r.scan.median for r in rows),
        )
    )
    several = [r for r in rows if r.walked > 1 or not r.case.allowed]
    worst_several = min(several, key=lambda r: r.scan.median / r.allows.median)
    results.append(
        (
            "allows faster than is_authorized where the scan walks several roles or denies",
            f"worst {worst_several.scan.median / worst_several.allows.median:.2f}x "
            f"({worst_several.size} roles, {worst_several.case.name}), {len(several)} cases",
            all(r.allows.median < r.scan.median for r in several),
        )
    )
    big = [r for r in rows if r.size == max(SIZES)]
    worst_p99 = max(big, key=lambda r: r.decide_single.p99)
    results.append(
        (
            f"decide p99 < 5 µs at {max(SIZES)} roles (single-call samples)",
            f"worst {us(worst_p99.decide_single.p99)} µs ({worst_p99.case.name})",
            all(r.decide_single.p99 < 5_000 for r in big),
        )
    )
    growth = max(
        r.decide.median
        / next(s for s in rows if s.size == min(SIZES) and s.case == r.case).decide.median
        for r in big
    )
    sdk_p99 = max(r.sdk.p99 for r in big)
    nogc = sdk_without_gc(big[0])
    print("targets:")
    for text, value, ok in results:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}: {value}")
    print(
        f"  (info) decide median at {max(SIZES)} roles / at {min(SIZES)} roles: worst "
        f"{growth:.2f}x; perform_authorization_check p99 at {max(SIZES)} roles: worst "
        f"{us(sdk_p99)} µs"
    )
    print(
        f"  (info) perform_authorization_check at {max(SIZES)} roles ({big[0].case.name}) "
        f"with gc disabled: median {us(nogc.median)} µs, p99 {us(nogc.p99)} µs"
    )
    return 0 if all(ok for _, _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
