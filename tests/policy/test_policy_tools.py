"""The library behind ``stytch-rbac diff``, ``lint`` and ``test``: policy_tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stytch_rbac import CompiledPolicy, OrgPolicy, Policy
from stytch_rbac.policy_tools import (
    LINT_CODES,
    ExpectationFileError,
    Grant,
    diff_policies,
    lint_policy,
    load_expectations,
    parse_expectations,
    run_expectations,
)


def _policy(roles: list[dict[str, Any]], resources: list[dict[str, Any]] | None = None) -> Policy:
    return Policy.parse(
        {
            "roles": roles,
            "resources": resources
            if resources is not None
            else [
                {"resource_id": "documents", "actions": ["read", "edit", "delete"]},
                {"resource_id": "stytch.member", "actions": ["create", "delete"]},
                {"resource_id": "stytch.self", "actions": ["delete"]},
            ],
            "scopes": [],
        }
    )


def _role(role_id: str, **grants: list[str]) -> dict[str, Any]:
    return {
        "role_id": role_id,
        "permissions": [
            {"resource_id": res.replace("__", "."), "actions": acts} for res, acts in grants.items()
        ],
    }


BASE = _policy(
    [
        _role("stytch_admin", stytch__member=["*"]),
        _role("stytch_member", stytch__self=["*"]),
        _role("viewer", documents=["read"]),
        _role("editor", documents=["read", "edit"]),
    ]
)


# --- diff ------------------------------------------------------------------------------------


def test_diff_of_equal_policies_is_empty() -> None:
    """A policy compared with itself has no change and removes no grant."""
    diff = diff_policies(BASE, BASE)
    assert not diff.changed
    assert not diff.removes_grants


def test_diff_reports_removed_grant_of_a_role() -> None:
    """Dropping an action from a role is a removed grant, which is what CI must flag."""
    new = _policy([*BASE.to_json()["roles"][:3], _role("editor", documents=["read"])])
    diff = diff_policies(BASE, new)
    assert diff.grants_removed == (Grant("editor", "documents", "edit"),)
    assert diff.grants_added == ()
    assert diff.removes_grants


def test_diff_expands_wildcards_against_defined_actions() -> None:
    """A new action on a resource where a role holds '*' is a grant added to that role."""
    resources = [
        {"resource_id": "documents", "actions": ["read", "edit", "delete"]},
        {"resource_id": "stytch.member", "actions": ["create", "delete", "search"]},
        {"resource_id": "stytch.self", "actions": ["delete"]},
    ]
    new = _policy(BASE.to_json()["roles"], resources)
    diff = diff_policies(BASE, new)
    assert diff.actions_added == (("stytch.member", "search"),)
    assert diff.grants_added == (Grant("stytch_admin", "stytch.member", "search"),)
    assert not diff.removes_grants


def test_diff_wildcard_replaced_by_every_action_changes_no_grant() -> None:
    """Writing out '*' as the full list of actions is not a change in what anyone may do."""
    roles = BASE.to_json()["roles"]
    roles[0] = _role("stytch_admin", stytch__member=["create", "delete"])
    diff = diff_policies(BASE, _policy(roles))
    assert diff.grants_added == diff.grants_removed == ()


def test_diff_reports_roles_resources_and_scopes() -> None:
    """Removed roles and resources are listed and their grants count as removed."""
    new = Policy.parse(
        {
            "roles": [_role("viewer", reports=["view"])],
            "resources": [{"resource_id": "reports", "actions": ["view"]}],
            "scopes": [
                {
                    "scope": "read:reports",
                    "permissions": [_role("x", reports=["view"])["permissions"][0]],
                }
            ],
        }
    )
    diff = diff_policies(BASE, new)
    assert diff.roles_removed == ("editor", "stytch_admin", "stytch_member")
    assert diff.resources_added == ("reports",)
    assert diff.resources_removed == ("documents", "stytch.member", "stytch.self")
    assert diff.actions_added == diff.actions_removed == ()
    assert diff.scopes_added == ("read:reports",)
    assert Grant("read:reports", "reports", "view", scope=True) in diff.grants_added
    assert Grant("viewer", "documents", "read") in diff.grants_removed
    assert diff.to_json()["grants_added"][0] == {
        "scope": "read:reports",
        "resource": "reports",
        "action": "view",
    }


# --- lint ------------------------------------------------------------------------------------


def test_lint_of_the_example_policy_flags_only_the_owner_wildcard(example_policy: Policy) -> None:
    """The example policy is clean except the owner role holding '*' on a stytch.* resource."""
    findings = lint_policy(example_policy)
    assert [(f.code, f.subject) for f in findings] == [("stytch-wildcard", "owner")]
    assert lint_policy(example_policy, admin_roles={"stytch_admin", "owner"}) == []


def test_lint_finds_every_smell() -> None:
    """Each documented smell is reported with its code and the subject it is about."""
    policy = Policy.parse(
        {
            "roles": [
                _role("stytch_admin", stytch__member=["*"]),
                _role("stytch_member", stytch__self=["*"]),
                _role("helper", stytch__member=["*"], ghosts=["haunt"]),
                _role("typo", documents=["raed", "read", "read"]),
                _role("doubled", documents=["*", "edit"]),
                _role("idle"),
                _role("hollow", documents=[]),
            ],
            "resources": [
                {"resource_id": "documents", "actions": ["read", "edit"]},
                {"resource_id": "stytch.member", "actions": ["create"]},
                {"resource_id": "stytch.self", "actions": ["delete"]},
                {"resource_id": "orphans", "actions": ["adopt"]},
                {"resource_id": "starry", "actions": ["*", "look"]},
            ],
        }
    )
    found = {(f.code, f.subject) for f in lint_policy(policy)}
    assert found == {
        ("undefined-resource", "helper"),
        ("undefined-action", "typo"),
        ("empty-permission", "hollow"),
        ("duplicate-grant", "typo"),
        ("duplicate-grant", "doubled"),
        ("empty-role", "idle"),
        ("empty-role", "hollow"),
        ("unused-resource", "orphans"),
        ("unused-resource", "starry"),
        ("stytch-wildcard", "helper"),
        ("reserved-action", "starry"),
    }
    assert {code for code, _ in found} == set(LINT_CODES)


def test_lint_ignore_drops_codes_and_rejects_unknown_codes() -> None:
    """``ignore`` removes findings by code; a code that does not exist is an error."""
    policy = _policy([_role("idle")])
    assert [f.code for f in lint_policy(policy)].count("empty-role") == 1
    assert all(f.code != "empty-role" for f in lint_policy(policy, ignore={"empty-role"}))
    with pytest.raises(ValueError, match="unknown lint code"):
        lint_policy(policy, ignore={"no-such-code"})


def test_lint_accepts_a_compiled_policy_and_stytch_self_wildcard_is_fine() -> None:
    """stytch.self '*' (Stytch's default for stytch_member) is not a smell, whoever holds it."""
    policy = _policy([_role("stytch_member", stytch__self=["*"]), _role("x", stytch__self=["*"])])
    findings = lint_policy(CompiledPolicy(policy))
    assert "stytch-wildcard" not in {f.code for f in findings}


# --- expectations ----------------------------------------------------------------------------

SUITE: dict[str, Any] = {
    "organizations": {
        "acme": {
            "organization_id": "organization-test-acme",
            "roles": [_role("acme_auditor", documents=["read"])],
        }
    },
    "expectations": [
        {"roles": "viewer", "allow": ["documents:read"], "deny": ["documents:edit"]},
        {"roles": ["editor"], "resource": "documents", "allow": ["edit"], "deny": ["delete"]},
        {
            "name": "admins",
            "roles": "stytch_admin",
            "resource": "stytch.member",
            "action": "delete",
            "expect": "allow",
        },
        {"roles": "acme_auditor", "organization": "acme", "allow": ["documents:read"]},
        {"roles": "viewer", "deny": ["documents:*"]},
    ],
}


def test_expectations_expand_rows_into_one_case_per_question() -> None:
    """Grouped rows become one expectation per (roles, resource, action), in file order."""
    suite = parse_expectations(SUITE)
    assert [e.id for e in suite] == [
        "viewer documents:read allow",
        "viewer documents:edit deny",
        "editor documents:edit allow",
        "editor documents:delete deny",
        "admins: stytch_admin stytch.member:delete allow",
        "@acme acme_auditor documents:read allow",
        "viewer documents:* deny",
    ]
    assert suite.expectations[0].location == "expectations: row 1"
    assert suite.organizations["acme"].organization_id == "organization-test-acme"


def test_expectations_pass_and_fail_against_a_policy() -> None:
    """Rows matching the policy pass; a wildcard deny fails listing the allowed actions."""
    results = parse_expectations(SUITE).runner(BASE).run()
    assert [r.passed for r in results] == [True, True, True, True, True, True, False]
    last = results[-1]
    assert last.mismatched == ("read",)
    assert last.message == "expected deny, but allowed: read"
    assert results[0].granted_by == frozenset({"viewer"})


def test_expectation_with_unknown_role_resource_or_action_fails() -> None:
    """A row about a name the policy lacks fails instead of passing as a silent deny."""
    suite = parse_expectations(
        {
            "expectations": [
                {"roles": "ghost", "deny": ["documents:read"]},
                {"roles": "viewer", "deny": ["documentz:read"]},
                {"roles": "viewer", "deny": ["documents:fly"]},
                {"roles": "viewer", "deny": ["documentz:*"]},
                {"roles": "acme_auditor", "allow": ["documents:read"]},
            ]
        }
    )
    results = suite.runner(BASE).run()
    assert not any(r.passed for r in results)
    assert [r.error for r in results] == [
        "role 'ghost' is not defined in the policy",
        "resource 'documentz' is not defined in the RBAC policy",
        "action 'fly' is not defined on resource 'documents' in the RBAC policy",
        "resource 'documentz' is not defined in the RBAC policy",
        "role 'acme_auditor' is not defined in the policy",
    ]


def test_org_policies_argument_overrides_inline_roles() -> None:
    """Custom roles given to the runner (e.g. fetched from Stytch) replace the file's roles."""
    suite = parse_expectations(SUITE)
    live = OrgPolicy.parse({"roles": [_role("acme_auditor", documents=["edit"])]})
    runner = suite.runner(BASE, org_policies={"acme": live})
    result = runner.check(suite.expectations[5])
    assert not result.passed
    assert result.message == "expected allow, but no role grants it"


def test_org_roles_that_break_the_org_rules_fail_the_rows() -> None:
    """An organization whose custom roles Stytch would reject fails its rows with the reason."""
    suite = parse_expectations(
        {
            "organizations": {"bad": {"roles": [_role("viewer", documents=["read"])]}},
            "expectations": [
                {"roles": "viewer", "organization": "bad", "allow": ["documents:read"]}
            ],
        }
    )
    (result,) = suite.runner(BASE).run()
    assert not result.passed
    assert result.error is not None
    assert "already exists in the project policy" in result.error


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param([], "expected a table", id="not-a-table"),
        pytest.param({"expectations": []}, "non-empty list", id="no-rows"),
        pytest.param({"expectations": [{}], "extra": 1}, "unknown key 'extra'", id="top-key"),
        pytest.param({"expectations": [{"allow": ["a:b"]}]}, "'roles' is required", id="no-roles"),
        pytest.param(
            {"expectations": [{"roles": 3, "allow": ["a:b"]}]}, "roles must be", id="roles-type"
        ),
        pytest.param(
            {"expectations": [{"roles": "r", "alow": ["a:b"]}]}, "unknown key 'alow'", id="typo"
        ),
        pytest.param({"expectations": [{"roles": "r"}]}, "nothing to check", id="nothing"),
        pytest.param(
            {"expectations": [{"roles": "r", "allow": ["ab"]}]},
            "is not 'resource:action'",
            id="bad-perm",
        ),
        pytest.param(
            {"expectations": [{"roles": "r", "resource": "d", "action": "a", "expect": "yes"}]},
            "expect must be 'allow' or 'deny'",
            id="bad-expect",
        ),
        pytest.param(
            {"expectations": [{"roles": "r", "action": "a", "expect": "allow"}]},
            "needs resource and action",
            id="no-resource",
        ),
        pytest.param(
            {
                "expectations": [
                    {
                        "roles": "r",
                        "resource": "d",
                        "action": "a",
                        "expect": "allow",
                        "allow": ["x"],
                    }
                ]
            },
            "not both",
            id="mixed-forms",
        ),
        pytest.param(
            {"expectations": [{"roles": "r", "organization": "nowhere", "allow": ["a:b"]}]},
            "organization 'nowhere' is not in 'organizations'",
            id="unknown-org",
        ),
        pytest.param(
            {
                "organizations": {"o": {"roles": "x"}},
                "expectations": [{"roles": "r", "allow": ["a:b"]}],
            },
            "organizations.o",
            id="bad-org-roles",
        ),
        pytest.param(
            {
                "organizations": {"o": {"id": "x"}},
                "expectations": [{"roles": "r", "allow": ["a:b"]}],
            },
            "unknown key 'id'",
            id="bad-org-key",
        ),
        pytest.param(
            {"policy": 3, "expectations": [{"roles": "r", "allow": ["a:b"]}]},
            "'policy' must be",
            id="policy-type",
        ),
    ],
)
def test_malformed_expectations_name_the_problem(data: Any, message: str) -> None:
    """Every malformed shape raises ExpectationFileError with a message naming the problem."""
    with pytest.raises(ExpectationFileError, match=message):
        parse_expectations(data)


YAML_SUITE = """\
policy: policy.json
expectations:
  - roles: viewer
    allow: [documents:read]
    deny: [documents:edit]
"""

TOML_SUITE = """\
policy = "policy.json"

[[expectations]]
roles = ["viewer"]
allow = ["documents:read"]
deny = ["documents:edit"]
"""


@pytest.mark.parametrize(
    ("name", "text"),
    [
        pytest.param("suite.yaml", YAML_SUITE, id="yaml"),
        pytest.param("suite.yml", YAML_SUITE, id="yml"),
        pytest.param("suite.toml", TOML_SUITE, id="toml"),
        pytest.param(
            "suite.json",
            json.dumps(
                {
                    "policy": "policy.json",
                    "expectations": [
                        {"roles": "viewer", "allow": ["documents:read"], "deny": ["documents:edit"]}
                    ],
                }
            ),
            id="json",
        ),
    ],
)
def test_files_load_in_every_format_with_policy_relative_to_the_file(
    tmp_path: Path, name: str, text: str
) -> None:
    """YAML, TOML and JSON files give the same suite; 'policy' resolves next to the file."""
    (tmp_path / "policy.json").write_text(json.dumps(BASE.to_json()))
    (tmp_path / name).write_text(text)
    suite = load_expectations(tmp_path / name)
    assert suite.path == tmp_path / name
    assert suite.policy_path == tmp_path / "policy.json"
    assert [e.id for e in suite] == ["viewer documents:read allow", "viewer documents:edit deny"]
    assert all(r.passed for r in run_expectations(suite))


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        pytest.param("s.yaml", "a: [", "is not valid YAML", id="yaml"),
        pytest.param("s.toml", "a = ", "is not valid TOML", id="toml"),
        pytest.param("s.json", "{", "is not valid JSON", id="json"),
        pytest.param("s.txt", "", "unknown file type '.txt'", id="suffix"),
    ],
)
def test_unreadable_files_name_the_file(tmp_path: Path, name: str, text: str, message: str) -> None:
    """Syntax errors and unknown file types are ExpectationFileError naming the file."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ExpectationFileError, match=message) as info:
        load_expectations(path)
    assert str(path) in str(info.value)


def test_missing_file_and_missing_policy_key(tmp_path: Path) -> None:
    """A missing file is an error; so is running a suite without a policy when none is named."""
    with pytest.raises(ExpectationFileError, match="not found"):
        load_expectations(tmp_path / "nope.yaml")
    suite = parse_expectations({"expectations": [{"roles": "viewer", "allow": ["documents:read"]}]})
    with pytest.raises(ExpectationFileError, match="names no 'policy'"):
        run_expectations(suite)
