"""StytchRBAC and a policy Stytch serves with oddities: logged once per load, never warned."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest

from stytch_rbac.client import StytchRBAC
from stytch_rbac.clock import ManualClock
from stytch_rbac.emulator import Emulator

EXAMPLE_POLICY = Path(__file__).resolve().parent.parent / "examples" / "policy.json"

pytestmark = pytest.mark.anyio


def odd_policy() -> dict[str, Any]:
    """The example policy plus two oddities: a grant on an undefined resource, no actions."""
    data: dict[str, Any] = json.loads(EXAMPLE_POLICY.read_text())
    viewer = next(r for r in data["roles"] if r["role_id"] == "viewer")
    viewer["permissions"].append({"resource_id": "ghosts", "actions": ["read"]})
    viewer["permissions"].append({"resource_id": "documents", "actions": []})
    return data


async def test_policy_problems_are_logged_once_per_load_and_never_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each warning problem is logged once per policy version on the stytch_rbac logger; no
    Python warning is emitted (filterwarnings=error) and the warnings filter is untouched."""
    caplog.set_level(logging.WARNING, logger="stytch_rbac")
    emu = Emulator(policy=odd_policy(), clock=ManualClock())
    filters = list(warnings.filters)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app)) as http,
        StytchRBAC(
            emu.project_id, emu.secret, base_url="http://emulator.invalid", http_client=http
        ) as rbac,
    ):
        compiled = await rbac.policy()
        assert warnings.filters == filters
        assert [p.code for p in compiled.problems] == ["undefined-resource", "empty-permission"]
        logged = [r for r in caplog.records if r.name == "stytch_rbac"]
        assert [r.levelno for r in logged] == [logging.WARNING] * 2
        assert [r.getMessage() for r in logged] == [
            f"stytch_rbac: RBAC policy: {p.message} ({p.code})" for p in compiled.problems
        ]
        await rbac.policy()  # served from the cache: no new load, nothing logged again
        assert len([r for r in caplog.records if r.name == "stytch_rbac"]) == 2
        await rbac.refresh_policy()  # the same policy again: kept as it was, nothing logged
        assert len([r for r in caplog.records if r.name == "stytch_rbac"]) == 2
        changed = odd_policy()
        changed["roles"][0]["description"] += " (changed)"
        emu.set_policy(changed)
        await rbac.refresh_policy()  # a changed policy logs its problems once more
        assert len([r for r in caplog.records if r.name == "stytch_rbac"]) == 4
    assert emu.requests["rbac.policy"] == 3
    assert warnings.filters == filters
