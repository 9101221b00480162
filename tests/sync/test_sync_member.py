"""The blocking member client mirrors the async one: every namespace and every coroutine
method, with the same signature, found by walking both trees (nothing listed by hand)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from stytch_rbac import PermissionDenied
from stytch_rbac.emulator import Emulator
from stytch_rbac.sync import MemberClient, MemberNamespace, StytchRBAC
from stytch_rbac.testing import MemberFactory

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"

pytestmark = pytest.mark.stytch_policy(EXAMPLE_POLICY)


def _walk(aio: object, blocking: Any, path: str = "") -> list[str]:
    """Compare ``aio`` (async) and ``blocking`` attribute by attribute; the methods seen."""
    seen: list[str] = []
    for name, value in inspect.getmembers(aio):
        if name.startswith("_"):
            continue
        where = f"{path}{name}"
        twin = getattr(blocking, name)
        if inspect.iscoroutinefunction(value):
            assert callable(twin), where
            assert not inspect.iscoroutinefunction(twin), where
            assert inspect.signature(twin) == inspect.signature(value), where
            seen.append(where)
        elif type(value).__module__.startswith("stytch_rbac.member"):
            assert isinstance(twin, MemberNamespace), where
            seen += _walk(value, twin, f"{where}.")
        else:
            assert twin == value, where
    return seen


def test_every_async_member_method_has_a_blocking_twin(
    stytch_rbac_sync: StytchRBAC, member: MemberFactory
) -> None:
    """Walking the async MemberClient finds each method on the blocking one, same signature;
    the built-in calls of the generated tree (40 at least) are all there."""
    who = member(["stytch_admin"]).principal
    blocking = stytch_rbac_sync.as_member(who)
    assert isinstance(blocking, MemberClient)
    seen = _walk(stytch_rbac_sync.aio.as_member(who), blocking)
    assert "organizations.members.delete" in seen
    assert "principal" in seen
    assert len([s for s in seen if "." in s]) >= 40
    assert sorted(dir(blocking)) == sorted(
        n for n in dir(stytch_rbac_sync.aio.as_member(who)) if not n.startswith("_")
    )
    with pytest.raises(AttributeError):
        _ = blocking._member


def test_blocking_member_calls_keep_preflight_and_errors(
    stytch_rbac_sync: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """preflight=False reaches Stytch, whose 403 is the same PermissionDenied; the member's
    principal() resolves a bare credential."""
    admin, plain = member(["stytch_admin"]), member([])
    client = stytch_rbac_sync.as_member(session_jwt=plain.session_jwt, preflight=False)
    assert client.preflight is False
    assert client.principal().member_id == plain.member_id
    with pytest.raises(PermissionDenied) as denied:
        client.organizations.members.delete(plain.organization_id, admin.member_id)
    assert denied.value.request_id
    assert stytch_emulator.requests["organizations.members.delete"] == 1
    assert "blocking" in repr(client.organizations)
