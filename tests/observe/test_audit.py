"""AuditLog: one JSON line per event on the ``stytch_rbac.audit`` logger."""

from __future__ import annotations

import json
import logging

import pytest

from stytch_rbac import AuditLog, PermissionDenied
from stytch_rbac.emulator import Emulator
from stytch_rbac.testing import MemberFactory

from .conftest import EXAMPLE_POLICY, in_process

pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(EXAMPLE_POLICY)]


async def test_one_json_line_per_event(
    stytch_emulator: Emulator, member: MemberFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """An authentication and a denial give two parseable lines with the event's fields."""
    viewer = member(["viewer"])
    audit = AuditLog()
    rbac, http = in_process(stytch_emulator, on_decision=audit, on_authentication=audit)
    with caplog.at_level(logging.INFO, logger="stytch_rbac.audit"):
        async with http, rbac:
            principal = await rbac.authenticate(session_jwt=viewer.session_jwt)
            with pytest.raises(PermissionDenied):
                await rbac.authorize(principal, "documents:delete")
    lines = [r.getMessage() for r in caplog.records if r.name == "stytch_rbac.audit"]
    first, second = (json.loads(line) for line in lines)
    assert (first["event"], first["outcome"], first["principal_id"]) == (
        "authentication",
        "authenticated",
        viewer.member_id,
    )
    assert (second["event"], second["allowed"], second["reason"]) == ("decision", False, "no_grant")
    assert (second["resource"], second["action"]) == ("documents", "delete")
    assert viewer.session_jwt not in "".join(lines)


def test_nothing_is_formatted_when_the_logger_drops_it(caplog: pytest.LogCaptureFixture) -> None:
    """Below the logger's level, the sink returns without touching the event."""

    class Exploding:
        def as_dict(self) -> dict[str, object]:
            raise AssertionError("formatted though nobody listens")

    audit = AuditLog(logging.getLogger("stytch_rbac.audit.quiet"), level=logging.DEBUG)
    with caplog.at_level(logging.WARNING, logger="stytch_rbac.audit.quiet"):
        audit(Exploding())  # type: ignore[arg-type]
    assert not caplog.records
