"""StytchRBAC's lifecycle: `async with StytchRBAC(...)` hands the caller's own exceptions back
unchanged; a closed facade opens again with `async with` (a new pooled client, the caches
kept), and using a closed one says what to do."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from stytch_rbac import PermissionDenied, StytchRBAC
from stytch_rbac.emulator import Emulator
from stytch_rbac.testing import MemberFactory

POLICY = Path(__file__).resolve().parent.parent / "examples" / "policy.json"


class _Boom(Exception):
    """An application error raised inside the facade's context."""


@pytest.mark.anyio
async def test_exception_inside_context_is_not_wrapped(anyio_backend: str) -> None:
    """An exception raised in the body propagates as itself, not as an ExceptionGroup,
    so `except PermissionDenied:` around the block keeps working."""
    with pytest.raises(_Boom):
        async with StytchRBAC("project-test-x", "secret", base_url="http://127.0.0.1:9"):
            raise _Boom
    with pytest.raises(PermissionDenied):
        async with StytchRBAC("project-test-x", "secret", base_url="http://127.0.0.1:9"):
            raise PermissionDenied("documents", "delete")


@pytest.mark.anyio
@pytest.mark.stytch_policy(POLICY)
async def test_reopen_after_close_gets_a_new_pool(
    stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """A facade closed by the end of its `async with` opens again: a fresh httpx client
    (the old one stays closed), a fresh SDK client, and Stytch reachable through both."""
    editor = member(roles=["editor"])
    async with stytch_emulator.serve() as base_url:
        rbac = StytchRBAC(
            stytch_emulator.project_id,
            stytch_emulator.secret,
            base_url=base_url,
            clock=stytch_emulator.clock,
        )
        async with rbac:
            first_http, first_sdk = rbac.http, rbac.stytch
            who = await rbac.authenticate(session_token=editor.session_token)
            assert await rbac.is_authorized(who, "documents:edit")
        assert first_http.is_closed
        async with rbac:
            assert rbac.http is not first_http
            assert not rbac.http.is_closed
            assert rbac.stytch is not first_sdk
            again = await rbac.authenticate(session_token=editor.session_token)
            org = await rbac.stytch.organizations.get_async(organization_id=who.organization_id)
            assert await rbac.is_authorized(again, "documents", "edit")
        assert rbac.http.is_closed
    assert again.member_id == who.member_id
    assert org.organization.organization_id == who.organization_id


@pytest.mark.anyio
@pytest.mark.stytch_policy(POLICY)
async def test_reopen_keeps_what_the_caches_hold(
    stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """Re-opening keeps the cached policy and keys: a still-fresh policy is not fetched again."""
    editor = member(roles=["editor"])
    async with stytch_emulator.serve() as base_url:
        rbac = StytchRBAC(
            stytch_emulator.project_id,
            stytch_emulator.secret,
            base_url=base_url,
            clock=stytch_emulator.clock,
        )
        for _ in range(3):
            async with rbac:
                who = await rbac.authenticate(session_jwt=editor.session_jwt)
                assert await rbac.is_authorized(who, "documents:edit")
    assert stytch_emulator.requests["rbac.policy"] == 1
    assert stytch_emulator.requests["sessions.jwks"] == 1


@pytest.mark.anyio
@pytest.mark.stytch_policy(POLICY)
async def test_reopen_with_your_open_http_client(
    stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """With http_client= still open, re-opening uses that same client (it is never closed
    by the facade)."""
    editor = member(roles=["editor"])
    transport = httpx.ASGITransport(app=stytch_emulator.app)
    async with httpx.AsyncClient(transport=transport) as http:
        rbac = StytchRBAC(
            stytch_emulator.project_id,
            stytch_emulator.secret,
            base_url="http://emulator.invalid",
            http_client=http,
            clock=stytch_emulator.clock,
        )
        for _ in range(2):
            async with rbac:
                assert rbac.http is http
                who = await rbac.authenticate(session_token=editor.session_token)
            assert not http.is_closed
    assert who.member_id == editor.member_id


@pytest.mark.anyio
@pytest.mark.stytch_policy(POLICY)
async def test_using_a_closed_facade_says_what_to_do(
    stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """A call that needs Stytch on a closed facade is a RuntimeError naming `async with rbac`
    and the lifespan helpers; a later `async with` makes the same call work."""
    editor = member(roles=["editor"])
    async with stytch_emulator.serve() as base_url:
        rbac = StytchRBAC(stytch_emulator.project_id, stytch_emulator.secret, base_url=base_url)
        async with rbac:
            pass
        with pytest.raises(RuntimeError, match=r"open it again with `async with rbac:`.*lifespan"):
            await rbac.authenticate(session_token=editor.session_token)
        with pytest.raises(RuntimeError, match="async with rbac"):
            await rbac.refresh_policy()
        async with rbac:
            who = await rbac.authenticate(session_token=editor.session_token)
    assert who.member_id == editor.member_id


@pytest.mark.anyio
@pytest.mark.stytch_policy(POLICY)
async def test_aclose_without_async_with_then_reopen(stytch_emulator: Emulator) -> None:
    """aclose() on a facade never entered, then `async with`, works as well."""
    async with stytch_emulator.serve() as base_url:
        rbac = StytchRBAC(stytch_emulator.project_id, stytch_emulator.secret, base_url=base_url)
        await rbac.aclose()
        await rbac.aclose()  # idempotent
        async with rbac:
            policy = await rbac.policy()
    assert "documents" in policy.resources
