"""mypy --strict accepts the typed forms of generated permissions and rejects wrong pairs.

Each ``tests/typing/snippets/permissions_*.py`` imports the generated example module
as ``permissions`` and marks every line mypy must reject with
``# E: <message part> [code]``. The snippets are checked twice in ONE mypy run:
against the ``.pyi`` stub (``stubs/permissions.pyi``, found through the project's
``mypy_path``) and against the ``.py`` module (``examples/permissions.py``, copied
with the snippets under another module name). For each, the set of (line, code)
mypy reports must equal the set marked, and each message must contain the marked
part: accepted lines stay accepted and rejected lines stay rejected.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = sorted((ROOT / "tests" / "typing" / "snippets").glob("permissions_*.py"))
_MARK = re.compile(r"#\s*E:\s*(?P<part>[^#\[]*?)\s*\[(?P<code>[a-z0-9-]+)\]")
_REPORTED = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+): error: (?P<message>.*)  \[(?P<code>[a-z0-9-]+)\]$"
)
_IMPORT = re.compile(r"^from permissions import", re.MULTILINE)


@dataclass(frozen=True)
class Expected:
    """One rejection a snippet marks."""

    line: int
    code: str
    part: str


def expected(path: Path) -> list[Expected]:
    """Every ``# E: part [code]`` mark of a snippet."""
    marks = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        marks += [Expected(number, m.group("code"), m.group("part")) for m in _MARK.finditer(line)]
    return marks


@dataclass(frozen=True)
class Run:
    """mypy's errors for each checked file: (line, code) -> messages."""

    errors: dict[str, dict[tuple[int, str], list[str]]]
    """Keyed by file name: mypy replays cached errors under the path it first saw."""
    output: str


@pytest.fixture(scope="module")
def mypy_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One mypy --strict run over the snippets, in both the stub and the module form."""
    tmp = tmp_path_factory.mktemp("typed_permissions")
    shutil.copyfile(ROOT / "examples" / "permissions.py", tmp / "permissions_module.py")
    files = list(SNIPPETS)
    for snippet in SNIPPETS:
        copy = tmp / f"{snippet.stem}_module_form.py"
        text = snippet.read_text(encoding="utf-8")
        copy.write_text(_IMPORT.sub("from permissions_module import", text), encoding="utf-8")
        files.append(copy)
    stdout, stderr, status = mypy_api.run(
        [
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "--no-error-summary",
            "--hide-error-context",
            *map(str, files),
            str(tmp / "permissions_module.py"),
        ]
    )
    assert status in (0, 1), stdout + stderr
    errors: dict[str, dict[tuple[int, str], list[str]]] = {f.name: {} for f in files}
    for line in stdout.splitlines():
        match = _REPORTED.match(line)
        if match:
            key = (int(match.group("line")), match.group("code"))
            name = Path(match.group("file")).name
            errors.setdefault(name, {}).setdefault(key, []).append(match.group("message"))
    return Run(errors, stdout)


def test_snippets_exist() -> None:
    """The snippets are found and each marks rejected lines (the glob must not match nothing)."""
    assert [p.name for p in SNIPPETS] == ["permissions_facade.py", "permissions_generated.py"]
    for snippet in SNIPPETS:
        assert expected(snippet), snippet.name


def _check(run: Run, checked: str, snippet: Path) -> None:
    marks = expected(snippet)
    reported = run.errors[checked]
    assert set(reported) == {(m.line, m.code) for m in marks}, run.output
    for mark in marks:
        messages = reported[(mark.line, mark.code)]
        assert any(mark.part in message for message in messages), (mark, messages)


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda p: p.stem)
def test_stub_form_accepts_and_rejects_exactly_the_marked_lines(
    mypy_run: Run, snippet: Path
) -> None:
    """Against stubs/permissions.pyi, mypy reports exactly the marked (line, code) pairs."""
    _check(mypy_run, snippet.name, snippet)


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda p: p.stem)
def test_module_form_accepts_and_rejects_exactly_the_marked_lines(
    mypy_run: Run, snippet: Path
) -> None:
    """Against examples/permissions.py, mypy reports exactly the marked (line, code) pairs."""
    _check(mypy_run, f"{snippet.stem}_module_form.py", snippet)


def test_the_generated_module_itself_is_clean(mypy_run: Run) -> None:
    """The copy of examples/permissions.py checked in the same run has no error."""
    assert "permissions_module.py" not in mypy_run.errors, mypy_run.output
