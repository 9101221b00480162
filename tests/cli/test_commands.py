"""The ``stytch-rbac`` command line: tables, --json, one-line errors and documented exit codes."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner, Result

from stytch_rbac import Policy
from stytch_rbac.cli import EXIT_BAD_INPUT, EXIT_DENIED, EXIT_OK, EXIT_UNREACHABLE
from stytch_rbac.cli._app import app
from stytch_rbac.cli._common import StytchCredentials

if TYPE_CHECKING:
    from stytch_rbac.emulator import Emulator

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "policy.json")

# Plain, 80-column output whatever the terminal running the tests looks like.
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


def assert_one_line_error(result: Result, code: int, fragment: str) -> None:
    """The command failed with ``code`` and exactly one stderr line containing ``fragment``."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.output


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON and return the path."""
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def policy_dict(example_policy: Policy) -> dict[str, Any]:
    """The example policy as a fresh, mutable JSON object."""
    return example_policy.to_json()


# --- the app ---------------------------------------------------------------------------------

COMMANDS = [
    "generate",
    "check",
    "show",
    "can",
    "diff",
    "lint",
    "test",
    "fetch-policy",
    "pull",
    "plan",
    "push",
    "emulator",
    "demo",
]


def test_help_lists_every_command_in_order_and_the_exit_codes() -> None:
    """``--help`` names each sub-command, in workflow order, and documents the exit codes."""
    result = run("--help")
    assert result.exit_code == EXIT_OK
    listed = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("│ ")]
    assert [name for name in listed if name in COMMANDS] == COMMANDS
    assert "3 Stytch unreachable" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    """Each sub-command answers ``--help`` with its usage and exit 0."""
    result = run(command, "--help")
    assert result.exit_code == EXIT_OK
    assert "Usage:" in result.stdout


def test_version() -> None:
    """``--version`` prints the package version."""
    from stytch_rbac import __version__

    result = run("--version")
    assert result.exit_code == EXIT_OK
    assert result.stdout.strip() == f"stytch-rbac {__version__}"


def test_usage_errors_are_one_line_with_exit_2() -> None:
    """A missing argument or unknown option is one line on stderr and exit 2."""
    assert_one_line_error(run("can", "documents"), EXIT_BAD_INPUT, "Missing argument")
    assert_one_line_error(run("show", "--nope"), EXIT_BAD_INPUT, "No such option")


# --- bad policy input, shared by every command reading a policy ------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["show", "--policy", "{p}"], id="show"),
        pytest.param(["can", "viewer", "documents", "read", "--policy", "{p}"], id="can"),
        pytest.param(["lint", "--policy", "{p}"], id="lint"),
        pytest.param(["diff", "{p}", EXAMPLE], id="diff-old"),
        pytest.param(["diff", EXAMPLE, "{p}"], id="diff-new"),
    ],
)
@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(None, "policy file not found", id="missing-file"),
        pytest.param("{not json", "policy is not valid JSON", id="invalid-json"),
        pytest.param('{"hello": "world"}', "not a valid policy", id="not-a-policy"),
        pytest.param("[1, 2]", "expected a JSON object", id="json-array"),
        pytest.param('{"roles": [{"role_id": 7}]}', "not a valid policy", id="wrong-type"),
    ],
)
def test_bad_policy_files_are_one_line_errors(
    tmp_path: Path, argv: list[str], content: str | None, fragment: str
) -> None:
    """Missing, non-JSON or non-policy files give exit 2 and one line naming the problem."""
    path = tmp_path / "policy.json"
    if content is not None:
        path.write_text(content)
    result = run(*(a.replace("{p}", str(path)) for a in argv))
    assert_one_line_error(result, EXIT_BAD_INPUT, fragment)
    assert str(path) in result.stderr


def test_no_policy_given_is_an_error_and_env_var_is_the_default() -> None:
    """Without --policy the command needs $STYTCH_RBAC_POLICY, and uses it when set."""
    assert_one_line_error(run("show"), EXIT_BAD_INPUT, "no policy given")
    result = run("show", "--json", env={"STYTCH_RBAC_POLICY": EXAMPLE})
    assert result.exit_code == EXIT_OK
    assert "viewer" in json.loads(result.stdout)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        pytest.param(
            ["show", "--policy", EXAMPLE, "--from-stytch"], "not both", id="policy-and-live"
        ),
        pytest.param(
            ["show", "--policy", EXAMPLE, "--organization", "org-1"],
            "--organization needs --from-stytch",
            id="org-without-live",
        ),
        pytest.param(["show", "--from-stytch"], "STYTCH_PROJECT_ID and STYTCH_SECRET", id="no-env"),
    ],
)
def test_conflicting_policy_sources_are_rejected(argv: list[str], fragment: str) -> None:
    """Contradictory or incomplete policy options are one-line errors with exit 2."""
    assert_one_line_error(run(*argv), EXIT_BAD_INPUT, fragment)


# --- show ------------------------------------------------------------------------------------


def test_show_fits_80_columns_by_listing_each_roles_grants() -> None:
    """The full example does not fit as a matrix at 80 columns, so each role's grants are listed."""
    result = run("show", "--policy", EXAMPLE)
    assert result.exit_code == EXIT_OK
    *lines, footer = result.stdout.splitlines()
    assert lines[0].startswith("What each role may do")
    assert max(len(line) for line in lines) <= 80
    # The footer names the file as given, so its length depends on where the checkout lives.
    assert footer.startswith(f"{EXAMPLE} · ")
    assert any("project_manager" in line and "stytch.member" in line for line in lines)
    assert "9 roles · 13 resources · sha256" in result.stdout


def test_show_uses_the_matrix_when_it_fits() -> None:
    """Filtered to two roles and one resource, the role x action matrix is shown."""
    result = run(
        "show", "--policy", EXAMPLE, "--role", "viewer", "--role", "editor", "--resource",
        "documents",
    )  # fmt: skip
    assert result.exit_code == EXIT_OK
    assert result.stdout.startswith("Role x permission")
    edit = next(line for line in result.stdout.splitlines() if " edit " in line)
    assert edit.split("│")[3:5] == ["   ·    ", "   ✓    "]


@pytest.mark.parametrize(
    ("view", "title"),
    [
        pytest.param("matrix", "Role x permission", id="matrix"),
        pytest.param("roles", "What each role may do", id="roles"),
        pytest.param("actions", "Who may do what", id="actions"),
    ],
)
def test_show_views(view: str, title: str) -> None:
    """``--view`` picks the layout explicitly."""
    result = run("show", "--policy", EXAMPLE, "--view", view, "--resource", "billing")
    assert result.exit_code == EXIT_OK
    assert result.stdout.startswith(title)
    assert "billing" in result.stdout
    assert "documents" not in result.stdout


def test_show_actions_view_lists_who_may_do_each_action() -> None:
    """The actions view has one row per action with the roles granting it."""
    result = run("show", "--policy", EXAMPLE, "--view", "actions", "--resource", "documents")
    delete = next(line for line in result.stdout.splitlines() if " delete " in line)
    assert "project_manager, owner" in delete


def test_show_json_is_role_to_permissions(example_policy: Policy) -> None:
    """``--json`` prints {role: ["resource:action", ...]} matching the compiled policy."""
    result = run("show", "--policy", EXAMPLE, "--json")
    assert result.exit_code == EXIT_OK
    data = json.loads(result.stdout)
    compiled = example_policy.compile()
    assert set(data) == set(compiled.role_ids)
    for role, perms in data.items():
        assert {tuple(p.split(":")) for p in perms} == compiled.granted((role,))


def test_show_json_applies_filters() -> None:
    """--role and --resource narrow the JSON too."""
    result = run("show", "-p", EXAMPLE, "--json", "-r", "viewer", "--resource", "documents")
    assert json.loads(result.stdout) == {"viewer": ["documents:download", "documents:read"]}


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        pytest.param(["--role", "vewer"], "unknown role 'vewer'", id="role"),
        pytest.param(["--resource", "docs"], "resource 'docs' is not defined", id="resource"),
        pytest.param(["--view", "grid"], "Invalid value", id="view"),
    ],
)
def test_show_rejects_unknown_filters(argv: list[str], fragment: str) -> None:
    """A filter naming something the policy lacks is a one-line error, not an empty table."""
    assert_one_line_error(run("show", "--policy", EXAMPLE, *argv), EXIT_BAD_INPUT, fragment)


# --- can -------------------------------------------------------------------------------------


def test_can_allowed_names_the_granting_role() -> None:
    """An allowed check exits 0 and says which of the roles grants it."""
    result = run("can", "viewer", "editor", "documents", "edit", "--policy", EXAMPLE)
    assert result.exit_code == EXIT_OK
    assert result.stdout.strip() == "✓ allowed: documents:edit (granted by editor)"


def test_can_denied_exits_1_and_names_roles_that_would_grant() -> None:
    """A denied check exits 1 and lists the roles that would grant it."""
    result = run("can", "viewer", "documents", "delete", "--policy", EXAMPLE)
    assert result.exit_code == EXIT_DENIED
    assert "✗ denied: documents:delete is not granted to viewer" in result.stdout
    assert "roles that grant it: owner, project_manager" in result.stdout


def test_can_json() -> None:
    """``--json`` carries the decision, the granting roles and every role that grants it."""
    result = run("can", "viewer", "developer", "documents", "read", "-p", EXAMPLE, "--json")
    assert result.exit_code == EXIT_OK
    assert json.loads(result.stdout) == {
        "allowed": True,
        "roles": ["viewer", "developer"],
        "resource": "documents",
        "action": "read",
        "granted_by": ["developer", "viewer"],
        "roles_that_grant": ["developer", "editor", "owner", "project_manager", "viewer"],
    }
    denied = run("can", "viewer", "billing", "read", "-p", EXAMPLE, "--json")
    assert denied.exit_code == EXIT_DENIED
    assert json.loads(denied.stdout)["allowed"] is False


def test_can_wildcard_grant() -> None:
    """A role holding '*' on a resource is allowed each of its actions."""
    result = run("can", "stytch_admin", "stytch.member", "delete", "--policy", EXAMPLE)
    assert result.exit_code == EXIT_OK


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        pytest.param(["vewer", "documents", "read"], "unknown role 'vewer'", id="role"),
        pytest.param(["viewer", "docs", "read"], "resource 'docs' is not defined", id="resource"),
        pytest.param(
            ["viewer", "documents", "fly"],
            "action 'fly' is not defined on resource 'documents'",
            id="action",
        ),
    ],
)
def test_can_unknown_names_exit_2(argv: list[str], fragment: str) -> None:
    """A role, resource or action the policy does not define is bad input, not a denial."""
    assert_one_line_error(run("can", *argv, "--policy", EXAMPLE), EXIT_BAD_INPUT, fragment)


def test_can_with_org_policy_file(tmp_path: Path) -> None:
    """--org-policy merges an organization's custom roles before deciding."""
    org = write_json(
        tmp_path / "org.json",
        {
            "org_policy": {
                "roles": [
                    {
                        "role_id": "acme_reviewer",
                        "permissions": [{"resource_id": "documents", "actions": ["read"]}],
                    }
                ]
            }
        },
    )
    argv = ["can", "acme_reviewer", "documents", "read", "-p", EXAMPLE]
    assert run(*argv, "--org-policy", str(org)).exit_code == EXIT_OK
    assert_one_line_error(run(*argv), EXIT_BAD_INPUT, "unknown role 'acme_reviewer'")


def test_can_with_org_policy_that_breaks_stytch_rules(tmp_path: Path) -> None:
    """An org role reusing a project role id is rejected with one line, as Stytch would."""
    org = write_json(
        tmp_path / "org.json",
        {"roles": [{"role_id": "viewer", "permissions": []}]},
    )
    result = run("can", "viewer", "documents", "read", "-p", EXAMPLE, "--org-policy", str(org))
    assert_one_line_error(result, EXIT_BAD_INPUT, "organization roles do not fit the policy")


def test_can_with_missing_org_policy_file(tmp_path: Path) -> None:
    """A missing --org-policy file is a one-line error."""
    result = run(
        "can", "viewer", "documents", "read", "-p", EXAMPLE, "--org-policy",
        str(tmp_path / "nope.json"),
    )  # fmt: skip
    assert_one_line_error(result, EXIT_BAD_INPUT, "org policy file not found")


# --- diff ------------------------------------------------------------------------------------


def test_diff_identical_policies_exit_0() -> None:
    """No change prints so and exits 0."""
    result = run("diff", EXAMPLE, EXAMPLE)
    assert result.exit_code == EXIT_OK
    assert result.stdout.strip() == "no changes"


def test_diff_removed_grant_exits_1(tmp_path: Path, policy_dict: dict[str, Any]) -> None:
    """Removing a grant is listed with '-' and exits 1; the reverse direction exits 0."""
    viewer = next(r for r in policy_dict["roles"] if r["role_id"] == "viewer")
    viewer["permissions"][0]["actions"].remove("download")
    policy_dict["roles"].append({"role_id": "intern", "permissions": []})
    new = write_json(tmp_path / "new.json", {"policy": policy_dict})
    result = run("diff", EXAMPLE, str(new))
    assert result.exit_code == EXIT_DENIED
    assert "- role viewer: documents:download" in result.stdout
    assert "+ intern" in result.stdout
    back = run("diff", str(new), EXAMPLE)
    assert back.exit_code == EXIT_OK
    assert "+ role viewer: documents:download" in back.stdout


def test_diff_json(tmp_path: Path, policy_dict: dict[str, Any]) -> None:
    """``--json`` lists every kind of change and whether grants were removed."""
    policy_dict["resources"].append({"resource_id": "invoices", "actions": ["pay"]})
    new = write_json(tmp_path / "new.json", policy_dict)
    result = run("diff", EXAMPLE, str(new), "--json")
    assert result.exit_code == EXIT_OK
    data = json.loads(result.stdout)
    assert data["resources_added"] == ["invoices"]
    assert data["removes_grants"] is False
    assert data["grants_removed"] == []


# --- lint ------------------------------------------------------------------------------------


def test_lint_example_flags_owner_and_exits_1() -> None:
    """The example's owner role holds '*' on stytch.custom-org-roles: one finding, exit 1."""
    result = run("lint", "--policy", EXAMPLE)
    assert result.exit_code == EXIT_DENIED
    assert "stytch-wildcard" in result.stdout
    assert "owner" in result.stdout


def test_lint_clean_with_admin_role_exits_0() -> None:
    """Declaring owner an admin role leaves no finding."""
    result = run("lint", "--policy", EXAMPLE, "--admin-role", "owner")
    assert result.exit_code == EXIT_OK
    assert "no findings" in result.stdout


def test_lint_json_and_ignore(tmp_path: Path, policy_dict: dict[str, Any]) -> None:
    """``--json`` lists findings; ``--ignore`` drops a code."""
    policy_dict["roles"].append({"role_id": "idle", "permissions": []})
    path = write_json(tmp_path / "p.json", policy_dict)
    result = run("lint", "-p", str(path), "--json", "--admin-role", "owner")
    assert result.exit_code == EXIT_DENIED
    assert json.loads(result.stdout) == [
        {
            "code": "empty-role",
            "subject": "idle",
            "message": "role 'idle' grants nothing the policy defines",
        }
    ]
    ignored = run("lint", "-p", str(path), "--admin-role", "owner", "--ignore", "empty-role")
    assert ignored.exit_code == EXIT_OK


def test_lint_unknown_ignore_code_exits_2() -> None:
    """An --ignore code that does not exist is bad input."""
    result = run("lint", "-p", EXAMPLE, "--ignore", "nope")
    assert_one_line_error(result, EXIT_BAD_INPUT, "unknown lint code 'nope'")


# --- test (policy tests) ---------------------------------------------------------------------

PASSING_YAML = f"""\
policy: {EXAMPLE}
organizations:
  acme:
    roles:
      - role_id: acme_auditor
        permissions:
          - {{resource_id: documents, actions: [read]}}
expectations:
  - roles: viewer
    allow: [documents:read, projects:read]
    deny: [documents:delete, "billing:*"]
  - {{roles: [editor], resource: documents, allow: [edit, share], deny: [delete]}}
  - {{roles: developer, resource: webhooks, action: delete, expect: allow}}
  - {{roles: acme_auditor, organization: acme, allow: [documents:read]}}
"""

PASSING_TOML = f"""\
policy = "{EXAMPLE}"

[[expectations]]
roles = ["viewer"]
allow = ["documents:read"]
deny = ["documents:delete"]
"""


@pytest.mark.parametrize(
    ("name", "text", "count"),
    [
        pytest.param("t.yaml", PASSING_YAML, 9, id="yaml"),
        pytest.param("t.toml", PASSING_TOML, 2, id="toml"),
    ],
)
def test_test_passing_file_exits_0(tmp_path: Path, name: str, text: str, count: int) -> None:
    """Every row holding gives exit 0 and a summary count."""
    path = tmp_path / name
    path.write_text(text)
    result = run("test", str(path))
    assert result.exit_code == EXIT_OK, result.output
    assert f"{count} passed, 0 failed" in result.stdout
    assert "FAIL" not in result.stdout


def test_test_failing_rows_are_printed_and_exit_1(tmp_path: Path) -> None:
    """Each failing row is printed with its location and reason; exit 1."""
    path = tmp_path / "t.yaml"
    path.write_text(
        f"policy: {EXAMPLE}\n"
        "expectations:\n"
        "  - {roles: viewer, allow: [documents:read, documents:edit]}\n"
        "  - {roles: ghost, deny: [documents:read]}\n"
    )
    result = run("test", str(path))
    assert result.exit_code == EXIT_DENIED
    assert "1 passed, 2 failed" in result.stdout
    rows = [line for line in result.stdout.splitlines() if "FAIL" in line]
    assert len(rows) == 2
    assert "row 1" in rows[0]
    assert "viewer documents:edit allow" in rows[0]
    assert "row 2" in rows[1]
    assert "ghost" in rows[1]


def test_test_json_and_policy_override(tmp_path: Path, policy_dict: dict[str, Any]) -> None:
    """``--policy`` replaces the file's policy; ``--json`` reports every row."""
    viewer = next(r for r in policy_dict["roles"] if r["role_id"] == "viewer")
    viewer["permissions"][0]["actions"].append("edit")
    other = write_json(tmp_path / "other.json", policy_dict)
    path = tmp_path / "t.toml"
    path.write_text(
        PASSING_TOML + '\n[[expectations]]\nroles = "viewer"\ndeny = ["documents:edit"]\n'
    )
    assert run("test", str(path)).exit_code == EXIT_OK
    result = run("test", str(path), "--policy", str(other), "--json")
    assert result.exit_code == EXIT_DENIED
    data = json.loads(result.stdout)
    assert (data["passed"], data["failed"]) == (2, 1)
    failed = [r for r in data["results"] if not r["passed"]]
    assert failed == [
        {
            "id": "viewer documents:edit deny",
            "location": f"{path}: row 2",
            "roles": ["viewer"],
            "organization": None,
            "resource": "documents",
            "action": "edit",
            "expected": "deny",
            "allowed": True,
            "passed": False,
            "granted_by": ["viewer"],
            "message": "expected deny, but granted by viewer",
        }
    ]


def test_test_verbose_lists_passing_rows(tmp_path: Path) -> None:
    """``-v`` prints passing rows too."""
    path = tmp_path / "t.toml"
    path.write_text(PASSING_TOML)
    result = run("test", str(path), "-v")
    assert result.stdout.count(" ok ") == 2


ROW = "expectations: [{roles"


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        pytest.param("t.yaml", None, "expectations file not found", id="missing"),
        pytest.param("t.yaml", "a: [", "is not valid YAML", id="yaml-syntax"),
        pytest.param("t.toml", "a = ", "is not valid TOML", id="toml-syntax"),
        pytest.param("t.json", "{", "is not valid JSON", id="json-syntax"),
        pytest.param("t.yaml", f"{ROW}: x, alow: [a:b]}}]", "unknown key 'alow'", id="typo"),
        pytest.param(
            "t.yaml", f"{ROW}: viewer, allow: [a:b]}}]", "names no 'policy'", id="no-policy"
        ),
        pytest.param(
            "t.yaml",
            f"policy: nope.json\n{ROW}: v, allow: [a:b]}}]",
            "policy file not found",
            id="policy-missing",
        ),
        pytest.param("t.csv", "", "unknown file type", id="suffix"),
    ],
)
def test_test_bad_files_exit_2(tmp_path: Path, name: str, text: str | None, fragment: str) -> None:
    """Unreadable or malformed policy-test files are one-line errors with exit 2."""
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    assert_one_line_error(run("test", str(path)), EXIT_BAD_INPUT, fragment)


# --- live policy: fetch-policy and --from-stytch against the emulator ------------------------

CUSTOM_ROLE = {
    "role_id": "acme_reviewer",
    "permissions": [{"resource_id": "documents", "actions": ["read", "download"]}],
}


@dataclass(frozen=True)
class Live:
    """A served emulator and the environment pointing the CLI at it."""

    emulator: Emulator
    organization_id: str
    env: dict[str, str | None]


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    """The emulator with the example policy and one organization with a custom role."""
    from stytch_rbac.emulator import Emulator

    emu = Emulator(policy=EXAMPLE)
    org = emu.create_organization(name="Acme", slug="acme")
    emu.set_org_policy(org.organization_id, {"roles": [CUSTOM_ROLE]})
    with emu.serve_in_thread() as base_url:
        env: dict[str, str | None] = {
            "STYTCH_PROJECT_ID": emu.project_id,
            "STYTCH_SECRET": emu.secret,
            "STYTCH_BASE_URL": base_url,
        }
        yield Live(emu, org.organization_id, env)


@pytest.fixture
def live_env(live: Live) -> Iterator[dict[str, str | None]]:
    """The live environment; faults injected by a test are cleared afterwards."""
    yield live.env
    live.emulator.faults.clear()


def test_fetch_policy_saves_the_live_policy(
    tmp_path: Path, live: Live, live_env: dict[str, str | None]
) -> None:
    """fetch-policy writes the emulator's policy; the file parses to the same policy."""
    out = tmp_path / "policy.json"
    result = run("fetch-policy", "--output", str(out), env=live_env)
    assert result.exit_code == EXIT_OK, result.output
    assert Policy.from_file(out).sha256() == live.emulator.policy.sha256()
    assert "saved policy (9 roles, 13 resources, 3 scopes" in result.stdout
    assert live.emulator.secret not in result.output


def test_fetch_policy_to_stdout_and_json(
    tmp_path: Path, live: Live, live_env: dict[str, str | None]
) -> None:
    """``-o -`` prints the policy document; ``--json`` reports what was saved."""
    printed = run("fetch-policy", "-o", "-", env=live_env)
    assert printed.exit_code == EXIT_OK
    assert Policy.parse(printed.stdout).sha256() == live.emulator.policy.sha256()
    out = tmp_path / "p.json"
    report = run("fetch-policy", "-o", str(out), "--json", env=live_env)
    assert json.loads(report.stdout) == {
        "output": str(out),
        "roles": 9,
        "resources": 13,
        "scopes": 3,
        "sha256": live.emulator.policy.sha256(),
    }


def test_fetch_org_policy(tmp_path: Path, live: Live, live_env: dict[str, str | None]) -> None:
    """``--organization`` saves that organization's custom roles, usable with --org-policy."""
    out = tmp_path / "org.json"
    result = run(
        "fetch-policy", "-o", str(out), "--organization", live.organization_id, env=live_env
    )
    assert result.exit_code == EXIT_OK, result.output
    assert json.loads(out.read_text())["org_policy"]["roles"][0]["role_id"] == "acme_reviewer"
    check = run(
        "can", "acme_reviewer", "documents", "read", "-p", EXAMPLE, "--org-policy", str(out)
    )
    assert check.exit_code == EXIT_OK


def test_show_can_lint_from_stytch(live: Live, live_env: dict[str, str | None]) -> None:
    """show, can and lint read the live policy, merged with an organization's roles on request."""
    shown = run("show", "--from-stytch", "--json", env=live_env)
    assert shown.exit_code == EXIT_OK
    assert json.loads(shown.stdout) == json.loads(run("show", "-p", EXAMPLE, "--json").stdout)
    org = ["--from-stytch", "--organization", live.organization_id]
    allowed = run("can", "acme_reviewer", "documents", "read", *org, env=live_env)
    assert allowed.exit_code == EXIT_OK
    assert "granted by acme_reviewer" in allowed.stdout
    denied = run("can", "acme_reviewer", "documents", "edit", *org, env=live_env)
    assert denied.exit_code == EXIT_DENIED
    assert run("lint", "--from-stytch", "--admin-role", "owner", env=live_env).exit_code == EXIT_OK


def test_test_from_stytch_fetches_org_roles(
    tmp_path: Path, live: Live, live_env: dict[str, str | None]
) -> None:
    """With --from-stytch an organization given by id gets its custom roles from Stytch."""
    path = tmp_path / "t.yaml"
    path.write_text(
        "organizations:\n"
        f"  acme: {{organization_id: {live.organization_id}}}\n"
        "expectations:\n"
        "  - {roles: acme_reviewer, organization: acme, allow: [documents:read],\n"
        "     deny: [documents:edit]}\n"
        "  - {roles: viewer, allow: [documents:read]}\n"
    )
    result = run("test", str(path), "--from-stytch", env=live_env)
    assert result.exit_code == EXIT_OK, result.output
    assert "3 passed, 0 failed" in result.stdout


def test_wrong_secret_is_bad_input_and_never_printed(live_env: dict[str, str | None]) -> None:
    """Stytch refusing the credentials is exit 2, and the secret given is not echoed."""
    env = live_env | {"STYTCH_SECRET": "secret-test-wrong-value"}
    result = run("fetch-policy", "-o", "-", env=env)
    assert_one_line_error(result, EXIT_BAD_INPUT, "Stytch answered 401")
    assert "secret-test-wrong-value" not in result.output


@pytest.mark.parametrize(
    ("inject", "fragment"),
    [
        pytest.param("fail", "Stytch answered 500", id="500"),
        pytest.param("garbage", "not a JSON object", id="garbage"),
    ],
)
def test_stytch_failing_is_exit_3(
    live: Live, live_env: dict[str, str | None], inject: str, fragment: str
) -> None:
    """A 5xx or a body that is not JSON from Stytch is exit 3 (unreachable)."""
    getattr(live.emulator.faults, inject)("rbac.policy")
    result = run("show", "--from-stytch", env=live_env)
    assert_one_line_error(result, EXIT_UNREACHABLE, fragment)


def test_unreachable_stytch_is_exit_3() -> None:
    """Nothing listening at the base URL: exit 3 naming the URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env: dict[str, str | None] = {
        "STYTCH_PROJECT_ID": "project-test-x",
        "STYTCH_SECRET": "secret-test-x",
        "STYTCH_BASE_URL": f"http://127.0.0.1:{port}",
    }
    result = run("fetch-policy", "-o", "-", env=env)
    assert_one_line_error(
        result, EXIT_UNREACHABLE, f"Stytch is unreachable at http://127.0.0.1:{port}"
    )


def test_unexpected_errors_are_one_line_unless_debug(
    tmp_path: Path, live_env: dict[str, str | None]
) -> None:
    """An unhandled error is one line and exit 2; with --debug the exception propagates."""
    result = run("fetch-policy", "-o", str(tmp_path), env=live_env)
    assert_one_line_error(result, EXIT_BAD_INPUT, "(--debug shows the traceback)")
    debug = run("--debug", "fetch-policy", "-o", str(tmp_path), env=live_env)
    assert isinstance(debug.exception, OSError)


def test_fetch_policy_into_missing_folder(tmp_path: Path, live_env: dict[str, str | None]) -> None:
    """Writing into a folder that does not exist is a one-line error."""
    result = run("fetch-policy", "-o", str(tmp_path / "no" / "p.json"), env=live_env)
    assert_one_line_error(result, EXIT_BAD_INPUT, "output folder does not exist")


@pytest.mark.parametrize(
    ("project_id", "base_url", "expected"),
    [
        pytest.param("project-live-1", None, "https://api.stytch.com", id="live"),
        pytest.param("project-test-1", None, "https://test.stytch.com", id="test"),
        pytest.param("project-test-1", "http://127.0.0.1:9/", "http://127.0.0.1:9", id="custom"),
    ],
)
def test_credentials_base_url_and_repr(
    project_id: str, base_url: str | None, expected: str
) -> None:
    """The base URL follows the SDK's rule; the credentials' repr never shows the secret."""
    env = {"STYTCH_PROJECT_ID": project_id, "STYTCH_SECRET": "s3cr3t-value"}
    if base_url is not None:
        env["STYTCH_BASE_URL"] = base_url
    creds = StytchCredentials.from_env(env)
    assert creds.base_url == expected
    assert "s3cr3t-value" not in repr(creds)


def test_malformed_base_url_is_bad_input() -> None:
    """A STYTCH_BASE_URL that is not an http(s) URL is exit 2, not 'unreachable'."""
    env: dict[str, str | None] = {
        "STYTCH_PROJECT_ID": "project-test-x",
        "STYTCH_SECRET": "secret-test-x",
        "STYTCH_BASE_URL": "localhost:8000",
    }
    assert_one_line_error(
        run("fetch-policy", "-o", "-", env=env), EXIT_BAD_INPUT, "STYTCH_BASE_URL"
    )
