"""``stytch-rbac test``: folders and several files, ``--run`` filters, ``--junit-xml`` reports."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from stytch_rbac.cli import EXIT_BAD_INPUT, EXIT_DENIED, EXIT_OK
from stytch_rbac.cli._app import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "policy.json"
ENV: dict[str, str | None] = {
    "COLUMNS": "80",
    "TTY_COMPATIBLE": "0",
    "NO_COLOR": "1",
    "STYTCH_RBAC_POLICY": None,
    "STYTCH_RBAC_DEBUG": None,
}

VIEWER = f"""\
policy: {EXAMPLE}
expectations:
  - roles: viewer
    allow: [documents:read, projects:read]
    deny: [documents:delete]
"""
EDITOR_TOML = f"""\
policy = "{EXAMPLE}"

[[expectations]]
name = "editors edit"
roles = "editor"
resource = "documents"
allow = ["edit", "share"]
"""
# One row holds, one is wrong (viewers cannot edit), one names a role that does not exist.
FAILING = f"""\
policy: {EXAMPLE}
expectations:
  - {{roles: viewer, allow: [documents:read, documents:edit]}}
  - {{roles: ghost, deny: [documents:read]}}
"""


def run(*args: str) -> Result:
    """Invoke the real app in-process."""
    return CliRunner().invoke(app, list(args), env=ENV)


@pytest.fixture
def suite_dir(tmp_path: Path) -> Path:
    """A repository-like folder: two policy-test files (one nested) and files that are not."""
    tests = tmp_path / "tests"
    (tests / "rbac").mkdir(parents=True)
    (tests / "policy_test_viewer.yaml").write_text(VIEWER)
    (tests / "rbac" / "policy_test_editor.toml").write_text(EDITOR_TOML)
    (tests / "conftest.yaml").write_text("not: a policy test\n")  # not collected
    (tests / "policy.json").write_text(EXAMPLE.read_text())  # not collected
    return tests


def test_a_folder_runs_every_policy_test_file_in_it(suite_dir: Path) -> None:
    """A folder runs each file named like the pytest plugin collects, nested ones too, in order."""
    result = run("test", str(suite_dir))
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.splitlines() == [
        f"3 passed, 0 failed ({suite_dir}/policy_test_viewer.yaml against {EXAMPLE})",
        f"2 passed, 0 failed ({suite_dir}/rbac/policy_test_editor.toml against {EXAMPLE})",
        "5 passed, 0 failed in 2 files",
    ]


def test_several_files_are_one_run_and_any_failure_exits_1(tmp_path: Path) -> None:
    """Files given together run as one: the totals count all of them; a failing row is exit 1."""
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(VIEWER)
    bad.write_text(FAILING)
    result = run("test", str(good), str(bad), "--json")
    assert result.exit_code == EXIT_DENIED, result.output
    data = json.loads(result.stdout)
    assert (data["passed"], data["failed"], data["deselected"]) == (4, 2, 0)
    assert data["policy"] == str(EXAMPLE)
    assert [(f["path"], f["passed"], f["failed"]) for f in data["files"]] == [
        (str(good), 3, 0),
        (str(bad), 1, 2),
    ]


def test_a_folder_without_policy_tests_is_an_error(tmp_path: Path) -> None:
    """A folder holding no policy-test file is exit 2 naming the patterns, not a green run."""
    result = run("test", str(tmp_path))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "no policy-test file in" in result.stderr
    assert "policy_test*.yaml" in result.stderr


def test_run_keeps_only_the_rows_whose_id_matches(suite_dir: Path) -> None:
    """``--run REGEX`` checks the matching rows only and counts the others as deselected."""
    result = run("test", str(suite_dir), "--run", "documents:(read|edit)")
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.splitlines()[-1] == "2 passed, 0 failed, 3 deselected in 2 files"
    data = json.loads(
        run("test", str(suite_dir), "--run", "documents:(read|edit)", "--json").stdout
    )
    assert [r["id"] for r in data["results"]] == [
        "viewer documents:read allow",
        "editors edit: editor documents:edit allow",
    ]
    assert data["deselected"] == 3


def test_run_can_skip_the_failing_rows(tmp_path: Path) -> None:
    """Filtering away the failing rows turns the run green: the filter decides what is checked."""
    path = tmp_path / "t.yaml"
    path.write_text(FAILING)
    assert run("test", str(path)).exit_code == EXIT_DENIED
    assert run("test", str(path), "-k", "documents:read allow$").exit_code == EXIT_OK


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        pytest.param("nothing-like-this", "selects no row", id="no-match"),
        pytest.param("(", "is not a regular expression", id="bad-regex"),
    ],
)
def test_run_that_selects_nothing_is_an_error(tmp_path: Path, pattern: str, fragment: str) -> None:
    """A ``--run`` that matches no row (a typo in CI) or does not compile is exit 2, not a pass."""
    path = tmp_path / "t.yaml"
    path.write_text(VIEWER)
    result = run("test", str(path), "--run", pattern)
    assert result.exit_code == EXIT_BAD_INPUT
    assert fragment in result.stderr


def test_junit_xml_has_a_testsuite_per_file_and_a_testcase_per_row(tmp_path: Path) -> None:
    """``--junit-xml`` writes a report CI reads: counts, every row by id, each failure's reason."""
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(VIEWER)
    bad.write_text(FAILING)
    report = tmp_path / "reports" / "policy.xml"  # the folder is created
    result = run("test", str(good), str(bad), "--junit-xml", str(report))
    assert result.exit_code == EXIT_DENIED
    assert report.read_bytes().startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "2", "0")
    suites = root.findall("testsuite")
    assert [(s.get("name"), s.get("tests"), s.get("failures")) for s in suites] == [
        (str(good), "3", "0"),
        (str(bad), "3", "2"),
    ]
    prop = suites[0].find("properties/property")
    assert prop is not None
    assert (prop.get("name"), prop.get("value")) == ("policy", str(EXAMPLE))
    cases = {c.get("name"): c for c in suites[1].findall("testcase")}
    assert set(cases) == {
        "viewer documents:read allow",
        "viewer documents:edit allow",
        "ghost documents:read deny",
    }
    assert cases["viewer documents:read allow"].find("failure") is None
    mismatch = cases["viewer documents:edit allow"].find("failure")
    assert mismatch is not None
    assert mismatch.get("type") == "mismatch"
    assert mismatch.get("message") == "expected allow, but no role grants it"
    assert mismatch.text == f"{bad}: row 1: viewer documents:edit allow: {mismatch.get('message')}"
    undefined = cases["ghost documents:read deny"].find("failure")
    assert undefined is not None
    assert undefined.get("type") == "undefined"
    assert "'ghost' is not defined" in (undefined.get("message") or "")
    assert all(c.get("classname") == str(bad) for c in cases.values())


def test_junit_xml_of_a_green_run_has_no_failure(suite_dir: Path, tmp_path: Path) -> None:
    """A passing run writes the report too, with every row and no failure element."""
    report = tmp_path / "policy.xml"
    assert run("test", str(suite_dir), "--junit-xml", str(report)).exit_code == EXIT_OK
    root = ET.parse(report).getroot()
    assert (root.get("tests"), root.get("failures")) == ("5", "0")
    assert root.findall(".//failure") == []
    assert len(root.findall(".//testcase")) == 5


def test_the_cli_page_sample_is_the_real_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/cli.md's ``test --run --junit-xml`` sample prints what it shows, on the guide's file."""
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    command, output = re.findall(r"^\$ stytch-rbac (test .*--junit-xml.*)\n(.*)$", docs, re.M)[0]
    guide = (ROOT / "docs" / "guides" / "policy-tests.md").read_text(encoding="utf-8")
    yaml_text = re.findall(r"^```yaml\n(.*?)^```$", guide, re.M | re.S)[0]
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "policy.yaml").write_text(yaml_text)
    shutil.copy(EXAMPLE, tmp_path / "policy.json")
    monkeypatch.chdir(tmp_path)
    argv = [part.strip("'") for part in command.split()]
    result = run(*argv)
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout == output + "\n"
    assert ET.parse(tmp_path / "reports" / "policy.xml").getroot().get("tests") == "11"
