"""Sub-commands that read a policy: ``show`` (and the interim ``demo``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..policy import CompiledPolicy, Policy
from ._common import app, console, load_policy_file

__all__ = ["matrix_table"]

_EXAMPLE_POLICY = Path("examples/policy.json")


def matrix_table(
    policy: Policy, *, roles: list[str] | None = None, resources: list[str] | None = None
) -> Table:
    """A role x permission table: one row per (resource, action), one column per role."""
    compiled = CompiledPolicy(policy, strict=True)
    role_ids = roles or [r.role_id for r in policy.roles]
    table = Table(title="Role x permission", show_lines=False)
    table.add_column("resource")
    table.add_column("action")
    for role in role_ids:
        table.add_column(role, justify="center")
    for resource, actions in compiled.resources.items():
        if resources and resource not in resources:
            continue
        for action in actions:
            marks = [
                "[green]✓[/]" if compiled.allows((role,), resource, action) else "[dim]·[/]"
                for role in role_ids
            ]
            table.add_row(resource, action, *marks)
    return table


@app.command()
def show(
    policy: Annotated[Path, typer.Option("--policy", help="Policy JSON file.")] = _EXAMPLE_POLICY,
    role: Annotated[list[str] | None, typer.Option("--role", help="Only these roles.")] = None,
    resource: Annotated[
        list[str] | None, typer.Option("--resource", help="Only these resources.")
    ] = None,
) -> None:
    """Print the role x permission matrix of a policy."""
    console.print(matrix_table(load_policy_file(policy), roles=role, resources=resource))


@app.command()
def demo() -> None:
    """Show what the library does on the example policy."""
    console.print(matrix_table(load_policy_file(_EXAMPLE_POLICY)))
