"""``stytch-rbac show --scopes``: what each Connected-Apps / M2M scope of a policy grants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from stytch_rbac import Policy
from stytch_rbac.cli import EXIT_BAD_INPUT, EXIT_OK
from stytch_rbac.cli._app import app

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "policy.json")
# Plain, 80-column output whatever the terminal running the tests looks like.
ENV: dict[str, str | None] = {"COLUMNS": "80", "TTY_COMPATIBLE": "0", "NO_COLOR": "1"}


def run(*args: str) -> Result:
    """Invoke the real app in-process."""
    return CliRunner().invoke(app, list(args), env=ENV)


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


def assert_one_line_error(result: Result, code: int, fragment: str) -> None:
    """The command failed with ``code`` and one stderr line containing ``fragment``."""
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]


@pytest.fixture
def policy_dict(example_policy: Policy) -> dict[str, Any]:
    """The example policy as a fresh, mutable JSON object."""
    return example_policy.to_json()


def test_show_scopes_lists_each_scope_with_what_it_grants() -> None:
    """One block per scope in policy order; the footer counts scopes instead of roles."""
    result = run("show", "--policy", EXAMPLE, "--scopes")
    assert result.exit_code == EXIT_OK, result.output
    *lines, footer = result.stdout.splitlines()
    assert lines[0].startswith("What each scope grants")
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if "│" in line]
    assert rows == [
        ["read:documents", "documents", "download, read"],
        ["", "projects", "read"],
        ["write:documents", "documents", "create, edit"],
        ["read:billing", "billing", "read"],
    ]
    assert footer.startswith(f"{EXAMPLE} · 3 scopes · 13 resources · sha256 ")
    assert max(len(line) for line in lines) <= 80


def test_show_scopes_json_matches_the_compiled_policy(example_policy: Policy) -> None:
    """``--json`` is {scope: ["resource:action", ...]}: exactly what scope_allows() allows."""
    result = run("show", "--policy", EXAMPLE, "--scopes", "--json")
    assert result.exit_code == EXIT_OK, result.output
    data = json.loads(result.stdout)
    compiled = example_policy.compile()
    assert list(data) == [s.scope for s in example_policy.scopes]
    for scope, perms in data.items():
        expected = {
            f"{resource}:{action}"
            for resource, actions in compiled.resources.items()
            for action in actions
            if compiled.scope_allows([scope], resource, action)
        }
        assert set(perms) == expected
    assert data["read:documents"] == ["documents:download", "documents:read", "projects:read"]


def test_show_scopes_resource_filter_and_a_scope_granting_nothing_there() -> None:
    """--resource narrows the grants; a scope with nothing on it says so instead of vanishing."""
    result = run("show", "--policy", EXAMPLE, "--scopes", "--resource", "billing")
    assert result.exit_code == EXIT_OK
    rows = [line for line in result.stdout.splitlines() if "│" in line]
    assert any("read:billing" in r and "billing" in r and "read" in r for r in rows)
    assert any("read:documents" in r and "(nothing)" in r for r in rows)
    assert "│ documents" not in result.stdout
    data = json.loads(
        run("show", "-p", EXAMPLE, "--scopes", "--json", "--resource", "billing").stdout
    )
    assert data == {"read:documents": [], "write:documents": [], "read:billing": ["billing:read"]}


def test_a_wildcard_scope_grants_every_action_and_no_scopes_is_said(
    tmp_path: Path, policy_dict: dict[str, Any]
) -> None:
    """A '*' grant shows as "all N"; a policy without scopes prints a row saying so."""
    policy_dict["scopes"].append(
        {
            "scope": "admin:documents",
            "description": "",
            "permissions": [{"resource_id": "documents", "actions": ["*"]}],
        }
    )
    path = write_json(tmp_path / "wild.json", policy_dict)
    result = run("show", "--policy", str(path), "--scopes", "--resource", "documents")
    assert any("admin:documents" in line and "all 6" in line for line in result.stdout.splitlines())
    policy_dict["scopes"] = []
    bare = write_json(tmp_path / "bare.json", policy_dict)
    result = run("show", "--policy", str(bare), "--scopes")
    assert result.exit_code == EXIT_OK
    assert "(the policy defines no scopes)" in result.stdout
    assert json.loads(run("show", "--policy", str(bare), "--scopes", "--json").stdout) == {}


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        pytest.param(["--role", "viewer"], "--role does not apply to --scopes", id="role"),
        pytest.param(["--view", "matrix"], "--view does not apply to --scopes", id="view"),
        pytest.param(["--resource", "docs"], "resource 'docs' is not defined", id="resource"),
    ],
)
def test_show_scopes_rejects_filters_that_do_not_apply(argv: list[str], fragment: str) -> None:
    """Role filters and views are about roles: a one-line error rather than a silent no-op."""
    assert_one_line_error(
        run("show", "--policy", EXAMPLE, "--scopes", *argv), EXIT_BAD_INPUT, fragment
    )
