"""The wheel a newcomer builds works outside the clone: built with the command the README
gives, installed into a fresh virtual environment in another directory, its missing extras
name themselves and `stytch-rbac demo` runs on the packaged policy and seed."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The build command of the README and the quickstart (run here with another -w folder).
BUILD = "python -m pip wheel --no-deps -w dist"
WHEEL = "stytch_rbac-0.1.0-py3-none-any.whl"


def run(argv: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in ``cwd`` with no virtual environment of ours leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "STYTCH_"))}
    env.pop("VIRTUAL_ENV", None)
    env["COLUMNS"] = "200"
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_wheel_installs_and_runs_the_demo_anywhere(tmp_path: Path) -> None:
    """The documented wheel build ships the demo data; in a fresh venv with only the `cli`
    extra the demo and the emulator say to install `emulator`; with `[all]` the demo runs
    from a directory that has no examples/."""
    assert f"{BUILD} ." in (ROOT / "README.md").read_text()
    assert f"{BUILD} /path/to/stytch-rbac" in (ROOT / "docs" / "quickstart.md").read_text()
    dist = tmp_path / "dist"
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), "."], ROOT)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = dist / WHEEL
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"stytch_rbac/cli/demo_data/policy.json", "stytch_rbac/cli/demo_data/seed.json"} <= (
        names
    )
    assert "stytch_rbac/py.typed" in names

    venv = tmp_path / "venv"
    created = run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    assert created.returncode == 0, created.stderr
    bin_ = venv / "bin"
    constraints = str(ROOT / "constraints.txt")
    pip = [str(bin_ / "python"), "-m", "pip", "install", "--quiet", "-c", constraints]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    cli_only = run([*pip, f"{wheel}[cli]"], tmp_path)
    assert cli_only.returncode == 0, cli_only.stdout + cli_only.stderr
    for command in (["demo"], ["emulator", "--port", "0"]):
        refused = run([str(bin_ / "stytch-rbac"), *command], elsewhere, timeout=60)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "pip install 'stytch-rbac[emulator]'" in refused.stderr
    imported = run([str(bin_ / "python"), "-c", "import stytch_rbac.emulator"], elsewhere)
    assert "needs the 'emulator' extra (starlette is not installed)" in imported.stderr

    everything = run([*pip, f"{wheel}[all]"], tmp_path)
    assert everything.returncode == 0, everything.stdout + everything.stderr
    demo = run([str(bin_ / "stytch-rbac"), "demo"], elsewhere, timeout=120)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "admin: deleted vera@acme.test" in demo.stdout
    assert "demo finished" in demo.stdout
