"""The documentation stays true: its snippets run and its sample outputs are what the CLI prints."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stytch_rbac.cli._app import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLE = ROOT / "examples" / "policy.json"
ENV: dict[str, str | None] = {
    "COLUMNS": "80",
    "TTY_COMPATIBLE": "0",
    "NO_COLOR": "1",
    "STYTCH_RBAC_POLICY": None,
}
_FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# Pages whose every Python block must at least compile (top-level await allowed).
PAGES = [
    "index.md",
    "quickstart.md",
    "cli.md",
    *(f"guides/{p.name}" for p in (DOCS / "guides").glob("*.md")),
]


def blocks(page: str, language: str) -> list[str]:
    """The fenced code blocks of ``language`` in a docs page, in order."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return [body for lang, body in _FENCE.findall(text) if lang == language]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_python_snippets_compile(page: str) -> None:
    """Every Python block of the page is valid Python (awaits allowed at top level)."""
    for body in blocks(page, "python"):
        compile(body, page, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


def console_samples(page: str) -> list[tuple[list[str], str]]:
    """``(argv, expected stdout)`` of each ``$ stytch-rbac ...`` on examples/policy.json."""
    samples: list[tuple[list[str], str]] = []
    for body in blocks(page, "console"):
        lines = body.splitlines()
        for i, line in enumerate(lines):
            if not line.startswith("$ stytch-rbac ") or "examples/policy.json" not in line:
                continue
            output: list[str] = []
            for following in lines[i + 1 :]:
                if following.startswith("$ "):
                    break
                output.append(following)
            samples.append((line[len("$ stytch-rbac ") :].split(), "\n".join(output)))
    return samples


CLI_SAMPLES = console_samples("cli.md")


def test_cli_page_has_samples() -> None:
    """The CLI page shows real output for show, can and lint."""
    assert {argv[0] for argv, _ in CLI_SAMPLES} >= {"show", "can", "lint"}


@pytest.mark.parametrize(
    ("argv", "expected"), CLI_SAMPLES, ids=[" ".join(a) for a, _ in CLI_SAMPLES]
)
def test_cli_samples_match_the_real_output(
    argv: list[str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What docs/cli.md shows after ``$ stytch-rbac ...`` is the output at 80 columns."""
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, argv, env=ENV)
    actual = "\n".join(line.rstrip() for line in result.stdout.splitlines())
    assert actual == expected


def test_policy_test_guide_files_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The YAML and TOML files of the policy-tests guide run green on the example policy."""
    shutil.copy(EXAMPLE, tmp_path / "policy.json")
    (tmp_path / "tests").mkdir()
    (yaml_text, _), (toml_text,) = (
        blocks("guides/policy-tests.md", "yaml"),
        blocks("guides/policy-tests.md", "toml"),
    )
    (tmp_path / "tests" / "policy.yaml").write_text(yaml_text)
    (tmp_path / "tests" / "policy.toml").write_text(toml_text)
    monkeypatch.chdir(tmp_path)
    for name, count in (("policy.yaml", 15), ("policy.toml", 13)):
        result = CliRunner().invoke(app, ["test", f"tests/{name}"], env=ENV)
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == (
            f"{count} passed, 0 failed (tests/{name} against policy.json)"
        )


def test_preflight_guide_offline_snippet(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CompiledPolicy snippet of the pre-flight guide gives the answers its comments show."""
    (snippet,) = [b for b in blocks("guides/preflight.md", "python") if "compile()" in b]
    monkeypatch.chdir(ROOT / "examples")
    namespace: dict[str, object] = {}
    exec(snippet, namespace)  # the snippet's own statements, on the example policy
    compiled = namespace["compiled"]
    acme = namespace["acme"]
    for line in snippet.splitlines():
        code, _, comment = line.partition("#")
        if comment.strip() and code.strip().startswith(("compiled.", "acme.")):
            value = eval(code.strip(), {"compiled": compiled, "acme": acme})
            assert repr(value) == comment.strip()


@pytest.mark.slow
def test_quickstart_end_to_end(tmp_path: Path) -> None:
    """The quickstart's generate, app, test and mypy steps work as written, in a fresh project."""
    import mypy.api

    shutil.copy(EXAMPLE, tmp_path / "policy.json")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "tests").mkdir()
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(
            app, ["generate", "--policy", "policy.json", "--output", "app/permissions.py"]
        )
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    main, test = blocks("quickstart.md", "python")
    (tmp_path / "app" / "main.py").write_text(main)
    (tmp_path / "tests" / "test_documents.py").write_text(test)
    (toml,) = blocks("quickstart.md", "toml")
    (tmp_path / "pyproject.toml").write_text(toml)

    cache = [
        "--config-file",
        str(tmp_path / "pyproject.toml"),
        "--cache-dir",
        str(tmp_path / ".mypy_cache"),
    ]
    out, err, status = mypy.api.run(["--strict", *cache, str(tmp_path / "app")])
    assert status == 0, out + err
    broken = main.replace("P.documents.edit", "P.documents.fly")
    (tmp_path / "app" / "main.py").write_text(broken)
    out, _, status = mypy.api.run(["--strict", *cache, str(tmp_path / "app")])
    (tmp_path / "app" / "main.py").write_text(main)
    assert status == 1
    line = next(i for i, text in enumerate(main.splitlines(), 1) if "P.documents.edit" in text)
    expected = (
        f'main.py:{line}: error: "_DocumentsPermissions" has no attribute "fly"  [attr-defined]'
    )
    assert expected in out
    assert f"app/{expected}" in (DOCS / "quickstart.md").read_text()

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "STYTCH_"))},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"\b[1-9] passed\b", run.stdout)
    assert json.loads((tmp_path / "policy.json").read_text())


# --- the quickstart's shell steps, run as written ---------------------------------------------

#: Quickstart commands the shell-steps test does not run, and why (each must still be there).
QUICKSTART_NOT_RUN = {
    "python3 -m venv .venv && . .venv/bin/activate": "installing: tests/test_wheel.py",
    "pip install '/path/to/stytch-rbac[all]' pytest": "installing: tests/test_wheel.py",
    "python -m pip wheel --no-deps -w dist /path/to/stytch-rbac": "tests/test_wheel.py",
    "pip install 'dist/stytch_rbac-0.1.0-py3-none-any.whl[all]' pytest": "tests/test_wheel.py",
    "export STYTCH_PROJECT_ID=project-test-... STYTCH_SECRET=secret-test-...": "placeholders",
    "stytch-rbac fetch-policy --output policy.json": "needs a Stytch project (step 6 runs it)",
    "mypy --strict app": "shows a misspelt guard: test_quickstart_end_to_end",
    "stytch-rbac test tests/policy.yaml --from-stytch": "needs the guide's tests/policy.yaml",
}
#: Commands that serve until stopped: started in the background, then waited for.
QUICKSTART_SERVERS = ("stytch-rbac emulator ", "uvicorn ")
#: The quickstart's environment: its install step adds no pytest-asyncio (installed here).
ENV_FOR_SHELL = {"PYTEST_ADDOPTS": "-p no:asyncio", "COLUMNS": "80", "NO_COLOR": "1"}


def read_until(proc: subprocess.Popen[str], last: str) -> str:
    """What ``proc`` prints up to and including the line ``last`` (fail after 30 s without a
    line); a thread reads, so no line waits in a buffer."""
    import queue
    import threading

    stdout = proc.stdout
    assert stdout is not None
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    while not seen or seen[-1] != last + "\n":
        try:
            seen.append(lines.get(timeout=30))
        except queue.Empty:
            proc.kill()
            pytest.fail("the command stopped printing:\n" + "".join(seen)[-2000:])
    return "".join(seen)


def pasted(exports: str, env: dict[str, str]) -> dict[str, str]:
    """The environment after a shell evaluates ``exports`` (what pasting them does)."""
    shell = subprocess.run(
        ["bash", "-c", 'eval "$PASTED" && unset PASTED && env -0'],
        env={**env, "PASTED": exports},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(item.split("=", 1) for item in shell.stdout.split("\0") if item)


def shell_steps(page: str) -> list[tuple[str, list[str]]]:
    """``(command, documented output lines)`` of every ``$ `` line of the page's console
    blocks, in order (a trailing ``  # comment`` left out)."""
    steps: list[tuple[str, list[str]]] = []
    for body in blocks(page, "console"):
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:].partition("  #")[0].rstrip(), []))
            elif steps:
                steps[-1][1].append(line)
    return steps


def output_pattern(lines: list[str]) -> re.Pattern[str]:
    """Documented output as a pattern: a line ``...`` stands for any lines, ``...`` inside a
    line for any text."""
    parts = [
        r"(?:[^\n]*\n)*?"
        if line == "..."
        else ".*?".join(map(re.escape, line.split("..."))) + r"\n"
        for line in lines
    ]
    return re.compile("".join(parts), re.DOTALL)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (now)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(check: Callable[[], bool], what: str, proc: subprocess.Popen[str]) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` if ``proc`` dies or 30 s pass."""
    import time

    deadline = time.monotonic() + 30
    while not check():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"{what} did not start:\n{out}\n{err}")
        time.sleep(0.05)


@pytest.mark.slow
def test_quickstart_shell_steps_run_as_written(tmp_path: Path) -> None:
    """Every shell step of the quickstart runs as written, in order, in a fresh project: the
    emulator's printed export lines, pasted into the shell (eval'd by bash), are what the
    uvicorn and curl steps use, and each command prints what the page shows."""
    import socket

    steps = shell_steps("quickstart.md")
    commands = [command for command, _ in steps]
    for skipped in QUICKSTART_NOT_RUN:
        assert skipped in commands, f"the quickstart no longer has `{skipped}`"
    main, test = blocks("quickstart.md", "python")
    (toml,) = blocks("quickstart.md", "toml")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_documents.py").write_text(test)
    (tmp_path / "pyproject.toml").write_text(toml)
    emulator_port, app_port = free_port(), free_port()
    replace = {
        "/path/to/stytch-rbac": str(ROOT),
        "--port 8765": f"--port {emulator_port}",
        "127.0.0.1:8765": f"127.0.0.1:{emulator_port}",
        "--port 8000": f"--port {app_port}",
        "127.0.0.1:8000": f"127.0.0.1:{app_port}",
    }

    def as_here(text: str) -> str:
        for old, new in replace.items():
            text = text.replace(old, new)
        return text

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "STYTCH_"))}
    env.update(ENV_FOR_SHELL)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    servers: list[subprocess.Popen[str]] = []
    try:
        for command, documented in steps:
            if command in QUICKSTART_NOT_RUN:
                continue
            line = as_here(command)
            if command.startswith(QUICKSTART_SERVERS):
                proc = subprocess.Popen(
                    ["bash", "-c", f"exec {line}"],
                    cwd=tmp_path,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                servers.append(proc)
                if command.startswith("stytch-rbac emulator "):
                    printed = read_until(proc, "Press Ctrl-C to stop.")
                    assert output_pattern([as_here(x) for x in documented]).match(printed), printed
                    exports = "\n".join(x for x in printed.splitlines() if x.startswith("export "))
                    env = pasted(exports, env)
                else:

                    def listening() -> bool:
                        with socket.socket() as sock:
                            return sock.connect_ex(("127.0.0.1", app_port)) == 0

                    wait_for(listening, "uvicorn", proc)
                continue
            run = subprocess.run(
                ["bash", "-c", line],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert run.returncode == 0, f"$ {line}\n{run.stdout}\n{run.stderr}"
            if command == "mkdir -p app && touch app/__init__.py":
                (tmp_path / "app" / "main.py").write_text(main)  # the page's app/main.py
            if not documented:
                continue
            printed = "\n".join(x.rstrip() for x in run.stdout.splitlines()) + "\n"
            expected = [as_here(x) for x in documented]
            if command == "pytest -q":
                # "The test runs once per installed anyio backend ... (then `2 passed`)";
                # the progress line's padding depends on the count, the summary says it.
                count = 2 if importlib.util.find_spec("trio") else 1
                printed = printed.splitlines()[-1] + "\n"
                expected = [expected[-1].replace("1 passed", f"{count} passed")]
            assert output_pattern(expected).fullmatch(printed), f"$ {line}\n{printed}"
    finally:
        for proc in servers:
            proc.terminate()
            proc.communicate(timeout=30)
    assert (tmp_path / "policy.next.json").exists()
