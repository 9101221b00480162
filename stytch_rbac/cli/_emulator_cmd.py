"""``stytch-rbac emulator``: serve a seeded local Stytch emulator and print how to use it.

Besides the human-readable summary it prints shell ``export`` lines to paste
into another shell (or ``eval``): ``STYTCH_PROJECT_ID``, ``STYTCH_SECRET``,
``STYTCH_BASE_URL`` (what ``StytchRBAC.from_env()`` reads), ``STYTCH_PUBLIC_TOKEN``
(for a frontend SDK, docs/guides/fullstack.md), ``<ORG>_ID`` per
organization and ``<ORG>_<MEMBER>_JWT`` / ``_TOKEN`` per member, named after the
organization slug and the part of the member's email address before the ``@``
(``ACME_ID``, ``ACME_EDDIE_JWT``), then the Management API's workspace key:
``STYTCH_WORKSPACE_KEY_ID``, ``STYTCH_WORKSPACE_KEY_SECRET`` and
``STYTCH_MANAGEMENT_URL`` (what ``pull`` / ``plan`` / ``push`` read; project
``emulator``, environment ``test``).
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import PolicyError
from ._common import app, fail

if TYPE_CHECKING:
    from ..emulator import Emulator

__all__ = ["emulator"]


def _build(
    policy: Path | None,
    seed: Path | None,
    state: Path | None,
    project_id: str | None,
    secret: str | None,
    origins: list[str] | None = None,
    project_domain: str | None = None,
) -> tuple[Emulator, list[tuple[str, str]]]:
    """The emulator and the (organization slug, member id) pairs to print sessions for."""
    from ..emulator import Emulator, SeedError

    if policy is not None and not policy.is_file():
        raise fail(f"policy file not found: {policy}", code="file-not-found")
    try:
        if state is not None and state.exists():
            emu = Emulator.from_state(state)
            if project_domain is not None and project_domain != emu.project_domain:
                raise fail(
                    f"--project-domain {project_domain} differs from the snapshot's "
                    f"({emu.project_domain}); the tokens it holds were issued by the latter"
                )
            if policy is not None:
                emu.set_policy(policy)
            members = [
                (emu.get_organization(m.organization_id).organization_slug, m.member_id)
                for m in emu.members()
                if m.json["status"] != "deleted"
            ]
        else:
            emu = Emulator(
                policy, project_id=project_id, secret=secret, project_domain=project_domain
            )
            seeded = emu.load_seed(seed) if seed is not None else []
            members = [(o.organization_slug, m.member_id) for o, ms in seeded for m in ms]
        for origin in origins or ():
            emu.allow_origin(origin)
    except (PolicyError, SeedError, OSError, ValueError, TypeError) as exc:
        raise fail(str(exc)) from None
    if state is not None:
        emu.persist_to(state)
    return emu, members


@app.command("emulator")
def emulator(
    port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 8765,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    policy: Annotated[
        Path | None,
        typer.Option(
            help="Policy JSON file (default: Stytch's default roles only).", show_default=False
        ),
    ] = None,
    seed: Annotated[
        Path | None,
        typer.Option(
            help="Seed file: organizations and members (examples/seed.json).", show_default=False
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            help="Snapshot file: reloaded at start, saved atomically on change.", show_default=False
        ),
    ] = None,
    project_id: Annotated[
        str | None, typer.Option(help="Fixed project id (default: generated).")
    ] = None,
    secret: Annotated[str | None, typer.Option(help="Fixed secret (default: generated).")] = None,
    project_domain: Annotated[
        str | None,
        typer.Option(
            help="The project domain that issues Connected-App tokens (a host; default "
            "derived from the project id).",
            show_default=False,
        ),
    ] = None,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option(
            help="Another page origin the frontend SDK may call from (repeatable; "
            "localhost and 127.0.0.1 on any port are always allowed).",
            show_default=False,
        ),
    ] = None,
    session_minutes: Annotated[
        int, typer.Option(help="Lifetime of the printed sessions, in minutes.")
    ] = 60,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of text.")
    ] = False,
) -> None:
    """Serve a local Stytch B2B emulator (Ctrl-C stops it).

    Prints the base URL, project id, secret, and a fresh session token and JWT
    for every seeded member; point the stytch SDK at it with
    stytch.B2BClient(project_id, secret, environment=base_url).
    """
    try:
        from .. import emulator as _  # noqa: F401  (the emulator extra)
        from ..serving import bind, run_forever
    except ModuleNotFoundError as exc:
        if exc.name not in ("starlette", "uvicorn"):
            raise
        raise fail(
            f"the emulator needs the 'emulator' extra ({exc.name} is not installed): "
            "pip install 'stytch-rbac[emulator]'"
        ) from None
    emu, members = _build(policy, seed, state, project_id, secret, allow_origin, project_domain)
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    base_url = f"http://{host}:{sock.getsockname()[1]}"
    sessions: list[dict[str, Any]] = []
    for slug, member_id in members:
        member = emu.get_member(member_id)
        session = emu.create_session(member_id, duration_minutes=session_minutes)
        sessions.append(
            {
                "organization_slug": slug,
                "organization_id": member.organization_id,
                "member_id": member_id,
                "email_address": member.email_address,
                "roles": list(member.roles),
                "session_token": session.session_token,
                "session_jwt": session.session_jwt,
            }
        )
    organizations = {s["organization_slug"]: s["organization_id"] for s in sessions}
    env = _environment(base_url, emu.project_id, emu.secret, organizations, sessions)
    # After what from_env() reads (the project domain too): what a frontend's build reads.
    env = {
        **dict(list(env.items())[:3]),
        "STYTCH_PROJECT_DOMAIN": emu.project_domain,
        "STYTCH_PUBLIC_TOKEN": emu.public_token,
        **env,
    }
    info = {
        "base_url": base_url,
        "project_id": emu.project_id,
        "secret": emu.secret,
        "public_token": emu.public_token,
        "allowed_origins": emu.allowed_origins,
        "sessions": sessions,
        "env": env | _workspace_environment(emu, base_url),
    }

    def ready() -> None:
        if as_json:
            typer.echo(json.dumps(info))
        else:
            _print_text(info, state)
        sys.stdout.flush()

    run_forever(emu.app, sock, ready)


def _variable(*parts: str) -> str:
    """A shell variable name from ``parts``: upper case, ``_`` for anything else."""
    name = re.sub(r"[^A-Z0-9]+", "_", "_".join(parts).upper()).strip("_")
    return f"_{name}" if name[:1].isdigit() else name


def _environment(
    base_url: str,
    project_id: str,
    secret: str,
    organizations: dict[str, str],
    sessions: list[dict[str, Any]],
) -> dict[str, str]:
    """The variables the export lines set, in print order."""
    env = {
        "STYTCH_PROJECT_ID": project_id,
        "STYTCH_SECRET": secret,
        "STYTCH_BASE_URL": base_url,
    }
    for slug, organization_id in organizations.items():
        env[_variable(slug, "ID")] = organization_id
    for s in sessions:
        who = _variable(s["organization_slug"], s["email_address"].partition("@")[0])
        env[f"{who}_JWT"] = s["session_jwt"]
        env[f"{who}_TOKEN"] = s["session_token"]
    return env


def _workspace_environment(emu: Emulator, base_url: str) -> dict[str, str]:
    """The Management API's variables (what ``pull`` / ``plan`` / ``push`` read)."""
    return {
        "STYTCH_WORKSPACE_KEY_ID": emu.workspace_key_id,
        "STYTCH_WORKSPACE_KEY_SECRET": emu.workspace_key_secret,
        "STYTCH_MANAGEMENT_URL": base_url,
    }


def _print_text(info: dict[str, Any], state: Path | None) -> None:
    echo = typer.echo
    echo(f"Stytch emulator listening on {info['base_url']}")
    echo(f"  project id : {info['project_id']}")
    echo(f"  secret     : {info['secret']}")
    if state is not None:
        echo(f"  state file : {state}")
    echo(
        f'  SDK        : stytch.B2BClient("{info["project_id"]}", "<secret>", '
        f'environment="{info["base_url"]}")'
    )
    echo(f"  public token : {info['public_token']}")
    echo(
        f'  frontend SDK : createStytchB2BClient("{info["public_token"]}", '
        f'{{endpoints: {{testAPIURL: "{info["base_url"]}", liveAPIURL: "{info["base_url"]}"}}}})'
    )
    echo(f"  allowed page origins: {', '.join(info['allowed_origins'])}")
    for s in info["sessions"]:
        echo("")
        echo(f"{s['organization_slug']} / {s['email_address']} ({', '.join(s['roles'])})")
        echo(f"  member_id     : {s['member_id']}")
        echo(f"  session_token : {s['session_token']}")
        echo(f"  session_jwt   : {s['session_jwt']}")
    echo("")
    echo("JWTs expire after 5 minutes; exchange the token via sessions.authenticate for a new one.")
    echo("")
    echo("# In another shell, paste these lines (StytchRBAC.from_env() reads the first four):")
    for name, value in info["env"].items():
        echo(f"export {name}={shlex.quote(value)}")
    echo("")
    echo("Press Ctrl-C to stop.")
