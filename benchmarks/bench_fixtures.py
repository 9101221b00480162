"""What the pytest plugin's emulator fixtures cost per test, before and after issue 14 item 17.

Every test that uses ``stytch_emulator`` (directly or through ``stytch_rbac`` and
``member``) gets a new emulator; with ``@pytest.mark.stytch_http`` it is also
served on 127.0.0.1 for the test and stopped after it. Before item 17 each
emulator generated an RSA-2048 key (30-60 ms) and each stop waited in uvicorn's
fixed 100 ms sleeps; now keys come from a per-process pool and a stop polls
every millisecond.

(a) in one process, the fixtures' own work N times (no pytest): an emulator, an
    emulator with the facade opened in-process (``stytch_rbac``'s work), and an
    emulator served over real HTTP and stopped. "before" runs the same code with a
    fresh key per emulator (``fresh_keys=True``, what ``Emulator()`` did) and, for
    HTTP, the old server (10 ms exit poll, uvicorn's own shutdown), on fewer
    iterations since each costs 40-150 ms.
(b) pytest itself on 1,000 generated tests: a project whose tests take the
    in-process ``stytch_rbac`` fixture, and one whose tests take the emulator over
    real HTTP. The per-test figure is the median test's setup + call + teardown
    time as pytest reports it, minus the same for 1,000 fixture-less tests; these
    are the figures the targets hold. The mean (which adds the first test's
    one-time imports) is printed too. The whole run's wall time difference / 1,000 is
    printed too (it adds collection and the one-time imports, and is noisier).
(c) for information: the facade opened over real HTTP (``stytch_rbac`` with
    ``stytch_http``), whose cost is almost all httpx building a TLS context for the
    client (loading the CA bundle), not the emulator.

Medians over ``--runs`` runs (default 3), with the spread. The machine may be
loaded: compare the before/after ratios measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_fixtures.py`` (``--tests 1000 --runs 3``).
Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import uvicorn
from _results import save  # benchmarks/_results.py, beside this script

from stytch_rbac import serving
from stytch_rbac.emulator import Emulator
from stytch_rbac.testing import IN_PROCESS_URL, open_rbac

IN_PROCESS_TARGET_MS = 5.0
HTTP_TARGET_MS = 15.0

RESULTS: list[tuple[str, str, str, bool]] = []  # (item, measured, target, met)
DATA: dict[str, Any] = {}


def record(item: str, measured: str, target: str, met: bool) -> None:
    """Keep a target line for the summary and print it now."""
    RESULTS.append((item, measured, target, met))
    print(f"  -> {'OK  ' if met else 'FAIL'} {measured}   (target: {target})", flush=True)


def spread(values: list[float]) -> str:
    """``median (min-max)`` in milliseconds."""
    return f"{statistics.median(values):7.2f} ms  ({min(values):.2f}-{max(values):.2f})"


class _OldServer(serving._Server):
    """The server as it was before item 17: a 10 ms exit poll and uvicorn's own shutdown
    (100 ms sleep, then 100 ms polls while connections close)."""

    async def main_loop(self) -> None:
        ticks = 0
        while not self.should_exit:
            ticks += 1
            if ticks % 10 == 0 and await self.on_tick(ticks // 10):
                return
            await asyncio.sleep(0.01)

    shutdown = uvicorn.Server.shutdown


@contextlib.contextmanager
def old_server() -> Iterator[None]:
    """Serve with :class:`_OldServer` inside the block."""
    current = serving._Server
    serving._Server = _OldServer  # type: ignore[misc]
    try:
        yield
    finally:
        serving._Server = current  # type: ignore[misc]


def per_call_ms(run: Callable[[], None], n: int) -> float:
    """Mean milliseconds of ``run`` over ``n`` calls."""
    start = time.perf_counter()
    for _ in range(n):
        run()
    return (time.perf_counter() - start) * 1000 / n


def emulator_only(fresh: bool) -> Callable[[], None]:
    """``stytch_emulator``'s work: one emulator with the default policy."""

    def run() -> None:
        Emulator(fresh_keys=fresh)

    return run


def served(fresh: bool, client: httpx.Client) -> Callable[[], None]:
    """``stytch_emulator`` + ``stytch_base_url`` with ``stytch_http``: serve, one request
    (through ``client``, made once: httpx builds a TLS context per client), stop."""

    def run() -> None:
        emu = Emulator(fresh_keys=fresh)
        with emu.serve_in_thread() as url:
            client.get(f"{url}/v1/b2b/sessions/jwks/{emu.project_id}")

    return run


def facade_ms(fresh: bool, n: int, base_url: str | None = None) -> float:
    """``stytch_rbac``'s work per test: an emulator and the facade opened and closed
    (in-process, or over HTTP against one served emulator when ``base_url`` is given)."""

    async def main() -> float:
        start = time.perf_counter()
        for _ in range(n):
            emu = Emulator(fresh_keys=fresh)
            async with open_rbac(emu, base_url=base_url or IN_PROCESS_URL):
                pass
        return (time.perf_counter() - start) * 1000 / n

    return anyio.run(main)


def bench_direct(runs: int, n: int, n_before: int) -> None:
    """(a) the fixtures' work in one process, before and after."""
    print(f"\n(a) in one process, per test (after: {n:,} calls, before: {n_before}), {runs} runs")
    client = httpx.Client()
    # Warm up imports, the key pool and uvicorn's first configuration outside the timings.
    served(False, client)()
    cases: list[tuple[str, Callable[[bool, int], float]]] = [
        ("emulator (stytch_emulator)", lambda f, k: per_call_ms(emulator_only(f), k)),
        ("emulator + facade in-process (stytch_rbac)", facade_ms),
        (
            "emulator served over HTTP (stytch_http)",
            lambda f, k: per_call_ms(served(f, client), k),
        ),
    ]
    for name, measure in cases:
        after = [measure(False, n) for _ in range(runs)]
        if "HTTP" in name:
            with old_server():
                before = [measure(True, n_before) for _ in range(runs)]
        else:
            before = [measure(True, n_before) for _ in range(runs)]
        ratio = statistics.median(before) / statistics.median(after)
        print(f"  {name:<44} before {spread(before)}   after {spread(after)}   {ratio:5.1f}x")
        DATA.setdefault("direct", {})[name] = {"before_ms": before, "after_ms": after}
    client.close()


_CONFTEST = """
import json
import os

import pytest

DURATIONS = {}

@pytest.fixture
def anyio_backend():
    return "asyncio"

def pytest_runtest_logreport(report):
    # setup + call + teardown of each test, as pytest itself timed them
    DURATIONS[report.nodeid] = DURATIONS.get(report.nodeid, 0.0) + report.duration

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_DURATIONS"], "w") as out:
        json.dump(list(DURATIONS.values()), out)
"""

_PROJECTS = {
    "baseline-async": """
        import pytest

        @pytest.mark.anyio
        @pytest.mark.parametrize("i", range({n}))
        async def test_nothing(i):
            pass
        """,
    "in-process": """
        import pytest

        @pytest.mark.anyio
        @pytest.mark.parametrize("i", range({n}))
        async def test_with_the_facade(i, stytch_rbac):
            pass
        """,
    "baseline-sync": """
        import pytest

        @pytest.mark.parametrize("i", range({n}))
        def test_nothing(i):
            pass
        """,
    "http": """
        import pytest

        @pytest.mark.stytch_http
        @pytest.mark.parametrize("i", range({n}))
        def test_with_a_served_emulator(i, stytch_emulator, stytch_base_url):
            assert stytch_base_url.startswith("http://127.0.0.1:")
        """,
}


def pytest_run(directory: Path) -> tuple[float, list[float]]:
    """Wall seconds of one pytest run in ``directory`` (which must pass), and each test's
    seconds (setup + call + teardown) as pytest reported them."""
    durations = directory / "durations.json"
    env = {**os.environ, "PYTEST_ADDOPTS": "", "BENCH_DURATIONS": str(durations)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "no:randomly", "-p", "no:asyncio", "-x"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"pytest failed in {directory.name}:\n{done.stdout}\n{done.stderr}")
    per_test: list[float] = json.loads(durations.read_text())
    return seconds, per_test


def bench_pytest(runs: int, n: int) -> None:
    """(b) pytest on ``n`` generated tests per project."""
    print(f"\n(b) pytest on {n:,} tests, per test over fixture-less tests, {runs} runs")
    with tempfile.TemporaryDirectory() as tmp:
        dirs: dict[str, Path] = {}
        for name, source in _PROJECTS.items():
            directory = Path(tmp) / name
            directory.mkdir()
            (directory / "conftest.py").write_text(_CONFTEST)
            (directory / "test_generated.py").write_text(textwrap.dedent(source.format(n=n)))
            dirs[name] = directory
        seconds: dict[str, list[float]] = {name: [] for name in dirs}
        tests: dict[str, list[list[float]]] = {name: [] for name in dirs}
        for _ in range(runs):  # interleaved, so a busy spell weighs on every project alike
            for name, directory in dirs.items():
                run_seconds, run_tests = pytest_run(directory)
                seconds[name].append(run_seconds)
                tests[name].append(run_tests)
    pairs = [
        ("in-process", "baseline-async", "stytch_rbac in-process", IN_PROCESS_TARGET_MS),
        ("http", "baseline-sync", "stytch_emulator + stytch_base_url over HTTP", HTTP_TARGET_MS),
    ]
    for project, baseline, label, target in pairs:
        # Per run: the median test's time with the fixture minus the median fixture-less
        # test's (the first test also pays the one-time imports: the mean shows them).
        per_test = [
            (statistics.median(fixture) - statistics.median(bare)) * 1000
            for fixture, bare in zip(tests[project], tests[baseline], strict=True)
        ]
        mean = [
            (statistics.fmean(fixture) - statistics.fmean(bare)) * 1000
            for fixture, bare in zip(tests[project], tests[baseline], strict=True)
        ]
        wall = [
            (fixture_s - bare_s) * 1000 / n
            for fixture_s, bare_s in zip(seconds[project], seconds[baseline], strict=True)
        ]
        print(f"  {label:<44} {spread(per_test)} median test (pytest's own timings)")
        print(f"  {'':<44} {spread(mean)} mean test (one-time imports included)")
        print(f"  {'':<44} {spread(wall)} per test of the whole run's wall time")
        record(
            f"{label}, per test of {n:,}",
            f"{statistics.median(per_test):.2f} ms",
            f"<= {target:g} ms",
            statistics.median(per_test) <= target,
        )
        DATA.setdefault("pytest", {})[label] = {
            "median_test_ms": per_test,
            "mean_test_ms": mean,
            "wall_per_test_ms": wall,
            "seconds": {project: seconds[project], baseline: seconds[baseline]},
        }


def bench_http_facade(runs: int, n: int) -> None:
    """(c) the facade over HTTP, and the part of it that is httpx's TLS context."""
    print(f"\n(c) for information: stytch_rbac over real HTTP, per test ({n} calls), {runs} runs")
    emu = Emulator()
    with emu.serve_in_thread() as url:
        facade = [facade_ms(False, n, base_url=url) for _ in range(runs)]

    async def clients() -> float:
        start = time.perf_counter()
        for _ in range(n):
            async with httpx.AsyncClient():
                pass
        return (time.perf_counter() - start) * 1000 / n

    tls = [anyio.run(clients) for _ in range(runs)]
    print(f"  emulator + facade over HTTP                  {spread(facade)}")
    print(f"  of which httpx.AsyncClient() (TLS context)   {spread(tls)}")
    DATA["http_facade"] = {"facade_ms": facade, "httpx_client_ms": tls}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--tests", type=int, default=1000, help="tests per pytest project")
    parser.add_argument("--before", type=int, default=40, help="calls per 'before' figure")
    args = parser.parse_args()
    bench_direct(args.runs, args.tests, args.before)
    bench_pytest(args.runs, args.tests)
    bench_http_facade(args.runs, 20)
    print("\nSummary")
    width = max(len(r[0]) for r in RESULTS)
    for item, measured, target, met in RESULTS:
        print(f"  {'OK  ' if met else 'FAIL'} {item:<{width}}  {measured}  [target {target}]")
    save("fixtures", DATA)
    return 1 if any(not met for *_, met in RESULTS) else 0


if __name__ == "__main__":
    sys.exit(main())
