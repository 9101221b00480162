"""What the command line prints for scripts and CI: JSON errors, widths, shell completion."""

from __future__ import annotations

import ast
import fcntl
import json
import os
import pty
import re
import shutil
import socket
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from stytch_rbac.cli import EXIT_BAD_INPUT, EXIT_UNREACHABLE
from stytch_rbac.cli._app import app
from stytch_rbac.cli._common import ERROR_CODES, PIPE_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "policy.json")
SCRIPT = str(Path(sys.executable).with_name("stytch-rbac"))
ENV: dict[str, str | None] = {
    "COLUMNS": "80",
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


def shell_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no COLUMNS, no test variables, the venv on PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"COLUMNS", "LINES"} and not k.startswith(("PYTEST_", "STYTCH_", "_"))
    }
    env["PATH"] = f"{Path(SCRIPT).parent}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    return env | extra


# --- errors under --json ---------------------------------------------------------------------


def json_error(result: Result) -> dict[str, object]:
    """The one JSON object a failed ``--json`` command printed on stderr (stdout stays empty)."""
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    body = json.loads(lines[0])
    assert list(body) == ["error"]
    error: dict[str, object] = body["error"]
    assert set(error) == {"code", "message", "exit_code"}
    assert error["exit_code"] == result.exit_code
    assert error["code"] in ERROR_CODES
    return error


P = ["--policy", EXAMPLE]
JSON_ERRORS = [
    ("file", ["show", "--policy", "missing.json"], "file-not-found", "missing.json"),
    ("policy", ["show", "--policy", "{bad}"], "invalid-policy", "not valid JSON"),
    ("role", ["can", "vewer", "documents", "read", *P], "unknown-name", "vewer"),
    ("action", ["can", "viewer", "documents", "fly", *P], "unknown-name", "fly"),
    ("lint-code", ["lint", *P, "--ignore", "nope"], "unknown-name", "nope"),
    ("option", ["show", "--nope"], "usage", "No such option"),
    ("argument", ["can", "documents"], "usage", "Missing argument"),
    ("conflict", ["show", *P, "--from-stytch"], "usage", "not both"),
    ("creds", ["show", "--from-stytch"], "credentials-missing", "STYTCH_SECRET"),
    ("test-file", ["test", "missing.yaml"], "file-not-found", "missing.yaml"),
    ("test-shape", ["test", "{tests}"], "invalid-policy-test", "unknown key 'alow'"),
]


@pytest.mark.parametrize(
    ("argv", "code", "fragment"),
    [pytest.param(argv, code, fragment, id=name) for name, argv, code, fragment in JSON_ERRORS],
)
def test_json_errors_carry_a_stable_code(
    tmp_path: Path, argv: list[str], code: str, fragment: str
) -> None:
    """With ``--json`` every error is one JSON object on stderr with its documented code."""
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    tests = tmp_path / "t.yaml"
    tests.write_text(f"policy: {EXAMPLE}\nexpectations: [{{roles: viewer, alow: [a:b]}}]\n")
    argv = [a.replace("{bad}", str(bad)).replace("{tests}", str(tests)) for a in argv]
    result = run(*argv, "--json")
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    error = json_error(result)
    assert error["code"] == code
    assert fragment in str(error["message"])


def test_json_error_when_stytch_is_unreachable() -> None:
    """Stytch not answering is exit 3 and code ``stytch-unavailable``, in JSON under ``--json``."""
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        unused_port = sock.getsockname()[1]
    env: dict[str, str | None] = {
        "STYTCH_PROJECT_ID": "project-test-x",
        "STYTCH_SECRET": "secret-test-x",
        "STYTCH_BASE_URL": f"http://127.0.0.1:{unused_port}",
    }
    result = run("show", "--from-stytch", "--json", env=env)
    assert result.exit_code == EXIT_UNREACHABLE
    error = json_error(result)
    assert error["code"] == "stytch-unavailable"
    assert "secret-test-x" not in result.stderr


def test_without_json_errors_stay_one_readable_line() -> None:
    """Without ``--json`` the same error is the ``error: ...`` line people read."""
    result = run("show", "--policy", "missing.json")
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr == "error: policy file not found: missing.json\n"


def test_json_after_double_dash_is_an_argument_not_the_option(tmp_path: Path) -> None:
    """``--json`` after ``--`` is a file name, so the error is the plain line."""
    result = run("test", "--", "--json")
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr.startswith("error: expectations file not found: --json")


def test_error_codes_are_documented() -> None:
    """Each error code of the command line is in docs/cli.md's table, and only those."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("### Errors as JSON", 1)[1].split("\n## ", 1)[0]
    documented = [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")]
    assert documented == list(ERROR_CODES)


# --- widths: pipes, CI logs, terminals -------------------------------------------------------


def test_in_a_pipe_tables_are_120_columns_and_lines_never_wrap(tmp_path: Path) -> None:
    """Piped (CI logs), tables are drawn 120 wide and one-line messages stay on one line."""
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "tests"
    deep.mkdir(parents=True)
    path = deep / "policy_test_viewer.toml"
    path.write_text(
        f'policy = "{EXAMPLE}"\n[[expectations]]\nroles = "viewer"\nallow = ["documents:read"]\n'
    )
    lint = subprocess.run(
        [SCRIPT, "lint", "--policy", EXAMPLE], capture_output=True, text=True, env=shell_env()
    )
    widths = {len(line) for line in lint.stdout.splitlines()[1:]}
    assert widths == {PIPE_COLUMNS}, lint.stdout
    test = subprocess.run(
        [SCRIPT, "test", str(path)], capture_output=True, text=True, env=shell_env()
    )
    assert test.returncode == 0, test.stderr
    summary = f"1 passed, 0 failed ({path} against {EXAMPLE})"
    assert len(summary) > PIPE_COLUMNS
    assert test.stdout == summary + "\n"
    missing = subprocess.run(
        [SCRIPT, "show", "--policy", str(deep / ("x" * 150))],
        capture_output=True,
        text=True,
        env=shell_env(),
    )
    assert missing.stderr.count("\n") == 1


def test_columns_overrides_the_width() -> None:
    """``COLUMNS`` wins over the pipe width."""
    lint = subprocess.run(
        [SCRIPT, "lint", "--policy", EXAMPLE],
        capture_output=True,
        text=True,
        env=shell_env(COLUMNS="100"),
    )
    assert {len(line) for line in lint.stdout.splitlines()[1:]} == {100}


def test_in_a_terminal_tables_fit_its_width() -> None:
    """In a terminal (a pty 96 columns wide) the table is as wide as the terminal."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 96, 0, 0))
    try:
        proc = subprocess.run(
            [SCRIPT, "lint", "--policy", EXAMPLE],
            stdout=follower,
            stderr=subprocess.PIPE,
            env=shell_env(TERM="dumb-but-not-dumb"),
            timeout=60,
        )
    finally:
        os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.returncode == 1
    text = re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode())  # bold is not a colour
    lines = text.replace("\r\n", "\n").splitlines()
    assert {len(line) for line in lines[1:] if line} == {96}


# --- shell completion ------------------------------------------------------------------------


def test_shell_completion_script_completes_commands_and_options() -> None:
    """``--show-completion`` prints a bash script; sourced, it completes commands and values."""
    script = (
        "source <(stytch-rbac --show-completion)\n"
        "COMP_WORDS=(stytch-rbac te); COMP_CWORD=1; _stytch_rbac_completion stytch-rbac\n"
        'echo "commands: ${COMPREPLY[*]}"\n'
        'COMP_WORDS=(stytch-rbac show --view ""); COMP_CWORD=3\n'
        "_stytch_rbac_completion stytch-rbac\n"
        'echo "views: ${COMPREPLY[*]}"\n'
    )
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run(
        [bash, "-c", script], capture_output=True, text=True, env=shell_env(), timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "commands: test\n" in done.stdout
    assert "views: auto matrix roles actions\n" in done.stdout


def test_help_offers_completion_install() -> None:
    """``--help`` lists ``--install-completion`` and ``--show-completion``."""
    result = run("--help")
    assert "--install-completion" in result.stdout
    assert "--show-completion" in result.stdout


# --- no private imports ----------------------------------------------------------------------


def test_no_module_imports_a_private_module_of_another_package() -> None:
    """No stytch_rbac module imports ``typer._click`` or another package's ``_private`` module."""
    offenders: list[str] = []
    for path in sorted((ROOT / "stytch_rbac").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top, *rest = name.split(".")
                if top != "stytch_rbac" and any(part.startswith("_") for part in rest):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert offenders == []
