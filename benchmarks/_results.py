"""Where a benchmark run leaves its numbers: ``benchmarks/results/<name>.json``.

Each benchmark prints its tables for people and, through :func:`save`, writes the
same numbers with the run's date and machine for ``benchmarks/charts.py``, which
draws the charts of docs/benchmarks.md from them (``make bench`` runs both). The
results of the run the docs show are committed, so the charts can be redrawn
(``make bench-charts``) without running the benchmarks again.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from importlib.metadata import version
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "arch": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "stytch": version("stytch"),
        "stytch_rbac": version("stytch-rbac"),
        "load_average": round(os.getloadavg()[0], 2),
    }


def save(name: str, data: dict[str, Any]) -> Path:
    """Write ``data`` (JSON-able) with the date and machine to ``results/<name>.json``."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {
        "benchmark": name,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "data": data,
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {path.relative_to(RESULTS_DIR.parent.parent)}")
    return path
