"""Draw the charts of docs/benchmarks.md from one run's ``benchmarks/results/*.json``.

``make bench`` runs the benchmarks (each writes its results file) and then this
script; ``make bench-charts`` runs only this script, on the committed results.
Each chart is an SVG in docs/img/ whose footer names the run's date and machine.
The SVGs are byte-stable for the same results (fixed hash salt, no timestamp), so
redrawing without a new run changes nothing in git.

Run: ``.venv/bin/python benchmarks/charts.py``.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("svg")  # no display, no GUI toolkit; before pyplot is imported

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
IMG = ROOT / "docs" / "img"
OURS, SDK, NEUTRAL = "#3f51b5", "#ef6c00", "#9e9e9e"  # indigo (the docs theme), orange, grey

plt.rcParams.update(
    {
        "svg.hashsalt": "stytch-rbac",  # stable ids: the same results give the same file
        "svg.fonttype": "none",  # text stays text: small, searchable, the page's own font
        "font.family": "sans-serif",
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.grid.axis": "y",
        "grid.color": "#e0e0e0",
        "axes.axisbelow": True,
    }
)


def load(name: str) -> dict[str, Any]:
    """One benchmark's results file."""
    document: dict[str, Any] = json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))
    return document


def footer(fig: Figure, document: dict[str, Any], script: str) -> None:
    """The run's date and machine, under the chart."""
    m = document["machine"]
    fig.text(
        0.01,
        0.01,
        f"make bench (benchmarks/{script}), one run on {document['date']}\n"
        f"{m['cpu']}, {m['cpus']} CPUs, {m['arch']}, {m['system']}; {m['python']}, "
        f"stytch {m['stytch']}, stytch-rbac {m['stytch_rbac']}; load average {m['load_average']}",
        fontsize=7,
        color="#616161",
        ha="left",
        va="bottom",
    )


def save(fig: Figure, name: str) -> Path:
    """Write the figure as docs/img/<name>.svg, without a creation date."""
    IMG.mkdir(parents=True, exist_ok=True)
    path = IMG / f"{name}.svg"
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


def label_bars(ax: Axes, bars: Any, fmt: str) -> None:
    """Print each bar's value above it."""
    for bar in bars:
        height = bar.get_height()
        ax.annotate(
            fmt.format(height),
            (bar.get_x() + bar.get_width() / 2, height),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )


def decide_chart() -> Path:
    """Time per permission check by policy size: ours against the SDK's two local paths."""
    document = load("decide")
    rows = document["data"]["rows"]
    sizes = sorted({r["roles"] for r in rows})
    series = [
        ("stytch-rbac CompiledPolicy.allows", "allows", OURS),
        ("stytch SDK rbac_local.is_authorized (policy converted once)", "is_authorized", NEUTRAL),
        ("stytch SDK perform_authorization_check (per check)", "perform_authorization_check", SDK),
    ]
    fig, ax = plt.subplots(figsize=(8, 4.4))
    width = 0.27
    for i, (label, key, colour) in enumerate(series):
        values = [
            statistics.median(r[key] for r in rows if r["roles"] == size) / 1000 for size in sizes
        ]
        xs = [s + (i - 1) * width for s in range(len(sizes))]
        bars = ax.bar(xs, values, width, label=label, color=colour)
        label_bars(ax, bars, "{:.2f} µs" if max(values) < 10 else "{:,.0f} µs")
    ax.set_yscale("log")
    ax.set_xticks(range(len(sizes)), [f"{s} roles" for s in sizes])
    ax.set_ylabel("µs per check (median over cases, log scale)")
    ax.set_title("One permission check, by policy size (lower is better)", loc="left")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.set_ylim(top=ax.get_ylim()[1] * 8)
    fig.subplots_adjust(bottom=0.17, top=0.9, left=0.1, right=0.98)
    footer(fig, document, "bench_decide.py")
    return save(fig, "bench-decide")


def guard_chart() -> Path:
    """Requests per second of one guarded FastAPI endpoint, with each series' spread."""
    document = load("guard")
    data = document["data"]
    names = list(data["series"])
    colours = {"stytch-rbac": OURS, "stytch-rbac memo off": "#7986cb", "stytch SDK": SDK}
    fig, ax = plt.subplots(figsize=(8, 3.6))
    medians = [data["series"][n]["median"] for n in names]
    low = [m - data["series"][n]["min"] for n, m in zip(names, medians, strict=True)]
    high = [data["series"][n]["max"] - m for n, m in zip(names, medians, strict=True)]
    ys = list(range(len(names)))[::-1]
    ax.barh(
        ys,
        medians,
        xerr=[low, high],
        color=[colours.get(n, NEUTRAL) for n in names],
        capsize=3,
        error_kw={"ecolor": "#424242", "elinewidth": 1},
    )
    for y, value in zip(ys, medians, strict=True):
        ax.text(value / 2, y, f"{value:,.0f} req/s", va="center", ha="center", color="white")
    labels = {"stytch-rbac memo off": "stytch-rbac,\nRSA on every request"}
    ax.set_yticks(ys, [labels.get(n, n) for n in names])
    ax.grid(axis="x", color="#e0e0e0")
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(
        f"median of {data['rounds']} rounds of {data['round_seconds']:g} s;"
        " whiskers: slowest to fastest round"
    )
    ax.set_title(
        f"A guarded FastAPI endpoint, {data['connections']} connections over loopback\n"
        "requests per second (higher is better)",
        loc="left",
    )
    fig.subplots_adjust(bottom=0.27, top=0.85, left=0.22, right=0.97)
    footer(fig, document, "bench_guard.py")
    return save(fig, "bench-guard")


def client_chart() -> Path:
    """authenticate + is_authorized latency, cache memory and import cost, ours against the SDK."""
    document = load("client")
    data = document["data"]
    fig, (lat, mem, imp) = plt.subplots(1, 3, figsize=(10, 4), width_ratios=[1.3, 1.2, 1])
    width = 0.38

    cases = [("fresh JWT", data["fresh_jwt"]), ("same JWT repeated", data["repeated_jwt"])]
    xs = range(len(cases))
    ours = lat.bar(
        [x - width / 2 for x in xs], [c["ours_median_us"] for _, c in cases], width, color=OURS
    )
    sdk = lat.bar(
        [x + width / 2 for x in xs], [c["sdk_median_us"] for _, c in cases], width, color=SDK
    )
    label_bars(lat, [*ours, *sdk], "{:,.0f} µs")
    lat.set_yscale("log")
    lat.set_ylim(top=lat.get_ylim()[1] * 4)
    lat.set_xticks(list(xs), [name for name, _ in cases])
    lat.set_title(
        "authenticate + is_authorized\nmedian µs, log scale (lower is better)", loc="left"
    )

    memory = data["memory"]
    labels = [k for k in memory if k != "organizations"]
    xs = range(len(labels))
    ours = mem.bar([x - width / 2 for x in xs], [memory[k]["ours_mib"] for k in labels], width)
    sdk = mem.bar([x + width / 2 for x in xs], [memory[k]["sdk_mib"] for k in labels], width)
    for bar in ours:
        bar.set_color(OURS)
    for bar in sdk:
        bar.set_color(SDK)
    label_bars(mem, [*ours, *sdk], "{:,.0f} MiB")
    mem.set_xticks(list(xs), labels)
    mem.set_ylim(top=mem.get_ylim()[1] * 1.1)
    mem.set_title(
        f"org-policy cache after {memory['organizations']:,} orgs\nMiB (lower is better)",
        loc="left",
    )

    imports = data["import"]
    pairs = [("import stytch_rbac", OURS), ("import stytch", SDK)]
    bars = imp.bar(
        range(len(pairs)), [imports[k]["ms"] for k, _ in pairs], 0.6, color=[c for _, c in pairs]
    )
    label_bars(imp, bars, "{:,.0f} ms")
    imp.set_xticks(range(len(pairs)), [k for k, _ in pairs])
    imp.set_ylim(top=imp.get_ylim()[1] * 1.1)
    imp.set_title("import, fresh interpreter\nms (lower is better)", loc="left")

    fig.legend(
        [ours[0], sdk[0]],
        ["stytch-rbac", f"stytch SDK {document['machine']['stytch']}"],
        loc="upper right",
        ncols=2,
        frameon=False,
    )
    fig.subplots_adjust(bottom=0.17, top=0.8, left=0.06, right=0.99, wspace=0.3)
    footer(fig, document, "bench_client.py")
    return save(fig, "bench-client")


def main() -> int:
    """Draw every chart whose results exist; 1 when one is missing."""
    missing = [n for n in ("decide", "guard", "client") if not (RESULTS / f"{n}.json").exists()]
    for name in missing:
        print(f"no results for {name}: run benchmarks/bench_{name}.py (or make bench)")
    drawers = {"decide": decide_chart, "guard": guard_chart, "client": client_chart}
    for name, draw in drawers.items():
        if name not in missing:
            draw()
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
