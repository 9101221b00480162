"""A ready sink: one JSON line per event through stdlib ``logging`` (logger ``stytch_rbac.audit``).

::

    from stytch_rbac.observe import AuditLog

    audit = AuditLog()
    rbac = StytchRBAC.from_env(on_decision=audit, on_authentication=audit)

Each line is a JSON object with ``"event": "decision"`` or ``"authentication"`` and the
event's fields (never a token or a secret); route the ``stytch_rbac.audit`` logger to
wherever your log pipeline reads (a file, stdout for a container, syslog).
"""

from __future__ import annotations

import json
import logging

from .events import AuthenticationEvent, DecisionEvent

__all__ = ["AuditLog"]


class AuditLog:
    """Write each event as one JSON line to ``logger`` (default ``stytch_rbac.audit``) at
    ``level`` (default INFO). Nothing is formatted when the logger would drop the line."""

    __slots__ = ("level", "logger")

    def __init__(self, logger: logging.Logger | None = None, *, level: int = logging.INFO) -> None:
        self.logger: logging.Logger = logger or logging.getLogger("stytch_rbac.audit")
        self.level: int = level

    def __repr__(self) -> str:
        return f"AuditLog({self.logger.name!r}, level={logging.getLevelName(self.level)})"

    def __call__(self, event: DecisionEvent | AuthenticationEvent) -> None:
        """Log ``event``."""
        if not self.logger.isEnabledFor(self.level):
            return
        kind = "decision" if isinstance(event, DecisionEvent) else "authentication"
        line = json.dumps(
            {"event": kind, **event.as_dict()}, separators=(",", ":"), ensure_ascii=False
        )
        self.logger.log(self.level, line)
