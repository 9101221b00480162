"""The documentation stays true: its snippets run and its sample outputs are what the CLI prints."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
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
