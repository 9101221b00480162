"""``stytch-rbac pull``, ``plan`` and ``push``: the policy as code, through Stytch's Management API.

Credentials: the Management API takes a workspace management key,
``STYTCH_WORKSPACE_KEY_ID`` and ``STYTCH_WORKSPACE_KEY_SECRET``
(``STYTCH_MANAGEMENT_URL`` overrides ``https://management.stytch.com``, e.g. the
emulator). Organization custom roles are not in the Management API: they take the
project's secret, ``STYTCH_SECRET`` (``STYTCH_BASE_URL`` as for every command), and
the project id of the chosen environment.

The lock file (:mod:`stytch_rbac.policy.plan`) is ``stytch-rbac.lock.json`` next to
the policy file unless ``--lock`` says otherwise. Exit codes: ``plan`` 0 no
change, 2 changes, 1 any error (``terraform plan -detailed-exitcode``); ``pull`` and
``push`` 0 done, 1 refused, 2 bad input, 3 Stytch unreachable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import anyio
import typer

from .._stytch import Connection, Credentials, fetch_org_policy, open_connection, resolve_base_url
from .._stytch.management import (
    ManagementConnection,
    WorkspaceCredentials,
    get_rbac_policy,
    list_environments,
    list_projects,
    open_management,
    put_org_policy,
    set_rbac_policy,
)
from ..codegen import Lang, default_command
from ..codegen import generate as render_module
from ..errors import PolicyError, StytchRBACError
from ..policy import OrgPolicy, Policy
from ..policy.diff import diff_policies
from ..policy.management import from_management, set_request
from ..policy.plan import LOCK_FILE_NAME, Lock, LockedOrg, Plan, make_plan, org_sha256
from . import EXIT_DENIED, EXIT_UNREACHABLE
from ._common import (
    TIMEOUT,
    JsonOpt,
    _describe,
    _error_exit,
    _exit_code,
    _stytch_failure,
    app,
    console,
    err_console,
    fail,
    load_org_policy_file,
    load_policy_file,
    print_json,
)
from ._fetch_cmd import write_atomically

__all__ = ["EXIT_PLAN_CHANGES", "PlanFormat"]

#: ``plan``'s exit code when a push would change something (0: nothing, 1: an error).
EXIT_PLAN_CHANGES = 2

T = TypeVar("T")


class PlanFormat(StrEnum):
    """``plan --format``."""

    text = "text"
    markdown = "markdown"
    json = "json"


ProjectOpt = Annotated[
    str | None,
    typer.Option("--project", help="Project slug (default: the lock file's).", show_default=False),
]
ProjectIdOpt = Annotated[
    str | None,
    typer.Option(
        "--project-id",
        help="Find the project and environment by runtime project id (project-test-...).",
        show_default=False,
    ),
]
EnvironmentOpt = Annotated[
    str | None,
    typer.Option(
        "--environment",
        help="Environment slug (default: the lock file's, or the project's only one).",
        show_default=False,
    ),
]
LockOpt = Annotated[
    Path | None,
    typer.Option(
        "--lock", help=f"Lock file (default: {LOCK_FILE_NAME} next to FILE).", show_default=False
    ),
]
FileArg = Annotated[Path, typer.Argument(metavar="FILE", help="The policy file.")]


@dataclass(frozen=True, slots=True)
class _Target:
    project_slug: str
    environment_slug: str
    project_id: str

    def __str__(self) -> str:
        return f"{self.project_slug}/{self.environment_slug} ({self.project_id})"


# --- talking to Stytch -------------------------------------------------------------------------


def _workspace() -> WorkspaceCredentials:
    try:
        return WorkspaceCredentials.from_env()
    except ValueError as exc:
        code = "credentials-missing" if "not set" in str(exc) else "usage"
        raise fail(f"the Management API needs a workspace key: {exc}", code=code) from None


def _project_credentials(project_id: str) -> Credentials:
    secret = os.environ.get("STYTCH_SECRET")
    if not secret:
        raise fail(
            "organization custom roles need the project's STYTCH_SECRET in the environment",
            code="credentials-missing",
        )
    try:
        base_url = resolve_base_url(project_id, os.environ.get("STYTCH_BASE_URL") or None)
    except ValueError as exc:
        raise fail(f"STYTCH_BASE_URL: {exc}", code="usage") from None
    return Credentials(project_id, secret, base_url)


def _run(what: str, body: Callable[[ManagementConnection], Awaitable[T]]) -> T:
    """Run ``body`` with a Management API connection; Stytch's errors become one line."""
    workspace = _workspace()

    async def call() -> T:
        async with open_management(workspace, timeout=TIMEOUT) as conn:
            return await body(conn)

    with err_console.status(f"{what} ({workspace.base_url}) ..."):
        try:
            return anyio.run(call)
        except StytchRBACError as exc:
            exit_code = _exit_code(exc)
            code = "stytch-unavailable" if exit_code == EXIT_UNREACHABLE else "stytch-rejected"
            raise fail(
                _stytch_failure(exc, what, workspace.base_url), exit_code, code=code
            ) from None


async def _resolve(
    conn: ManagementConnection, project: str | None, project_id: str | None, env: str | None
) -> _Target:
    """The project and environment named by slug, or found by runtime project id."""
    if project is None and project_id is None:
        raise fail("name the project: --project SLUG or --project-id ID", code="usage")
    slugs = [project] if project else [p["project_slug"] for p in await list_projects(conn)]
    for slug in slugs:
        assert slug is not None
        envs = await list_environments(conn, slug)
        if project_id is not None:
            envs = [e for e in envs if e.get("project_id") == project_id]
        if env is not None:
            envs = [e for e in envs if e.get("environment_slug") == env]
        if len(envs) == 1:
            return _Target(slug, envs[0]["environment_slug"], envs[0]["project_id"])
        if len(envs) > 1:
            names = ", ".join(sorted(e.get("environment_slug", "?") for e in envs))
            raise fail(f"project {slug!r} has several environments ({names}): pass --environment")
    wanted = " ".join(
        f"{k} {v!r}"
        for k, v in (("project", project), ("project id", project_id), ("environment", env))
        if v
    )
    raise fail(f"no environment matches {wanted} in this workspace")


async def _remote_policy(conn: ManagementConnection, target: _Target) -> Policy:
    doc = await get_rbac_policy(conn, target.project_slug, target.environment_slug)
    try:
        return from_management(doc)
    except PolicyError as exc:
        raise fail(
            f"Stytch returned a policy that cannot be used: {exc}", EXIT_UNREACHABLE
        ) from None


async def _remote_org(conn: Connection | None, organization_id: str) -> OrgPolicy:
    assert conn is not None
    body = await fetch_org_policy(conn, organization_id)
    try:
        return OrgPolicy.parse(body)
    except PolicyError as exc:
        raise fail(
            f"Stytch returned an org policy that cannot be used: {exc}", EXIT_UNREACHABLE
        ) from None


# --- files ----------------------------------------------------------------------------------------


def _lock_path(policy_file: Path, lock: Path | None) -> Path:
    return lock if lock is not None else policy_file.parent / LOCK_FILE_NAME


def _read_lock(path: Path, *, required: bool) -> Lock | None:
    if not path.exists():
        if required:
            raise fail(
                f"lock file not found: {path} (run stytch-rbac pull first)", code="file-not-found"
            )
        return None
    try:
        return Lock.parse(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise fail(f"{path}: not valid JSON: {exc}", code="invalid-policy") from None
    except PolicyError as exc:
        raise fail(f"{path}: {exc}", code="invalid-policy") from None


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _policy_text(policy: Policy) -> str:
    return json.dumps(policy.to_json(), indent=2, ensure_ascii=False) + "\n"


def _org_text(org: OrgPolicy) -> str:
    return json.dumps({"org_policy": org.to_json()}, indent=2, ensure_ascii=False) + "\n"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _target_of(
    lock: Lock | None, project: str | None, project_id: str | None, env: str | None
) -> tuple[str | None, str | None, str | None]:
    """The options, the lock's where none is given."""
    if lock is not None and project is None and project_id is None:
        return lock.project_slug, None, env or lock.environment_slug
    return project, project_id, env


def _local_orgs(lock: Lock | None, lock_path: Path) -> list[tuple[LockedOrg, OrgPolicy]]:
    if lock is None:
        return []
    return [(o, load_org_policy_file(lock_path.parent / o.path)) for o in lock.organizations]


# --- pull -----------------------------------------------------------------------------------------


@app.command()
def pull(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="The policy file to write."),
    ] = Path("policy.json"),
    project: ProjectOpt = None,
    project_id: ProjectIdOpt = None,
    environment: EnvironmentOpt = None,
    organization: Annotated[
        list[str] | None,
        typer.Option(
            "--organization",
            help="Also pull this organization's custom roles (repeatable; needs STYTCH_SECRET).",
            show_default=False,
        ),
    ] = None,
    org_dir: Annotated[
        Path | None,
        typer.Option(
            "--org-dir",
            help="Folder of the org policy files (default: org-policies/ next to --output).",
            show_default=False,
        ),
    ] = None,
    lock: LockOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the environment's RBAC policy (runtime shape) and a lock file.

    The project is named by slug (--project) or found by runtime project id
    (--project-id); the lock file records the remote sha256, the slugs and the time,
    so that plan can tell a change made outside code. Exit 0 written, 2 bad input,
    3 Stytch unreachable.
    """
    lock_path = _lock_path(output, lock)
    previous = _read_lock(lock_path, required=False)
    want_project, want_id, want_env = _target_of(previous, project, project_id, environment)
    orgs = list(dict.fromkeys(organization or []))
    if not orgs and previous is not None and project is None and project_id is None:
        orgs = [o.organization_id for o in previous.organizations]

    async def body(
        conn: ManagementConnection,
    ) -> tuple[_Target, Policy, list[tuple[str, OrgPolicy]]]:
        target = await _resolve(conn, want_project, want_id, want_env)
        policy = await _remote_policy(conn, target)
        pulled: list[tuple[str, OrgPolicy]] = []
        if orgs:
            creds = _project_credentials(target.project_id)
            async with open_connection(creds, timeout=TIMEOUT) as project:
                pulled = [(o, await _remote_org(project, o)) for o in orgs]
        return target, policy, pulled

    target, policy, pulled = _run("Pulling the RBAC policy", body)
    write_atomically(output, _policy_text(policy))
    folder = org_dir if org_dir is not None else output.parent / "org-policies"
    locked: list[LockedOrg] = []
    for org_id, org in pulled:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{org_id}.json"
        write_atomically(path, _org_text(org))
        locked.append(LockedOrg(org_id, _relative(path, lock_path.parent), org_sha256(org), org))
    new_lock = Lock(
        project_slug=target.project_slug,
        environment_slug=target.environment_slug,
        project_id=target.project_id,
        policy_path=_relative(output, lock_path.parent),
        remote_sha256=policy.sha256(),
        snapshot=policy,
        synced_at=_now(),
        organizations=tuple(locked),
    )
    write_atomically(lock_path, new_lock.dumps())
    if as_json:
        print_json(
            {
                "output": str(output),
                "lock": str(lock_path),
                "project_slug": target.project_slug,
                "environment_slug": target.environment_slug,
                "project_id": target.project_id,
                "sha256": policy.sha256(),
                "organizations": [o.organization_id for o in locked],
            }
        )
        return
    console.print(
        f"pulled {target}: {len(policy.roles)} roles, {len(policy.resources)} resources, "
        f"{len(policy.scopes)} scopes (sha256 {policy.sha256()[:12]}) to {output}"
        + (f", {len(locked)} org policies" if locked else "")
        + f"; lock {lock_path}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


# --- plan -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Planned:
    plan: Plan
    target: _Target
    remote_orgs: dict[str, OrgPolicy]


def _make_plan(
    file: Path,
    lock_option: Path | None,
    project: str | None,
    project_id: str | None,
    environment: str | None,
    *,
    lock_required: bool,
    admin_roles: list[str] | None = None,
) -> tuple[_Planned, Lock | None, Path, list[tuple[LockedOrg, OrgPolicy]]]:
    local = load_policy_file(file)
    lock_path = _lock_path(file, lock_option)
    lock = _read_lock(lock_path, required=lock_required)
    want_project, want_id, want_env = _target_of(lock, project, project_id, environment)
    local_orgs = _local_orgs(lock, lock_path)

    async def body(conn: ManagementConnection) -> _Planned:
        target = await _resolve(conn, want_project, want_id, want_env)
        remote = await _remote_policy(conn, target)
        remote_orgs: dict[str, OrgPolicy] = {}
        if local_orgs:
            creds = _project_credentials(target.project_id)
            async with open_connection(creds, timeout=TIMEOUT) as project:
                for locked, _ in local_orgs:
                    remote_orgs[locked.organization_id] = await _remote_org(
                        project, locked.organization_id
                    )
        plan = make_plan(
            local,
            remote,
            lock=lock if lock is not None and lock.project_id == target.project_id else None,
            organizations=[
                (o.organization_id, org, remote_orgs[o.organization_id]) for o, org in local_orgs
            ],
            target=str(target),
            admin_roles=tuple(admin_roles or ("stytch_admin",)),
        )
        return _Planned(plan, target, remote_orgs)

    return _run("Planning against the RBAC policy", body), lock, lock_path, local_orgs


@app.command()
def plan(
    file: FileArg,
    output_format: Annotated[
        PlanFormat,
        typer.Option("--format", help="text, markdown (a pull-request comment) or json."),
    ] = PlanFormat.text,
    project: ProjectOpt = None,
    project_id: ProjectIdOpt = None,
    environment: EnvironmentOpt = None,
    lock: LockOpt = None,
    admin_role: Annotated[
        list[str] | None,
        typer.Option(
            "--admin-role",
            help="A role allowed '*' on stytch.* resources, for lint (repeatable; default "
            "stytch_admin).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare the remote policy with FILE: grants ('*' expanded), lint, validation, drift.

    Exit codes follow `terraform plan -detailed-exitcode`: 0 no change, 2 changes,
    1 an error (bad input, Stytch unreachable, or a policy Stytch would refuse).
    """
    fmt = PlanFormat.json if as_json else output_format
    token = _error_exit.set(EXIT_DENIED)
    try:
        planned, _, _, _ = _make_plan(
            file,
            lock,
            project,
            project_id,
            environment,
            lock_required=False,
            admin_roles=admin_role,
        )
    except typer.Exit:
        raise
    except Exception as exc:  # every error is terraform's 1 here (2 means "changes")
        _, code, message = _describe(exc)
        raise fail(message, EXIT_DENIED, code=code) from None
    finally:
        _error_exit.reset(token)
    result = planned.plan
    if fmt is PlanFormat.json:
        print_json(result.to_json())
    elif fmt is PlanFormat.markdown:
        typer.echo(result.to_markdown(), nl=False)
    else:
        typer.echo(result.to_text(), nl=False)
    if result.errors:
        raise typer.Exit(EXIT_DENIED)
    if result.changed:
        raise typer.Exit(EXIT_PLAN_CHANGES)


# --- push -----------------------------------------------------------------------------------------


def _generate(paths: list[Path], policy: Policy, policy_file: Path) -> list[str]:
    """Write each typed module (by suffix: .py, .pyi or .ts) as ``generate`` would."""
    written = []
    for path in paths:
        lang: Lang = "ts" if path.suffix == ".ts" else "python"
        stub = path.suffix == ".pyi"
        command = default_command(
            policy=policy_file.as_posix(), output=path.as_posix(), stub=stub, lang=lang
        )
        write_atomically(path, render_module(policy, stub=stub, command=command, lang=lang))
        written.append(str(path))
    return written


@app.command()
def push(
    file: FileArg,
    expect_sha: Annotated[
        str | None,
        typer.Option(
            "--expect-sha",
            help="The remote sha256 the plan was made against (default: the lock file's).",
            show_default=False,
        ),
    ] = None,
    allow_removals: Annotated[
        bool,
        typer.Option("--allow-removals", help="Push even when roles lose grants."),
    ] = False,
    generate: Annotated[
        list[Path] | None,
        typer.Option(
            "--generate",
            help="Regenerate this typed module after the push (.py, .pyi or .ts; repeatable).",
            show_default=False,
        ),
    ] = None,
    project: ProjectOpt = None,
    project_id: ProjectIdOpt = None,
    environment: EnvironmentOpt = None,
    lock: LockOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send FILE (and the lock's org policies) to Stytch, read it back, update the lock.

    Refuses (exit 1) when the remote is not the one planned (--expect-sha) or
    pulled (the lock), when grants would be removed without --allow-removals, and
    when Stytch is expected to refuse the policy. After the PUT the policy is read
    back and must equal what was sent. Exit 0 pushed (or nothing to push), 1
    refused or not verified, 2 bad input, 3 Stytch unreachable.
    """
    planned, old_lock, lock_path, local_orgs = _make_plan(
        file, lock, project, project_id, environment, lock_required=expect_sha is None
    )
    result, target = planned.plan, planned.target
    if expect_sha is None and old_lock is not None and old_lock.project_id != target.project_id:
        raise fail(
            f"the lock file is for {old_lock.project_id}, not {target.project_id}: pull this "
            "project first, or pass --expect-sha from its plan",
            EXIT_DENIED,
            code="remote-changed",
        )
    expected = expect_sha or (old_lock.remote_sha256 if old_lock else None)
    org_expected = {
        o.organization_id: o.remote_sha256 for o in (old_lock.organizations if old_lock else ())
    }
    moved = [] if expected == result.remote_sha256 else ["the project policy"]
    moved += [
        f"organization {o.organization_id}"
        for o in result.organizations
        if org_expected.get(o.organization_id) not in (None, o.remote_sha256)
    ]
    if moved:
        raise fail(
            f"the remote changed since the plan/pull ({', '.join(moved)}; expected sha256 "
            f"{(expected or '')[:12]}, now {result.remote_sha256[:12]}): run plan again, "
            "review, and pull or pass --expect-sha",
            EXIT_DENIED,
            code="remote-changed",
        )
    if result.errors:
        raise fail(
            f"Stytch is expected to refuse this policy: {result.errors[0]}"
            + (f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""),
            EXIT_DENIED,
            code="push-refused",
        )
    if result.removals and not allow_removals:
        shown = "; ".join(result.removals[:5]) + (" ..." if len(result.removals) > 5 else "")
        raise fail(
            f"the push removes {len(result.removals)} grant(s) or id(s): {shown}; "
            "pass --allow-removals to push them",
            EXIT_DENIED,
            code="push-refused",
        )
    org_changed = {o.organization_id for o in result.organizations if o.changed}
    changed_orgs = [(o, org) for o, org in local_orgs if o.organization_id in org_changed]

    # What Stytch holds after each step that went through, so that the lock records our own
    # pushes even when a later step fails (the next plan would call them drift otherwise).
    done: dict[str, Policy | OrgPolicy] = {}
    creds = _project_credentials(target.project_id) if changed_orgs else None

    async def body(conn: ManagementConnection) -> None:
        if result.project_changed:
            answered = await set_rbac_policy(
                conn, target.project_slug, target.environment_slug, set_request(result.local)
            )
            read_back = await _remote_policy(conn, target)
            for what, got in (
                ("the PUT's answer", from_management(answered)),
                ("the read-back", read_back),
            ):
                if got.sha256() != result.local_sha256:
                    raise fail(
                        f"{what} is not the policy pushed: {_describe_diff(result.local, got)}",
                        EXIT_DENIED,
                        code="verify-failed",
                    )
            done[""] = read_back
        if creds is None:
            return
        async with open_connection(creds, timeout=TIMEOUT) as project:
            for locked, org in changed_orgs:
                await put_org_policy(project, locked.organization_id, org.to_json())
                back = await _remote_org(project, locked.organization_id)
                if org_sha256(back) != org_sha256(org):
                    raise fail(
                        f"the read-back of organization {locked.organization_id} "
                        "is not what was pushed",
                        EXIT_DENIED,
                        code="verify-failed",
                    )
                done[locked.organization_id] = back

    try:
        _run("Pushing the RBAC policy", body)
    finally:
        if done or not result.changed:
            _write_lock_after_push(lock_path, old_lock, file, planned, local_orgs, done)
    pushed = done.get("", result.remote)
    assert isinstance(pushed, Policy)
    # From the file, not the read-back: `generate --check --policy FILE` is what CI runs.
    generated = _generate(list(generate or []), load_policy_file(file), file)
    summary = {
        "target": str(target),
        "pushed": result.changed,
        "remote_sha256": pushed.sha256(),
        "grants_added": len(result.diff.grants_added),
        "grants_removed": len(result.diff.grants_removed),
        "organizations": [o.organization_id for o, _ in changed_orgs],
        "lock": str(lock_path),
        "generated": generated,
    }
    if as_json:
        print_json(summary)
        return
    if not result.changed:
        console.print(
            f"nothing to push: {target} matches {file}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    else:
        console.print(
            f"pushed {file} to {target}: {summary['grants_added']} grant(s) added, "
            f"{summary['grants_removed']} removed"
            + (f", {len(changed_orgs)} org policies" if changed_orgs else "")
            + f"; verified (sha256 {pushed.sha256()[:12]}); lock {lock_path}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    for path in generated:
        err_console.print(f"wrote {path}", highlight=False, markup=False, soft_wrap=True)


def _write_lock_after_push(
    lock_path: Path,
    old_lock: Lock | None,
    file: Path,
    planned: _Planned,
    local_orgs: list[tuple[LockedOrg, OrgPolicy]],
    done: dict[str, Policy | OrgPolicy],
) -> None:
    """The lock after a push: what Stytch holds after each step that went through."""
    target, result = planned.target, planned.plan
    policy = done.get("", result.remote)
    assert isinstance(policy, Policy)
    orgs: list[LockedOrg] = []
    for locked, _ in local_orgs:
        org = done.get(locked.organization_id, planned.remote_orgs[locked.organization_id])
        assert isinstance(org, OrgPolicy)
        orgs.append(replace(locked, remote_sha256=org_sha256(org), snapshot=org))
    new_lock = Lock(
        project_slug=target.project_slug,
        environment_slug=target.environment_slug,
        project_id=target.project_id,
        policy_path=old_lock.policy_path if old_lock else _relative(file, lock_path.parent),
        remote_sha256=policy.sha256(),
        snapshot=policy,
        synced_at=_now(),
        organizations=tuple(orgs),
    )
    write_atomically(lock_path, new_lock.dumps())


def _describe_diff(sent: Policy, got: Policy) -> str:
    diff = diff_policies(sent, got)
    parts = [str(g) for g in diff.grants_added[:3]] + [str(g) for g in diff.grants_removed[:3]]
    return "; ".join(parts) or "descriptions or ids differ"
