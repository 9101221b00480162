"""What observing decisions costs: ``is_authorized`` and a guard's check, with and without. One run.

Series, all on one warm ``StytchRBAC`` per configuration (policy cached, the member's
principal in hand), against the emulator in process, on asyncio:

* ``baseline``: the decision as it was before observability existed, written out
  (``await rbac.policy(org)`` then ``CompiledPolicy.allows``): what "today" costs;
* ``no observer``: ``rbac.is_authorized`` with no callback and no OpenTelemetry, the
  default: target within 5% of ``baseline`` (median);
* ``no-op callback``: ``on_decision=lambda event: None``: target <= 0.5 µs more than
  ``no observer`` per decision (median);
* ``OpenTelemetry metrics``: :func:`stytch_rbac.observe.otel.instrument` with the
  OpenTelemetry SDK's meter provider and an in-memory reader: the overhead is reported.

The same four for ``guard.check(principal)`` (the guard's decision once the request is
authenticated). Method: ``time.perf_counter_ns`` around a loop of N calls inside one
coroutine (N chosen so a sample lasts about 20 µs), samples of the series interleaved
round by round so machine load hits them alike; medians over samples.

Run: ``.venv/bin/python benchmarks/bench_observe.py`` (or ``make bench``).
Exit status 1 if a target is missed.
"""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
from _results import save  # benchmarks/_results.py, beside this script
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from stytch_rbac import Principal, StytchRBAC
from stytch_rbac.client import _check_principal
from stytch_rbac.emulator import Emulator
from stytch_rbac.observe.otel import instrument
from stytch_rbac.permissions import _permission_args

POLICY_FILE = Path(__file__).resolve().parent.parent / "examples" / "policy.json"
URL = "http://stytch-emulator.invalid"
SAMPLE_NS = 20_000
SAMPLES = 1_500
SERIES = ("baseline", "no observer", "no-op callback", "OpenTelemetry metrics")


def _facade(emulator: Emulator, http: httpx.AsyncClient, **options: Any) -> StytchRBAC:
    return StytchRBAC(
        emulator.project_id, emulator.secret, base_url=URL, http_client=http, **options
    )


async def _calls_per_sample(fn: Callable[[], Awaitable[object]]) -> int:
    n = 1
    while True:
        start = time.perf_counter_ns()
        for _ in range(n):
            await fn()
        if time.perf_counter_ns() - start >= SAMPLE_NS or n >= 1 << 16:
            return n
        n *= 2


async def _measure(
    fns: dict[str, Callable[[], Awaitable[object]]],
) -> dict[str, float]:
    """Median ns per call of each function, sampled in turn."""
    sizes = {name: await _calls_per_sample(fn) for name, fn in fns.items()}
    samples: dict[str, list[float]] = {name: [] for name in fns}
    gc.collect()
    for _ in range(SAMPLES):
        for name, fn in fns.items():
            n = sizes[name]
            start = time.perf_counter_ns()
            for _ in range(n):
                await fn()
            samples[name].append((time.perf_counter_ns() - start) / n)
    return {name: statistics.median(values) for name, values in samples.items()}


async def run() -> dict[str, dict[str, float]]:
    """Both tables: ``{"is_authorized": {series: ns}, "guard": {series: ns}}``."""
    emulator = Emulator(policy=POLICY_FILE)
    org = emulator.create_organization("Acme", slug="acme").organization_id
    editor = emulator.create_member(org, email_address="editor@acme.test", roles=["editor"])
    jwt = emulator.create_session(editor.member_id, duration_minutes=60).session_jwt
    reader = InMemoryMetricReader()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url=URL
    ) as http:
        plain = _facade(emulator, http)
        noop = _facade(emulator, http, on_decision=lambda _event: None)
        otel = _facade(emulator, http)
        instrument(otel, meter_provider=MeterProvider(metric_readers=[reader]))
        facades = {"no observer": plain, "no-op callback": noop, "OpenTelemetry metrics": otel}
        principals: dict[str, Principal] = {}
        async with contextlib.AsyncExitStack() as stack:
            for name, rbac in facades.items():
                await stack.enter_async_context(rbac)
                principals[name] = await rbac.authenticate(session_jwt=jwt)
                assert await rbac.is_authorized(principals[name], "documents:edit")
            p = principals["no observer"]

            async def baseline(
                given: Principal, permission: str, organization_id: str | None = None
            ) -> bool:
                # StytchRBAC.is_authorized as it was before observability, line for line.
                resource, action = _permission_args(permission, None)
                principal = _check_principal(given)
                if organization_id is not None and organization_id != principal.organization_id:
                    return False
                compiled = await plain.policy(principal.organization_id)
                return compiled.allows(principal.roles, resource, action)

            # Called like the others (through _bind), so the only difference is the code.
            decisions: dict[str, Callable[[], Awaitable[object]]] = {
                "baseline": _bind(baseline, p, "documents:edit")
            }
            guards: dict[str, Callable[[], Awaitable[object]]] = {}
            plain_guard = plain.require("documents:edit")

            async def guard_baseline(principal: Principal) -> Principal:
                # Guard.check as it was before observability, line for line.
                guard = plain_guard
                if not isinstance(principal, Principal):
                    raise TypeError
                org = await guard._requested_organization(None, None)
                tenancy = guard.organization is not None
                if tenancy and (org is None or org != principal.organization_id):
                    raise AssertionError("tenancy")
                compiled = await plain.policy(principal.organization_id)
                roles = principal.roles
                missing = None
                for permission in guard.permissions:
                    if compiled.allows(roles, permission.resource, permission.action):
                        if guard.any_of:
                            return principal
                    elif missing is None:
                        missing = permission
                        if not guard.any_of:
                            break
                if missing is None:
                    return principal
                raise AssertionError("denied")

            guards["baseline"] = _bind(guard_baseline, p)
            for name, rbac in facades.items():
                principal = principals[name]
                guard = plain_guard if rbac is plain else rbac.require("documents:edit")
                decisions[name] = _bind(rbac.is_authorized, principal, "documents:edit")
                guards[name] = _bind(guard.check, principal)
            return {
                "is_authorized": await _measure(decisions),
                "guard": await _measure(guards),
            }


def _bind(fn: Callable[..., Awaitable[object]], *args: Any) -> Callable[[], Awaitable[object]]:
    async def call() -> object:
        return await fn(*args)

    return call


def main() -> int:
    """Print both tables and the targets."""
    results = anyio.run(run)
    print(__doc__.splitlines()[0])
    print(
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}; median ns per call over {SAMPLES} samples\n"
    )
    failures = []
    for path, table in results.items():
        print(f"{path:<16}" + "".join(f"{name:>24}" for name in SERIES))
        print(f"{'':<16}" + "".join(f"{table[name]:>21,.0f} ns" for name in SERIES))
        no_observer = table["no observer"] / table["baseline"]
        callback = (table["no-op callback"] - table["no observer"]) / 1000
        otel = (table["OpenTelemetry metrics"] - table["no observer"]) / 1000
        ok_default = no_observer <= 1.05
        ok_callback = callback <= 0.5
        print(
            f"  {'OK  ' if ok_default else 'FAIL'} no observer / baseline {no_observer:.3f}x "
            f"[target <= 1.05x]"
        )
        print(
            f"  {'OK  ' if ok_callback else 'FAIL'} no-op callback adds {callback:+.2f} µs per "
            f"decision [target <= 0.5 µs]"
        )
        print(f"  (info) OpenTelemetry metrics add {otel:+.2f} µs per decision\n")
        if not ok_default:
            failures.append(f"{path}: no observer is {no_observer:.3f}x the baseline")
        if not ok_callback:
            failures.append(f"{path}: a no-op callback adds {callback:.2f} µs")
    save(
        "observe",
        {
            "unit": "ns per call, median over samples",
            "tables": results,
            "headline": [
                (
                    "`is_authorized`, no observer / before observability",
                    results["is_authorized"]["no observer"] / results["is_authorized"]["baseline"],
                    "share",
                ),
                (
                    "`is_authorized`, cost of a no-op `on_decision`",
                    (
                        results["is_authorized"]["no-op callback"]
                        - results["is_authorized"]["no observer"]
                    )
                    / 1000,
                    "us",
                ),
            ],
        },
    )
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
