"""``python -m examples.fullstack``: the page, the backend and the emulator, in one command.

Builds the page (npm ci + esbuild, once), starts the Stytch emulator (examples/policy.json,
Acme with a custom role and three members) on ``--stytch-port`` (default 8765) and the
backend on ``--port`` (default 8000), and prints the URL to open. Ctrl-C stops both.
"""

import argparse
import contextlib
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from stytch_rbac import StytchRBAC
from stytch_rbac.emulator import Emulator

from .app import create_fullstack_app
from .frontend import BundleError, build_frontend
from .seed import PEOPLE, seed

POLICY = Path(__file__).resolve().parent.parent / "policy.json"


class _Server(uvicorn.Server):
    """uvicorn, printing where to go once it accepts connections."""

    def __init__(self, config: uvicorn.Config, text: str) -> None:
        super().__init__(config)
        self._text = text

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(self._text, flush=True)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted; 0 on a clean stop, 1 when the page cannot be built."""
    parser = argparse.ArgumentParser(prog="python -m examples.fullstack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="the backend (0: any free port)")
    parser.add_argument("--stytch-port", type=int, default=8765, help="the emulator")
    args = parser.parse_args(argv)
    try:
        build_frontend()
    except BundleError as exc:
        print(exc, file=sys.stderr)
        return 1
    emulator = Emulator(policy=POLICY)
    organization_id = seed(emulator)
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    with sock, emulator.serve_in_thread(host=args.host, port=args.stytch_port) as stytch_url:
        rbac = StytchRBAC(emulator.project_id, emulator.secret, base_url=stytch_url)
        app = create_fullstack_app(
            rbac,
            emulator,
            stytch_url=stytch_url,
            organization_id=organization_id,
            people=PEOPLE,
            open_rbac=True,
        )
        app_url = f"http://{args.host}:{sock.getsockname()[1]}"
        text = (
            f"Stytch emulator: {stytch_url}   (public token {emulator.public_token})\n"
            f"Open:            {app_url}/   (log in with a magic link from the page's outbox)"
        )
        config = uvicorn.Config(
            app, host=args.host, port=sock.getsockname()[1], lifespan="on", log_level="warning"
        )
        # uvicorn shuts down gracefully on Ctrl-C, then re-raises it: a normal stop.
        with contextlib.suppress(KeyboardInterrupt):
            _Server(config, text).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
