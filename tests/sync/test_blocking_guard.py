"""The blocking guard outside a framework: check(), the start-up verify(), and the awaiting
twins used by async views, on the blocking facade."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from examples.permissions import P
from stytch_rbac import PermissionDenied, TenancyError, UnknownPermission
from stytch_rbac.integrations.guard import guards_of
from stytch_rbac.sync import StytchRBAC
from stytch_rbac.testing import MemberFactory

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"

pytestmark = pytest.mark.stytch_policy(EXAMPLE_POLICY)


def test_check_decides_like_the_async_guard(
    stytch_rbac_sync: StytchRBAC, member: MemberFactory
) -> None:
    """all-of, any-of and tenancy, each failing closed with the async guard's errors."""
    editor = member(["editor"]).principal
    both = stytch_rbac_sync.require(P.documents.edit, P.documents.delete)
    either = stytch_rbac_sync.require(P.documents.edit, P.documents.delete, any_of=True)
    with pytest.raises(PermissionDenied) as denied:
        both.check(editor)
    assert denied.value.action == "delete"
    assert either.check(editor) is editor
    in_org = stytch_rbac_sync.require(P.documents.read, organization_id="org-elsewhere")
    with pytest.raises(TenancyError):
        in_org.check(editor)
    assert both.permissions == (P.documents.edit, P.documents.delete)
    assert "documents:delete" in repr(both)


def test_verify_names_an_unknown_permission(stytch_rbac_sync: StytchRBAC) -> None:
    """The start-up check refuses a permission the policy lacks; a good guard passes."""
    stytch_rbac_sync.require(P.documents.read).verify()
    with pytest.raises(UnknownPermission):
        stytch_rbac_sync.require("documents:raed").verify()


def test_decorated_function_is_found_by_guards_of(stytch_rbac_sync: StytchRBAC) -> None:
    """A function guarded on its principal carries its guard for start-up checks."""
    guard = stytch_rbac_sync.require(P.documents.read)

    @guard
    def read(principal: object) -> str:
        return "read"

    assert guards_of(read) == (guard.guard,)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_awaiting_twins_from_another_loop(
    stytch_rbac_sync: StytchRBAC, member: MemberFactory, backend: str
) -> None:
    """acheck, aauthenticate, apolicy and run_async answer from an event loop of the caller's,
    cold (through the facade's loop) and warm."""
    viewer = member(["viewer"])
    guard = stytch_rbac_sync.require(P.documents.read)

    async def main() -> None:
        principal = await stytch_rbac_sync.aauthenticate(session_jwt=viewer.session_jwt)
        assert await guard.acheck(principal) is principal
        assert await guard.acheck(principal) is principal  # warm
        with pytest.raises(PermissionDenied):
            await stytch_rbac_sync.require(P.documents.delete).acheck(principal)
        policy = await stytch_rbac_sync.apolicy(principal.organization_id)
        assert policy is stytch_rbac_sync.policy(principal.organization_id)
        assert await stytch_rbac_sync.run_async(stytch_rbac_sync.aio.policy) is not None

    anyio.run(main, backend=backend)
