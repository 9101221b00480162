"""StytchRBAC end to end against the emulator, in process (ASGI) and over real loopback HTTP."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from stytch_rbac import (
    ActionEnum,
    Permission,
    PermissionDenied,
    StrEnum,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
    UnknownPermission,
)
from stytch_rbac.client import Principal, StytchRBAC
from stytch_rbac.clock import ManualClock
from stytch_rbac.emulator import Emulator, SessionRecord
from stytch_rbac.integrations.responses import status_for

EXAMPLE_POLICY = Path(__file__).resolve().parent.parent / "examples" / "policy.json"
IN_PROCESS = "http://emulator.invalid"

pytestmark = pytest.mark.anyio


@dataclass
class World:
    """An emulator seeded with two organizations and members in several roles."""

    emu: Emulator
    clock: ManualClock
    org: str
    other_org: str
    editor: SessionRecord
    viewer: SessionRecord
    admin: SessionRecord
    outsider: SessionRecord


@pytest.fixture
def world() -> World:
    """Acme (editor, viewer, admin) and Globex (an editor), on a manual clock."""
    clock = ManualClock()
    emu = Emulator(policy=EXAMPLE_POLICY, clock=clock)
    acme = emu.create_organization(name="Acme", slug="acme").organization_id
    globex = emu.create_organization(name="Globex", slug="globex").organization_id

    def login(org: str, email: str, roles: list[str]) -> SessionRecord:
        member = emu.create_member(org, email_address=email, roles=roles)
        return emu.create_session(member.member_id)

    return World(
        emu=emu,
        clock=clock,
        org=acme,
        other_org=globex,
        editor=login(acme, "ed@acme.test", ["editor"]),
        viewer=login(acme, "vi@acme.test", ["viewer"]),
        admin=login(acme, "ad@acme.test", ["stytch_admin"]),
        outsider=login(globex, "ed@globex.test", ["editor"]),
    )


@asynccontextmanager
async def connect(world: World, mode: str = "asgi", **options: Any) -> AsyncIterator[StytchRBAC]:
    """A StytchRBAC on the world's clock, reaching the emulator in process or over HTTP."""
    emu = world.emu
    if mode == "asgi":
        transport = httpx.ASGITransport(app=emu.app)
        async with (
            httpx.AsyncClient(transport=transport) as http,
            StytchRBAC(
                emu.project_id,
                emu.secret,
                base_url=IN_PROCESS,
                http_client=http,
                clock=world.clock,
                **options,
            ) as rbac,
        ):
            yield rbac
    else:
        async with (
            emu.serve() as base_url,
            StytchRBAC(
                emu.project_id, emu.secret, base_url=base_url, clock=world.clock, **options
            ) as rbac,
        ):
            yield rbac


both_modes = pytest.mark.parametrize("mode", ["asgi", "http"])


# -- authenticate ------------------------------------------------------------------------------


@both_modes
async def test_jwt_is_verified_locally(world: World, mode: str) -> None:
    """A valid session JWT becomes a Principal with one JWKS fetch and no sessions call."""
    async with connect(world, mode) as rbac:
        p = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        again = await rbac.authenticate(session_jwt=world.editor.session_jwt)
    assert p.member_id == world.editor.member_id
    assert p.organization_id == world.org
    assert p.organization_slug == "acme"
    assert p.roles == frozenset({"editor", "stytch_member"})
    assert p.session_id == world.editor.member_session_id
    assert p.session_jwt == world.editor.session_jwt
    assert not p.jwt_refreshed
    assert again is p
    assert world.emu.requests["sessions.jwks"] == 1
    assert world.emu.requests["sessions.authenticate"] == 0


@both_modes
async def test_session_token_asks_stytch_every_time(world: World, mode: str) -> None:
    """A session token is authenticated by Stytch on each call and yields token and JWT."""
    async with connect(world, mode) as rbac:
        p = await rbac.authenticate(session_token=world.viewer.session_token)
        await rbac.authenticate(session_token=world.viewer.session_token)
    assert p.member_id == world.viewer.member_id
    assert p.roles == frozenset({"viewer", "stytch_member"})
    assert p.session_token == world.viewer.session_token
    assert p.session_jwt
    assert not p.jwt_refreshed
    assert world.emu.requests["sessions.authenticate"] == 2


@both_modes
async def test_expired_jwt_is_refreshed_by_stytch(world: World, mode: str) -> None:
    """An expired but genuine JWT goes to sessions/authenticate; the fresh JWT comes back."""
    async with connect(world, mode) as rbac:
        world.clock.advance(301)
        p = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        assert p.jwt_refreshed
        assert p.session_jwt is not None
        assert p.session_jwt != world.editor.session_jwt
        assert world.emu.requests["sessions.authenticate"] == 1
        again = await rbac.authenticate(session_jwt=p.session_jwt)
    assert again.member_id == world.editor.member_id
    assert not again.jwt_refreshed
    assert world.emu.requests["sessions.authenticate"] == 1


async def test_jwt_older_than_max_age_is_rechecked(world: World) -> None:
    """With jwt_max_age, an unexpired but old JWT is re-authenticated with Stytch."""
    async with connect(world, jwt_max_age=60) as rbac:
        await rbac.authenticate(session_jwt=world.editor.session_jwt)
        world.clock.advance(61)
        p = await rbac.authenticate(session_jwt=world.editor.session_jwt)
    assert p.jwt_refreshed
    assert world.emu.requests["sessions.authenticate"] == 1


async def test_revoked_session_fails_with_stytch_details(world: World) -> None:
    """A revoked session's token (and its expired JWT) raise Unauthenticated with Stytch's ids."""
    world.emu.revoke_session(world.editor.member_session_id)
    async with connect(world) as rbac:
        with pytest.raises(Unauthenticated) as info:
            await rbac.authenticate(session_token=world.editor.session_token)
        assert info.value.reason == "revoked"
        assert info.value.error_type == "session_not_found"
        assert info.value.request_id
        world.clock.advance(301)
        with pytest.raises(Unauthenticated):
            await rbac.authenticate(session_jwt=world.editor.session_jwt)


def _tamper(token: str) -> str:
    import base64

    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["https://stytch.com/session"]["roles"] = ["stytch_admin", "owner"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{sig}"


def _alg_none(token: str) -> str:
    import base64

    _, payload, _ = token.split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    return f"{header}.{payload}."


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        pytest.param(_tamper, "forged", id="escalated-roles"),
        pytest.param(_alg_none, "forged", id="alg-none"),
        pytest.param(lambda t: t[:-10], "forged", id="truncated-signature"),
        pytest.param(lambda t: "garbage", "malformed", id="garbage"),
    ],
)
async def test_forged_jwts_never_reach_stytch(world: World, forge: Any, reason: str) -> None:
    """Forged or malformed JWTs raise Unauthenticated and make no sessions/authenticate call."""
    async with connect(world) as rbac:
        with pytest.raises(Unauthenticated) as info:
            await rbac.authenticate(session_jwt=forge(world.editor.session_jwt))
    assert info.value.reason == reason
    assert world.emu.requests["sessions.authenticate"] == 0


async def test_jwt_of_another_project_is_rejected(world: World) -> None:
    """A genuine JWT of another Stytch project is rejected without a sessions/authenticate call."""
    stranger = Emulator(policy=EXAMPLE_POLICY)
    org = stranger.create_organization(name="Else").organization_id
    member = stranger.create_member(org, email_address="x@else.test")
    token = stranger.create_session(member.member_id).session_jwt
    async with connect(world) as rbac:
        with pytest.raises(Unauthenticated) as info:
            await rbac.authenticate(session_jwt=token)
    assert info.value.reason == "forged"
    assert world.emu.requests["sessions.authenticate"] == 0


async def test_missing_or_double_credentials(world: World) -> None:
    """No credential is Unauthenticated('missing'); both at once, or a non-str, is a usage error."""
    async with connect(world) as rbac:
        with pytest.raises(Unauthenticated) as info:
            await rbac.authenticate()
        assert info.value.reason == "missing"
        with pytest.raises(ValueError, match="not both"):
            await rbac.authenticate(session_jwt="a.b.c", session_token="t")
        with pytest.raises(TypeError, match="session_jwt"):
            await rbac.authenticate(session_jwt=b"a.b.c")  # type: ignore[arg-type]  # runtime check


async def test_key_rotation_is_picked_up_without_a_failure(world: World) -> None:
    """After the emulator rotates keys, new JWTs verify (one JWKS refetch) and old ones still do."""
    async with connect(world) as rbac:
        await rbac.authenticate(session_jwt=world.editor.session_jwt)
        world.emu.rotate_keys()
        fresh = world.emu.session_jwt(world.viewer.member_session_id)
        p = await rbac.authenticate(session_jwt=fresh)
        old = await rbac.authenticate(session_jwt=world.admin.session_jwt)
    assert p.member_id == world.viewer.member_id
    assert old.member_id == world.admin.member_id
    assert world.emu.requests["sessions.jwks"] == 2


# -- decisions ---------------------------------------------------------------------------------


class DocumentsAction(ActionEnum):
    """Generated-style action enum for the documents resource."""

    __resource__ = "documents"
    EDIT = "edit"
    DELETE = "delete"


class Resource(StrEnum):
    """Generated-style resource enum."""

    DOCUMENTS = "documents"


@both_modes
async def test_decisions_follow_the_policy(world: World, mode: str) -> None:
    """Editors edit documents but do not delete them; strings, Permission and enums agree."""
    async with connect(world, mode) as rbac:
        editor = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        assert await rbac.is_authorized(editor, "documents", "edit")
        assert not await rbac.is_authorized(editor, "documents", "delete")
        assert await rbac.is_authorized(editor, Permission("documents", "edit"))
        assert await rbac.is_authorized(editor, DocumentsAction.EDIT)
        assert await rbac.is_authorized(editor, Resource.DOCUMENTS, DocumentsAction.EDIT)
        assert not await rbac.is_authorized(editor, DocumentsAction.DELETE)
        await rbac.authorize(editor, "documents", "edit")
        decision = await rbac.explain(editor, Permission("documents", "edit"))
        assert decision.allowed
        assert decision.granted_by == frozenset({"editor"})
        admin = await rbac.authenticate(session_jwt=world.admin.session_jwt)
        assert await rbac.is_authorized(admin, "stytch.member", "delete")
        assert not await rbac.is_authorized(admin, "documents", "read")


async def test_authorize_raises_permission_denied_with_context(world: World) -> None:
    """A denial names the resource, action, organization and member, and never the token."""
    async with connect(world) as rbac:
        viewer = await rbac.authenticate(session_jwt=world.viewer.session_jwt)
        with pytest.raises(PermissionDenied) as info:
            await rbac.authorize(viewer, Permission("documents", "delete"))
    err = info.value
    assert (err.resource, err.action) == ("documents", "delete")
    assert err.organization_id == world.org
    assert err.member_id == world.viewer.member_id
    assert status_for(err) == 403
    assert world.viewer.session_jwt not in str(err) + repr(err)


async def test_tenancy_mismatch_is_denied(world: World) -> None:
    """Asking about another organization than the member's is denied, never allowed."""
    async with connect(world) as rbac:
        outsider = await rbac.authenticate(session_jwt=world.outsider.session_jwt)
        assert await rbac.is_authorized(outsider, "documents", "edit")
        assert not await rbac.is_authorized(
            outsider, "documents", "edit", organization_id=world.org
        )
        assert await rbac.is_authorized(
            outsider, "documents", "edit", organization_id=world.other_org
        )
        with pytest.raises(TenancyError) as info:
            await rbac.authorize(outsider, "documents", "edit", organization_id=world.org)
        assert info.value.member_organization_id == world.other_org
        assert info.value.requested_organization_id == world.org
        decision = await rbac.explain(outsider, "documents", "edit", organization_id=world.org)
        assert not decision.allowed
        assert decision.granted_by == frozenset()


async def test_unknown_permissions_raise_in_strict_mode_only(world: World) -> None:
    """A typo raises UnknownPermission in strict mode and is denied otherwise."""
    async with connect(world) as rbac:
        editor = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        with pytest.raises(UnknownPermission):
            await rbac.is_authorized(editor, "documents", "fly")
        with pytest.raises(UnknownPermission):
            await rbac.authorize(editor, "dokuments", "edit")
    async with connect(world, strict=False) as lenient:
        editor = await lenient.authenticate(session_jwt=world.editor.session_jwt)
        assert not await lenient.is_authorized(editor, "documents", "fly")
        with pytest.raises(PermissionDenied):
            await lenient.authorize(editor, "dokuments", "edit")


async def test_bad_arguments_are_type_errors(world: World) -> None:
    """A resource without an action, or something that is not a Principal, is a TypeError."""
    async with connect(world) as rbac:
        editor = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        with pytest.raises(TypeError, match="resource and an action"):
            await rbac.is_authorized(editor, "documents")  # type: ignore[call-overload]  # runtime
        with pytest.raises(TypeError, match="Principal"):
            await rbac.is_authorized("member", "documents", "edit")  # type: ignore[call-overload]


async def test_permissions_map(world: World) -> None:
    """permissions() lists every resource and action of the policy with the member's answer."""
    async with connect(world) as rbac:
        editor = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        perms = await rbac.permissions(editor)
    assert perms["documents"]["edit"] is True
    assert perms["documents"]["delete"] is False
    assert perms["stytch.self"]["update.info.name"] is True
    assert set(perms["projects"]) == {"create", "read", "update", "archive", "delete"}


async def test_org_custom_roles_are_merged(world: World) -> None:
    """A member holding an org's custom role gets its grants; other orgs do not see the role."""
    world.emu.set_org_policy(
        world.org,
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
    member = world.emu.create_member(world.org, email_address="ar@acme.test", roles=["archivist"])
    token = world.emu.create_session(member.member_id).session_jwt
    async with connect(world) as rbac:
        archivist = await rbac.authenticate(session_jwt=token)
        assert "archivist" in archivist.roles
        assert await rbac.is_authorized(archivist, "projects", "archive")
        assert (await rbac.explain(archivist, "projects", "archive")).granted_by == {"archivist"}
        assert "archivist" in (await rbac.policy(world.org)).role_ids
        assert "archivist" not in (await rbac.policy()).role_ids
        assert "archivist" not in (await rbac.policy(world.other_org)).role_ids


async def test_org_decisions_equal_the_fully_merged_policy(world: World) -> None:
    """Every decision for a member with custom roles equals the merged policy's own answer."""
    world.emu.set_org_policy(
        world.org,
        {
            "roles": [
                {
                    "role_id": "lead",
                    "description": "",
                    "permissions": [
                        {"resource_id": "documents", "actions": ["*"]},
                        {"resource_id": "billing", "actions": ["read"]},
                    ],
                },
                {
                    "role_id": "auditor_plus",
                    "description": "",
                    "permissions": [{"resource_id": "audit_logs", "actions": ["export"]}],
                },
            ]
        },
    )
    member = world.emu.create_member(
        world.org, email_address="le@acme.test", roles=["lead", "viewer"]
    )
    token = world.emu.create_session(member.member_id).session_jwt
    async with connect(world) as rbac:
        lead = await rbac.authenticate(session_jwt=token)
        merged = await rbac.policy(world.org)
        assert await rbac.permissions(lead) == merged.permissions(lead.roles)
        for resource, actions in merged.resources.items():
            for action in actions:
                expected = merged.decide(lead.roles, resource, action)
                assert await rbac.explain(lead, resource, action) == expected
                assert await rbac.is_authorized(lead, resource, action) == expected.allowed
        assert await rbac.is_authorized(lead, "documents", "delete")
        assert not await rbac.is_authorized(lead, "audit_logs", "export")


async def test_org_without_custom_roles_is_cached_as_negative_entry(world: World) -> None:
    """An organization with no custom roles is fetched once and then answered from cache."""
    async with connect(world) as rbac:
        outsider = await rbac.authenticate(session_jwt=world.outsider.session_jwt)
        for _ in range(10):
            await rbac.is_authorized(outsider, "documents", "edit")
        info = rbac.cache_info()["org_policies"]
    assert world.emu.requests["rbac.org_policy"] == 1
    assert info.size == 1
    assert info.hits == 9


async def test_org_cache_is_bounded(world: World) -> None:
    """With org_cache_size=2, decisions for three organizations keep at most two cached."""
    third = world.emu.create_organization(name="Initech").organization_id
    member = world.emu.create_member(third, email_address="a@initech.test", roles=["viewer"])
    third_jwt = world.emu.create_session(member.member_id).session_jwt
    async with connect(world, org_cache_size=2) as rbac:
        for token in (world.editor.session_jwt, world.outsider.session_jwt, third_jwt):
            p = await rbac.authenticate(session_jwt=token)
            await rbac.is_authorized(p, "documents", "read")
        info = rbac.cache_info()["org_policies"]
    assert info.size == 2
    assert info.evictions == 1


# -- caching under load and failure ------------------------------------------------------------


@both_modes
async def test_thousand_concurrent_cold_checks_fetch_once(world: World, mode: str) -> None:
    """1,000 concurrent checks on a cold cache cause one policy and one org-policy fetch."""
    async with connect(world, mode) as rbac:
        editor = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        answers: list[bool] = []

        async def check() -> None:
            answers.append(await rbac.is_authorized(editor, "documents", "edit"))

        async with anyio.create_task_group() as tg:
            for _ in range(1000):
                tg.start_soon(check)
    assert answers == [True] * 1000
    assert world.emu.requests["rbac.policy"] == 1
    assert world.emu.requests["rbac.org_policy"] == 1


def _inject(world: World, kind: str) -> None:
    for endpoint in ("rbac.policy", "rbac.org_policy"):
        if kind == "500":
            world.emu.faults.fail(endpoint, 500)
        elif kind == "timeout":
            world.emu.faults.hang(endpoint)
        else:
            world.emu.faults.garbage(endpoint)


CHECKS = [
    ("documents", "edit"),
    ("documents", "delete"),
    ("billing", "read"),
    ("stytch.self", "update.info.name"),
]


@pytest.mark.parametrize("kind", ["500", "timeout", "garbage"])
async def test_failing_policy_endpoint_is_masked_until_max_stale(world: World, kind: str) -> None:
    """With the policy endpoints failing for 10 simulated minutes no answer fails or changes
    and no check waits; past max_stale every check raises StytchUnavailable."""
    async with connect(world, timeout=0.5, max_stale=3600) as rbac:
        editor = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        baseline = [await rbac.is_authorized(editor, r, a) for r, a in CHECKS]
        _inject(world, kind)
        for _ in range(20):
            world.clock.advance(30)
            with anyio.fail_after(0.4):  # a hanging refresh would take 0.5 s
                answers = [await rbac.is_authorized(editor, r, a) for r, a in CHECKS]
            assert answers == baseline
            await anyio.sleep(0.01)  # let background refreshes run (and fail)
        assert world.emu.requests["rbac.policy"] > 1  # refreshes were attempted
        world.clock.advance(3600)
        for resource, action in CHECKS:
            with pytest.raises(StytchUnavailable):
                await rbac.is_authorized(editor, resource, action)
            with pytest.raises(StytchUnavailable):
                await rbac.authorize(editor, resource, action)


async def test_cold_cache_with_hanging_endpoint_fails_within_timeout(world: World) -> None:
    """With nothing cached and the policy endpoint hanging, a check fails with StytchUnavailable
    once the configured timeout is spent, instead of waiting indefinitely."""
    world.emu.faults.hang("rbac.policy")
    async with connect(world, timeout=0.3) as rbac:
        editor = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        with anyio.fail_after(5), pytest.raises(StytchUnavailable, match=r"0\.3s"):
            await rbac.is_authorized(editor, "documents", "edit")


async def test_transient_failures_are_retried(world: World) -> None:
    """Two 500s and a 429 with Retry-After are retried; the check succeeds."""
    world.emu.faults.fail("rbac.policy", 500, times=2)
    world.emu.faults.fail("rbac.org_policy", 429, times=1, retry_after=0.05)
    async with connect(world) as rbac:
        editor = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        assert await rbac.is_authorized(editor, "documents", "edit")
    assert world.emu.requests["rbac.policy"] == 3
    assert world.emu.requests["rbac.org_policy"] == 2


async def test_sessions_authenticate_is_never_retried(world: World) -> None:
    """A 503 from sessions/authenticate is StytchUnavailable after exactly one attempt."""
    world.emu.faults.fail("sessions.authenticate", 503, times=1)
    async with connect(world) as rbac:
        with pytest.raises(StytchUnavailable):
            await rbac.authenticate(session_token=world.editor.session_token)
    assert world.emu.requests["sessions.authenticate"] == 1


async def test_policy_change_is_picked_up_in_the_background(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """After the TTL the old policy answers at once, one refresh runs, and the change is logged."""
    caplog.set_level(logging.INFO, logger="stytch_rbac")
    data = json.loads(EXAMPLE_POLICY.read_text())
    for role in data["roles"]:
        if role["role_id"] == "viewer":
            role["permissions"][0]["actions"].append("edit")
    async with connect(world) as rbac:
        viewer = await rbac.authenticate(session_jwt=world.viewer.session_jwt)
        assert not await rbac.is_authorized(viewer, "documents", "edit")
        world.emu.set_policy(data)
        world.clock.advance(301)
        assert not await rbac.is_authorized(viewer, "documents", "edit")  # stale, served at once
        for _ in range(500):
            if await rbac.is_authorized(viewer, "documents", "edit"):
                break
            await anyio.sleep(0.01)
        assert await rbac.is_authorized(viewer, "documents", "edit")
    assert world.emu.requests["rbac.policy"] == 2
    assert any("RBAC policy changed" in r.getMessage() for r in caplog.records)


async def test_refresh_policy_and_invalidate(world: World) -> None:
    """refresh_policy() and invalidate(org) make the next decision use Stytch's current policy."""
    data = json.loads(EXAMPLE_POLICY.read_text())
    for role in data["roles"]:
        if role["role_id"] == "viewer":
            role["permissions"][0]["actions"].append("share")
    async with connect(world) as rbac:
        viewer = await rbac.authenticate(session_jwt=world.viewer.session_jwt)
        assert not await rbac.is_authorized(viewer, "documents", "share")
        world.emu.set_policy(data)
        assert not await rbac.is_authorized(viewer, "documents", "share")
        await rbac.refresh_policy()
        assert await rbac.is_authorized(viewer, "documents", "share")
        world.emu.set_org_policy(
            world.org,
            {
                "roles": [
                    {
                        "role_id": "deleter",
                        "description": "",
                        "permissions": [{"resource_id": "documents", "actions": ["delete"]}],
                    }
                ]
            },
        )
        assert "deleter" not in (await rbac.policy(world.org)).role_ids
        rbac.invalidate(world.org)
        assert "deleter" in (await rbac.policy(world.org)).role_ids
        rbac.invalidate()
        assert rbac.cache_info()["policy"].size == 0


async def test_works_without_async_with(world: World) -> None:
    """Used without `async with`, stale values are refreshed inline and aclose() cleans up."""
    transport = httpx.ASGITransport(app=world.emu.app)
    async with httpx.AsyncClient(transport=transport) as http:
        rbac = StytchRBAC(
            world.emu.project_id,
            world.emu.secret,
            base_url=IN_PROCESS,
            http_client=http,
            clock=world.clock,
        )
        editor = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        assert await rbac.is_authorized(editor, "documents", "edit")
        world.clock.advance(301)
        assert await rbac.is_authorized(editor, "documents", "edit")
        assert world.emu.requests["rbac.policy"] == 2
        await rbac.aclose()
        await rbac.aclose()
        assert not http.is_closed  # not ours to close
        with pytest.raises(RuntimeError, match="closed"):
            await rbac.refresh_policy()


async def test_closed_client_serves_its_cache_and_fetches_nothing(world: World) -> None:
    """After aclose() a cached policy still answers, but nothing is fetched, even on a
    caller-owned httpx client that stays open: a new organization's policy is unavailable."""
    transport = httpx.ASGITransport(app=world.emu.app)
    async with httpx.AsyncClient(transport=transport) as http:
        rbac = StytchRBAC(
            world.emu.project_id,
            world.emu.secret,
            base_url=IN_PROCESS,
            http_client=http,
            clock=world.clock,
        )
        editor = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        assert await rbac.is_authorized(editor, "documents", "edit")
        await rbac.aclose()
        fetched = dict(world.emu.requests)
        assert await rbac.is_authorized(editor, "documents", "edit")
        with pytest.raises(StytchUnavailable, match="closed"):
            await rbac.policy(world.other_org)
        with pytest.raises(RuntimeError, match="closed"):
            await rbac.authenticate(session_token=world.editor.session_token)
        assert dict(world.emu.requests) == fetched


async def test_async_with_is_not_reentrant(world: World) -> None:
    """Entering a client twice, or after it was closed, is a clear RuntimeError."""
    async with connect(world) as rbac:
        with pytest.raises(RuntimeError, match="already"):
            await rbac.__aenter__()
    with pytest.raises(RuntimeError, match="closed"):
        await rbac.__aenter__()


async def test_owned_http_client_is_closed(world: World) -> None:
    """The httpx client StytchRBAC creates is closed on exit."""
    async with connect(world, "http") as rbac:
        http = rbac.http
        assert not http.is_closed
    assert http.is_closed


# -- the stytch SDK over our transport ---------------------------------------------------------


@both_modes
async def test_stytch_sdk_runs_over_our_http_client(world: World, mode: str) -> None:
    """rbac.stytch is one B2BClient whose async calls go through rbac.http (no aiohttp)."""
    from stytch_rbac._stytch.sdk import SDKSession

    async with connect(world, mode) as rbac:
        client = rbac.stytch
        assert rbac.stytch is client
        policy = await client.rbac.policy_async()
        org = await client.organizations.get_async(organization_id=world.org)
        auth = await client.sessions.authenticate_async(session_token=world.editor.session_token)
        assert isinstance(client.async_client._session, SDKSession)
    assert policy.policy is not None
    assert {r.role_id for r in policy.policy.roles} >= {"editor", "viewer"}
    assert org.organization.organization_slug == "acme"
    assert auth.member_session.member_id == world.editor.member_id
    assert world.emu.requests["rbac.policy"] == 1


async def test_cold_cache_outage_is_logged_as_a_warning(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Stytch down with nothing cached: besides the StytchUnavailable the caller gets, a
    WARNING names what could not be fetched (the policy, the organization's policy) and
    since when; the recovery is an INFO."""
    caplog.set_level(logging.INFO, logger="stytch_rbac")
    world.emu.faults.fail("rbac.policy", 503)
    world.emu.faults.fail("rbac.org_policy", 503)
    async with connect(world) as rbac:
        editor = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        with pytest.raises(StytchUnavailable):
            await rbac.is_authorized(editor, "documents", "edit")
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(
            m.startswith("stytch_rbac: cannot fetch RBAC policy (StytchUnavailable: ")
            and "failing since" in m
            for m in warnings
        ), warnings
        world.emu.faults.clear("rbac.policy")
        with pytest.raises(StytchUnavailable):
            await rbac.is_authorized(editor, "documents", "edit")
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(
            m.startswith(f"stytch_rbac: cannot fetch organization policy of {world.org} (")
            for m in warnings
        ), warnings
        world.emu.faults.clear()
        caplog.clear()
        assert await rbac.is_authorized(editor, "documents", "edit")
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(m.startswith("stytch_rbac: fetched organization policy of ") for m in infos)


# -- hygiene -----------------------------------------------------------------------------------


async def test_no_secret_or_token_in_logs_or_reprs(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Across a flow with failures and refreshes, no log line or repr shows a secret or token."""
    caplog.set_level(logging.DEBUG)
    secrets = [
        world.emu.secret,
        world.editor.session_token,
        world.editor.session_jwt,
        world.editor.session_jwt.split(".")[2],
    ]
    world.emu.faults.fail("rbac.policy", 500, times=1)
    async with connect(world) as rbac:
        p = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        await rbac.is_authorized(p, "documents", "edit")
        world.clock.advance(301)
        t = await rbac.authenticate(session_jwt=world.editor.session_jwt)
        world.emu.faults.fail("rbac.policy", 500)
        world.clock.advance(301)
        await rbac.is_authorized(t, "documents", "edit")
        await anyio.sleep(0.3)
        with pytest.raises(Unauthenticated) as info:
            await rbac.authenticate(session_jwt=_tamper(world.editor.session_jwt))
        texts = [repr(rbac), str(rbac), repr(p), str(p), repr(t), str(info.value)]
    texts += [r.getMessage() for r in caplog.records]
    assert any("refreshing RBAC policy failed" in text for text in texts)
    for text in texts:
        for secret in secrets:
            assert secret not in text


def test_constructor_validates_settings() -> None:
    """Bad settings raise ValueError naming the setting; base_url None follows the project id."""
    with pytest.raises(ValueError, match="project_id"):
        StytchRBAC("", "secret")
    with pytest.raises(ValueError, match="secret"):
        StytchRBAC("project-test-x", " ")
    with pytest.raises(ValueError, match="base_url"):
        StytchRBAC("project-test-x", "s", base_url="ftp://x")
    with pytest.raises(ValueError, match="max_stale"):
        StytchRBAC("project-test-x", "s", policy_ttl=600, max_stale=60)
    with pytest.raises(ValueError, match="timeout"):
        StytchRBAC("project-test-x", "s", timeout=0)
    with pytest.raises(ValueError, match="org_cache_size"):
        StytchRBAC("project-test-x", "s", org_cache_size=0)


async def test_base_url_defaults_follow_the_project_id() -> None:
    """Test projects talk to test.stytch.com, live projects to api.stytch.com (like the SDK)."""
    async with (
        StytchRBAC("project-test-x", "s") as test,
        StytchRBAC("project-live-x", "s") as live,
        StytchRBAC("project-test-x", "s", base_url="http://127.0.0.1:1/") as local,
    ):
        assert test.base_url == "https://test.stytch.com"
        assert live.base_url == "https://api.stytch.com"
        assert local.base_url == "http://127.0.0.1:1"
        assert "secret" not in repr(test)


async def test_from_env() -> None:
    """from_env reads the STYTCH_* variables and names the ones that are missing."""
    env = {
        "STYTCH_PROJECT_ID": "project-test-e",
        "STYTCH_SECRET": "secret-e",
        "STYTCH_BASE_URL": "http://127.0.0.1:9",
    }
    async with StytchRBAC.from_env(env, policy_ttl=60) as rbac:
        assert rbac.project_id == "project-test-e"
        assert rbac.base_url == "http://127.0.0.1:9"
        assert rbac.policy_ttl == 60
        assert "secret-e" not in repr(rbac)
    with pytest.raises(ValueError, match="STYTCH_SECRET"):
        StytchRBAC.from_env({"STYTCH_PROJECT_ID": "p"})


def test_principal_is_frozen_and_hashable(world: World) -> None:
    """Principals are immutable values with slots."""
    p = Principal(
        member_id="m",
        organization_id="o",
        organization_slug="s",
        roles=frozenset({"r"}),
        session_id="sid",
        expires_at=__import__("datetime").datetime(2030, 1, 1),
        session_jwt="secret.jwt.value",
    )
    with pytest.raises(AttributeError):
        p.member_id = "x"  # type: ignore[misc]  # proving immutability
    assert hash(p) == hash(p)
    assert not hasattr(p, "__dict__")
    assert "secret.jwt.value" not in repr(p)
    assert p.has_role("r")


def test_import_and_local_decision_do_not_import_the_sdk(tmp_path: Path) -> None:
    """Importing, authenticating and deciding against the emulator never import the stytch SDK."""
    import subprocess
    import sys

    code = f"""
import sys, anyio, httpx
from stytch_rbac.client import StytchRBAC
from stytch_rbac.emulator import Emulator
emu = Emulator(policy={str(EXAMPLE_POLICY)!r})
org = emu.create_organization(name="Acme").organization_id
m = emu.create_member(org, email_address="a@acme.test", roles=["editor"])
s = emu.create_session(m.member_id)
async def main():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app)) as http:
        async with StytchRBAC(emu.project_id, emu.secret, base_url="http://e.invalid",
                              http_client=http) as rbac:
            p = await rbac.authenticate(session_jwt=s.session_jwt)
            assert await rbac.is_authorized(p, "documents", "edit")
            token = emu.create_session(m.member_id).session_token
            await rbac.authenticate(session_token=token)
anyio.run(main)
loaded = sorted(m for m in sys.modules if m == "stytch" or m.startswith("stytch."))
assert not loaded, loaded
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
