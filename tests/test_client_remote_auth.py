"""Remote authentication (``sessions/authenticate``) under a flood of bogus credentials: bounded
concurrency, refusals remembered briefly by hash, and policy / JWKS fetches never starved."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from stytch_rbac import StytchUnavailable, Unauthenticated
from stytch_rbac.client import StytchRBAC
from stytch_rbac.emulator import Emulator
from stytch_rbac.testing import MemberFactory

EXAMPLE_POLICY = Path(__file__).resolve().parent.parent / "examples" / "policy.json"

pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(EXAMPLE_POLICY)]


def configured(emu: Emulator, rbac: StytchRBAC, **settings: Any) -> StytchRBAC:
    """A facade with ``settings`` over the plugin facade's HTTP client and the emulator's clock."""
    return StytchRBAC(
        emu.project_id,
        emu.secret,
        base_url=rbac.base_url,
        http_client=rbac.http,
        clock=emu.clock,
        **settings,
    )


async def until(condition: Callable[[], bool]) -> None:
    """Yield until ``condition()`` holds; the ``fail_after`` is a hang guard only."""
    with anyio.fail_after(30):
        while not condition():  # noqa: ASYNC110  (the emulator signals no event)
            await anyio.sleep(0.005)


def bogus() -> str:
    """A random string shaped like a session token (what a flood of forged cookies sends)."""
    return secrets.token_urlsafe(33)


async def _refused(rbac: StytchRBAC, token: str) -> None:
    """Authenticate ``token``, expecting a refusal (or Stytch unavailable, once released)."""
    with pytest.raises((Unauthenticated, StytchUnavailable)):
        await rbac.authenticate(session_token=token)


async def test_a_refused_token_is_remembered_briefly_by_hash(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC
) -> None:
    """The same bogus token 50 times costs one sessions/authenticate, each answer the same
    Unauthenticated; once the memory has lapsed Stytch is asked again."""
    token = bogus()
    errors: list[Unauthenticated] = []
    for _ in range(50):
        with pytest.raises(Unauthenticated) as info:
            await stytch_rbac.authenticate(session_token=token)
        errors.append(info.value)
    assert stytch_emulator.requests["sessions.authenticate"] == 1
    assert {(e.reason, e.error_type) for e in errors} == {("revoked", "session_not_found")}
    assert len({id(e) for e in errors}) == 50
    assert all(token not in str(e) + repr(e) for e in errors)
    stytch_emulator.advance_time(10)
    with pytest.raises(Unauthenticated):
        await stytch_rbac.authenticate(session_token=token)
    assert stytch_emulator.requests["sessions.authenticate"] == 2


async def test_stytch_unavailable_is_not_remembered_as_a_refusal(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """A 503 from sessions/authenticate is not a verdict on the token: the next attempt asks
    Stytch again and a genuine token authenticates."""
    seeded = member(["editor"])
    stytch_emulator.faults.fail("sessions.authenticate", 503, times=1)
    with pytest.raises(StytchUnavailable):
        await stytch_rbac.authenticate(session_token=seeded.session_token)
    principal = await stytch_rbac.authenticate(session_token=seeded.session_token)
    assert principal.member_id == seeded.member_id
    assert stytch_emulator.requests["sessions.authenticate"] == 2


async def test_remembered_refusals_are_bounded_and_can_be_switched_off(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC
) -> None:
    """With remote_auth_failure_ttl=0 nothing is remembered; the memory holds at most
    remote_auth_failure_cache_size tokens, the oldest forgotten first."""
    token = bogus()
    async with configured(stytch_emulator, stytch_rbac, remote_auth_failure_ttl=0) as rbac:
        for _ in range(3):
            await _refused(rbac, token)
    assert stytch_emulator.requests["sessions.authenticate"] == 3
    tokens = [bogus() for _ in range(3)]
    async with configured(stytch_emulator, stytch_rbac, remote_auth_failure_cache_size=2) as rbac:
        for t in tokens:
            await _refused(rbac, t)
        await _refused(rbac, tokens[2])  # remembered
        await _refused(rbac, tokens[0])  # forgotten: the oldest of three in a memory of two
    assert stytch_emulator.requests["sessions.authenticate"] == 3 + 3 + 1


async def test_remote_authentication_has_bounded_concurrency(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC
) -> None:
    """100 concurrent bogus tokens against a hanging Stytch: at most remote_auth_concurrency
    (4) calls are in flight; the others wait for a slot, then each is answered."""
    stytch_emulator.faults.hang("sessions.authenticate")
    rbac = configured(stytch_emulator, stytch_rbac, remote_auth_concurrency=4)
    async with rbac, anyio.create_task_group() as tg:
        for _ in range(100):
            tg.start_soon(_refused, rbac, bogus())
        await until(lambda: stytch_emulator.requests["sessions.authenticate"] >= 4)
        await anyio.wait_all_tasks_blocked()
        assert stytch_emulator.requests["sessions.authenticate"] == 4
        stytch_emulator.faults.clear()
    assert stytch_emulator.requests["sessions.authenticate"] == 100


def test_remote_auth_settings_are_checked() -> None:
    """A concurrency below 1, a negative memory or size raise ValueError naming the setting."""
    cases: list[tuple[dict[str, Any], str]] = [
        ({"remote_auth_concurrency": 0}, "remote_auth_concurrency"),
        ({"remote_auth_concurrency": True}, "remote_auth_concurrency"),
        ({"remote_auth_failure_ttl": -1}, "remote_auth_failure_ttl"),
        ({"remote_auth_failure_cache_size": 0}, "remote_auth_failure_cache_size"),
    ]
    for settings, name in cases:
        with pytest.raises(ValueError, match=name):
            StytchRBAC("project-test-1", "secret-1", **settings)


@pytest.mark.stytch_http
async def test_a_flood_of_bogus_cookies_does_not_starve_policy_fetches(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """Over real HTTP, with 400 bogus session tokens in flight against a Stytch that does not
    answer them, a genuine JWT whose check needs a cold JWKS, policy and org-policy fetch is
    answered: remote authentication never takes the connections those fetches need."""
    emu = stytch_emulator
    org = member.organization("Acme").organization_id
    emu.set_org_policy(
        org,
        {
            "roles": [
                {
                    "role_id": "archivist",
                    "description": "Acme only",
                    "permissions": [{"resource_id": "projects", "actions": ["archive"]}],
                }
            ]
        },
    )
    genuine = member(["archivist"]).session_jwt
    emu.faults.hang("sessions.authenticate")
    async with anyio.create_task_group() as tg:
        for _ in range(400):
            tg.start_soon(_refused, stytch_rbac, bogus())
        await until(lambda: emu.requests["sessions.authenticate"] >= 32)
        principal = await stytch_rbac.authenticate(session_jwt=genuine)
        assert await stytch_rbac.is_authorized(principal, "projects", "archive")
        assert emu.requests["sessions.authenticate"] <= 32
        emu.faults.clear()
    assert emu.requests["rbac.org_policy"] == 1
