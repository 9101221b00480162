"""Sub-commands that read one policy: ``show`` and ``can``."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ..errors import UnknownPermission
from ..policy import CompiledPolicy, Policy
from . import EXIT_DENIED
from ._common import (
    FromStytchOpt,
    JsonOpt,
    OrganizationOpt,
    OrgPolicyOpt,
    PolicyOpt,
    app,
    compile_quietly,
    console,
    fail,
    print_json,
    require_known,
    resolve_policy,
)

__all__ = [
    "View",
    "actions_table",
    "grants",
    "matrix_table",
    "render_policy",
    "roles_table",
    "scope_grants",
    "scopes_table",
]

_YES = Text("✓", style="green")
_NO = Text("·", style="dim")


class View(StrEnum):
    """How ``show`` lays out the policy."""

    AUTO = "auto"
    MATRIX = "matrix"
    ROLES = "roles"
    ACTIONS = "actions"


def grants(
    compiled: CompiledPolicy, roles: Sequence[str], resources: Sequence[str]
) -> dict[str, dict[str, list[str]]]:
    """role -> resource -> allowed actions (sorted), for the given roles and resources."""
    out: dict[str, dict[str, list[str]]] = {}
    for role in roles:
        allowed = compiled.granted((role,))
        out[role] = {
            resource: [a for a in compiled.resources[resource] if (resource, a) in allowed]
            for resource in resources
        }
    return out


def _select(
    compiled: CompiledPolicy, roles: Sequence[str] | None, resources: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    """The roles (policy order) and resources (sorted) to show, filters applied."""
    role_ids = [r.role_id for r in compiled.policy.roles]
    return (
        [r for r in role_ids if not roles or r in roles],
        [r for r in compiled.resources if not resources or r in resources],
    )


def matrix_table(
    policy: Policy | CompiledPolicy,
    *,
    roles: Sequence[str] | None = None,
    resources: Sequence[str] | None = None,
) -> Table:
    """Rows are (resource, action), grouped by resource; one column per role."""
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_quietly(policy)
    role_ids, resource_ids = _select(compiled, roles, resources)
    table = Table(title="Role x permission", title_justify="left")
    table.add_column("resource", style="bold", no_wrap=True)
    table.add_column("action", no_wrap=True)
    for role in role_ids:
        table.add_column(role, justify="center", no_wrap=True)
    allowed = {role: compiled.granted((role,)) for role in role_ids}
    for resource in resource_ids:
        actions = compiled.resources[resource]
        for i, action in enumerate(actions):
            marks = [_YES if (resource, action) in allowed[r] else _NO for r in role_ids]
            table.add_row(
                resource if i == 0 else "", action, *marks, end_section=i == len(actions) - 1
            )
    return table


def roles_table(
    policy: Policy | CompiledPolicy,
    *,
    roles: Sequence[str] | None = None,
    resources: Sequence[str] | None = None,
) -> Table:
    """One block per role: each resource it may act on and the actions, wrapped to fit."""
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_quietly(policy)
    role_ids, resource_ids = _select(compiled, roles, resources)
    table = Table(title="What each role may do", title_justify="left")
    table.add_column("role", style="bold", no_wrap=True)
    table.add_column("resource", no_wrap=True)
    table.add_column("actions", ratio=1, overflow="fold")
    for role, by_resource in grants(compiled, role_ids, resource_ids).items():
        rows = [(res, acts) for res, acts in by_resource.items() if acts]
        if not rows:
            table.add_row(role, Text("(nothing)", style="dim"), "", end_section=True)
            continue
        for i, (resource, actions) in enumerate(rows):
            total = len(compiled.resources[resource])
            cell = (
                Text(f"all {total}", style="green")
                if len(actions) == total and total > 1
                else Text(", ".join(actions))
            )
            table.add_row(role if i == 0 else "", resource, cell, end_section=i == len(rows) - 1)
    return table


def actions_table(
    policy: Policy | CompiledPolicy,
    *,
    roles: Sequence[str] | None = None,
    resources: Sequence[str] | None = None,
) -> Table:
    """One row per (resource, action) with the roles that grant it, wrapped to fit."""
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_quietly(policy)
    role_ids, resource_ids = _select(compiled, roles, resources)
    table = Table(title="Who may do what", title_justify="left")
    table.add_column("resource", style="bold", no_wrap=True)
    table.add_column("action", overflow="fold")
    table.add_column("granted to", ratio=1, overflow="fold")
    for resource in resource_ids:
        actions = compiled.resources[resource]
        for i, action in enumerate(actions):
            who = [r for r in role_ids if compiled.allows((r,), resource, action)]
            cell = Text(", ".join(who)) if who else Text("(no role)", style="dim")
            table.add_row(
                resource if i == 0 else "", action, cell, end_section=i == len(actions) - 1
            )
    return table


def scope_grants(
    compiled: CompiledPolicy, resources: Sequence[str]
) -> dict[str, dict[str, list[str]]]:
    """scope -> resource -> the actions it grants (sorted), every scope in policy order."""
    out: dict[str, dict[str, list[str]]] = {
        s.scope: {resource: [] for resource in resources} for s in compiled.policy.scopes
    }
    for resource in resources:
        for action in compiled.resources[resource]:
            for scope in compiled.scopes_granting(resource, action):
                out[scope][resource].append(action)
    return out


def scopes_table(
    policy: Policy | CompiledPolicy, *, resources: Sequence[str] | None = None
) -> Table:
    """One block per Connected-Apps / M2M scope: each resource it grants and the actions."""
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_quietly(policy)
    _, resource_ids = _select(compiled, None, resources)
    table = Table(title="What each scope grants", title_justify="left")
    table.add_column("scope", style="bold", no_wrap=True)
    table.add_column("resource", no_wrap=True)
    table.add_column("actions", ratio=1, overflow="fold")
    if not compiled.scope_ids:
        table.add_row(Text("(the policy defines no scopes)", style="dim"), "", "")
    for scope, by_resource in scope_grants(compiled, resource_ids).items():
        rows = [(res, acts) for res, acts in by_resource.items() if acts]
        if not rows:
            table.add_row(scope, Text("(nothing)", style="dim"), "", end_section=True)
            continue
        for i, (resource, actions) in enumerate(rows):
            total = len(compiled.resources[resource])
            cell = (
                Text(f"all {total}", style="green")
                if len(actions) == total and total > 1
                else Text(", ".join(actions))
            )
            table.add_row(scope if i == 0 else "", resource, cell, end_section=i == len(rows) - 1)
    return table


def render_policy(
    out: Console,
    policy: Policy | CompiledPolicy,
    *,
    view: View = View.AUTO,
    roles: Sequence[str] | None = None,
    resources: Sequence[str] | None = None,
) -> Table:
    """The table for ``view``; AUTO is the matrix when it fits ``out``'s width, else ROLES."""
    if view is View.ACTIONS:
        return actions_table(policy, roles=roles, resources=resources)
    if view is View.ROLES:
        return roles_table(policy, roles=roles, resources=resources)
    matrix = matrix_table(policy, roles=roles, resources=resources)
    if view is View.MATRIX:
        return matrix
    width = Measurement.get(out, out.options.update_width(1_000_000), matrix).maximum
    return matrix if width <= out.width else roles_table(policy, roles=roles, resources=resources)


@app.command()
def show(
    policy: PolicyOpt = None,
    from_stytch: FromStytchOpt = False,
    organization: OrganizationOpt = None,
    org_policy: OrgPolicyOpt = None,
    role: Annotated[
        list[str] | None, typer.Option("--role", "-r", help="Only this role (repeatable).")
    ] = None,
    resource: Annotated[
        list[str] | None,
        typer.Option("--resource", help="Only this resource (repeatable)."),
    ] = None,
    view: Annotated[
        View,
        typer.Option(
            "--view",
            help="matrix: actions x roles; roles: each role's grants; actions: who may do "
            "each action; auto: the matrix if it fits the terminal, else roles.",
        ),
    ] = View.AUTO,
    scopes: Annotated[
        bool,
        typer.Option(
            "--scopes",
            help="Show what each Connected-Apps / M2M scope grants instead of each role.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Print what each role (or, with --scopes, each scope) of a policy may do, as a table
    or JSON.

    --json prints {role: ["resource:action", ...]} ({scope: [...]} with --scopes) with the
    filters applied.
    """
    if scopes and role:
        raise fail("--role does not apply to --scopes: scopes grant on their own")
    if scopes and view is not View.AUTO:
        raise fail("--view does not apply to --scopes")
    source = resolve_policy(
        policy, from_stytch, organization=organization, org_policy_path=org_policy
    )
    compiled = source.compiled
    require_known(compiled, roles=role or [], resources=resource or [])
    if scopes:
        _show_scopes(source.label, compiled, resource, as_json=as_json)
        return
    if as_json:
        role_ids, resource_ids = _select(compiled, role, resource)
        print_json(
            {
                r: [f"{res}:{a}" for res, acts in by_res.items() for a in acts]
                for r, by_res in grants(compiled, role_ids, resource_ids).items()
            }
        )
        return
    table = render_policy(console, compiled, view=view, roles=role, resources=resource)
    console.print(table)
    console.print(
        f"{source.label} · {len(compiled.role_ids)} roles · {len(compiled.resources)} resources"
        f" · sha256 {compiled.policy.sha256()[:12]}",
        style="dim",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _show_scopes(
    label: str, compiled: CompiledPolicy, resources: Sequence[str] | None, *, as_json: bool
) -> None:
    if as_json:
        _, resource_ids = _select(compiled, None, resources)
        print_json(
            {
                s: [f"{res}:{a}" for res, acts in by_res.items() for a in acts]
                for s, by_res in scope_grants(compiled, resource_ids).items()
            }
        )
        return
    console.print(scopes_table(compiled, resources=resources))
    console.print(
        f"{label} · {len(compiled.scope_ids)} scopes · {len(compiled.resources)} resources"
        f" · sha256 {compiled.policy.sha256()[:12]}",
        style="dim",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@app.command()
def can(
    roles: Annotated[
        list[str],
        typer.Argument(metavar="ROLE", help="Role ids held together (a member's roles)."),
    ],
    resource: Annotated[
        str, typer.Argument(metavar="RESOURCE", help="Resource id, e.g. documents.")
    ],
    action: Annotated[str, typer.Argument(metavar="ACTION", help="Action, e.g. edit.")],
    policy: PolicyOpt = None,
    from_stytch: FromStytchOpt = False,
    organization: OrganizationOpt = None,
    org_policy: OrgPolicyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """May a member holding ROLES do ACTION on RESOURCE? Exit 0 if allowed, 1 if denied."""
    source = resolve_policy(
        policy, from_stytch, organization=organization, org_policy_path=org_policy
    )
    compiled = source.compiled
    require_known(compiled, roles=roles, resources=[])
    try:
        decision = compiled.decide(roles, resource, action)
    except UnknownPermission as exc:
        raise fail(str(exc), code="unknown-name") from None
    grantors = sorted(r for r in compiled.role_ids if compiled.allows((r,), resource, action))
    if as_json:
        print_json(
            {
                "allowed": decision.allowed,
                "roles": list(roles),
                "resource": resource,
                "action": action,
                "granted_by": sorted(decision.granted_by),
                "roles_that_grant": grantors,
            }
        )
    elif decision.allowed:
        by = ", ".join(sorted(decision.granted_by))
        console.print(
            f"[green]✓ allowed[/]: {resource}:{action} (granted by {by})",
            highlight=False,
            soft_wrap=True,
        )
    else:
        held = ", ".join(roles)
        console.print(
            f"[red]✗ denied[/]: {resource}:{action} is not granted to {held}",
            highlight=False,
            soft_wrap=True,
        )
        hint = ", ".join(grantors) if grantors else "no role in this policy"
        console.print(f"  roles that grant it: {hint}", highlight=False, soft_wrap=True)
    if not decision.allowed:
        raise typer.Exit(EXIT_DENIED)
