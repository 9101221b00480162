"""``stytch-rbac pull``, ``plan`` and ``push`` end to end against the emulator's Management API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from starlette.types import Receive, Scope, Send
from typer.testing import CliRunner, Result

from stytch_rbac import OrgPolicy, Policy, StytchRBAC
from stytch_rbac.cli import EXIT_BAD_INPUT, EXIT_DENIED, EXIT_OK
from stytch_rbac.cli._app import app
from stytch_rbac.codegen import default_command, generate
from stytch_rbac.emulator import Emulator
from stytch_rbac.policy.management import from_management, management_document
from stytch_rbac.policy.plan import org_sha256
from stytch_rbac.serving import ThreadServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
EXIT_CHANGES = 2
ENV: dict[str, str | None] = {
    "COLUMNS": "200",
    "TTY_COMPATIBLE": "0",
    "NO_COLOR": "1",
    "STYTCH_RBAC_DEBUG": None,
    "STYTCH_PROJECT_ID": None,
    "STYTCH_SECRET": None,
    "STYTCH_BASE_URL": None,
    "STYTCH_WORKSPACE_KEY_ID": None,
    "STYTCH_WORKSPACE_KEY_SECRET": None,
    "STYTCH_MANAGEMENT_URL": None,
}


@dataclass
class Remote:
    """A served emulator, the environment pointing the CLI at it, and a working folder."""

    emu: Emulator
    env: dict[str, str | None]
    folder: Path

    @property
    def file(self) -> Path:
        """The policy file pull writes."""
        return self.folder / "policy.json"

    @property
    def lock(self) -> dict[str, Any]:
        """The lock file's content."""
        return dict(json.loads((self.folder / "stytch-rbac.lock.json").read_text()))

    def run(self, *args: str, **env: str | None) -> Result:
        """Invoke the real app in-process with this environment."""
        return CliRunner().invoke(app, list(args), env=ENV | self.env | env)

    def edit(self, change: Any) -> None:
        """Rewrite the policy file through ``change(data)``."""
        data = json.loads(self.file.read_text())
        change(data)
        self.file.write_text(json.dumps(data, indent=2))


def _role(data: dict[str, Any], role_id: str) -> dict[str, Any]:
    return next(r for r in data["roles"] if r["role_id"] == role_id)


def real_change(data: dict[str, Any]) -> None:
    """The change of the report: viewer gains billing:read, auditor loses audit_logs:export."""
    _role(data, "viewer")["permissions"].append({"resource_id": "billing", "actions": ["read"]})
    for perm in _role(data, "auditor")["permissions"]:
        if perm["resource_id"] == "audit_logs":
            perm["actions"] = [a for a in perm["actions"] if a != "export"]


def additive_change(data: dict[str, Any]) -> None:
    """viewer gains billing:read, nothing is removed."""
    _role(data, "viewer")["permissions"].append({"resource_id": "billing", "actions": ["read"]})


def _env(emu: Emulator, base_url: str) -> dict[str, str | None]:
    return {
        "STYTCH_WORKSPACE_KEY_ID": emu.workspace_key_id,
        "STYTCH_WORKSPACE_KEY_SECRET": emu.workspace_key_secret,
        "STYTCH_MANAGEMENT_URL": base_url,
        "STYTCH_SECRET": emu.secret,
        "STYTCH_BASE_URL": base_url,
    }


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Remote]:
    """The example policy served by an emulator, pulled into ``tmp_path``."""
    emu = Emulator(policy=EXAMPLE)
    with emu.serve_in_thread() as base_url:
        r = Remote(emu, _env(emu, base_url), tmp_path)
        pulled = r.run("pull", "--project", emu.project_slug, "-o", str(r.file))
        assert pulled.exit_code == EXIT_OK, pulled.output
        yield r


def _auditor_has_export(policy: Policy) -> bool:
    return policy.compile().allows({"auditor"}, "audit_logs", "export")


# --- pull -------------------------------------------------------------------------------------


def test_pull_writes_the_runtime_policy_and_a_lock(remote: Remote) -> None:
    """The file is the emulator's policy in the runtime shape (Stytch's default-role texts),
    and the lock records the slugs, the runtime project id and the remote sha256."""
    pulled = Policy.from_file(remote.file)
    assert pulled == from_management(management_document(remote.emu.policy))
    lock = remote.lock
    assert (lock["project_slug"], lock["environment_slug"], lock["project_id"]) == (
        "emulator",
        "test",
        remote.emu.project_id,
    )
    assert lock["policy"]["remote_sha256"] == pulled.sha256()
    assert lock["policy"]["path"] == "policy.json"
    assert lock["synced_at"].endswith("Z")


def test_pull_finds_the_project_by_runtime_id(remote: Remote) -> None:
    """--project-id finds the project and environment whose runtime id it is; an unknown one
    is a one-line error."""
    out = remote.folder / "other.json"
    found = remote.run("pull", "--project-id", remote.emu.project_id, "-o", str(out), "--json")
    assert found.exit_code == EXIT_OK, found.output
    assert json.loads(found.stdout)["project_slug"] == "emulator"
    missing = remote.run("pull", "--project-id", "project-test-nope", "-o", str(out))
    assert missing.exit_code == EXIT_BAD_INPUT
    assert "no environment matches" in missing.stderr


def test_pull_without_a_workspace_key_names_the_variables(remote: Remote) -> None:
    """No workspace key in the environment is exit 2 naming both variables; the project secret
    is not taken in its place."""
    result = remote.run(
        "pull", "--project", "emulator", "-o", str(remote.file), STYTCH_WORKSPACE_KEY_ID=None
    )
    assert result.exit_code == EXIT_BAD_INPUT
    assert "STYTCH_WORKSPACE_KEY_ID" in result.stderr
    wrong = remote.run(
        "pull",
        "--project",
        "emulator",
        "-o",
        str(remote.file),
        STYTCH_WORKSPACE_KEY_SECRET=remote.emu.secret,
    )
    assert wrong.exit_code == EXIT_BAD_INPUT
    assert "401 for" in wrong.stderr


# --- plan -------------------------------------------------------------------------------------


def test_plan_without_changes_exits_0(remote: Remote) -> None:
    """Right after a pull the plan has nothing to do: exit 0 and says so."""
    result = remote.run("plan", str(remote.file))
    assert result.exit_code == EXIT_OK, result.output
    assert "No changes" in result.stdout


def test_plan_with_changes_exits_2_and_lists_effective_grants(remote: Remote) -> None:
    """A role given a permission and another losing one: exit 2, each grant named in text,
    markdown and JSON, and the removal flagged."""
    remote.edit(real_change)
    text = remote.run("plan", str(remote.file))
    assert text.exit_code == EXIT_CHANGES, text.output
    assert "+ role viewer: billing:read" in text.stdout
    assert "- role auditor: audit_logs:export" in text.stdout
    markdown = remote.run("plan", str(remote.file), "--format", "markdown")
    assert markdown.exit_code == EXIT_CHANGES
    assert "| **+** added | role `viewer` | `billing` | `read` |" in markdown.stdout
    assert "Removals (push needs --allow-removals)" in markdown.stdout
    data = json.loads(remote.run("plan", str(remote.file), "--format", "json").stdout)
    assert data["changed"] is True
    assert data["diff"]["grants_added"] == [
        {"role": "viewer", "resource": "billing", "action": "read"}
    ]
    assert data["removals"] == ["role auditor: audit_logs:export"]
    assert data["remote_sha256"] == remote.lock["policy"]["remote_sha256"]


def test_plan_expands_wildcards_before_comparing(remote: Remote) -> None:
    """Replacing '*' by the resource's full action list changes no grant: exit 0."""
    resources = {r.resource_id: r.actions for r in Policy.from_file(remote.file).resources}

    def spell_out(data: dict[str, Any]) -> None:
        for perm in _role(data, "owner")["permissions"]:
            if perm["actions"] == ["*"] and not perm["resource_id"].startswith("stytch."):
                perm["actions"] = list(resources[perm["resource_id"]])

    remote.edit(spell_out)
    result = remote.run("plan", str(remote.file))
    assert result.exit_code == EXIT_OK, result.output


def test_plan_reports_a_change_made_outside_code(remote: Remote) -> None:
    """A change at Stytch since the pull is drift: reported with what changed, exit 2 (the
    local file would undo it)."""
    data = remote.emu.policy.to_json()
    _role(data, "viewer")["permissions"].append({"resource_id": "webhooks", "actions": ["read"]})
    remote.emu.set_policy(data)
    result = remote.run("plan", str(remote.file), "--format", "markdown")
    assert result.exit_code == EXIT_CHANGES, result.output
    assert "Drift: the remote changed outside code since the last pull" in result.stdout
    assert "| **+** added | role `viewer` | `webhooks` | `read` |" in result.stdout
    data = json.loads(remote.run("plan", str(remote.file), "--json").stdout)
    assert data["drifted"] is True
    assert data["diff"]["grants_removed"] == [
        {"role": "viewer", "resource": "webhooks", "action": "read"}
    ]


def test_plan_errors_exit_1_never_2(remote: Remote) -> None:
    """Every error of plan is terraform's 1 (2 means changes): a policy Stytch would refuse, a
    missing file, no credentials, an unreachable Stytch."""
    remote.edit(
        lambda d: _role(d, "viewer")["permissions"].append(
            {"resource_id": "billing", "actions": ["fly"]}
        )
    )
    invalid = remote.run("plan", str(remote.file))
    assert invalid.exit_code == EXIT_DENIED, invalid.output
    assert "undefined-action" in invalid.stdout
    missing = remote.run("plan", str(remote.folder / "nope.json"), "--json")
    assert missing.exit_code == EXIT_DENIED
    assert json.loads(missing.stderr)["error"]["exit_code"] == EXIT_DENIED
    no_key = remote.run("plan", str(remote.file), STYTCH_WORKSPACE_KEY_ID=None)
    assert no_key.exit_code == EXIT_DENIED
    remote.emu.faults.fail("management.rbac_policy.get", status=503, times=10)
    down = remote.run("plan", str(remote.file))
    assert down.exit_code == EXIT_DENIED, down.output
    remote.emu.faults.clear()


# --- push -------------------------------------------------------------------------------------


def test_push_sends_verifies_and_updates_the_lock(remote: Remote) -> None:
    """An additive change is pushed: the runtime policy changes, the lock records the new
    sha, and the next plan is empty."""
    remote.edit(additive_change)
    result = remote.run("push", str(remote.file))
    assert result.exit_code == EXIT_OK, result.output
    assert "verified" in result.stdout
    assert remote.emu.policy.compile().allows({"viewer"}, "billing", "read")
    seen = from_management(management_document(remote.emu.policy))  # as the API shows it
    assert remote.lock["policy"]["remote_sha256"] == seen.sha256()
    assert remote.run("plan", str(remote.file)).exit_code == EXIT_OK
    again = remote.run("push", str(remote.file))
    assert again.exit_code == EXIT_OK
    assert "nothing to push" in again.stdout


def test_push_refuses_removals_without_allow_removals(remote: Remote) -> None:
    """A grant removed: refused (exit 1, nothing sent) until --allow-removals is given."""
    remote.edit(real_change)
    refused = remote.run("push", str(remote.file), "--json")
    assert refused.exit_code == EXIT_DENIED, refused.output
    assert json.loads(refused.stderr)["error"]["code"] == "push-refused"
    assert "auditor: audit_logs:export" in refused.stderr
    assert _auditor_has_export(remote.emu.policy)
    assert remote.emu.requests["management.rbac_policy.set"] == 0
    allowed = remote.run("push", str(remote.file), "--allow-removals")
    assert allowed.exit_code == EXIT_OK, allowed.output
    assert not _auditor_has_export(remote.emu.policy)


def test_push_refuses_when_the_remote_changed_since_the_plan(remote: Remote) -> None:
    """Someone changed Stytch after the pull: push refuses (exit 1) and changes nothing; with
    the sha of a fresh plan (--expect-sha) it goes through."""
    remote.edit(additive_change)
    data = remote.emu.policy.to_json()
    _role(data, "editor")["description"] = "changed in the dashboard"
    remote.emu.set_policy(data)
    before = remote.emu.policy
    refused = remote.run("push", str(remote.file), "--json")
    assert refused.exit_code == EXIT_DENIED, refused.output
    assert json.loads(refused.stderr)["error"]["code"] == "remote-changed"
    assert remote.emu.policy is before
    planned = json.loads(remote.run("plan", str(remote.file), "--json").stdout)
    assert planned["drifted"] is True
    ok = remote.run("push", str(remote.file), "--expect-sha", planned["remote_sha256"])
    assert ok.exit_code == EXIT_OK, ok.output
    assert remote.emu.policy.compile().allows({"viewer"}, "billing", "read")


def test_push_refuses_a_policy_stytch_would_refuse(remote: Remote) -> None:
    """A grant of an undefined action is refused locally, with the problem named."""
    remote.edit(
        lambda d: _role(d, "viewer")["permissions"].append(
            {"resource_id": "billing", "actions": ["fly"]}
        )
    )
    result = remote.run("push", str(remote.file))
    assert result.exit_code == EXIT_DENIED
    assert "'fly'" in result.stderr
    assert remote.emu.requests["management.rbac_policy.set"] == 0


def test_push_regenerates_the_typed_module(remote: Remote) -> None:
    """--generate writes the Python and TypeScript modules of the pushed file in the same run,
    and `check` finds them current."""
    remote.edit(additive_change)
    module, typescript = remote.folder / "permissions.py", remote.folder / "permissions.ts"
    result = remote.run(
        "push", str(remote.file), "--generate", str(module), "--generate", str(typescript)
    )
    assert result.exit_code == EXIT_OK, result.output
    command = default_command(policy=remote.file.as_posix(), output=module.as_posix())
    assert module.read_text() == generate(Policy.from_file(remote.file), command=command)
    checked = remote.run("check", str(module), str(typescript), "--policy", str(remote.file))
    assert checked.exit_code == EXIT_OK, checked.output


class _LostRace:
    """The emulator's app, with another writer winning the race right after each policy PUT."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.emu.app(scope, receive, send)
        if scope["type"] == "http" and scope["method"] == "PUT" and "rbac_policy" in scope["path"]:
            data = self.emu.policy.to_json()
            data["roles"] = [r for r in data["roles"] if r["role_id"] != "viewer"]
            self.emu.set_policy(data)


def test_push_reads_back_and_reports_a_policy_that_is_not_the_one_sent(tmp_path: Path) -> None:
    """When the policy read back after the PUT differs from what was sent, push fails (exit 1,
    verify-failed) and leaves the lock as it was."""
    emu = Emulator(policy=EXAMPLE)
    server = ThreadServer(_LostRace(emu), host="127.0.0.1", port=0)
    server.start()
    try:
        r = Remote(emu, _env(emu, server.base_url), tmp_path)
        assert r.run("pull", "--project", "emulator", "-o", str(r.file)).exit_code == EXIT_OK
        locked = r.lock
        r.edit(additive_change)
        result = r.run("push", str(r.file), "--json")
        assert result.exit_code == EXIT_DENIED, result.output
        error = json.loads(result.stderr)["error"]
        assert error["code"] == "verify-failed"
        assert "read-back" in error["message"]
        assert r.lock == locked
    finally:
        server.stop()


# --- organizations ----------------------------------------------------------------------------

ORG_ROLE = {
    "role_id": "acme_reviewer",
    "description": "",
    "permissions": [{"resource_id": "documents", "actions": ["read"]}],
}


def test_org_policies_are_pulled_planned_and_pushed(remote: Remote) -> None:
    """--organization pulls an org's custom roles next to the policy and into the lock; an edit
    is planned (exit 2) and pushed through PUT rbac/organizations, read back and locked."""
    org = remote.emu.create_organization("Acme", slug="acme").organization_id
    remote.emu.set_org_policy(org, {"roles": [ORG_ROLE]})
    pulled = remote.run("pull", "-o", str(remote.file), "--organization", org)
    assert pulled.exit_code == EXIT_OK, pulled.output
    org_file = remote.folder / "org-policies" / f"{org}.json"
    assert json.loads(org_file.read_text())["org_policy"]["roles"][0]["role_id"] == "acme_reviewer"
    assert org in remote.lock["organizations"]
    assert remote.run("plan", str(remote.file)).exit_code == EXIT_OK
    data = json.loads(org_file.read_text())
    data["org_policy"]["roles"][0]["permissions"][0]["actions"].append("download")
    org_file.write_text(json.dumps(data))
    planned = remote.run("plan", str(remote.file), "--format", "markdown")
    assert planned.exit_code == EXIT_CHANGES, planned.output
    assert f"Organization `{org}`" in planned.stdout
    assert "role `acme_reviewer` | `documents` | `download`" in planned.stdout
    pushed = remote.run("push", str(remote.file))
    assert pushed.exit_code == EXIT_OK, pushed.output
    answer = httpx.get(
        f"{remote.env['STYTCH_BASE_URL']}/v1/b2b/rbac/organizations/{org}",
        auth=(remote.emu.project_id, remote.emu.secret),
    )
    saved = OrgPolicy.parse(answer.json())
    assert (
        remote.emu.policy.merged(saved).compile().allows({"acme_reviewer"}, "documents", "download")
    )
    assert org_sha256(saved) == remote.lock["organizations"][org]["remote_sha256"]
    assert remote.run("plan", str(remote.file)).exit_code == EXIT_OK


def test_an_org_policy_stytch_would_refuse_is_a_plan_error(remote: Remote) -> None:
    """An org role on a resource the project does not define is an error of the plan (exit 1)."""
    org = remote.emu.create_organization("Acme", slug="acme").organization_id
    assert remote.run("pull", "-o", str(remote.file), "--organization", org).exit_code == EXIT_OK
    org_file = remote.folder / "org-policies" / f"{org}.json"
    bad = {**ORG_ROLE, "permissions": [{"resource_id": "nowhere", "actions": ["read"]}]}
    org_file.write_text(json.dumps({"org_policy": {"roles": [bad]}}))
    result = remote.run("plan", str(remote.file))
    assert result.exit_code == EXIT_DENIED, result.output
    assert f"organization {org}" in result.stdout


# --- a running application --------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.stytch_policy("examples/policy.json")
async def test_a_running_app_picks_up_a_push_within_its_ttl(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, tmp_path: Path
) -> None:
    """A StytchRBAC already serving decisions sees a pushed grant once its policy TTL has
    passed on the shared clock, without a restart."""
    org = stytch_emulator.create_organization("Acme", slug="acme")
    member = stytch_emulator.create_member(org.organization_id, "v@acme.test", roles=["viewer"])
    session = stytch_emulator.create_session(member.member_id)
    viewer = await stytch_rbac.authenticate(session_jwt=session.session_jwt)
    assert not await stytch_rbac.is_authorized(viewer, "billing", "read")
    with stytch_emulator.serve_in_thread() as base_url:
        r = Remote(stytch_emulator, _env(stytch_emulator, base_url), tmp_path)

        def pull_edit_push() -> Result:
            assert r.run("pull", "--project", "emulator", "-o", str(r.file)).exit_code == 0
            r.edit(additive_change)
            return r.run("push", str(r.file))

        pushed = await anyio.to_thread.run_sync(pull_edit_push)
    assert pushed.exit_code == EXIT_OK, pushed.output
    assert not await stytch_rbac.is_authorized(viewer, "billing", "read")  # cached, within TTL
    stytch_emulator.advance_time(stytch_rbac.policy_ttl + 1)
    with anyio.fail_after(30):  # hang guard only: the background refresh is awaited, not timed
        while not await stytch_rbac.is_authorized(viewer, "billing", "read"):  # noqa: ASYNC110
            await anyio.sleep(0.01)


def test_plan_lints_with_the_given_admin_roles(remote: Remote) -> None:
    """--admin-role lets a role hold '*' on stytch.* resources without a lint finding."""
    default = json.loads(remote.run("plan", str(remote.file), "--json").stdout)
    assert any(f["code"] == "stytch-wildcard" for f in default["lint"])
    owner = remote.run(
        "plan", str(remote.file), "--json", "--admin-role", "stytch_admin", "--admin-role", "owner"
    )
    assert owner.exit_code == EXIT_OK, owner.output
    assert not any(f["code"] == "stytch-wildcard" for f in json.loads(owner.stdout)["lint"])


def test_a_push_failing_half_way_locks_what_went_through(remote: Remote) -> None:
    """The project policy is pushed, then Stytch fails the org policy's PUT: the lock records
    the pushed project policy (no drift next time) and the org still to push."""
    org = remote.emu.create_organization("Acme", slug="acme").organization_id
    remote.emu.set_org_policy(org, {"roles": [ORG_ROLE]})
    assert remote.run("pull", "-o", str(remote.file), "--organization", org).exit_code == EXIT_OK
    remote.edit(additive_change)
    org_file = remote.folder / "org-policies" / f"{org}.json"
    data = json.loads(org_file.read_text())
    data["org_policy"]["roles"][0]["permissions"][0]["actions"].append("download")
    org_file.write_text(json.dumps(data))
    remote.emu.faults.fail("rbac.organizations.set_org_policy", status=500, times=1)
    failed = remote.run("push", str(remote.file))
    assert failed.exit_code == 3, failed.output
    assert remote.emu.policy.compile().allows({"viewer"}, "billing", "read")
    planned = json.loads(remote.run("plan", str(remote.file), "--json").stdout)
    assert planned["drifted"] is False
    assert [o["organization_id"] for o in planned["organizations"] if o["changed"]] == [org]
    assert planned["diff"]["grants_added"] == []
    assert remote.run("push", str(remote.file)).exit_code == EXIT_OK
    assert remote.run("plan", str(remote.file)).exit_code == EXIT_OK


def test_pull_again_takes_the_project_and_organizations_from_the_lock(remote: Remote) -> None:
    """A second pull with no options re-reads the lock's project and organizations, so a
    dashboard change comes into the file and the lock, and the plan is empty again."""
    org = remote.emu.create_organization("Acme", slug="acme").organization_id
    assert remote.run("pull", "-o", str(remote.file), "--organization", org).exit_code == EXIT_OK
    data = remote.emu.policy.to_json()
    _role(data, "viewer")["permissions"].append({"resource_id": "webhooks", "actions": ["read"]})
    remote.emu.set_policy(data)
    remote.emu.set_org_policy(org, {"roles": [ORG_ROLE]})
    again = remote.run("pull", "-o", str(remote.file), "--json")
    assert again.exit_code == EXIT_OK, again.output
    assert json.loads(again.stdout)["organizations"] == [org]
    assert Policy.from_file(remote.file).compile().allows({"viewer"}, "webhooks", "read")
    assert remote.run("plan", str(remote.file)).exit_code == EXIT_OK
