"""Run every benchmark several times and publish the median and spread of its headline figures.

One run of a benchmark on a shared 2-core machine can be off by a factor of two, so
no figure in README.md or docs/benchmarks.md comes from a single run. ``make bench``
runs this script, which

1. runs each ``benchmarks/bench_*.py`` ``--runs`` times (default 3), keeping each run's
   results file as ``benchmarks/results/runs/<name>-<k>.json`` (the last run stays in
   ``results/<name>.json``, which ``charts.py`` draws);
2. takes each benchmark's headline figures from every run (:data:`HEADLINES`, or the
   ``headline`` entry a benchmark writes itself), and writes their median, minimum and
   maximum to ``benchmarks/results/summary.json``;
3. rewrites the table between ``<!-- bench-summary -->`` and ``<!-- /bench-summary -->``
   in README.md and docs/benchmarks.md from that summary.

``tests/test_docs_site.py`` checks that both tables are the rendering of the committed
summary and that the summary is the one the committed runs give, so a published figure
is always a median of real runs.

Run: ``.venv/bin/python benchmarks/run_all.py [--runs 3] [--only guard ...]``;
``--summarize`` redoes steps 2-3 from the runs already on disk.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
RUNS = RESULTS / "runs"
SUMMARY = RESULTS / "summary.json"
PAGES = (ROOT / "README.md", ROOT / "docs" / "benchmarks.md")
START, END = "<!-- bench-summary -->", "<!-- /bench-summary -->"

#: One headline figure of one run: (label, value, format). Formats: see :func:`fmt`.
Figure = tuple[str, float, str]


def _client(data: dict[str, Any]) -> list[Figure]:
    fresh, repeated = data["fresh_jwt"], data["repeated_jwt"]
    imports = data["import"]
    return [
        ("`authenticate` + check, fresh JWT: stytch-rbac", fresh["ours_median_us"], "us"),
        ("`authenticate` + check, fresh JWT: stytch SDK", fresh["sdk_median_us"], "us"),
        ("`authenticate` + check, fresh JWT: ratio", _ratio(fresh), "x"),
        ("`authenticate` + check, repeated JWT: stytch-rbac", repeated["ours_median_us"], "us"),
        ("`authenticate` + check, repeated JWT: stytch SDK", repeated["sdk_median_us"], "us"),
        ("`authenticate` + check, repeated JWT: ratio", _ratio(repeated), "x"),
        (
            "org-policy cache after 100,000 orgs, 2 custom roles each: stytch-rbac",
            data["memory"]["2 custom roles"]["ours_mib"],
            "mib",
        ),
        (
            "org-policy cache after 100,000 orgs, 2 custom roles each: stytch SDK",
            data["memory"]["2 custom roles"]["sdk_mib"],
            "mib",
        ),
        (
            "`import stytch_rbac` / `import stytch` (time)",
            imports["import stytch_rbac"]["ms"] / imports["import stytch"]["ms"],
            "share",
        ),
    ]


def _ratio(pair: dict[str, float]) -> float:
    return pair["sdk_median_us"] / pair["ours_median_us"]


def _decide(data: dict[str, Any]) -> list[Figure]:
    rows = data["rows"]
    ratios = [r["perform_authorization_check"] / r["allows"] for r in rows]
    return [
        ("local decision `allows`, slowest case", max(r["allows"] for r in rows) / 1000, "us"),
        ("local decision vs `perform_authorization_check`, worst case", min(ratios), "x"),
        ("local decision vs `perform_authorization_check`, best case", max(ratios), "x"),
    ]


def _guard(data: dict[str, Any]) -> list[Figure]:
    series = {name: s["median"] for name, s in data["series"].items()}
    ours, sdk, ceiling = series["stytch-rbac"], series["stytch SDK"], series["unguarded"]
    return [
        ("guarded FastAPI endpoint: stytch-rbac", ours, "rps"),
        ("guarded FastAPI endpoint: stytch SDK", sdk, "rps"),
        ("guarded FastAPI endpoint: ratio", ours / sdk, "x"),
        ("guarded endpoint, RSA every request: ratio", series["stytch-rbac memo off"] / sdk, "x"),
        ("guarded endpoint / unguarded (ceiling kept): stytch-rbac", ours / ceiling, "share"),
        ("guarded endpoint / unguarded (ceiling kept): stytch SDK", sdk / ceiling, "share"),
    ]


def _tokens(data: dict[str, Any]) -> list[Figure]:
    figures: list[Figure] = []
    for kind, key in (("M2M", "m2m"), ("Connected-App", "connected_app")):
        for case in ("fresh", "repeated"):
            pair = data[f"{key}_{case}"]
            label = f"{kind} token verified + check, {case}"
            figures += [
                (f"{label}: stytch-rbac", pair["ours_median_us"], "us"),
                (f"{label}: stytch SDK", pair["sdk_median_us"], "us"),
                (f"{label}: ratio", _ratio(pair), "x"),
            ]
    return figures


#: Headline figures per benchmark whose results file does not carry its own ``headline``.
HEADLINES: dict[str, Callable[[dict[str, Any]], list[Figure]]] = {
    "client": _client,
    "decide": _decide,
    "guard": _guard,
    "tokens": _tokens,
}


def headline(name: str, document: dict[str, Any]) -> list[Figure]:
    """A run's headline figures: the benchmark's own ``headline`` entry, else :data:`HEADLINES`."""
    own = document["data"].get("headline")
    if own is not None:
        return [(label, float(value), kind) for label, value, kind in own]
    extract = HEADLINES.get(name)
    return extract(document["data"]) if extract else []


def fmt(value: float, kind: str) -> str:
    """A figure as people read it."""
    if kind == "x":
        return f"{value:,.0f}x" if value >= 100 else f"{value:.1f}x"
    if kind == "us":
        return f"{value:,.1f} µs" if value < 1000 else f"{value / 1000:,.2f} ms"
    if kind == "ms":
        return f"{value:,.1f} ms"
    if kind == "rps":
        return f"{value:,.0f} req/s"
    if kind == "share":
        return f"{value:.2f}"
    if kind == "mib":
        return f"{value:,.1f} MiB"
    if kind == "count":
        return f"{value:,.0f}"
    raise ValueError(f"unknown figure format {kind!r}")


def summarize(runs_dir: Path = RUNS) -> dict[str, Any]:
    """Median, min and max of every headline figure over the runs in ``runs_dir``."""
    figures: dict[str, dict[str, Any]] = {}
    for path in sorted(runs_dir.glob("*-*.json")):
        name = path.stem.rsplit("-", 1)[0]
        document = json.loads(path.read_text(encoding="utf-8"))
        for label, value, kind in headline(name, document):
            entry = figures.setdefault(
                label, {"benchmark": name, "format": kind, "values": [], "dates": []}
            )
            entry["values"].append(value)
            entry["dates"].append(document["date"])
    for entry in figures.values():
        values = entry["values"]
        entry.update(median=statistics.median(values), min=min(values), max=max(values))
    return {"figures": figures}


def render(summary: dict[str, Any]) -> str:
    """The markdown table README.md and docs/benchmarks.md show, between the markers."""
    lines = [
        START,
        "| figure | median | spread (min - max) | runs |",
        "|---|---|---|---|",
    ]
    for label, e in summary["figures"].items():
        kind = e["format"]
        spread = f"{fmt(e['min'], kind)} - {fmt(e['max'], kind)}"
        lines.append(f"| {label} | **{fmt(e['median'], kind)}** | {spread} | {len(e['values'])} |")
    lines.append(END)
    return "\n".join(lines)


def publish(summary: dict[str, Any], pages: Iterable[Path] = PAGES) -> None:
    """Write summary.json and replace each page's table."""
    SUMMARY.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    table = render(summary)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        before, found, rest = text.partition(START)
        if not found:
            raise SystemExit(f"{page}: no {START} marker to put the table at")
        _, found, after = rest.partition(END)
        if not found:
            raise SystemExit(f"{page}: {START} without {END}")
        page.write_text(before + table + after, encoding="utf-8")
        print(f"table written to {page.relative_to(ROOT)}")


def main() -> int:
    """Run the benchmarks ``--runs`` times, then publish the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each benchmark (>= 3)")
    parser.add_argument("--only", nargs="*", default=None, help="benchmark names, e.g. guard")
    parser.add_argument("--summarize", action="store_true", help="only redo the summary")
    args = parser.parse_args()
    failed: list[str] = []
    if not args.summarize:
        if args.runs < 3:
            parser.error("--runs must be at least 3: published figures are medians of 3 runs")
        scripts = sorted(HERE.glob("bench_*.py"))
        if args.only:
            scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
        RUNS.mkdir(parents=True, exist_ok=True)
        for script in scripts:
            name = script.stem.removeprefix("bench_")
            for old in RUNS.glob(f"{name}-*.json"):
                old.unlink()
            for k in range(1, args.runs + 1):
                print(f"== {script.name}, run {k} of {args.runs}", flush=True)
                (RESULTS / f"{name}.json").unlink(missing_ok=True)  # only this run's results
                # A missed target is reported and the runs go on: the figures are published
                # either way, and the exit status says a target was missed.
                if subprocess.run([sys.executable, str(script)], check=False).returncode:
                    failed.append(f"{script.name} run {k}")
                if (RESULTS / f"{name}.json").exists():
                    shutil.copy(RESULTS / f"{name}.json", RUNS / f"{name}-{k}.json")
    publish(summarize())
    for failure in failed:
        print(f"FAIL {failure}: a target was missed or a run failed (see its output above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
