"""The built docs site: diagrams rendered offline, the charts of a real run, the reference order."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import stytch_rbac

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site ``make docs`` builds (strict), in a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
        env=os.environ | {"NO_MKDOCS_2_WARNING": "1"},
    )
    return out


def mkdocs_config() -> dict[str, object]:
    """mkdocs.yml, read without resolving its ``!!python/name`` tags."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *_: None)
    config: dict[str, object] = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)
    return config


# --- diagrams ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "diagrams"),
    [
        pytest.param("architecture", ["flowchart TD", "sequenceDiagram"], id="architecture"),
        pytest.param("guides/guards", ["flowchart TD"], id="guards"),
    ],
)
def test_diagram_pages_render_mermaid_from_the_site_itself(
    site: Path, page: str, diagrams: list[str]
) -> None:
    """The layers, the request path and the guard's decisions are mermaid blocks, drawn by the
    site's own mermaid.js: no script is loaded from another host (the site works offline)."""
    html = (site / page / "index.html").read_text(encoding="utf-8")
    blocks = re.findall(r'<pre class="mermaid"><code>(.*?)</code></pre>', html, re.S)
    assert [b.split("\n", 1)[0] for b in blocks] == diagrams
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert any(s.endswith("js/mermaid.min.js") for s in scripts), scripts
    assert [s for s in scripts if "://" in s] == []


def test_the_decision_flow_answers_401_then_403_tenancy_then_403_permission_or_503() -> None:
    """The guard guide's diagram names every answer in the guard's order, each once as a node
    (the origin of a cookie credential, CSRF, is checked before the session)."""
    text = (DOCS / "guides" / "guards.md").read_text(encoding="utf-8")
    (flow,) = [b for b in re.findall(r"```mermaid\n(.*?)```", text, re.S) if "credential" in b]
    nodes = re.findall(r'(\w+)\["<b>(\d{3})</b> (\w+)"\]', flow)
    assert [(status, name) for _, status, name in nodes] == [
        ("401", "unauthenticated"),
        ("403", "cross_site_request"),
        ("503", "stytch_unavailable"),
        ("403", "tenancy_error"),
        ("403", "permission_denied"),
    ]
    names = ("credential", "origin", "session", "tenancy", "permission")
    order = [flow.index(name) for name in names]
    assert order == sorted(order)


def test_mermaid_is_vendored_at_build_time_not_committed() -> None:
    """``make docs`` fetches the mermaid.js that mkdocs.yml loads; git ignores the file."""
    config = mkdocs_config()
    assert config["extra_javascript"] == ["js/mermaid.min.js"]
    vendored = re.search(r"^MERMAID_JS := (.+)$", MAKEFILE, re.M)
    assert vendored is not None
    assert vendored.group(1) == "docs/js/mermaid.min.js"
    assert re.search(r"^docs: .*\$\(MERMAID_JS\)", MAKEFILE, re.M)
    assert re.search(r"^MERMAID_VERSION := 11\.\d+\.\d+$", MAKEFILE, re.M)  # material 9 wants 11
    assert "docs/js/mermaid.min.js" in (ROOT / ".gitignore").read_text().splitlines()


# --- the API reference ------------------------------------------------------------------------


def test_api_reference_starts_with_the_facade(site: Path) -> None:
    """The reference page's first entry is StytchRBAC, and it lists every public name once."""
    html = (site / "reference" / "index.html").read_text(encoding="utf-8")
    headings = re.findall(r'<h2 id="stytch_rbac\.(\w+)"', html)
    assert headings[0] == "StytchRBAC"
    public = set(stytch_rbac.__all__) - {"__version__", "StrEnum"}  # StrEnum: the stdlib's
    assert sorted(headings) == sorted(public)


# --- benchmark charts -------------------------------------------------------------------------


def load_charts_module() -> object:
    """benchmarks/charts.py, imported from its file."""
    spec = importlib.util.spec_from_file_location("charts", ROOT / "benchmarks" / "charts.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_charts_are_what_the_committed_results_draw(tmp_path: Path) -> None:
    """``make bench-charts`` redraws docs/img/bench-*.svg byte for byte from benchmarks/results."""
    charts = load_charts_module()
    charts.IMG = tmp_path  # type: ignore[attr-defined]
    assert charts.main() == 0  # type: ignore[attr-defined]
    drawn = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert drawn == ["bench-client.svg", "bench-decide.svg", "bench-guard.svg"]
    for name in drawn:
        assert (tmp_path / name).read_bytes() == (DOCS / "img" / name).read_bytes(), name


@pytest.mark.parametrize("name", ["client", "decide", "guard"])
def test_each_chart_names_its_run_date_and_machine(name: str) -> None:
    """A chart's footer shows the date and the machine of the run its numbers come from."""
    results = json.loads((ROOT / "benchmarks" / "results" / f"{name}.json").read_text())
    svg = (DOCS / "img" / f"bench-{name}.svg").read_text(encoding="utf-8")
    assert f"one run on {results['date']}" in svg
    assert results["machine"]["cpu"] in svg
    assert results["machine"]["python"] in svg
    assert f"benchmarks/bench_{name}.py" in svg


def test_benchmarks_page_shows_the_charts(site: Path) -> None:
    """The benchmarks page embeds the three charts, each with a text alternative."""
    html = (site / "benchmarks" / "index.html").read_text(encoding="utf-8")
    images = re.findall(r'<img alt="([^"]+)" src="([^"]+)"', html)
    assert sorted(src for _, src in images) == [
        "../img/bench-client.svg",
        "../img/bench-decide.svg",
        "../img/bench-guard.svg",
    ]
    assert all(len(alt) > 40 for alt, _ in images)
    assert all((site / "img" / Path(src).name).is_file() for _, src in images)


def test_make_bench_runs_each_benchmark_three_times_then_draws_the_charts() -> None:
    """``make bench`` runs every benchmark BENCH_RUNS (default 3) times, then draws the charts."""
    assert re.search(r"^BENCH_RUNS \?= 3$", MAKEFILE, re.MULTILINE)
    recipe = MAKEFILE.split("\nbench: ", 1)[1].split("\n\n", 1)[0]
    assert "benchmarks/run_all.py --runs $(BENCH_RUNS)" in recipe
    assert recipe.rstrip().endswith("benchmarks/charts.py")
    run_all = (ROOT / "benchmarks" / "run_all.py").read_text(encoding="utf-8")
    assert 'glob("bench_*.py")' in run_all


# --- published figures: medians of the committed runs -----------------------------------------


def load_run_all_module() -> Any:
    """benchmarks/run_all.py, imported from its file."""
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "benchmarks" / "run_all.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_summary_is_what_the_committed_runs_give() -> None:
    """benchmarks/results/summary.json is recomputed exactly from results/runs/*.json, and
    every figure in it is the median of at least 3 runs."""
    run_all = load_run_all_module()
    committed = json.loads(run_all.SUMMARY.read_text(encoding="utf-8"))
    assert run_all.summarize() == committed
    assert committed["figures"]
    for label, entry in committed["figures"].items():
        assert len(entry["values"]) >= 3, label
        assert entry["min"] <= entry["median"] <= entry["max"], label


@pytest.mark.parametrize("page", ["README.md", "docs/benchmarks.md"])
def test_published_table_is_the_committed_summary(page: str) -> None:
    """The figures table of README.md and docs/benchmarks.md is the rendering of summary.json:
    no published figure comes from a single run or from memory."""
    run_all = load_run_all_module()
    committed = json.loads(run_all.SUMMARY.read_text(encoding="utf-8"))
    text = (ROOT / page).read_text(encoding="utf-8")
    assert run_all.render(committed) in text


def test_summary_table_shows_median_and_spread() -> None:
    """Each figure is printed with its median and its min - max over the runs."""
    run_all = load_run_all_module()
    summary = {
        "figures": {
            "a ratio": {"format": "x", "values": [2.0, 3.0, 5.0], "median": 3.0, "min": 2.0,
                        "max": 5.0},
        }
    }  # fmt: skip
    assert "| a ratio | **3.0x** | 2.0x - 5.0x | 3 |" in run_all.render(summary)


# --- testing.md's word on anyio's default backend ---------------------------------------------


def test_anyio_default_backend_runs_every_installed_backend(tmp_path: Path) -> None:
    """As testing.md says: without an ``anyio_backend`` override, a test using the plugin's
    async fixture runs once on asyncio and once on trio (installed here)."""
    shutil.copy(ROOT / "examples" / "policy.json", tmp_path / "policy.json")
    (tmp_path / "pytest.ini").write_text("[pytest]\nstytch_policy = policy.json\n")
    (tmp_path / "test_backend.py").write_text(
        "import pytest\n"
        "import sniffio\n\n"
        "pytestmark = pytest.mark.anyio\n\n\n"
        "async def test_backend(stytch_rbac):\n"
        "    print('running on', sniffio.current_async_library())\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-s", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "STYTCH_"))},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_backend[asyncio] " in done.stdout
    assert "test_backend[trio] " in done.stdout
    assert "running on asyncio" in done.stdout
    assert "running on trio" in done.stdout
    text = (DOCS / "testing.md").read_text(encoding="utf-8")
    assert "anyio's default is asyncio" not in text
    assert "once on every backend that is installed" in text
