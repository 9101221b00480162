"""The pytest plugin collects policy-test files (the `stytch-rbac test` format) as test items,
in a project that opts in with the `stytch_policy_tests` ini option, and only there."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

# Loaded before pytester's in-process runs (see test_pytest_plugin.py for why).

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

ROWS = """
policy: policy.json
expectations:
  - roles: viewer
    allow: [documents:read]
    deny: [documents:delete]
  - {name: editors edit, roles: editor, resource: documents, action: edit, expect: allow}
"""


OPT_IN = """
[pytest]
stytch_policy_tests = policy_test*.yaml policy_test*.yml policy_test*.toml policy_test*.json
"""


@pytest.fixture(autouse=True)
def _without_pytest_asyncio(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fresh projects here load no pytest-asyncio (installed for its own test file);
    set after pytester, which clears PYTEST_ADDOPTS."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:asyncio")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A fresh project holding the example policy, opted in to policy-test collection."""
    (pytester.path / "policy.json").write_text((ROOT / "examples" / "policy.json").read_text())
    pytester.makeini(OPT_IN)
    return pytester


@pytest.mark.parametrize(
    "ini",
    [
        pytest.param(None, id="no-ini"),
        pytest.param("[pytest]\naddopts = -p no:cacheprovider\n", id="other-options"),
    ],
)
def test_nothing_is_collected_without_opting_in(pytester: pytest.Pytester, ini: str | None) -> None:
    """A project that installs stytch-rbac but sets no ``stytch_policy_tests`` keeps its own
    policy_test* files (any format, even ones this plugin could not parse) uncollected."""
    (pytester.path / "policy.json").write_text((ROOT / "examples" / "policy.json").read_text())
    if ini is not None:
        pytester.makeini(ini)
    pytester.makefile(".yaml", policy_test_roles=ROWS)
    pytester.makefile(".json", policy_test_fixtures='{"something": "else entirely"}')
    pytester.makefile(".toml", policy_test_config="[tool]\nname = 'mine'\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["*no tests ran*"])


def test_rows_become_passing_items(project: pytest.Pytester) -> None:
    """Each expectation of a policy_test*.yaml file is one item, and true rows pass."""
    project.makefile(".yaml", policy_test_roles=ROWS)
    result = project.runpytest("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*viewer documents:read allow PASSED*"])


def test_a_false_row_fails_with_the_policy_answer(project: pytest.Pytester) -> None:
    """A row the policy contradicts fails, reporting its location and who grants it."""
    project.makefile(
        ".toml",
        policy_test_wrong=textwrap.dedent(
            """
            policy = "policy.json"
            [[expectations]]
            roles = ["editor"]
            resource = "documents"
            action = "edit"
            expect = "deny"
            """
        ),
    )
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*expected deny, but granted by editor*"])


def test_unknown_names_fail_instead_of_passing_as_a_deny(project: pytest.Pytester) -> None:
    """A row naming an action the policy lacks fails: a typo must not read as a deny."""
    project.makefile(
        ".json",
        policy_test_typo=json.dumps(
            {
                "policy": "policy.json",
                "expectations": [
                    {"roles": "viewer", "resource": "documents", "action": "fly", "expect": "deny"}
                ],
            }
        ),
    )
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*'fly'*not defined*"])


def test_malformed_file_is_one_collection_error(project: pytest.Pytester) -> None:
    """A policy-test file without expectations is a collection error naming the file."""
    project.makefile(".yaml", policy_test_empty="policy: policy.json\n")
    result = project.runpytest("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*policy_test_empty.yaml*expectations*"])


def test_policy_from_the_ini_option_and_other_names_ignored(project: pytest.Pytester) -> None:
    """Without a `policy` key the ini option names the policy; non-matching files are
    not collected; the patterns are configurable."""
    rows = ROWS.replace("policy: policy.json\n", "")
    project.makefile(".yaml", rbac_rows=rows, other=rows)
    project.makeini(
        """
        [pytest]
        stytch_policy = policy.json
        stytch_policy_tests = rbac_*.yaml
        """
    )
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_no_policy_anywhere_is_a_collection_error(project: pytest.Pytester) -> None:
    """A file naming no policy, with no option set, fails collection with a clear message."""
    project.makefile(".yaml", policy_test_nopolicy=ROWS.replace("policy: policy.json\n", ""))
    result = project.runpytest("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*names no 'policy' file*"])
