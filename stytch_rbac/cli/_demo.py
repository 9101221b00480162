"""``stytch-rbac demo``: the whole story against an embedded emulator, in a few seconds.

1. start the emulator over real HTTP with a policy and a seed;
2. generate typed permissions into a temporary folder and import them;
3. authenticate two members from their session JWTs (verified locally);
4. pre-flight checks: one allowed, one denied, with the granting roles;
5. a built-in Stytch call (delete a member) allowed for an admin, refused for
   an editor both locally (no request sent) and by the emulator's own enforcement;
6. time the local checks.

The policy and seed it uses by default ship in the package (``demo_data/``, the
same files as the clone's ``examples/policy.json`` and ``examples/seed.json``),
so the demo runs from an installed wheel in any directory.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import importlib.util
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

import anyio
import typer
from rich.table import Table

from ..client import StytchRBAC
from ..errors import PermissionDenied, StytchRBACError
from ..permissions import Permission
from ..policy import Policy
from ._common import app, console, fail, load_policy_file

if TYPE_CHECKING:
    from ..emulator import Emulator, MemberRecord, OrganizationRecord

__all__ = ["DemoFailure", "demo_data", "run_demo"]

_EMULATOR_EXTRA = ("starlette", "uvicorn")


class DemoFailure(Exception):
    """A step of the demo did not behave as the story says it must."""


@contextlib.contextmanager
def demo_data(name: str) -> Iterator[Path]:
    """A file path to the packaged demo file ``name`` (``policy.json`` or ``seed.json``)."""
    resource = importlib.resources.files(__package__ or "stytch_rbac.cli") / "demo_data" / name
    with importlib.resources.as_file(resource) as path:
        yield path


def _import_generated(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("stytch_rbac_demo_permissions", path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py path always has a loader
        raise DemoFailure(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _step(number: int, title: str) -> None:
    console.print(f"\n[bold cyan]{number}. {title}[/]")


def _per_call_us(total_ns: int, calls: int) -> float:
    return total_ns / calls / 1000


async def run_demo(policy: Policy, seed: Path, *, iterations: int = 20_000) -> None:
    """Run the demo; raises if any step does not behave as it must."""
    from ..emulator import Emulator  # the emulator extra, only for the demo

    started = time.perf_counter()
    emu = Emulator(policy=policy)
    seeded = emu.load_seed(seed)
    failure: Exception | None = None
    async with emu.serve() as base_url:
        # Raised inside serve()'s task group an error would arrive wrapped in an
        # ExceptionGroup; keep it and re-raise it plain once the server stopped.
        try:
            await _story(emu, base_url, policy, seeded, iterations)
        except (StytchRBACError, DemoFailure) as exc:
            failure = exc
    if failure is not None:
        raise failure
    console.print(f"\n[bold green]demo finished in {time.perf_counter() - started:.1f} s[/]")


async def _story(
    emu: Emulator,
    base_url: str,
    policy: Policy,
    seeded: list[tuple[OrganizationRecord, list[MemberRecord]]],
    iterations: int,
) -> None:
    members = {m.json["email_address"]: m for _, ms in seeded for m in ms}
    admin, editor, victim = (
        members["ada@acme.test"],
        members["eddie@acme.test"],
        members["vera@acme.test"],
    )
    org_id = admin.json["organization_id"]
    _step(1, "Embedded Stytch emulator")
    console.print(f"   serving the Stytch B2B API at {base_url} (project {emu.project_id})")
    console.print(
        f"   policy: {len(policy.roles)} roles, {len(policy.resources)} resources; "
        f"seed: {len(seeded)} organizations, {len(members)} members"
    )

    _step(2, "Typed permissions generated from the live policy")
    from ..codegen import render_module

    async with StytchRBAC(emu.project_id, emu.secret, base_url=base_url) as rbac:
        live = await rbac.policy()
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "permissions.py"
            target.write_text(render_module(live.policy), encoding="utf-8")
            perms = _import_generated(target)
        typed: Any = perms.P
        console.print(
            f"   wrote {target.name}: {len(list(perms.Resource))} resources, "
            f"{len(list(perms.Role))} roles; e.g. P.documents.edit = {typed.documents.edit!r}"
        )
        drift = await rbac.verify(perms)
        console.print(f"   drift against the live policy: {drift or 'none'}")

        _step(3, "Two members authenticated from their session JWTs (verified locally)")
        admin_session = emu.create_session(admin.member_id)
        editor_session = emu.create_session(editor.member_id)
        authenticate_calls = emu.requests["sessions.authenticate"]
        ada = await rbac.authenticate(session_jwt=admin_session.session_jwt)
        eddie = await rbac.authenticate(session_jwt=editor_session.session_jwt)
        if emu.requests["sessions.authenticate"] != authenticate_calls:
            raise DemoFailure("a fresh JWT must be verified without calling Stytch")
        table = Table("member", "organization", "roles")
        for who, record in ((ada, admin), (eddie, editor)):
            email = record.json["email_address"]
            table.add_row(email, who.organization_slug, ", ".join(sorted(who.roles)))
        console.print(table)

        _step(4, "Pre-flight checks, answered locally")
        allowed = await rbac.explain(eddie, typed.documents.edit)
        denied = await rbac.explain(eddie, typed.documents.delete)
        if not allowed.allowed or denied.allowed:
            raise DemoFailure("the demo policy must let an editor edit but not delete")
        console.print(
            f"   editor {typed.documents.edit}: [green]allowed[/] "
            f"(granted by {', '.join(sorted(allowed.granted_by))})"
        )
        console.print(f"   editor {typed.documents.delete}: [red]denied[/] (no role grants it)")

        _step(5, "Built-in Stytch call: delete a member, made as the member")
        before = sum(emu.requests.values())
        try:
            await rbac.as_member(eddie).organizations.members.delete(
                organization_id=org_id, member_id=victim.member_id
            )
        except PermissionDenied as exc:
            sent = sum(emu.requests.values()) - before
            console.print(
                f"   editor, pre-flight: [red]refused locally[/] ({exc}); requests sent: {sent}"
            )
        else:
            raise DemoFailure("the editor's delete must be refused")
        try:
            await rbac.as_member(eddie, preflight=False).organizations.members.delete(
                organization_id=org_id, member_id=victim.member_id
            )
        except PermissionDenied as exc:
            console.print(
                f"   editor, pre-flight off: [red]refused by Stytch[/] "
                f"({exc.error_type}, status 403)"
            )
        else:
            raise DemoFailure("the emulator must refuse the editor's delete")
        response = await rbac.as_member(ada).organizations.members.delete(
            organization_id=org_id, member_id=victim.member_id
        )
        console.print(
            f"   admin: [green]deleted[/] {victim.json['email_address']} "
            f"({response.member_id}; the emulator checked stytch.member:delete)"
        )

        _step(6, "Timing of local checks (warm caches)")
        check = Permission("documents", "edit")
        t0 = time.perf_counter_ns()
        for _ in range(iterations):
            await rbac.is_authorized(eddie, check)
        per_check = _per_call_us(time.perf_counter_ns() - t0, iterations)
        t0 = time.perf_counter_ns()
        for _ in range(iterations):
            await rbac.authenticate(session_jwt=editor_session.session_jwt)
        per_auth = _per_call_us(time.perf_counter_ns() - t0, iterations)
        timing = Table("operation", "per call")
        timing.add_row("is_authorized (policy + org policy cached)", f"{per_check:.2f} µs")
        timing.add_row("authenticate, repeated JWT (memo)", f"{per_auth:.2f} µs")
        console.print(timing)
        console.print("   (side-by-side comparisons with the stytch SDK: make bench)")


@app.command()
def demo(
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            help="Policy JSON file for the emulator (default: the packaged demo policy, "
            "examples/policy.json in a clone).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        Path | None,
        typer.Option(
            "--seed",
            help="Seed file: organizations and members (default: the packaged demo seed, "
            "examples/seed.json in a clone).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the whole story against an embedded emulator: typed permissions, local checks,
    a built-in call allowed for an admin and refused for an editor, timings."""
    try:
        from .. import emulator  # noqa: F401  (the emulator extra, checked before any output)
    except ModuleNotFoundError as exc:
        if exc.name not in _EMULATOR_EXTRA:
            raise
        raise fail(
            f"the demo needs the 'emulator' extra ({exc.name} is not installed): "
            "pip install 'stytch-rbac[emulator]'"
        ) from None
    with contextlib.ExitStack() as files:
        policy = policy or files.enter_context(demo_data("policy.json"))
        seed = seed or files.enter_context(demo_data("seed.json"))
        loaded = load_policy_file(policy)
        if not seed.exists():
            raise fail(f"seed file not found: {seed}")
        try:
            anyio.run(run_demo, loaded, seed)
        except (StytchRBACError, DemoFailure) as exc:
            console.print(f"[bold red]demo failed:[/] {exc}")
            raise typer.Exit(1) from None
    sys.stdout.flush()
