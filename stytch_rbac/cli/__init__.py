"""The ``stytch-rbac`` command line (typer + rich).

Each sub-command lives in its own module of this package and registers itself
on :data:`app`; this module only assembles them and maps errors to exit codes.

Exit codes: 0 ok, 1 a check failed or a permission is denied, 2 bad input,
3 Stytch (or the emulator) unreachable.
"""

from __future__ import annotations

import sys

__all__ = ["EXIT_BAD_INPUT", "EXIT_DENIED", "EXIT_OK", "EXIT_UNREACHABLE", "main"]

EXIT_OK = 0
EXIT_DENIED = 1
EXIT_BAD_INPUT = 2
EXIT_UNREACHABLE = 3


def main() -> None:
    """Entry point of the ``stytch-rbac`` script."""
    try:
        from ._app import app
    except ImportError as exc:  # typer/rich are the optional "cli" extra
        print(
            f"stytch-rbac: the command line needs the 'cli' extra ({exc.name} is missing): "
            "pip install 'stytch-rbac[cli]'",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_BAD_INPUT) from None
    app()
