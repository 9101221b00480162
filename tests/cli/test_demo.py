"""The demo `make demo` runs: every step behaves, and it fails loudly when one does not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stytch_rbac.cli._app import app
from stytch_rbac.cli._demo import demo_data

ROOT = Path(__file__).resolve().parents[2]


def test_demo_tells_the_whole_story() -> None:
    """`stytch-rbac demo` exits 0 and shows each step's outcome: local allow and deny,
    the editor refused locally with no request and by the emulator, the admin's delete done."""
    result = subprocess.run(
        [sys.executable, "-m", "stytch_rbac", "demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "drift against the live policy: none" in out
    assert "editor documents:edit: allowed (granted by editor)" in out
    assert "editor documents:delete: denied" in out
    assert "refused locally" in out
    assert "requests sent: 0" in out
    assert "refused by Stytch (session_authorization_error, status 403)" in out
    assert "admin: deleted vera@acme.test" in out


def test_demo_fails_when_the_policy_does_not_deny(tmp_path: Path) -> None:
    """With a policy where editors may delete documents, the demo reports failure (exit 1)
    instead of printing a story that is not true."""
    policy = json.loads((ROOT / "examples" / "policy.json").read_text())
    for role in policy["roles"]:
        if role["role_id"] == "editor":
            role["permissions"].append({"resource_id": "documents", "actions": ["delete"]})
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy))
    result = CliRunner().invoke(
        app, ["demo", "--policy", str(path), "--seed", str(ROOT / "examples" / "seed.json")]
    )
    assert result.exit_code == 1, result.output
    assert "demo failed" in result.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--policy", "nope.json"], "policy file not found"),
        (["--seed", "nope.json"], "seed file not found"),
    ],
)
def test_demo_bad_input_exits_2(args: list[str], fragment: str) -> None:
    """A missing policy or seed file is a one-line error with exit 2."""
    result = CliRunner().invoke(app, ["demo", *args])
    assert result.exit_code == 2
    assert fragment in result.output


@pytest.mark.parametrize("name", ["policy.json", "seed.json"])
def test_packaged_demo_data_is_the_examples(name: str) -> None:
    """The demo's packaged policy and seed are byte for byte examples/policy.json and
    examples/seed.json, so the two copies cannot drift."""
    with demo_data(name) as packaged:
        assert packaged.read_bytes() == (ROOT / "examples" / name).read_bytes()


def test_demo_runs_outside_the_clone(tmp_path: Path) -> None:
    """From a directory without examples/ the demo uses its packaged policy and seed."""
    result = subprocess.run(
        [sys.executable, "-m", "stytch_rbac", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "admin: deleted vera@acme.test" in result.stdout
