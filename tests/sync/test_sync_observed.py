"""The blocking facade and the sync guards report every decision to the same observer as
the async facade (docs/observability.md)."""

from __future__ import annotations

from pathlib import Path

import flask
import pytest

from stytch_rbac import DecisionEvent, PermissionDenied
from stytch_rbac.emulator import Emulator
from stytch_rbac.observe import DecisionSource, DenialReason
from stytch_rbac.sync import StytchRBAC
from stytch_rbac.testing import MemberFactory

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"

pytestmark = pytest.mark.stytch_policy(EXAMPLE_POLICY)


def test_blocking_decisions_and_flask_guards_are_reported(
    stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """is_authorized / authorize on the blocking facade, then a Flask view's guard: one
    event each, with the same fields the async paths give."""
    editor = member(["editor"])
    seen: list[DecisionEvent] = []
    with (
        stytch_emulator.serve_in_thread() as base_url,
        StytchRBAC(
            stytch_emulator.project_id,
            stytch_emulator.secret,
            base_url=base_url,
            clock=stytch_emulator.clock,
            on_decision=seen.append,
        ) as rbac,
    ):
        principal = rbac.authenticate(session_jwt=editor.session_jwt)
        assert rbac.is_authorized(principal, "documents:edit")
        with pytest.raises(PermissionDenied):
            rbac.authorize(principal, "documents:delete")

        app = flask.Flask(__name__)

        @app.get("/docs")
        @rbac.require("documents:read")
        def docs() -> str:
            return "ok"

        assert app.test_client().get("/docs", headers=editor.headers).status_code == 200
    assert [(e.source, e.allowed, e.reason) for e in seen] == [
        (DecisionSource.IS_AUTHORIZED, True, None),
        (DecisionSource.AUTHORIZE, False, DenialReason.NO_GRANT),
        (DecisionSource.GUARD, True, None),
    ]
    assert {e.principal_id for e in seen} == {editor.member_id}
    assert seen[2].route == "/docs"
    assert seen[0].granted_by == ("editor",)
