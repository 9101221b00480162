"""drift(): what differs between a generated module and a policy, and the dogfooded example."""

from __future__ import annotations

import importlib.util
import types
from pathlib import Path
from typing import Any

import pytest

from stytch_rbac import Policy, PolicyError
from stytch_rbac.codegen import Drift, PolicyDriftError, check, drift, render_module
from stytch_rbac.policy.diff import diff_policies

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_MODULE = ROOT / "examples" / "permissions.py"
EXAMPLE_STUB = ROOT / "stubs" / "permissions.pyi"


def load(path: Path, name: str) -> types.ModuleType:
    """Import a generated module from its file."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_source(source: str) -> types.ModuleType:
    """Execute generated source as a module."""
    module = types.ModuleType("generated_for_drift")
    exec(compile(source, "<generated>", "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("path", [EXAMPLE_MODULE, EXAMPLE_STUB], ids=lambda p: p.name)
def test_dogfooded_files_are_current(path: Path, example_policy: Policy) -> None:
    """The example module and stub are exactly what examples/policy.json renders to (not stale)."""
    result = check(path, example_policy)
    assert result.current, (
        f"{path.relative_to(ROOT)} is stale; regenerate it with:\n"
        "  .venv/bin/stytch-rbac generate --policy examples/policy.json "
        "--output examples/permissions.py\n"
        "  .venv/bin/stytch-rbac generate --policy examples/policy.json "
        "--stub --output stubs/permissions.pyi\n\n" + result.diff
    )


def test_example_module_has_no_drift(example_policy: Policy) -> None:
    """The generated example module is in sync with the example policy: an empty, falsy Drift."""
    result = drift(load(EXAMPLE_MODULE, "example_permissions"), example_policy)
    assert result == Drift()
    assert not result
    assert result.is_empty
    assert str(result).startswith("no drift")
    assert result.policy_sha256 == example_policy.sha256() == result.module_sha256


def _edited(policy: Policy) -> Policy:
    """The example policy with one change of every kind drift reports."""
    data: dict[str, Any] = policy.to_json()
    data["resources"].append({"resource_id": "images", "description": "", "actions": ["view"]})
    data["resources"] = [r for r in data["resources"] if r["resource_id"] != "webhooks"]
    for resource in data["resources"]:
        if resource["resource_id"] == "documents":
            resource["actions"] = [a for a in resource["actions"] if a != "share"] + ["publish"]
    data["roles"].append({"role_id": "intern", "description": "", "permissions": []})
    data["roles"] = [r for r in data["roles"] if r["role_id"] != "auditor"]
    data["scopes"] = [s for s in data["scopes"] if s["scope"] != "read:billing"]
    data["scopes"].append({"scope": "admin:all", "description": "", "permissions": []})
    return Policy.parse(data)


def test_drift_lists_every_difference(example_policy: Policy) -> None:
    """Added and removed resources, actions, roles and scopes are each reported, sorted."""
    module = load(EXAMPLE_MODULE, "example_permissions_2")
    result = drift(module, _edited(example_policy))
    assert result == Drift(
        resources_added=("images",),
        resources_removed=("webhooks",),
        actions_added=(("documents", "publish"),),
        actions_removed=(("documents", "share"),),
        roles_added=("intern",),
        roles_removed=("auditor",),
        scopes_added=("admin:all",),
        scopes_removed=("read:billing",),
    )
    assert result
    text = str(result)
    for part in (
        "resources added: 'images'",
        "resources removed: 'webhooks'",
        "actions added: documents:publish",
        "actions removed: documents:share",
        "roles added: 'intern'",
        "roles removed: 'auditor'",
        "scopes added: 'admin:all'",
        "scopes removed: 'read:billing'",
    ):
        assert part in text


def test_description_and_grant_changes_are_not_drift(example_policy: Policy) -> None:
    """Changing descriptions or which role grants what does not change the generated names."""
    data: dict[str, Any] = example_policy.to_json()
    data["resources"][0]["description"] = "changed"
    data["roles"][0]["permissions"] = []
    changed = Policy.parse(data)
    result = drift(load(EXAMPLE_MODULE, "example_permissions_3"), changed)
    assert not result
    assert result.module_sha256 != result.policy_sha256


def test_star_action_is_ignored_on_both_sides() -> None:
    """A resource listing '*' as an action is not drift: '*' is never generated."""
    policy = Policy.parse({"resources": [{"resource_id": "docs", "actions": ["read", "*"]}]})
    assert not drift(load_source(render_module(policy)), policy)


def test_drift_rejects_a_module_that_was_not_generated() -> None:
    """An ordinary module is a TypeError naming what is missing, not an empty drift."""
    with pytest.raises(TypeError, match="not a module generated by stytch-rbac"):
        drift(types.ModuleType("plain"), Policy.parse({"resources": []}))


def test_policy_drift_error_carries_the_drift(example_policy: Policy) -> None:
    """PolicyDriftError is a PolicyError whose message and .drift describe the differences."""
    result = drift(load(EXAMPLE_MODULE, "example_permissions_4"), _edited(example_policy))
    error = PolicyDriftError(result)
    assert isinstance(error, PolicyError)
    assert error.drift is result
    assert "resources added: 'images'" in str(error)


def test_drift_is_the_ids_part_of_the_policy_diff(example_policy: Policy) -> None:
    """drift(module of A, B) lists exactly what diff_policies(A, B) lists for ids, in its order."""
    module = load(EXAMPLE_MODULE, "example_permissions_5")
    edited = _edited(example_policy)
    result = drift(module, edited)
    delta = diff_policies(example_policy, edited)
    for name in (
        "resources_added",
        "resources_removed",
        "actions_added",
        "actions_removed",
        "roles_added",
        "roles_removed",
        "scopes_added",
        "scopes_removed",
    ):
        assert getattr(result, name) == getattr(delta, name), name
    assert drift(module, example_policy.compile()) == drift(module, example_policy) == Drift()
