"""``stytch-rbac diff OLD NEW``: what a policy change adds and removes (for CI review)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..policy.diff import PolicyDiff, diff_policies
from . import EXIT_DENIED
from ._common import JsonOpt, app, compile_quietly, console, load_policy_file, print_json

__all__ = ["print_diff"]


def print_diff(diff: PolicyDiff) -> None:
    """Print a diff as ``+`` / ``-`` lines grouped by kind."""
    if not diff.changed:
        console.print("no changes")
        return
    sections: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
        ("roles", diff.roles_added, diff.roles_removed),
        ("resources", diff.resources_added, diff.resources_removed),
        (
            "actions",
            tuple(f"{r}:{a}" for r, a in diff.actions_added),
            tuple(f"{r}:{a}" for r, a in diff.actions_removed),
        ),
        ("scopes", diff.scopes_added, diff.scopes_removed),
        (
            "grants",
            tuple(str(g) for g in diff.grants_added),
            tuple(str(g) for g in diff.grants_removed),
        ),
    ]
    for title, added, removed in sections:
        if not added and not removed:
            continue
        console.print(f"[bold]{title}[/] (+{len(added)} -{len(removed)})", highlight=False)
        for item in added:
            console.print(f"  [green]+ {escape(item)}[/]", highlight=False, soft_wrap=True)
        for item in removed:
            console.print(f"  [red]- {escape(item)}[/]", highlight=False, soft_wrap=True)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(metavar="OLD", help="The policy before the change.")],
    new: Annotated[Path, typer.Argument(metavar="NEW", help="The policy after the change.")],
    as_json: JsonOpt = False,
) -> None:
    """Roles, resources, actions, scopes and grants added or removed from OLD to NEW.

    Grants are compared as decisions ('*' expanded). Exit 1 when any grant was
    removed, so CI can ask for a review; 0 otherwise.
    """
    before = compile_quietly(load_policy_file(old))
    after = compile_quietly(load_policy_file(new))
    result = diff_policies(before, after)
    if as_json:
        print_json(result.to_json() | {"removes_grants": result.removes_grants})
    else:
        print_diff(result)
    if result.removes_grants:
        raise typer.Exit(EXIT_DENIED)
