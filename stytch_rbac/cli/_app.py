"""The typer application; importing the command modules registers their commands."""

from __future__ import annotations

from . import _policy_cmds  # noqa: F401  (registers show)
from ._common import app

__all__ = ["app"]
