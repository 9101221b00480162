"""``stytch-rbac fetch-policy``: save the live policy (or one organization's custom roles)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from ._common import (
    JsonOpt,
    app,
    console,
    fail,
    fetch_live_org_policy,
    fetch_live_policy,
    print_json,
)

__all__ = ["write_atomically"]


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so a reader never sees half of it."""
    directory = path.parent if str(path.parent) else Path()
    if not directory.is_dir():
        raise fail(f"output folder does not exist: {directory}")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@app.command("fetch-policy")
def fetch_policy(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="File to write ('-' for stdout).", show_default=False),
    ],
    organization: Annotated[
        str | None,
        typer.Option(
            "--organization",
            help='Save this organization\'s custom roles ({"org_policy": ...}) instead.',
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Save the live RBAC policy from Stytch to a file.

    Credentials come from STYTCH_PROJECT_ID and STYTCH_SECRET; STYTCH_BASE_URL
    overrides the API host (e.g. the emulator). Exit 3 when Stytch is unreachable.
    """
    document: dict[str, Any]
    if organization is None:
        policy, _ = fetch_live_policy()
        document = {"policy": policy.to_json()}
        summary = (
            f"policy ({len(policy.roles)} roles, {len(policy.resources)} resources, "
            f"{len(policy.scopes)} scopes, sha256 {policy.sha256()[:12]})"
        )
        stats: dict[str, Any] = {
            "roles": len(policy.roles),
            "resources": len(policy.resources),
            "scopes": len(policy.scopes),
            "sha256": policy.sha256(),
        }
    else:
        org = fetch_live_org_policy(organization)
        document = {"org_policy": org.to_json()}
        summary = f"org policy of {organization} ({len(org.roles)} custom roles)"
        stats = {"organization_id": organization, "roles": len(org.roles)}
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if str(output) == "-":
        typer.echo(text, nl=False)
        return
    write_atomically(output, text)
    if as_json:
        print_json({"output": str(output)} | stats)
    else:
        console.print(f"saved {summary} to {output}", highlight=False, markup=False, soft_wrap=True)
