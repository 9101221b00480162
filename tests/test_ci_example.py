"""examples/ci/rbac-policy.yml: a valid GitHub Actions workflow that runs the documented steps.

The schema is the one check-jsonschema vendors from SchemaStore (``vendor.github-workflows``,
pinned with the package in constraints.txt), plus its rule that every job has a timeout.
The plan step's shell is run for real against the emulator, so its handling of plan's
exit codes (0 and 2 pass, 1 fails) is tested, not assumed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from stytch_rbac.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "ci" / "rbac-policy.yml"
BIN = Path(sys.executable).parent


def _validate(path: Path, schema: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _load(path: Path = WORKFLOW) -> Any:
    return YAML(typ="safe").load(path.read_text())  # YAML 1.2: `on` stays a key


@pytest.mark.parametrize(
    "schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"]
)
def test_the_workflow_fits_the_github_workflow_schema(schema: str) -> None:
    """check-jsonschema accepts the example workflow under each schema."""
    done = _validate(WORKFLOW, schema)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    """The same check refuses the workflow with a job lacking runs-on and a step that is a
    string: the schema test can fail."""
    data = _load()
    del data["jobs"]["check"]["runs-on"]
    data["jobs"]["plan"]["steps"].append("stytch-rbac plan")
    broken = tmp_path / "broken.yml"
    broken.write_text(json.dumps(data))
    assert _validate(broken, "vendor.github-workflows").returncode != 0


def _runs(job: str) -> list[str]:
    return [step["run"] for step in _load()["jobs"][job]["steps"] if "run" in step]


def test_the_workflow_runs_check_lint_test_and_comments_the_plan() -> None:
    """The check job runs check (Python and TypeScript modules), lint and the policy tests; the
    plan job runs plan in markdown and posts it as a pull-request comment."""
    runs = " ".join(_runs("check"))
    for command in ("stytch-rbac check ", "stytch-rbac lint ", "stytch-rbac test "):
        assert command in runs
    assert "permissions.ts" in runs
    plan = _load()["jobs"]["plan"]
    assert plan["needs"] == "check"
    assert any("--format markdown" in r for r in _runs("plan"))
    comment = next(
        s for s in plan["steps"] if s.get("uses", "").startswith("actions/github-script")
    )
    assert "createComment" in comment["with"]["script"]
    assert _load()["permissions"]["pull-requests"] == "write"


@pytest.fixture
def workspace(tmp_path: Path) -> Any:
    """An emulator, a checkout with rbac/policy.json pulled from it, and the env of the job."""
    emu = Emulator(policy=ROOT / "examples" / "policy.json")
    with emu.serve_in_thread() as base_url:
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "STYTCH_WORKSPACE_KEY_ID": emu.workspace_key_id,
            "STYTCH_WORKSPACE_KEY_SECRET": emu.workspace_key_secret,
            "STYTCH_MANAGEMENT_URL": base_url,
            "STYTCH_SECRET": emu.secret,
            "GITHUB_OUTPUT": str(tmp_path / "github_output"),
            "NO_COLOR": "1",
        }
        (tmp_path / "rbac").mkdir()
        pulled = subprocess.run(
            [str(BIN / "stytch-rbac"), "pull", "--project", "emulator", "-o", "rbac/policy.json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert pulled.returncode == 0, pulled.stderr
        yield tmp_path, env


def _plan_step(cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    script = next(s["run"] for s in _load()["jobs"]["plan"]["steps"] if s.get("id") == "plan")
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, (cwd / "github_output").read_text()


def test_the_plan_step_passes_on_changes_and_fails_on_errors(workspace: Any) -> None:
    """The step's shell, run as Actions runs it (bash -e): no change and changes pass (with
    the plan's exit code in GITHUB_OUTPUT and plan.md written), an error fails the job."""
    cwd, env = workspace
    assert _plan_step(cwd, env) == (0, "exit_code=0\n")
    policy = cwd / "rbac" / "policy.json"
    data = json.loads(policy.read_text())
    viewer = next(r for r in data["roles"] if r["role_id"] == "viewer")
    viewer["permissions"].append({"resource_id": "billing", "actions": ["read"]})
    policy.write_text(json.dumps(data))
    (cwd / "github_output").unlink()
    assert _plan_step(cwd, env) == (0, "exit_code=2\n")
    assert "| **+** added | role `viewer` | `billing` | `read` |" in (cwd / "plan.md").read_text()
    (cwd / "github_output").unlink()
    code, output = _plan_step(cwd, {**env, "STYTCH_WORKSPACE_KEY_SECRET": "wrong"})
    assert (code, output) == (1, "exit_code=1\n")
