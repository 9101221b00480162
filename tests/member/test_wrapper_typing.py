"""mypy --strict accepts correct MemberClient calls and rejects wrong names and types.

Each ``tests/typing/snippets/member_*.py`` file marks every line mypy must reject
with ``# E: <error-code>``; every other line must type-check (``assert_type``
lines prove the inferred types). The expected set of (line, code) pairs must
equal mypy's output exactly.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = sorted((ROOT / "tests" / "typing" / "snippets").glob("member_*.py"))
_EXPECTED = re.compile(r"#\s*E:\s*([a-z-]+)\s*$")
_REPORTED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")


def _expected(path: Path) -> set[tuple[int, str]]:
    """(line, code) for every ``# E: code`` marker in the snippet."""
    found = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = _EXPECTED.search(line)
        if match:
            found.add((number, match.group(1)))
    return found


def _reported(path: Path) -> tuple[set[tuple[int, str]], str]:
    """(line, code) for every error mypy --strict reports on the snippet, and its output."""
    stdout, stderr, status = mypy_api.run(
        ["--strict", "--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary", str(path)]
    )
    assert status in (0, 1), stderr
    errors = set()
    for line in stdout.splitlines():
        match = _REPORTED.match(line)
        if match:
            errors.add((int(match.group("line")), match.group("code")))
    return errors, stdout


def test_snippets_exist() -> None:
    """The member typing snippets are found (the glob below must not silently match nothing)."""
    assert [p.name for p in SNIPPETS] == ["member_calls.py"]


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda p: p.stem)
def test_mypy_accepts_and_rejects_exactly_the_marked_lines(snippet: Path) -> None:
    """mypy --strict reports each ``# E: code`` line with that code, and nothing else."""
    expected = _expected(snippet)
    assert expected, f"{snippet.name} marks no line that must be rejected"
    reported, output = _reported(snippet)
    assert reported == expected, output
