"""What every sub-command shares: the typer app, the consoles, loading a policy."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ..errors import PolicyError
from ..policy import Policy
from . import EXIT_BAD_INPUT

__all__ = ["app", "console", "err_console", "fail", "load_policy_file"]

app = typer.Typer(
    name="stytch-rbac",
    help="Typed permissions, local checks and an offline emulator for Stytch B2B RBAC.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def load_policy_file(path: Path) -> Policy:
    """Parse a policy file, turning every failure into a one-line error and exit 2."""
    if not path.exists():
        raise fail(f"policy file not found: {path}")
    try:
        return Policy.from_file(path)
    except PolicyError as exc:
        raise fail(f"{path}: {exc}") from None
