"""The plan and the lock file of ``pull`` / ``plan`` / ``push``, pure (no Stytch involved)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stytch_rbac import OrgPolicy, Policy, PolicyError
from stytch_rbac.policy.management import from_management, management_document
from stytch_rbac.policy.plan import LOCK_VERSION, Lock, LockedOrg, make_plan, org_sha256

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"


def example() -> dict[str, Any]:
    """The example policy as a fresh JSON object."""
    return dict(json.loads(POLICY.read_text()))


def remote_of(data: dict[str, Any]) -> Policy:
    """The policy as the Management API shows it (Stytch's default-role texts)."""
    return from_management(management_document(Policy.parse(data)))


def _role(data: dict[str, Any], role_id: str) -> dict[str, Any]:
    return next(r for r in data["roles"] if r["role_id"] == role_id)


def _lock(snapshot: Policy, orgs: tuple[LockedOrg, ...] = ()) -> Lock:
    return Lock(
        "proj",
        "test",
        "project-test-1",
        "policy.json",
        snapshot.sha256(),
        snapshot,
        "2026-01-01T00:00:00Z",
        orgs,
    )


def test_a_lock_survives_its_file() -> None:
    """to_json / parse round-trip every field, organizations included."""
    org = OrgPolicy.parse({"roles": [{"role_id": "r", "permissions": []}]})
    lock = _lock(
        Policy.from_file(POLICY), (LockedOrg("org-1", "o/org-1.json", org_sha256(org), org),)
    )
    again = Lock.parse(json.loads(lock.dumps()))
    assert again.to_json() == lock.to_json()
    assert again.snapshot.sha256() == lock.remote_sha256
    assert again.organizations[0].snapshot == org


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.update(version=LOCK_VERSION + 1), "version 2"),
        (lambda d: d.pop("project_slug"), "missing 'project_slug'"),
        (lambda d: d.update(project_id=""), "project_id is not a non-empty string"),
        (lambda d: d["policy"].update(snapshot={"roles": "x"}), "roles"),
        (lambda d: d.update(organizations={"o": {"path": "p"}}), "missing"),
    ],
)
def test_a_broken_lock_is_a_policy_error_naming_the_problem(change: Any, words: str) -> None:
    """Each way a lock file can be wrong raises PolicyError("not a valid lock file: ...")."""
    data = _lock(Policy.from_file(POLICY)).to_json()
    change(data)
    with pytest.raises(PolicyError, match="not a valid lock file") as caught:
        Lock.parse(data)
    assert words in str(caught.value)
    with pytest.raises(PolicyError, match="expected a JSON object"):
        Lock.parse([])


def test_no_change_and_a_change_of_form_only() -> None:
    """The remote's own policy plans to nothing; '*' spelled out as the full list is no change
    either, while a description edit is one."""
    data = example()
    remote = remote_of(data)
    assert not make_plan(Policy.parse(data), remote).changed
    actions = {r["resource_id"]: r["actions"] for r in data["resources"]}
    for perm in _role(data, "owner")["permissions"]:
        if perm["actions"] == ["*"]:
            perm["actions"] = list(actions[perm["resource_id"]])
    assert not make_plan(Policy.parse(data), remote).changed
    _role(data, "viewer")["description"] = "reads"
    plan = make_plan(Policy.parse(data), remote)
    assert plan.changed
    assert plan.descriptions == ("role 'viewer'",)
    assert plan.removals == ()


def test_a_new_action_under_a_wildcard_is_a_new_grant() -> None:
    """Adding an action to a resource on which owner holds '*' gives owner that grant."""
    data = example()
    remote = remote_of(data)
    next(r for r in data["resources"] if r["resource_id"] == "documents")["actions"].append("print")
    plan = make_plan(Policy.parse(data), remote)
    holders = {g.holder for g in plan.diff.grants_added if g.action == "print"}
    assert "owner" in holders
    assert plan.diff.actions_added == (("documents", "print"),)


def test_removals_errors_and_drift_are_reported() -> None:
    """A removed role and grant are removals; an undefined action is an error; a remote that is
    not the locked snapshot is drift, diffed from the snapshot."""
    data = example()
    locked = remote_of(data)
    moved = example()
    _role(moved, "viewer")["permissions"].append({"resource_id": "webhooks", "actions": ["read"]})
    remote = remote_of(moved)
    data["roles"] = [r for r in data["roles"] if r["role_id"] != "developer"]
    _role(data, "viewer")["permissions"].append({"resource_id": "billing", "actions": ["fly"]})
    plan = make_plan(Policy.parse(data), remote, lock=_lock(locked))
    assert "role developer" in plan.removals
    assert any(r.startswith("role viewer: webhooks:read") for r in plan.removals)
    assert any("undefined-action" in e for e in plan.errors)
    assert plan.drifted
    assert plan.drift is not None
    assert [str(g) for g in plan.drift.grants_added] == ["role viewer: webhooks:read"]
    assert plan.to_json()["locked_sha256"] == locked.sha256()


def test_org_plans_use_stytch_org_rules_and_the_pushed_project() -> None:
    """An org role on an undefined resource is an error; an added org grant is a change; a
    locked org snapshot that is not the remote is drift."""
    policy = Policy.from_file(POLICY)
    remote_org = OrgPolicy.parse(
        {
            "roles": [
                {
                    "role_id": "rev",
                    "permissions": [{"resource_id": "documents", "actions": ["read"]}],
                }
            ]
        }
    )
    local_org = OrgPolicy.parse(
        {
            "roles": [
                {
                    "role_id": "rev",
                    "permissions": [{"resource_id": "documents", "actions": ["read", "edit"]}],
                }
            ]
        }
    )
    bad_org = OrgPolicy.parse(
        {
            "roles": [
                {"role_id": "rev", "permissions": [{"resource_id": "nowhere", "actions": ["read"]}]}
            ]
        }
    )
    old = LockedOrg("org-1", "o.json", org_sha256(OrgPolicy()), OrgPolicy())
    plan = make_plan(
        policy,
        remote_of(policy.to_json()),
        lock=_lock(policy, (old,)),
        organizations=[("org-1", local_org, remote_org), ("org-2", bad_org, OrgPolicy())],
    )
    one, two = plan.organizations
    assert one.changed
    assert [str(g) for g in one.diff.grants_added] == ["role rev: documents:edit"]
    assert one.drift is not None
    assert two.problems
    assert any(e.startswith("organization org-2:") for e in plan.errors)
    assert "Organization `org-1`" in plan.to_markdown()


odd_ids = st.text(alphabet="ab|`*_<>#\\ .-", min_size=1, max_size=6).filter(
    lambda s: bool(s.strip()) and s != "*"
)


@given(st.lists(odd_ids, min_size=1, max_size=4, unique=True), odd_ids)
def test_markdown_tables_hold_any_id(actions: list[str], role: str) -> None:
    """Whatever the ids hold (pipes, backticks, markdown characters), the grants table has one
    row per grant with exactly five unescaped cell separators."""
    remote = Policy.parse(
        {
            "resources": [{"resource_id": "r|`x", "actions": actions}],
            "roles": [{"role_id": "stytch_member"}, {"role_id": "stytch_admin"}],
        }
    )
    local = remote.model_copy(
        update={
            "roles": (
                *remote.roles,
                *Policy.parse(
                    {
                        "roles": [
                            {
                                "role_id": role + "!",
                                "permissions": [{"resource_id": "r|`x", "actions": ["*"]}],
                            }
                        ]
                    }
                ).roles,
            )
        }
    )
    markdown = make_plan(local, remote).to_markdown()
    rows = [line for line in markdown.splitlines() if line.startswith("| **")]
    assert len(rows) == len(actions)
    for row in rows:
        assert len(re.findall(r"(?<!\\)\|", row)) == 5, row


def test_a_default_role_losing_stytch_grants_is_a_warning_not_an_error() -> None:
    """stytch_admin giving up stytch.sso is planned with a warning (Terraform's documented
    rule is unverified), not refused."""
    data = example()
    remote = remote_of(data)
    admin = _role(data, "stytch_admin")
    admin["permissions"] = [p for p in admin["permissions"] if p["resource_id"] != "stytch.sso"]
    plan = make_plan(Policy.parse(data), remote)
    assert plan.errors == ()
    assert len(plan.warnings) == 1
    assert plan.warnings[0].startswith("stytch_admin loses 4 grant(s) on Stytch's resources")
    assert "#### Warnings" in plan.to_markdown()
    assert not make_plan(Policy.parse(example()), remote).warnings
