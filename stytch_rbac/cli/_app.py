"""The typer application; importing the command modules registers their commands."""

from __future__ import annotations

from . import (
    _demo,  # noqa: F401  (registers demo)
    _diff_cmd,  # noqa: F401  (registers diff)
    _emulator_cmd,  # noqa: F401  (registers emulator)
    _expect_cmd,  # noqa: F401  (registers test)
    _fetch_cmd,  # noqa: F401  (registers fetch-policy)
    _generate_cmd,  # noqa: F401  (registers generate, check)
    _lint_cmd,  # noqa: F401  (registers lint)
    _policy_cmds,  # noqa: F401  (registers show, can)
    _remote_cmds,  # noqa: F401  (registers pull, plan, push)
)
from ._common import app

__all__ = ["app"]
