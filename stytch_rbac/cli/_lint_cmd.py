"""``stytch-rbac lint``: smells in a policy that Stytch accepts but a reviewer would question."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ..policy.lint import LINT_CODES, lint_policy
from . import EXIT_DENIED
from ._common import (
    FromStytchOpt,
    JsonOpt,
    OrganizationOpt,
    OrgPolicyOpt,
    PolicyOpt,
    app,
    console,
    fail,
    print_json,
    resolve_policy,
)

__all__: list[str] = []


@app.command()
def lint(
    policy: PolicyOpt = None,
    from_stytch: FromStytchOpt = False,
    organization: OrganizationOpt = None,
    org_policy: OrgPolicyOpt = None,
    admin_role: Annotated[
        list[str] | None,
        typer.Option(
            "--admin-role",
            help="A role allowed '*' on stytch.* resources (repeatable; default stytch_admin).",
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore", help=f"Skip a finding code (repeatable): {', '.join(LINT_CODES)}."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Report a policy's smells; exit 1 if there is any.

    Grants of undefined resources or actions, permissions without actions,
    duplicate grants, roles granting nothing, unused resources, '*' on stytch.*
    resources held by a non-admin role, '*' defined as an action.
    """
    unknown = sorted(set(ignore or ()) - set(LINT_CODES))
    if unknown:
        raise fail(
            f"unknown lint code {unknown[0]!r}; known: {', '.join(LINT_CODES)}",
            code="unknown-name",
        )
    source = resolve_policy(
        policy, from_stytch, organization=organization, org_policy_path=org_policy
    )
    admins = {"stytch_admin", *(admin_role or ())}
    findings = lint_policy(source.compiled, admin_roles=admins, ignore=ignore or ())
    if as_json:
        print_json([f.to_json() for f in findings])
    elif not findings:
        console.print(f"[green]no findings[/] in {source.label}", highlight=False, soft_wrap=True)
    else:
        table = Table(title=f"{len(findings)} finding(s) in {source.label}", title_justify="left")
        table.add_column("code", style="yellow", no_wrap=True)
        table.add_column("subject", style="bold", overflow="fold")
        table.add_column("finding", ratio=1, overflow="fold")
        for finding in findings:
            table.add_row(finding.code, finding.subject, finding.message)
        console.print(table)
    if findings:
        raise typer.Exit(EXIT_DENIED)
