"""How the facade loads, compiles and merges policies at scale (issue 14, items 11, 13-15).

* 11: org custom roles that no longer fit a changed project policy are ignored (as in
  Stytch's own check), logged once, and the outcome is cached, instead of every
  check of the organization's members raising ``PolicyError``.
* 13: a refresh compiles in a worker thread (the event loop never waits for it), an
  unchanged policy gives back the object already cached, a changed one is swapped in
  whole.
* 14: merged org policies survive an unchanged project-policy refresh.
* 15: an organization's policy is fetched only for a member holding a role id the
  project policy does not define.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import pytest

from stytch_rbac import CompiledPolicy, OrgPolicy, Policy, UnknownPermission
from stytch_rbac.client import StytchRBAC
from stytch_rbac.emulator import Emulator
from stytch_rbac.testing import MemberFactory

EXAMPLE_POLICY = Path(__file__).resolve().parent.parent / "examples" / "policy.json"

pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(EXAMPLE_POLICY)]

ORG_ROLES: dict[str, Any] = {
    "roles": [
        {
            "role_id": "archivist",
            "description": "archives projects, reads billing",
            "permissions": [
                {"resource_id": "projects", "actions": ["archive"]},
                {"resource_id": "billing", "actions": ["read"]},
            ],
        },
        {
            "role_id": "lead",
            "description": "every documents action",
            "permissions": [{"resource_id": "documents", "actions": ["*"]}],
        },
    ]
}


def example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE_POLICY.read_text())
    return data


def without_archive() -> dict[str, Any]:
    """The example policy with ``projects:archive`` gone: the org role ``archivist`` no
    longer fits it (Stytch's validate_org_policy would refuse it now)."""
    data = example()
    for resource in data["resources"]:
        if resource["resource_id"] == "projects":
            resource["actions"].remove("archive")
    for role in data["roles"]:
        for permission in role["permissions"]:
            if "archive" in permission["actions"]:
                permission["actions"].remove("archive")
    return data


async def until(condition: Any) -> None:
    """Yield to other tasks until ``condition()`` holds; the bound is only a hang guard."""
    with anyio.fail_after(30):
        while not condition():  # noqa: ASYNC110  (what it waits for signals no event)
            await anyio.sleep(0.001)


# -- 11: org roles that no longer fit ------------------------------------------------------------


async def test_org_roles_that_no_longer_fit_are_ignored_and_logged_once(
    stytch_emulator: Emulator,
    stytch_rbac: StytchRBAC,
    member: MemberFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After the project policy drops an action an org role grants, that role grants
    nothing, every other role still does, no check raises, and one WARNING names the
    role, however many checks and org-policy refreshes follow."""
    caplog.set_level(logging.WARNING, logger="stytch_rbac")
    org = member.organization().organization_id
    stytch_emulator.set_org_policy(org, ORG_ROLES)
    stytch_emulator.set_policy(without_archive())
    holder = await stytch_rbac.authenticate(session_jwt=member(["archivist", "lead"]).session_jwt)
    for _ in range(3):
        assert await stytch_rbac.is_authorized(holder, "documents", "delete")  # lead still grants
        assert not await stytch_rbac.is_authorized(holder, "billing", "read")  # archivist ignored
        assert await stytch_rbac.is_authorized(holder, "documents", "read")
        with pytest.raises(UnknownPermission):
            await stytch_rbac.is_authorized(holder, "projects", "archive")
    merged = await stytch_rbac.policy(org)
    assert await stytch_rbac.policy(org) is merged  # the outcome is cached, not redone
    assert "lead" in merged.role_ids
    assert "archivist" not in merged.role_ids
    stytch_emulator.advance_time(301)  # the org policy is fetched again: same roles
    await stytch_rbac.refresh_policy(org)
    assert not await stytch_rbac.is_authorized(holder, "billing", "read")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert f"organization {org}" in warnings[0]
    assert "'archivist'" in warnings[0]
    assert "'lead'" not in warnings[0]
    assert "undefined action 'archive'" in warnings[0]


async def test_org_roles_fit_again_when_the_project_policy_does(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """An ignored org role grants again once the project policy defines what it needs."""
    org = member.organization().organization_id
    stytch_emulator.set_org_policy(org, ORG_ROLES)
    stytch_emulator.set_policy(without_archive())
    holder = await stytch_rbac.authenticate(session_jwt=member(["archivist"]).session_jwt)
    assert not await stytch_rbac.is_authorized(holder, "billing", "read")
    stytch_emulator.set_policy(example())
    await stytch_rbac.refresh_policy()
    assert await stytch_rbac.is_authorized(holder, "billing", "read")
    assert await stytch_rbac.is_authorized(holder, "projects", "archive")


async def test_org_roles_that_stop_fitting_after_a_merge_are_ignored_then_fit_again(
    stytch_emulator: Emulator,
    stytch_rbac: StytchRBAC,
    member: MemberFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Roles merged while they fitted are ignored (and logged) once a project-policy refresh
    makes them unfit, and grant again after the next refresh makes them fit."""
    caplog.set_level(logging.WARNING, logger="stytch_rbac")
    org = member.organization().organization_id
    stytch_emulator.set_org_policy(org, ORG_ROLES)
    holder = await stytch_rbac.authenticate(session_jwt=member(["archivist"]).session_jwt)
    assert await stytch_rbac.is_authorized(holder, "billing", "read")
    stytch_emulator.set_policy(without_archive())
    await stytch_rbac.refresh_policy()
    assert not await stytch_rbac.is_authorized(holder, "billing", "read")
    assert any("'archivist'" in r.getMessage() for r in caplog.records)
    stytch_emulator.set_policy(example())
    await stytch_rbac.refresh_policy()
    assert await stytch_rbac.is_authorized(holder, "billing", "read")
    assert await stytch_rbac.is_authorized(holder, "projects", "archive")


# -- 13: refreshes off the event loop ------------------------------------------------------------


async def test_an_unchanged_policy_refresh_keeps_the_compiled_policy(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, caplog: pytest.LogCaptureFixture
) -> None:
    """A refresh that fetches the same policy (a new request_id) returns the object already
    cached and logs nothing; a changed one is a new object, logged as a change."""
    caplog.set_level(logging.INFO, logger="stytch_rbac")
    first = await stytch_rbac.policy()
    assert await stytch_rbac.refresh_policy() is first
    stytch_emulator.advance_time(301)
    assert await stytch_rbac.refresh_policy() is first
    assert stytch_emulator.requests["rbac.policy"] == 3
    messages = [r.getMessage() for r in caplog.records]
    assert sum("RBAC policy loaded" in m for m in messages) == 1
    assert not any("RBAC policy changed" in m for m in messages)
    stytch_emulator.set_policy(without_archive())
    changed = await stytch_rbac.refresh_policy()
    assert changed is not first
    assert not changed.is_known("projects", "archive")
    assert any("RBAC policy changed" in r.getMessage() for r in caplog.records)


async def test_a_policy_is_compiled_in_a_worker_thread_and_swapped_in_whole(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """While the compile of a fetched policy waits for a worker thread, the event loop goes
    on and every check answers from the old policy; once compiled, from the new one."""
    viewer = await stytch_rbac.authenticate(session_jwt=member(["viewer"]).session_jwt)
    assert not await stytch_rbac.is_authorized(viewer, "documents", "edit")
    data = example()
    for role in data["roles"]:
        if role["role_id"] == "viewer":
            role["permissions"][0]["actions"].append("edit")
    stytch_emulator.set_policy(data)
    limiter = anyio.to_thread.current_default_thread_limiter()
    tokens = limiter.total_tokens
    limiter.total_tokens = 1
    refreshed: list[CompiledPolicy] = []

    async def refresh() -> None:
        refreshed.append(await stytch_rbac.refresh_policy())

    try:
        # The only worker thread is taken: the compile must wait for it.
        async with anyio.create_task_group() as tg, limiter:
            tg.start_soon(refresh)
            await until(lambda: bool(refreshed) or limiter.statistics().tasks_waiting > 0)
            assert not refreshed, "the policy was compiled on the event loop"
            assert stytch_emulator.requests["rbac.policy"] == 2  # fetched, waiting
            for _ in range(20):  # the loop runs; checks answer from the old policy
                assert not await stytch_rbac.is_authorized(viewer, "documents", "edit")
                await anyio.lowlevel.checkpoint()
    finally:
        limiter.total_tokens = tokens
    assert await stytch_rbac.is_authorized(viewer, "documents", "edit")
    assert refreshed[0] is await stytch_rbac.policy()


async def test_an_unusable_policy_keeps_the_cached_one(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC
) -> None:
    """A refreshed body that is not a usable policy is StytchUnavailable; the cached policy
    stays in force."""
    from stytch_rbac import StytchUnavailable

    first = await stytch_rbac.policy()
    stytch_emulator.faults.garbage("rbac.policy")
    with pytest.raises(StytchUnavailable):
        await stytch_rbac.refresh_policy()
    stytch_emulator.faults.clear()
    assert await stytch_rbac.policy() is first
    assert await stytch_rbac.refresh_policy() is first


# -- 14: merges survive an unchanged project policy ---------------------------------------------


async def test_an_unchanged_project_policy_keeps_every_merged_org_policy(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """After a refresh that finds the same project policy, an organization's merged policy
    is the very object merged before: nothing is merged again."""
    org = member.organization().organization_id
    stytch_emulator.set_org_policy(org, ORG_ROLES)
    merged = await stytch_rbac.policy(org)
    stytch_emulator.advance_time(301)
    await stytch_rbac.refresh_policy()
    assert await stytch_rbac.policy(org) is merged


# -- 15: org policies only when they can change the answer --------------------------------------


async def test_members_holding_only_project_roles_fetch_no_org_policy(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """Every decision for members whose roles are all project roles (stytch_member and
    stytch_admin included) is made without the organization's policy, even where that
    organization has custom roles; a member holding a custom role fetches it once."""
    org = member.organization().organization_id
    stytch_emulator.set_org_policy(org, ORG_ROLES)
    guard = stytch_rbac.require("documents:edit")
    principals = []
    for roles in (["editor"], ["viewer"], ["stytch_admin"], []):
        principal = await stytch_rbac.authenticate(session_jwt=member(roles).session_jwt)
        assert await stytch_rbac.is_authorized(principal, "documents", "edit") == (
            roles == ["editor"]
        )
        await stytch_rbac.explain(principal, "billing", "read")
        await stytch_rbac.permissions(principal)
        if roles == ["editor"]:
            assert await guard.check(principal) is principal
        principals.append(principal)
    assert stytch_emulator.requests["rbac.org_policy"] == 0
    for principal in principals:
        assert await stytch_rbac.policy_for(principal) is await stytch_rbac.policy()
    lead = await stytch_rbac.authenticate(session_jwt=member(["lead"]).session_jwt)
    for _ in range(3):
        assert await stytch_rbac.is_authorized(lead, "documents", "delete")
        assert await guard.check(lead) is lead
    assert stytch_emulator.requests["rbac.org_policy"] == 1
    assert await stytch_rbac.policy_for(lead) is await stytch_rbac.policy(org)


async def test_decisions_without_the_org_policy_equal_the_merged_policy(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """For members of every role combination, what the facade answers (with or without
    fetching the org policy) equals the fully merged policy compiled from scratch."""
    org = member.organization().organization_id
    stytch_emulator.set_org_policy(org, ORG_ROLES)
    merged = CompiledPolicy(Policy.parse(example()).merged(OrgPolicy.parse(ORG_ROLES)))
    for roles in (["viewer"], ["editor", "auditor"], ["lead"], ["viewer", "archivist"], ["owner"]):
        principal = await stytch_rbac.authenticate(session_jwt=member(roles).session_jwt)
        assert await stytch_rbac.permissions(principal) == merged.permissions(principal.roles)
        for resource, actions in merged.resources.items():
            for action in actions:
                expected = merged.decide(principal.roles, resource, action)
                assert await stytch_rbac.explain(principal, resource, action) == expected
