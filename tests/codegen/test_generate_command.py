"""``stytch-rbac generate`` / ``check``: files written, --check exit codes, one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from stytch_rbac import Policy
from stytch_rbac.cli import EXIT_BAD_INPUT, EXIT_DENIED, EXIT_OK
from stytch_rbac.cli._app import app
from stytch_rbac.codegen import render_module, render_stub
from stytch_rbac.emulator import Emulator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
ENV: dict[str, str | None] = {
    "COLUMNS": "200",
    "TTY_COMPATIBLE": "0",
    "NO_COLOR": "1",
    "STYTCH_RBAC_POLICY": None,
    "STYTCH_RBAC_DEBUG": None,
    "STYTCH_PROJECT_ID": None,
    "STYTCH_SECRET": None,
    "STYTCH_BASE_URL": None,
}


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """Invoke the real app in-process."""
    return CliRunner().invoke(app, list(args), env=ENV | (env or {}))


def assert_one_line_error(result: Result, fragment: str) -> None:
    """Exit 2 with exactly one ``error:`` line on stderr naming the problem, no traceback."""
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch directory holding a copy of the example policy, as the current directory."""
    (tmp_path / "policy.json").write_bytes(EXAMPLE.read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_generate_writes_the_module(workdir: Path, example_policy: Policy) -> None:
    """generate --output writes render_module's text with the command in its header."""
    result = run("generate", "--policy", "policy.json", "--output", "perms.py")
    assert result.exit_code == EXIT_OK, result.output
    command = "stytch-rbac generate --policy policy.json --output perms.py"
    assert (workdir / "perms.py").read_text() == render_module(example_policy, command=command)
    assert f"# Regenerate: {command}" in (workdir / "perms.py").read_text()


def test_generate_stub_by_flag_or_suffix(workdir: Path, example_policy: Policy) -> None:
    """--stub, or an output ending in .pyi, writes the stub form."""
    assert run("generate", "-p", "policy.json", "--stub", "-o", "a.pyi").exit_code == EXIT_OK
    assert run("generate", "-p", "policy.json", "-o", "b.pyi").exit_code == EXIT_OK
    expected = render_stub(example_policy, command="x")
    body = expected.split("\n", 4)[4]
    assert (workdir / "a.pyi").read_text().endswith(body)
    assert (workdir / "b.pyi").read_text().endswith(body)


def test_generate_to_stdout(workdir: Path, example_policy: Policy) -> None:
    """Without --output the module goes to stdout and nothing else does."""
    result = run("generate", "--policy", "policy.json")
    assert result.exit_code == EXIT_OK
    command = "stytch-rbac generate --policy policy.json"
    assert result.stdout == render_module(example_policy, command=command)


def test_check_current_stale_and_missing(workdir: Path) -> None:
    """--check: 0 when current, 1 with a unified diff when stale or missing; nothing written."""
    assert run("generate", "-p", "policy.json", "-o", "perms.py").exit_code == EXIT_OK
    current = run("generate", "-p", "policy.json", "-o", "perms.py", "--check")
    assert current.exit_code == EXIT_OK, current.output
    assert current.stdout == ""

    policy = json.loads((workdir / "policy.json").read_text())
    policy["resources"].append({"resource_id": "images", "description": "", "actions": ["view"]})
    (workdir / "policy.json").write_text(json.dumps(policy))
    before = (workdir / "perms.py").read_text()
    stale = run("generate", "-p", "policy.json", "-o", "perms.py", "--check")
    assert stale.exit_code == EXIT_DENIED
    assert stale.stdout.startswith("--- perms.py (on disk)\n+++ perms.py (generated)\n")
    assert '+    IMAGES = "images"' in stale.stdout
    assert "perms.py: stale; regenerate it: stytch-rbac generate" in stale.stderr
    assert (workdir / "perms.py").read_text() == before

    missing = run("generate", "-p", "policy.json", "-o", "nothing.py", "--check")
    assert missing.exit_code == EXIT_DENIED
    assert not (workdir / "nothing.py").exists()


def test_check_ignores_where_it_was_generated_from(workdir: Path) -> None:
    """A file generated with other relative paths is current: the header's command is kept."""
    (workdir / "sub").mkdir()
    assert run("generate", "-p", "policy.json", "-o", "sub/perms.py").exit_code == EXIT_OK
    result = run("check", "--policy", str(workdir / "policy.json"), str(workdir / "sub/perms.py"))
    assert result.exit_code == EXIT_OK, result.output


def test_check_command_checks_every_file(workdir: Path) -> None:
    """``check`` compares each file (.pyi as a stub); one stale file makes it exit 1."""
    assert run("generate", "-p", "policy.json", "-o", "perms.py").exit_code == EXIT_OK
    assert run("generate", "-p", "policy.json", "-o", "perms.pyi").exit_code == EXIT_OK
    ok = run("check", "-p", "policy.json", "perms.py", "perms.pyi")
    assert ok.exit_code == EXIT_OK, ok.output
    assert ok.stderr.splitlines() == ["perms.py: up to date", "perms.pyi: up to date"]
    (workdir / "perms.pyi").write_text("# edited\n")
    stale = run("check", "-p", "policy.json", "perms.py", "perms.pyi")
    assert stale.exit_code == EXIT_DENIED
    assert "-# edited" in stale.stdout


def test_generate_is_idempotent(workdir: Path) -> None:
    """Generating twice leaves the same bytes and says the file is up to date."""
    assert run("generate", "-p", "policy.json", "-o", "perms.py").exit_code == EXIT_OK
    first = (workdir / "perms.py").read_bytes()
    again = run("generate", "-p", "policy.json", "-o", "perms.py")
    assert again.exit_code == EXIT_OK
    assert "up to date" in again.stderr
    assert (workdir / "perms.py").read_bytes() == first


def _write(workdir: Path, text: str) -> str:
    (workdir / "bad.json").write_text(text)
    return "bad.json"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param("{not json", "not valid JSON", id="not-json"),
        pytest.param("[1, 2]", "expected a JSON object", id="not-an-object"),
        pytest.param('{"hello": 1}', "no 'roles', 'resources' or 'scopes'", id="not-a-policy"),
        pytest.param(
            json.dumps(
                {
                    "resources": [
                        {"resource_id": "docs", "actions": ["read"]},
                        {"resource_id": "docs", "actions": ["edit"]},
                    ]
                }
            ),
            "resource 'docs' is defined more than once",
            id="duplicate-ids",
        ),
        pytest.param(
            '{"resources": [], "roles": [], "scopes": []}',
            "the policy defines no resources",
            id="empty-policy",
        ),
        pytest.param(
            '{"resources": [{"resource_id": 5}]}', "resources[0].resource_id", id="wrong-type"
        ),
    ],
)
@pytest.mark.parametrize("check", [False, True], ids=["generate", "check"])
def test_bad_policy_is_a_one_line_error(
    workdir: Path, content: str, fragment: str, check: bool
) -> None:
    """Bad input exits 2 with one line naming the problem, for generate and --check alike."""
    args = ["generate", "--policy", _write(workdir, content), "--output", "perms.py"]
    result = run(*args, *(["--check"] if check else []))
    assert_one_line_error(result, fragment)
    assert not (workdir / "perms.py").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        pytest.param(["--policy", "missing.json"], "policy file not found", id="missing-file"),
        pytest.param(["--policy", "policy.json", "--check"], "--check needs --output", id="check"),
        pytest.param(["--policy", "policy.json", "--from-stytch"], "not both", id="two-sources"),
        pytest.param(["--from-stytch"], "STYTCH_PROJECT_ID", id="no-credentials"),
        pytest.param(["--policy", "policy.json", "--output", "."], "directory", id="output-dir"),
        pytest.param(
            ["--policy", "policy.json", "-o", "no/such/dir/p.py"], "does not exist", id="no-dir"
        ),
    ],
)
def test_bad_arguments_are_one_line_errors(workdir: Path, args: list[str], fragment: str) -> None:
    """Missing files, contradictory options and missing credentials exit 2 with one line."""
    assert_one_line_error(run("generate", *args), fragment)


@pytest.fixture
def live_stytch() -> Iterator[dict[str, str | None]]:
    """The emulator serving the example policy over HTTP; the environment pointing at it."""
    emulator = Emulator(policy=EXAMPLE)
    with emulator.serve_in_thread() as base_url:
        yield {
            "STYTCH_PROJECT_ID": emulator.project_id,
            "STYTCH_SECRET": emulator.secret,
            "STYTCH_BASE_URL": base_url,
        }


def test_from_stytch_fetches_the_live_policy(
    workdir: Path, live_stytch: dict[str, Any], example_policy: Policy
) -> None:
    """--from-stytch generates from the policy Stytch (the emulator) serves, and checks with it."""
    result = run("generate", "--from-stytch", "--output", "perms.py", env=live_stytch)
    assert result.exit_code == EXIT_OK, result.output
    command = "stytch-rbac generate --from-stytch --output perms.py"
    assert (workdir / "perms.py").read_text() == render_module(example_policy, command=command)
    check = run("generate", "--from-stytch", "-o", "perms.py", "--check", env=live_stytch)
    assert check.exit_code == EXIT_OK, check.output


def test_from_stytch_with_a_wrong_secret_is_a_one_line_error(
    workdir: Path, live_stytch: dict[str, Any]
) -> None:
    """Credentials Stytch refuses exit 2 with one line that does not show the secret."""
    env = live_stytch | {"STYTCH_SECRET": "secret-test-wrong-value"}
    result = run("generate", "--from-stytch", env=env)
    assert_one_line_error(result, "Stytch answered 401")
    assert "secret-test-wrong-value" not in result.output
