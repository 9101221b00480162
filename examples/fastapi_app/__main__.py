"""Run the document service against an embedded Stytch emulator: ``python -m examples.fastapi_app``.

Starts the emulator (examples/policy.json, two organizations, five members with
24-hour sessions) on a free loopback port, then the app with uvicorn, and
prints ready-to-use credentials and curl commands. Ctrl-C stops both.
Options: ``--port`` (default 8000, 0 for any free port), ``--host``, ``--policy``.
"""

import argparse
import contextlib
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from stytch_rbac import StytchRBAC
from stytch_rbac.emulator import Emulator, SessionRecord

from .app import create_app

POLICY = Path(__file__).resolve().parent.parent / "policy.json"

#: (name, organization, roles) of the seeded members.
PEOPLE = [
    ("owner", "Acme", ["owner"]),
    ("editor", "Acme", ["editor"]),
    ("viewer", "Acme", ["viewer"]),
    ("admin", "Acme", ["stytch_admin", "project_manager"]),
    ("outsider", "Globex", ["owner"]),
]


def seed(emulator: Emulator) -> tuple[dict[str, str], dict[str, SessionRecord]]:
    """Create the organizations and members; return org ids by name and sessions by person."""
    orgs = {
        name: emulator.create_organization(name, slug=name.lower()).organization_id
        for name in ("Acme", "Globex")
    }
    sessions: dict[str, SessionRecord] = {}
    for person, org, roles in PEOPLE:
        member = emulator.create_member(
            orgs[org], email_address=f"{person}@{org.lower()}.test", roles=roles
        )
        sessions[person] = emulator.create_session(member.member_id, duration_minutes=24 * 60)
    return orgs, sessions


def banner(
    app_url: str, emulator_url: str, orgs: dict[str, str], sessions: dict[str, SessionRecord]
) -> str:
    """What to print once the app is serving."""
    acme = orgs["Acme"]
    lines = [
        f"Stytch emulator: {emulator_url}",
        f"App:             {app_url}   (OpenAPI UI: {app_url}/docs)",
        f"Organizations:   Acme={acme}  Globex={orgs['Globex']}",
        "",
        "# Credentials (session JWTs last 5 minutes; the app hands a refreshed one back in",
        "# the X-Stytch-Session-JWT response header; session tokens last 24 hours):",
        f"export APP={app_url} ACME={acme} GLOBEX={orgs['Globex']}",
    ]
    for person, session in sessions.items():
        name = person.upper()
        lines.append(f"export {name}_JWT={session.session_jwt}")
        lines.append(f"export {name}_TOKEN={session.session_token}")
    lines += [
        "",
        "# Try:",
        'curl -s -X POST "$APP/orgs/$ACME/documents" -H "Authorization: Bearer $EDITOR_JWT" \\',
        "     -H 'content-type: application/json' -d '{\"title\": \"Plan\"}'     # 201",
        'curl -s "$APP/orgs/$ACME/documents" -H "Authorization: Bearer $VIEWER_JWT"   # 200',
        'curl -s -X DELETE "$APP/orgs/$ACME/documents/doc-1" -H "Authorization: Bearer $VIEWER_JWT"'
        "   # 403",
        'curl -s "$APP/orgs/$ACME/documents" -H "Authorization: Bearer $OUTSIDER_JWT"'
        "  # 403 (tenancy)",
        'curl -s "$APP/me" --cookie "stytch_session=$OWNER_TOKEN"                     # 200',
        "",
        f"Ready: {app_url}",
    ]
    return "\n".join(lines)


class _Server(uvicorn.Server):
    """uvicorn, printing the banner once it accepts connections."""

    def __init__(self, config: uvicorn.Config, text: str) -> None:
        super().__init__(config)
        self._text = text

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(self._text, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the emulator and the app until interrupted; 0 on a clean stop."""
    parser = argparse.ArgumentParser(prog="python -m examples.fastapi_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--policy", type=Path, default=POLICY, help="RBAC policy JSON")
    args = parser.parse_args(argv)

    emulator = Emulator(policy=args.policy)
    orgs, sessions = seed(emulator)
    with emulator.serve_in_thread() as emulator_url:
        rbac = StytchRBAC(emulator.project_id, emulator.secret, base_url=emulator_url)
        app = create_app(rbac, open_rbac=True)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((args.host, args.port))
        except OSError as exc:
            print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        with sock:
            app_url = f"http://{args.host}:{sock.getsockname()[1]}"
            config = uvicorn.Config(app, host=args.host, port=sock.getsockname()[1], lifespan="on")
            server = _Server(config, banner(app_url, emulator_url, orgs, sessions))
            # uvicorn shuts down gracefully on Ctrl-C, then re-raises it: a normal stop.
            with contextlib.suppress(KeyboardInterrupt):
                server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
