"""`CompiledPolicy.with_org` shares the project index yet answers like a fresh compile."""

from __future__ import annotations

import itertools

import pytest

from stytch_rbac import CompiledPolicy, OrgPolicy, Policy, PolicyError

ORG = OrgPolicy.parse(
    {
        "roles": [
            {
                "role_id": "doc_lead",
                "description": "every documents action",
                "permissions": [{"resource_id": "documents", "actions": ["*"]}],
            },
            {
                "role_id": "archivist",
                "description": "",
                "permissions": [
                    {"resource_id": "projects", "actions": ["archive"]},
                    {"resource_id": "stytch.member", "actions": ["search"]},
                ],
            },
        ]
    }
)


def test_overlay_answers_equal_a_fresh_compile(example_policy: Policy) -> None:
    """Every role combination gets the same permissions table, decisions and granting roles
    from the overlay as from compiling the merged policy from scratch."""
    base = example_policy.compile()
    overlay = base.with_org(ORG)
    fresh = CompiledPolicy(example_policy.merged(ORG))
    assert overlay.role_ids == fresh.role_ids
    assert overlay.policy == fresh.policy
    assert overlay.resources == fresh.resources
    roles = sorted(fresh.role_ids)
    for combo in itertools.chain(itertools.combinations(roles, 1), [("viewer", "archivist")]):
        assert overlay.permissions(combo) == fresh.permissions(combo)
        for resource, actions in fresh.resources.items():
            for action in actions:
                assert overlay.decide(combo, resource, action) == fresh.decide(
                    combo, resource, action
                )
    assert overlay.scope_decide("read:documents", "documents", "read").allowed


def test_overlay_leaves_the_project_policy_untouched(example_policy: Policy) -> None:
    """Merging an org does not change what the shared project policy answers."""
    base = example_policy.compile()
    before = base.permissions(["archivist", "doc_lead"])
    base.with_org(ORG)
    assert base.permissions(["archivist", "doc_lead"]) == before
    assert not base.allows(["doc_lead"], "documents", "delete")
    assert base.with_org(ORG).allows(["doc_lead"], "documents", "delete")


def test_overlay_validates_the_org_roles(example_policy: Policy) -> None:
    """An org role that redefines a project role is refused, naming it."""
    bad = OrgPolicy.parse({"roles": [{"role_id": "editor", "permissions": []}]})
    with pytest.raises(PolicyError, match="'editor' already exists"):
        example_policy.compile().with_org(bad)


def test_rebased_equals_a_fresh_merge_onto_the_new_policy(example_policy: Policy) -> None:
    """A merged policy rebased onto a changed project policy answers like merging the org
    policy onto it from scratch, also when a role stopped fitting (then it is ignored and
    reported)."""
    merged = example_policy.compile().with_org(ORG)
    data = example_policy.to_json()
    for resource in data["resources"]:
        if resource["resource_id"] == "projects":
            resource["actions"].remove("archive")
    for role in data["roles"]:
        for permission in role["permissions"]:
            if "archive" in permission["actions"]:
                permission["actions"].remove("archive")
    for project in (example_policy.compile(), Policy.parse(data).compile()):
        rebased, problems = merged.rebased(project)
        fresh, expected = project.with_fitting_org_roles(ORG)
        assert problems == expected
        assert rebased.base is project
        assert rebased.role_ids == fresh.role_ids
        for combo in (["doc_lead"], ["archivist"], ["viewer", "archivist"]):
            assert rebased.permissions(combo) == fresh.permissions(combo)
    assert [p.subject for p in problems] == ["archivist"]
    assert project.rebased(project) == (project, ())
