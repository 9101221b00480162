"""The blocking guard outside a framework: check(), the start-up verify(), and the awaiting
twins used by async views, on the blocking facade."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import anyio
import pytest

from examples.permissions import P
from stytch_rbac import (
    CompiledPolicy,
    PermissionDenied,
    Principal,
    TenancyError,
    UnknownPermission,
)
from stytch_rbac.integrations.blocking import BlockingAuthorizer, bridge, run_unsuspended
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


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_bridge_decides_with_the_facades_authorize_in_either_world(
    stytch_rbac_sync: StytchRBAC, member: MemberFactory, backend: str
) -> None:
    """The guard's authorizer calls the blocking facade's authorize (what access tokens are
    decided by): inline without a loop, in a worker thread under the caller's loop."""
    viewer = member(["viewer"]).principal
    authorizer = bridge(stytch_rbac_sync)
    assert run_unsuspended(authorizer.authorize(viewer, P.documents.read)) is None
    with pytest.raises(PermissionDenied):
        run_unsuspended(authorizer.authorize(viewer, P.documents.delete))

    async def main() -> None:
        await authorizer.authorize(viewer, P.documents.read, organization_id=None)
        with pytest.raises(PermissionDenied):
            await authorizer.authorize(viewer, P.documents.delete)

    anyio.run(main, backend=backend)


def test_a_guard_over_a_facade_without_access_tokens_says_so(
    stytch_rbac_sync: StytchRBAC,
) -> None:
    """A blocking authorizer lacking authenticate_access_token / authorize cannot back a
    guard for tokens: a TypeError naming the missing method, never an allow."""

    class SessionsOnly:
        def authenticate(self, **credentials: str | None) -> Principal:
            raise AssertionError("not reached")

        def policy(self, organization_id: str | None = None) -> CompiledPolicy:
            return stytch_rbac_sync.policy(organization_id)

    authorizer = bridge(cast("BlockingAuthorizer", SessionsOnly()))
    with pytest.raises(TypeError, match="authenticate_access_token"):
        run_unsuspended(authorizer.authenticate_access_token("token", accept={"agent"}))
    with pytest.raises(TypeError, match="authorize"):
        run_unsuspended(authorizer.authorize(cast("Principal", None), P.documents.read))
    assert authorizer.m2m_scopes is None
