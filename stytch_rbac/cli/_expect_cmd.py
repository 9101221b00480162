"""``stytch-rbac test FILE``: policy tests (expected allow / deny rows) against a policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import PolicyError
from ..policy import OrgPolicy
from ..policy.expectations import ExpectationFileError, ExpectationResult, load_expectations
from . import EXIT_DENIED
from ._common import (
    FromStytchOpt,
    JsonOpt,
    PolicyOpt,
    app,
    compile_quietly,
    console,
    fail,
    fetch_live_org_policy,
    fetch_live_policy,
    load_policy_file,
    print_json,
)

__all__: list[str] = []


def _result_json(result: ExpectationResult) -> dict[str, Any]:
    exp = result.expectation
    return {
        "id": exp.id,
        "location": exp.location,
        "roles": list(exp.roles),
        "organization": exp.organization,
        "resource": exp.resource,
        "action": exp.action,
        "expected": "allow" if exp.allow else "deny",
        "allowed": result.allowed,
        "passed": result.passed,
        "granted_by": sorted(result.granted_by),
        "message": result.message,
    }


@app.command("test")
def run_policy_tests(
    expectations: Annotated[
        Path,
        typer.Argument(
            metavar="EXPECTATIONS", help="Policy-test file (.yaml, .yml, .toml or .json)."
        ),
    ],
    policy: PolicyOpt = None,
    from_stytch: FromStytchOpt = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List passing rows too.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check expected allow / deny rows against a policy; exit 1 if any row fails.

    The policy is --policy, the live one (--from-stytch), or the file's own
    'policy' key. A row naming a role, resource or action the policy does not
    define fails. File format: see the "Policy tests" section of the CLI docs.
    """
    if policy is not None and from_stytch:
        raise fail("give either --policy or --from-stytch, not both")
    try:
        suite = load_expectations(expectations)
    except ExpectationFileError as exc:
        raise fail(str(exc)) from None
    org_policies: dict[str, OrgPolicy] = {}
    if from_stytch:
        project, _ = fetch_live_policy()
        label = "Stytch (live)"
        for name, spec in suite.organizations.items():
            if spec.organization_id is not None and spec.org_policy is None:
                org_policies[name] = fetch_live_org_policy(spec.organization_id)
    elif policy is not None:
        project, label = load_policy_file(policy), str(policy)
    elif suite.policy_path is not None:
        project, label = load_policy_file(suite.policy_path), str(suite.policy_path)
    else:
        raise fail(f"{expectations} names no 'policy'; use --policy FILE or --from-stytch")
    try:
        results = suite.runner(compile_quietly(project), org_policies=org_policies).run()
    except PolicyError as exc:
        raise fail(str(exc)) from None
    failed = [r for r in results if not r.passed]
    if as_json:
        print_json(
            {
                "policy": label,
                "passed": len(results) - len(failed),
                "failed": len(failed),
                "results": [_result_json(r) for r in results],
            }
        )
    else:
        shown = results if verbose else failed
        if shown:
            table = Table(title=f"{expectations} against {label}", title_justify="left")
            table.add_column("", no_wrap=True)
            table.add_column("where", overflow="fold")
            table.add_column("expectation", overflow="fold")
            table.add_column("result", ratio=1, overflow="fold")
            for result in shown:
                exp = result.expectation
                table.add_row(
                    "[green]ok[/]" if result.passed else "[red]FAIL[/]",
                    escape(exp.location.rpartition(": ")[2] or exp.location),
                    escape(exp.id),
                    escape(result.message),
                )
            console.print(table)
        colour = "red" if failed else "green"
        console.print(
            f"[{colour}]{len(results) - len(failed)} passed, {len(failed)} failed[/]"
            f" ({escape(str(expectations))} against {escape(label)})",
            highlight=False,
        )
    if failed:
        raise typer.Exit(EXIT_DENIED)
