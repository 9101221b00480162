"""One set of behavioural cases, run on the async facade and on the blocking one.

Each case is written once against :class:`Facade`, which awaits the async facade's
coroutine or runs the blocking facade's method in a worker thread (it blocks), so
both must give the same answers, raise the same errors and make the same requests
to Stytch. Runs on asyncio and trio (the test's loop; the blocking facade's own
loop follows the same backend).
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

import examples.permissions
from examples.permissions import P
from stytch_rbac import (
    PermissionDenied,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
    UnknownPermission,
)
from stytch_rbac.emulator import Emulator
from stytch_rbac.testing import MemberFactory

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"

pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(EXAMPLE_POLICY)]


class Facade:
    """Either facade behind one awaitable interface: ``await facade("is_authorized", ...)``."""

    def __init__(self, target: Any, blocking: bool) -> None:
        self.target = target
        self.blocking = blocking

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self.blocking:
            return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
        result = fn(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result  # invalidate() is sync

    async def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return await self._call(getattr(self.target, method), *args, **kwargs)

    async def as_member(self, who: Any, call: str, *args: Any, **kwargs: Any) -> Any:
        """Make the built-in call ``call`` (dotted) as ``who``."""
        target = self.target.as_member(who)
        *path, name = call.split(".")
        for part in path:
            target = getattr(target, part)
        return await self._call(getattr(target, name), *args, **kwargs)


@pytest.fixture(params=["async", "blocking"])
def facade(request: pytest.FixtureRequest) -> Facade:
    """The plugin's async ``stytch_rbac``, or its blocking ``stytch_rbac_sync``."""
    blocking = request.param == "blocking"
    target = request.getfixturevalue("stytch_rbac_sync" if blocking else "stytch_rbac")
    return Facade(target, blocking)


async def test_jwt_is_verified_locally_once(
    facade: Facade, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """A valid JWT becomes its Principal with one JWKS fetch and no sessions call."""
    editor = member(["editor"])
    first = await facade("authenticate", session_jwt=editor.session_jwt)
    again = await facade("authenticate", session_jwt=editor.session_jwt)
    assert first.member_id == editor.member_id
    assert first.roles == frozenset({"editor", "stytch_member"})
    assert again is first
    assert stytch_emulator.requests["sessions.jwks"] == 1
    assert stytch_emulator.requests["sessions.authenticate"] == 0


async def test_session_token_asks_stytch_each_time(
    facade: Facade, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """A session token goes to sessions/authenticate on every call."""
    viewer = member(["viewer"])
    for _ in range(2):
        principal = await facade("authenticate", session_token=viewer.session_token)
        assert principal.member_id == viewer.member_id
    assert stytch_emulator.requests["sessions.authenticate"] == 2


async def test_expired_jwt_comes_back_refreshed(
    facade: Facade, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """An expired JWT is refreshed by Stytch, once."""
    editor = member(["editor"])
    stytch_emulator.advance_time(301)
    principal = await facade("authenticate", session_jwt=editor.session_jwt)
    assert principal.jwt_refreshed
    assert stytch_emulator.requests["sessions.authenticate"] == 1


async def test_bad_credentials_are_refused(
    facade: Facade, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """No credential, both, a forged JWT and a revoked token are refused, as the async
    facade refuses them."""
    editor = member(["editor"])
    with pytest.raises(Unauthenticated) as missing:
        await facade("authenticate")
    assert missing.value.reason == "missing"
    with pytest.raises(ValueError, match="not both"):
        await facade("authenticate", session_jwt="a.b.c", session_token="t")
    head, payload, _ = editor.session_jwt.split(".")
    with pytest.raises(Unauthenticated):
        await facade("authenticate", session_jwt=f"{head}.{payload}.AAAA")
    assert stytch_emulator.requests["sessions.authenticate"] == 0
    stytch_emulator.revoke_session(editor.session_id)
    with pytest.raises(Unauthenticated):
        await facade("authenticate", session_token=editor.session_token)


async def test_decisions(facade: Facade, member: MemberFactory) -> None:
    """is_authorized, authorize, explain and permissions agree with the example policy, in
    every spelling of a permission."""
    editor = member(["editor"]).principal
    assert await facade("is_authorized", editor, P.documents.edit)
    assert await facade("is_authorized", editor, "documents:edit")
    assert await facade("is_authorized", editor, "documents", "edit")
    assert not await facade("is_authorized", editor, P.documents.delete)
    assert await facade("authorize", editor, P.documents.edit) is None
    with pytest.raises(PermissionDenied) as denied:
        await facade("authorize", editor, P.documents.delete)
    assert (denied.value.resource, denied.value.action) == ("documents", "delete")
    decision = await facade("explain", editor, P.documents.edit)
    assert decision.allowed
    assert "editor" in decision.granted_by
    permissions = await facade("permissions", editor)
    assert permissions["documents"] == {
        action: await facade("is_authorized", editor, "documents", action)
        for action in permissions["documents"]
    }


async def test_other_organization_is_denied(facade: Facade, member: MemberFactory) -> None:
    """A decision about another organization is a denial, a TenancyError for authorize."""
    admin = member(["stytch_admin"]).principal
    other = member(["editor"], organization="Globex").principal.organization_id
    assert not await facade("is_authorized", admin, P.documents.read, organization_id=other)
    with pytest.raises(TenancyError):
        await facade("authorize", admin, P.documents.read, organization_id=other)
    assert not (await facade("explain", admin, P.documents.read, organization_id=other)).allowed


async def test_unknown_permission_raises_in_strict_mode(
    facade: Facade, member: MemberFactory
) -> None:
    """A typo is UnknownPermission, not a silent deny; a malformed permission a TypeError."""
    editor = member(["editor"]).principal
    with pytest.raises(UnknownPermission):
        await facade("is_authorized", editor, "documents", "raed")
    with pytest.raises(TypeError):
        await facade("is_authorized", editor, "documents")
    with pytest.raises(TypeError, match="Principal"):
        await facade("is_authorized", "not a principal", P.documents.read)


async def test_stytch_down_with_nothing_cached_fails_closed(
    facade: Facade, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """No policy and Stytch failing: StytchUnavailable, never an answer."""
    editor = member(["editor"]).principal
    stytch_emulator.faults.fail("rbac.policy", 500)
    with pytest.raises(StytchUnavailable):
        await facade("is_authorized", editor, P.documents.read)


async def test_stale_policy_serves_while_stytch_fails(
    facade: Facade, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """A stale policy keeps answering while refreshes fail, until max_stale."""
    editor = member(["editor"]).principal
    assert await facade("is_authorized", editor, P.documents.edit)
    stytch_emulator.faults.fail("rbac.policy", 500)
    stytch_emulator.faults.fail("rbac.org_policy", 500)
    stytch_emulator.advance_time(301)
    assert await facade("is_authorized", editor, P.documents.edit)
    stytch_emulator.advance_time(3600)
    with pytest.raises(StytchUnavailable):
        await facade("is_authorized", editor, P.documents.edit)


async def test_policy_refresh_and_invalidate(
    facade: Facade, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """refresh_policy fetches now (an unchanged policy is kept as the same object, so what
    was derived from it stays valid); invalidate makes the next decision fetch."""
    editor = member(["editor"]).principal
    project = await facade("policy")
    assert await facade("refresh_policy") is project
    assert stytch_emulator.requests["rbac.policy"] == 2
    await facade("invalidate")
    assert await facade("is_authorized", editor, P.documents.edit)
    assert stytch_emulator.requests["rbac.policy"] == 3


async def test_generated_module_matches_the_policy(facade: Facade) -> None:
    """verify() finds no drift between the generated example module and its policy."""
    assert not await facade("verify", examples.permissions)


async def test_member_calls(
    facade: Facade, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """Built-in calls as a member: an admin deletes; a plain member is refused before the
    network."""
    admin, plain = member(["stytch_admin"]), member([])
    with pytest.raises(PermissionDenied):
        await facade.as_member(
            plain.principal,
            "organizations.members.delete",
            organization_id=plain.organization_id,
            member_id=admin.member_id,
        )
    assert stytch_emulator.requests["organizations.members.delete"] == 0
    result = await facade.as_member(
        admin.principal,
        "organizations.members.delete",
        organization_id=admin.organization_id,
        member_id=plain.member_id,
    )
    assert result.member_id == plain.member_id
    assert stytch_emulator.get_member(plain.member_id).json["status"] == "deleted"
