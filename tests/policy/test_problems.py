"""Policy problems as data: typed records with stable codes, computed once per policy, never warned.

pytest runs with ``filterwarnings = error``: a Python warning emitted by any of
these calls fails the test, so "no warning" is checked everywhere, not only
where a test says so.
"""

from __future__ import annotations

import copy
import json
import pickle
import warnings
from typing import Any

import pytest

from stytch_rbac import CompiledPolicy, OrgPolicy, Policy, PolicyError, PolicyWarning
from stytch_rbac.policy import models
from stytch_rbac.policy.diff import diff_policies
from stytch_rbac.policy.expectations import ExpectationRunner, parse_expectations
from stytch_rbac.policy.lint import lint_policy
from stytch_rbac.policy.problems import (
    PROBLEM_CODES,
    PolicyProblem,
    errors_of,
    org_problems,
    project_problems,
    warnings_of,
)

Doc = dict[str, Any]


def doc(**changes: Any) -> Doc:
    """A small clean policy: two resources, a reader and a writer role, one scope."""
    base: Doc = {
        "resources": [
            {"resource_id": "docs", "description": "", "actions": ["read", "write"]},
            {"resource_id": "billing", "description": "", "actions": ["pay"]},
        ],
        "roles": [
            {
                "role_id": "reader",
                "description": "",
                "permissions": [{"resource_id": "docs", "actions": ["read"]}],
            },
            {
                "role_id": "writer",
                "description": "",
                "permissions": [
                    {"resource_id": "docs", "actions": ["*"]},
                    {"resource_id": "billing", "actions": ["pay"]},
                ],
            },
        ],
        "scopes": [
            {
                "scope": "read:docs",
                "description": "",
                "permissions": [{"resource_id": "docs", "actions": ["read"]}],
            }
        ],
    }
    base.update(changes)
    return base


def odd_doc() -> Doc:
    """A policy Stytch serves with three oddities: an undefined resource and action, '*' defined."""
    data = doc()
    data["roles"][0]["permissions"].append({"resource_id": "reports", "actions": ["read"]})
    data["roles"][0]["permissions"][0]["actions"].append("fly")
    data["resources"][1]["actions"].append("*")
    return data


def test_warnings_are_typed_records_with_codes_subjects_and_the_documented_messages() -> None:
    """Each oddity is one warning PolicyProblem naming its code, subject, permission and text."""
    policy = Policy.parse(odd_doc())
    assert policy.problems == (
        PolicyProblem(
            "warning",
            "reserved-action",
            "resource",
            "billing",
            "resource 'billing' defines '*' as an action; '*' is reserved",
            "billing",
            ("*",),
        ),
        PolicyProblem(
            "warning",
            "undefined-action",
            "role",
            "reader",
            "role 'reader' on resource 'docs' grants undefined action(s) 'fly'",
            "docs",
            ("fly",),
        ),
        PolicyProblem(
            "warning",
            "undefined-resource",
            "role",
            "reader",
            "role 'reader' on resource 'reports': that resource is not defined in the policy",
            "reports",
            ("read",),
        ),
    )
    first = policy.problems[0]
    assert not first.is_error
    assert str(first) == first.message
    assert first.to_json() == {
        "severity": "warning",
        "code": "reserved-action",
        "subject_kind": "resource",
        "subject": "billing",
        "message": "resource 'billing' defines '*' as an action; '*' is reserved",
        "resource_id": "billing",
        "actions": ["*"],
    }
    with pytest.raises(AttributeError):
        first.code = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("mutate", "code", "subject", "message"),
    [
        pytest.param(
            lambda d: d["roles"][1].update(role_id=" "),
            "blank-id",
            " ",
            "roles[1]: a role has a blank id (' ')",
            id="blank-id",
        ),
        pytest.param(
            lambda d: d["resources"].append(dict(d["resources"][0])),
            "duplicate-id",
            "docs",
            "resource 'docs' is defined more than once",
            id="duplicate-id",
        ),
        pytest.param(
            lambda d: d["resources"][0]["actions"].append(""),
            "blank-action",
            "docs",
            "resource 'docs' defines a blank action",
            id="resource-blank-action",
        ),
        pytest.param(
            lambda d: d["scopes"][0]["permissions"][0]["actions"].append(""),
            "blank-action",
            "read:docs",
            "scope 'read:docs' on resource 'docs' grants a blank action",
            id="grant-blank-action",
        ),
    ],
)
def test_parse_raises_for_the_first_error_and_the_error_carries_the_problems(
    mutate: Any, code: str, subject: str, message: str
) -> None:
    """Policy.parse raises PolicyError with the first error's message; .problems holds them."""
    data = doc()
    mutate(data)
    with pytest.raises(PolicyError) as caught:
        Policy.parse(data)
    assert str(caught.value) == message
    first = caught.value.problems[0]
    assert (first.severity, first.code, first.subject, first.message) == (
        "error",
        code,
        subject,
        message,
    )
    assert all(p.is_error for p in caught.value.problems)


def test_a_document_that_is_no_policy_carries_no_problems() -> None:
    """A PolicyError for text that is not a policy at all (bad JSON) has empty .problems."""
    with pytest.raises(PolicyError) as caught:
        Policy.parse("{not json")
    assert caught.value.problems == ()


def test_every_error_is_reported_in_order_by_policy_problems() -> None:
    """A Policy built in code lists all its errors and warnings; compiling raises the first."""
    good = Policy.parse(doc())
    reader = good.roles[0]
    blank = reader.model_copy(update={"role_id": ""})
    empty = good.roles[1].model_copy(
        update={"permissions": (good.roles[1].permissions[0].model_copy(update={"actions": ()}),)}
    )
    policy = Policy(roles=(reader, reader, blank, empty), resources=good.resources)
    assert [(p.severity, p.code) for p in policy.problems] == [
        ("error", "blank-id"),
        ("error", "duplicate-id"),
        ("warning", "empty-permission"),
    ]
    assert errors_of(policy.problems) == policy.problems[:2]
    assert warnings_of(policy.problems) == policy.problems[2:]
    with pytest.raises(PolicyError, match=r"roles\[2\]: a role has a blank id") as caught:
        CompiledPolicy(policy)
    assert caught.value.problems == policy.problems[:2]


def test_org_problems_are_errors_with_the_same_codes() -> None:
    """Org-policy problems are all errors, with the project codes and role-exists-in-project."""
    project = Policy.parse(doc())
    org = OrgPolicy.parse(
        {
            "roles": [
                {"role_id": "o", "permissions": [{"resource_id": "reports", "actions": ["read"]}]},
                {"role_id": "o", "permissions": [{"resource_id": "docs", "actions": []}]},
                {"role_id": "writer", "permissions": []},
                {"role_id": "p", "permissions": [{"resource_id": "docs", "actions": ["*", "x"]}]},
                {"role_id": "q", "permissions": [{"resource_id": "docs", "actions": ["y", "z"]}]},
                {"role_id": "", "permissions": [{"resource_id": "docs", "actions": [" "]}]},
            ]
        }
    )
    problems = org_problems(project, org)
    assert {p.severity for p in problems} == {"error"}
    assert {p.subject_kind for p in problems} == {"org_role"}
    assert [(p.code, p.subject, p.actions) for p in problems] == [
        ("duplicate-id", "o", ()),
        ("undefined-resource", "o", ("read",)),
        ("empty-permission", "o", ()),
        ("role-exists-in-project", "writer", ()),
        ("wildcard-with-others", "p", ("*", "x")),
        ("undefined-action", "p", ("x",)),
        ("undefined-action", "q", ("y",)),
        ("undefined-action", "q", ("z",)),
        ("blank-id", "", ()),
        ("blank-action", "", (" ",)),
    ]
    assert problems[3].message == "org role 'writer' already exists in the project policy"
    with pytest.raises(PolicyError, match="org role 'o' is defined more than once") as caught:
        project.compile().with_org(org)
    assert caught.value.problems == problems
    with pytest.raises(PolicyError) as merged:
        project.merged(org)
    assert merged.value.problems == problems


def test_every_documented_code_is_reachable() -> None:
    """PROBLEM_CODES is exactly the set of codes project and org checks produce."""
    seen = {p.code for p in Policy.parse(odd_doc()).problems}
    data = doc()
    data["roles"][0]["permissions"].append({"resource_id": "docs", "actions": []})
    data["roles"][1]["permissions"].append({"resource_id": "docs", "actions": ["*", "read"]})
    seen |= {p.code for p in Policy.parse(data).problems}
    role = Policy.parse(doc()).roles[0]
    seen |= {p.code for p in Policy(roles=(role, role.model_copy(update={"role_id": ""}))).problems}
    seen |= {p.code for p in Policy(roles=(role, role)).problems}
    seen |= {
        p.code
        for p in Policy(
            resources=(Policy.parse(doc()).resources[0].model_copy(update={"actions": ("",)}),)
        ).problems
    }
    seen |= {
        p.code
        for p in org_problems(
            Policy.parse(doc()), OrgPolicy.parse({"roles": [{"role_id": "reader"}]})
        )
    }
    assert seen == set(PROBLEM_CODES)


# --------------------------------------------------------------------------- once per load


def test_problems_are_computed_once_per_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parse, compile, lint, diff and an expectation run together validate the policy once."""
    calls: list[Policy] = []

    def counting(policy: Policy) -> tuple[PolicyProblem, ...]:
        calls.append(policy)
        return project_problems(policy)

    monkeypatch.setattr(models, "project_problems", counting)
    policy = Policy.parse(odd_doc())
    assert calls == [policy]
    compiled = CompiledPolicy(policy)
    policy.compile(strict=False)
    lint_policy(policy)
    lint_policy(compiled)
    diff_policies(policy, compiled)
    suite = parse_expectations({"expectations": [{"roles": "reader", "allow": ["docs:read"]}]})
    assert all(r.passed for r in ExpectationRunner(suite, policy).run())
    assert len(calls) == 1


def test_compiled_policy_reuses_the_policys_problem_records() -> None:
    """CompiledPolicy.problems are the very records of Policy.problems: no second pass."""
    policy = Policy.parse(odd_doc())
    compiled = CompiledPolicy(policy)
    assert compiled.problems == warnings_of(policy.problems)
    assert all(a is b for a, b in zip(compiled.problems, policy.problems, strict=True))
    assert policy.problems is policy.problems
    assert compiled.with_org(None).problems is compiled.problems


def test_a_changed_copy_does_not_reuse_stale_problems() -> None:
    """model_copy(update=...) copies the instance dict; the copy still gets its own problems."""
    odd = Policy.parse(odd_doc())
    assert odd.problems
    fixed = odd.model_copy(update={"roles": Policy.parse(doc()).roles, "resources": ()})
    assert [p.code for p in fixed.problems] == ["undefined-resource"] * 4
    good = Policy.parse(doc())
    clean = odd.model_copy(
        update={"roles": good.roles, "resources": good.resources, "scopes": good.scopes}
    )
    assert clean.problems == ()


def test_the_cache_is_invisible_to_equality_dumps_and_pickling() -> None:
    """A policy whose problems were computed equals, dumps and pickles like a fresh one."""
    computed = Policy.parse(odd_doc())
    assert computed.problems
    fresh = Policy.model_validate(odd_doc())
    assert computed == fresh
    assert hash(computed) == hash(fresh)
    assert computed.to_json() == fresh.to_json() == json.loads(computed.model_dump_json())
    for twin in (pickle.loads(pickle.dumps(computed)), copy.deepcopy(computed)):
        assert twin == computed
        assert twin.problems == computed.problems


# --------------------------------------------------------------------------- never warned


def test_no_library_call_warns_or_touches_the_warnings_filter() -> None:
    """Compiling, merging, linting and diffing an odd policy emit nothing and keep the filters."""
    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inner = list(warnings.filters)
        policy = Policy.parse(odd_doc())
        compiled = CompiledPolicy(policy, strict=False)
        compiled.with_org(OrgPolicy.parse({"roles": [{"role_id": "o"}]}))
        lint_policy(policy)
        diff_policies(compiled, Policy.parse(doc()))
        assert warnings.filters == inner
    assert caught == []
    assert warnings.filters == filters


def test_a_problem_can_be_turned_into_a_policy_warning_by_the_caller() -> None:
    """PolicyProblem.warn() emits a PolicyWarning with the problem's message, for apps that ask."""
    compiled = CompiledPolicy.parse(odd_doc())
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for problem in compiled.problems:
            problem.warn()
    assert {w.category for w in record} == {PolicyWarning}
    assert [str(w.message) for w in record] == [p.message for p in compiled.problems]
    assert {w.filename for w in record} == {__file__}
