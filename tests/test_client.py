"""StytchRBAC end to end against the emulator, in process (ASGI) and over real loopback HTTP.

Everything runs through the project's own pytest plugin fixtures (``stytch_emulator``,
``stytch_rbac``, ``member``, the ``stytch_policy`` and ``stytch_http`` markers).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
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
from stytch_rbac.emulator import Emulator
from stytch_rbac.integrations.responses import status_for
from stytch_rbac.testing import MemberFactory, SeededMember

EXAMPLE_POLICY = Path(__file__).resolve().parent.parent / "examples" / "policy.json"

pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(EXAMPLE_POLICY)]


@dataclass
class Cast:
    """Acme (editor, viewer, admin) and Globex (an editor), seeded by the plugin's ``member``."""

    org: str
    other_org: str
    editor: SeededMember
    viewer: SeededMember
    admin: SeededMember
    outsider: SeededMember


@pytest.fixture
def cast(member: MemberFactory) -> Cast:
    """Seed the cast in the test's ``stytch_emulator``."""
    return Cast(
        org=member.organization("Acme").organization_id,
        other_org=member.organization("Globex").organization_id,
        editor=member(["editor"]),
        viewer=member(["viewer"]),
        admin=member(["stytch_admin"]),
        outsider=member(["editor"], organization="Globex"),
    )


def configured(emu: Emulator, rbac: StytchRBAC, **settings: Any) -> StytchRBAC:
    """A second facade with non-default ``settings`` over the plugin facade's HTTP client (in
    process or real HTTP) and the emulator's clock: the plugin's ``stytch_rbac`` fixture takes
    no settings, so tests of ``timeout``, ``max_stale``, ``strict``... build their own."""
    return StytchRBAC(
        emu.project_id,
        emu.secret,
        base_url=rbac.base_url,
        http_client=rbac.http,
        clock=emu.clock,
        **settings,
    )


#: Each test marked with it runs in process (ASGI) and over real loopback HTTP.
both_modes = pytest.mark.parametrize(
    "mode", ["asgi", pytest.param("http", marks=pytest.mark.stytch_http)]
)


async def until(condition: Callable[[], bool]) -> None:
    """Yield to background tasks until ``condition()`` holds. The ``fail_after`` is only a hang
    guard (far beyond any real wait): nothing here measures how long the wait took."""
    with anyio.fail_after(30):
        while not condition():  # noqa: ASYNC110  (what it waits for signals no event)
            await anyio.sleep(0.005)


# -- authenticate ------------------------------------------------------------------------------


@both_modes
async def test_jwt_is_verified_locally(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, mode: str
) -> None:
    """A valid session JWT becomes a Principal with one JWKS fetch and no sessions call."""
    p = await stytch_rbac.authenticate(session_jwt=cast.editor.session_jwt)
    again = await stytch_rbac.authenticate(session_jwt=cast.editor.session_jwt)
    assert p.member_id == cast.editor.member_id
    assert p.organization_id == cast.org
    assert p.organization_slug == "acme"
    assert p.roles == frozenset({"editor", "stytch_member"})
    assert p.session_id == cast.editor.session_id
    assert p.session_jwt == cast.editor.session_jwt
    assert not p.jwt_refreshed
    assert again is p
    assert stytch_emulator.requests["sessions.jwks"] == 1
    assert stytch_emulator.requests["sessions.authenticate"] == 0


@both_modes
async def test_session_token_asks_stytch_every_time(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, mode: str
) -> None:
    """A session token is authenticated by Stytch on each call and yields token and JWT."""
    p = await stytch_rbac.authenticate(session_token=cast.viewer.session_token)
    await stytch_rbac.authenticate(session_token=cast.viewer.session_token)
    assert p.member_id == cast.viewer.member_id
    assert p.roles == frozenset({"viewer", "stytch_member"})
    assert p.session_token == cast.viewer.session_token
    assert p.session_jwt
    assert not p.jwt_refreshed
    assert stytch_emulator.requests["sessions.authenticate"] == 2


@both_modes
async def test_expired_jwt_is_refreshed_by_stytch(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, mode: str
) -> None:
    """An expired but genuine JWT goes to sessions/authenticate; the fresh JWT comes back."""
    stytch_emulator.advance_time(301)
    p = await stytch_rbac.authenticate(session_jwt=cast.editor.session_jwt)
    assert p.jwt_refreshed
    assert p.session_jwt is not None
    assert p.session_jwt != cast.editor.session_jwt
    assert stytch_emulator.requests["sessions.authenticate"] == 1
    again = await stytch_rbac.authenticate(session_jwt=p.session_jwt)
    assert again.member_id == cast.editor.member_id
    assert not again.jwt_refreshed
    assert stytch_emulator.requests["sessions.authenticate"] == 1


async def test_jwt_older_than_max_age_is_rechecked(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """With jwt_max_age, an unexpired but old JWT is re-authenticated with Stytch."""
    async with configured(stytch_emulator, stytch_rbac, jwt_max_age=60) as rbac:
        await rbac.authenticate(session_jwt=cast.editor.session_jwt)
        stytch_emulator.advance_time(61)
        p = await rbac.authenticate(session_jwt=cast.editor.session_jwt)
    assert p.jwt_refreshed
    assert stytch_emulator.requests["sessions.authenticate"] == 1


async def test_revoked_session_fails_with_stytch_details(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """A revoked session's token (and its expired JWT) raise Unauthenticated with Stytch's ids."""
    stytch_emulator.revoke_session(cast.editor.session_id)
    with pytest.raises(Unauthenticated) as info:
        await stytch_rbac.authenticate(session_token=cast.editor.session_token)
    assert info.value.reason == "revoked"
    assert info.value.error_type == "session_not_found"
    assert info.value.request_id
    stytch_emulator.advance_time(301)
    with pytest.raises(Unauthenticated):
        await stytch_rbac.authenticate(session_jwt=cast.editor.session_jwt)


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
async def test_forged_jwts_never_reach_stytch(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, forge: Any, reason: str
) -> None:
    """Forged or malformed JWTs raise Unauthenticated and make no sessions/authenticate call."""
    with pytest.raises(Unauthenticated) as info:
        await stytch_rbac.authenticate(session_jwt=forge(cast.editor.session_jwt))
    assert info.value.reason == reason
    assert stytch_emulator.requests["sessions.authenticate"] == 0


async def test_jwt_of_another_project_is_rejected(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC
) -> None:
    """A genuine JWT of another Stytch project is rejected without a sessions/authenticate call."""
    stranger = Emulator(policy=EXAMPLE_POLICY)
    org = stranger.create_organization(name="Else").organization_id
    record = stranger.create_member(org, email_address="x@else.test")
    token = stranger.create_session(record.member_id).session_jwt
    with pytest.raises(Unauthenticated) as info:
        await stytch_rbac.authenticate(session_jwt=token)
    assert info.value.reason == "forged"
    assert stytch_emulator.requests["sessions.authenticate"] == 0


async def test_missing_or_double_credentials(stytch_rbac: StytchRBAC) -> None:
    """No credential is Unauthenticated('missing'); both at once, or a non-str, is a usage error."""
    with pytest.raises(Unauthenticated) as info:
        await stytch_rbac.authenticate()
    assert info.value.reason == "missing"
    with pytest.raises(ValueError, match="not both"):
        await stytch_rbac.authenticate(session_jwt="a.b.c", session_token="t")
    with pytest.raises(TypeError, match="session_jwt"):
        await stytch_rbac.authenticate(session_jwt=b"a.b.c")  # type: ignore[arg-type]  # runtime check


async def test_key_rotation_is_picked_up_without_a_failure(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """After the emulator rotates keys, new JWTs verify (one JWKS refetch) and old ones still do."""
    await stytch_rbac.authenticate(session_jwt=cast.editor.session_jwt)
    stytch_emulator.rotate_keys()
    fresh = stytch_emulator.session_jwt(cast.viewer.session_id)
    p = await stytch_rbac.authenticate(session_jwt=fresh)
    old = await stytch_rbac.authenticate(session_jwt=cast.admin.session_jwt)
    assert p.member_id == cast.viewer.member_id
    assert old.member_id == cast.admin.member_id
    assert stytch_emulator.requests["sessions.jwks"] == 2


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
async def test_decisions_follow_the_policy(stytch_rbac: StytchRBAC, cast: Cast, mode: str) -> None:
    """Editors edit documents but do not delete them; strings, Permission and enums agree."""
    editor = await stytch_rbac.authenticate(session_jwt=cast.editor.session_jwt)
    assert await stytch_rbac.is_authorized(editor, "documents", "edit")
    assert not await stytch_rbac.is_authorized(editor, "documents", "delete")
    assert await stytch_rbac.is_authorized(editor, Permission("documents", "edit"))
    assert await stytch_rbac.is_authorized(editor, DocumentsAction.EDIT)
    assert await stytch_rbac.is_authorized(editor, Resource.DOCUMENTS, DocumentsAction.EDIT)
    assert not await stytch_rbac.is_authorized(editor, DocumentsAction.DELETE)
    await stytch_rbac.authorize(editor, "documents", "edit")
    decision = await stytch_rbac.explain(editor, Permission("documents", "edit"))
    assert decision.allowed
    assert decision.granted_by == frozenset({"editor"})
    admin = await stytch_rbac.authenticate(session_jwt=cast.admin.session_jwt)
    assert await stytch_rbac.is_authorized(admin, "stytch.member", "delete")
    assert not await stytch_rbac.is_authorized(admin, "documents", "read")


async def test_authorize_raises_permission_denied_with_context(
    stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """A denial names the resource, action, organization and member, and never the token."""
    viewer = await stytch_rbac.authenticate(session_jwt=cast.viewer.session_jwt)
    with pytest.raises(PermissionDenied) as info:
        await stytch_rbac.authorize(viewer, Permission("documents", "delete"))
    err = info.value
    assert (err.resource, err.action) == ("documents", "delete")
    assert err.organization_id == cast.org
    assert err.member_id == cast.viewer.member_id
    assert status_for(err) == 403
    assert cast.viewer.session_jwt not in str(err) + repr(err)


async def test_tenancy_mismatch_is_denied(stytch_rbac: StytchRBAC, cast: Cast) -> None:
    """Asking about another organization than the member's is denied, never allowed."""
    outsider = await stytch_rbac.authenticate(session_jwt=cast.outsider.session_jwt)
    assert await stytch_rbac.is_authorized(outsider, "documents", "edit")
    assert not await stytch_rbac.is_authorized(
        outsider, "documents", "edit", organization_id=cast.org
    )
    assert await stytch_rbac.is_authorized(
        outsider, "documents", "edit", organization_id=cast.other_org
    )
    with pytest.raises(TenancyError) as info:
        await stytch_rbac.authorize(outsider, "documents", "edit", organization_id=cast.org)
    assert info.value.member_organization_id == cast.other_org
    assert info.value.requested_organization_id == cast.org
    decision = await stytch_rbac.explain(outsider, "documents", "edit", organization_id=cast.org)
    assert not decision.allowed
    assert decision.granted_by == frozenset()


async def test_unknown_permissions_raise_in_strict_mode_only(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """A typo raises UnknownPermission in strict mode and is denied otherwise."""
    editor = await stytch_rbac.authenticate(session_jwt=cast.editor.session_jwt)
    with pytest.raises(UnknownPermission):
        await stytch_rbac.is_authorized(editor, "documents", "fly")
    with pytest.raises(UnknownPermission):
        await stytch_rbac.authorize(editor, "dokuments", "edit")
    async with configured(stytch_emulator, stytch_rbac, strict=False) as lenient:
        editor = await lenient.authenticate(session_jwt=cast.editor.session_jwt)
        assert not await lenient.is_authorized(editor, "documents", "fly")
        with pytest.raises(PermissionDenied):
            await lenient.authorize(editor, "dokuments", "edit")


async def test_bad_arguments_are_type_errors(stytch_rbac: StytchRBAC, cast: Cast) -> None:
    """A resource without an action, or something that is not a Principal, is a TypeError."""
    editor = await stytch_rbac.authenticate(session_jwt=cast.editor.session_jwt)
    with pytest.raises(TypeError, match="resource and an action"):
        await stytch_rbac.is_authorized(editor, "documents")
    with pytest.raises(TypeError, match="Principal"):
        await stytch_rbac.is_authorized("member", "documents", "edit")  # type: ignore[call-overload]


async def test_permissions_map(stytch_rbac: StytchRBAC, cast: Cast) -> None:
    """permissions() lists every resource and action of the policy with the member's answer."""
    editor = await stytch_rbac.authenticate(session_jwt=cast.editor.session_jwt)
    perms = await stytch_rbac.permissions(editor)
    assert perms["documents"]["edit"] is True
    assert perms["documents"]["delete"] is False
    assert perms["stytch.self"]["update.info.name"] is True
    assert set(perms["projects"]) == {"create", "read", "update", "archive", "delete"}


async def test_org_custom_roles_are_merged(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, member: MemberFactory
) -> None:
    """A member holding an org's custom role gets its grants; other orgs do not see the role."""
    stytch_emulator.set_org_policy(
        cast.org,
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
    token = member(["archivist"]).session_jwt
    archivist = await stytch_rbac.authenticate(session_jwt=token)
    assert "archivist" in archivist.roles
    assert await stytch_rbac.is_authorized(archivist, "projects", "archive")
    assert (await stytch_rbac.explain(archivist, "projects", "archive")).granted_by == {"archivist"}
    assert "archivist" in (await stytch_rbac.policy(cast.org)).role_ids
    assert "archivist" not in (await stytch_rbac.policy()).role_ids
    assert "archivist" not in (await stytch_rbac.policy(cast.other_org)).role_ids


async def test_org_decisions_equal_the_fully_merged_policy(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, member: MemberFactory
) -> None:
    """Every decision for a member with custom roles equals the merged policy's own answer."""
    stytch_emulator.set_org_policy(
        cast.org,
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
    token = member(["lead", "viewer"]).session_jwt
    lead = await stytch_rbac.authenticate(session_jwt=token)
    merged = await stytch_rbac.policy(cast.org)
    assert await stytch_rbac.permissions(lead) == merged.permissions(lead.roles)
    for resource, actions in merged.resources.items():
        for action in actions:
            expected = merged.decide(lead.roles, resource, action)
            assert await stytch_rbac.explain(lead, resource, action) == expected
            assert await stytch_rbac.is_authorized(lead, resource, action) == expected.allowed
    assert await stytch_rbac.is_authorized(lead, "documents", "delete")
    assert not await stytch_rbac.is_authorized(lead, "audit_logs", "export")


async def test_org_without_custom_roles_is_cached_as_negative_entry(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """An organization with no custom roles is fetched once and then answered from cache."""
    for _ in range(10):
        assert (await stytch_rbac.policy(cast.other_org)) is await stytch_rbac.policy()
    info = stytch_rbac.cache_info()["org_policies"]
    assert stytch_emulator.requests["rbac.org_policy"] == 1
    assert info.size == 1
    assert info.hits == 9


async def test_org_cache_is_bounded(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, member: MemberFactory
) -> None:
    """With org_cache_size=2, policies of three organizations keep at most two cached."""
    third = member.organization("Initech").organization_id
    async with configured(stytch_emulator, stytch_rbac, org_cache_size=2) as rbac:
        for organization_id in (cast.org, cast.other_org, third):
            await rbac.policy(organization_id)
        info = rbac.cache_info()["org_policies"]
    assert info.size == 2
    assert info.evictions == 1


# -- caching under load and failure ------------------------------------------------------------


@both_modes
async def test_thousand_concurrent_cold_checks_fetch_once(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, member: MemberFactory, mode: str
) -> None:
    """1,000 concurrent checks on a cold cache cause one policy and one org-policy fetch (the
    member holds an org custom role: a member holding only project roles needs none)."""
    stytch_emulator.set_org_policy(
        cast.org,
        {
            "roles": [
                {
                    "role_id": "reviewer",
                    "description": "",
                    "permissions": [{"resource_id": "documents", "actions": ["edit"]}],
                }
            ]
        },
    )
    reviewer = await stytch_rbac.authenticate(session_jwt=member(["reviewer"]).session_jwt)
    answers: list[bool] = []

    async def check() -> None:
        answers.append(await stytch_rbac.is_authorized(reviewer, "documents", "edit"))

    async with anyio.create_task_group() as tg:
        for _ in range(1000):
            tg.start_soon(check)
    assert answers == [True] * 1000
    assert stytch_emulator.requests["rbac.policy"] == 1
    assert stytch_emulator.requests["rbac.org_policy"] == 1


def _inject(emu: Emulator, kind: str) -> None:
    for endpoint in ("rbac.policy", "rbac.org_policy"):
        if kind == "500":
            emu.faults.fail(endpoint, 500)
        elif kind == "timeout":
            emu.faults.hang(endpoint)
        else:
            emu.faults.garbage(endpoint)


async def _release_hangs_forever(emu: Emulator) -> None:
    """Answer each request hanging in ``emu`` with a 503 soon after it arrives: the test's own
    stand-in for a client timeout, so no test waits for one."""
    while True:
        emu.faults.release_hangs()
        await anyio.sleep(0.01)


CHECKS = [
    ("documents", "edit"),
    ("documents", "delete"),
    ("billing", "read"),
    ("stytch.self", "update.info.name"),
]


@pytest.mark.parametrize("kind", ["500", "timeout", "garbage"])
async def test_failing_policy_endpoint_is_masked_until_max_stale(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, kind: str
) -> None:
    """With the policy endpoints failing for 10 simulated minutes no answer fails or changes
    and no check waits for a refresh; past max_stale every check raises StytchUnavailable."""
    emu = stytch_emulator
    # The timeout outlasts the test: a hanging refresh ends only when the test releases it.
    async with configured(emu, stytch_rbac, timeout=3600, max_stale=3600) as rbac:
        editor = await rbac.authenticate(session_jwt=cast.editor.session_jwt)
        baseline = [await rbac.is_authorized(editor, r, a) for r, a in CHECKS]
        _inject(emu, kind)
        # Hang guard only: a check that waited for a hanging refresh would block for good.
        with anyio.fail_after(60):
            for _ in range(20):
                emu.advance_time(30)
                answers = [await rbac.is_authorized(editor, r, a) for r, a in CHECKS]
                assert answers == baseline
                await anyio.sleep(0.01)  # let background refreshes run (and fail)
        await until(lambda: emu.requests["rbac.policy"] > 1)  # refreshes were attempted
        if kind == "timeout":
            # Every answer above came while the one refresh still hung, unanswered.
            stats = rbac.cache_info()["policy"]
            assert (emu.requests["rbac.policy"], stats.loads, stats.load_errors) == (2, 2, 0)
        emu.advance_time(3600)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_release_hangs_forever, emu)
            for resource, action in CHECKS:
                with pytest.raises(StytchUnavailable):
                    await rbac.is_authorized(editor, resource, action)
                with pytest.raises(StytchUnavailable):
                    await rbac.authorize(editor, resource, action)
            tg.cancel_scope.cancel()


async def test_cold_cache_with_hanging_endpoint_fails_within_timeout(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """With nothing cached and the policy endpoint hanging, a check fails with StytchUnavailable
    once the configured timeout is spent, instead of waiting indefinitely."""
    stytch_emulator.faults.hang("rbac.policy")
    async with configured(stytch_emulator, stytch_rbac, timeout=0.3) as rbac:
        editor = await rbac.authenticate(session_jwt=cast.editor.session_jwt)
        # fail_after(5) is a hang guard only; the message proves which deadline ended the wait.
        with anyio.fail_after(5), pytest.raises(StytchUnavailable, match=r"0\.3s"):
            await rbac.is_authorized(editor, "documents", "edit")


async def test_transient_failures_are_retried(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """Two 500s and a 429 with Retry-After are retried; the policies load."""
    stytch_emulator.faults.fail("rbac.policy", 500, times=2)
    stytch_emulator.faults.fail("rbac.org_policy", 429, times=1, retry_after=0.05)
    assert (await stytch_rbac.policy(cast.org)).allows(["editor"], "documents", "edit")
    assert stytch_emulator.requests["rbac.policy"] == 3
    assert stytch_emulator.requests["rbac.org_policy"] == 2


async def test_a_failing_cold_policy_is_fetched_once_per_retry_interval(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """With the policy endpoint answering 500 and nothing cached, 50 sequential checks make one
    load (its 3 GETs, retries included), not 150; past the retry interval a check fetches
    again and, Stytch back, succeeds."""
    stytch_emulator.faults.fail("rbac.policy", 500)
    editor = await stytch_rbac.authenticate(session_jwt=cast.editor.session_jwt)
    for _ in range(50):
        with pytest.raises(StytchUnavailable):
            await stytch_rbac.is_authorized(editor, "documents", "edit")
    assert stytch_emulator.requests["rbac.policy"] == 3
    stytch_emulator.faults.clear()
    stytch_emulator.advance_time(5)
    assert await stytch_rbac.is_authorized(editor, "documents", "edit")
    assert stytch_emulator.requests["rbac.policy"] == 4


@pytest.mark.parametrize("opened", [True, False], ids=["async-with", "without-async-with"])
async def test_cancelling_the_first_caller_of_a_cold_fetch_fetches_once(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, opened: bool
) -> None:
    """200 checks wait on a cold policy fetch that a first check started; cancelling that first
    check makes no second fetch: one policy GET, and every waiter is answered."""
    emu = stytch_emulator
    editor = await stytch_rbac.authenticate(session_jwt=cast.editor.session_jwt)
    emu.faults.latency("rbac.policy", 0.2, times=1)
    rbac = configured(emu, stytch_rbac)
    answers: list[bool] = []

    async def check() -> None:
        answers.append(await rbac.is_authorized(editor, "documents", "edit"))

    first = anyio.CancelScope()

    async def first_check() -> None:
        with first:  # its answer, if any, is not counted: it may or may not come
            await rbac.is_authorized(editor, "documents", "edit")

    async with contextlib.AsyncExitStack() as stack:
        if opened:
            await stack.enter_async_context(rbac)
        async with anyio.create_task_group() as tg:
            tg.start_soon(first_check)
            await until(lambda: emu.requests["rbac.policy"] == 1)
            for _ in range(200):
                tg.start_soon(check)
            await anyio.wait_all_tasks_blocked()
            first.cancel()
    assert answers == [True] * 200
    assert emu.requests["rbac.policy"] == 1


async def test_sessions_authenticate_is_never_retried(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """A 503 from sessions/authenticate is StytchUnavailable after exactly one attempt."""
    stytch_emulator.faults.fail("sessions.authenticate", 503, times=1)
    with pytest.raises(StytchUnavailable):
        await stytch_rbac.authenticate(session_token=cast.editor.session_token)
    assert stytch_emulator.requests["sessions.authenticate"] == 1


async def test_policy_change_is_picked_up_in_the_background(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, caplog: pytest.LogCaptureFixture
) -> None:
    """After the TTL the old policy answers at once, one refresh runs, and the change is logged."""
    caplog.set_level(logging.INFO, logger="stytch_rbac")
    data = json.loads(EXAMPLE_POLICY.read_text())
    for role in data["roles"]:
        if role["role_id"] == "viewer":
            role["permissions"][0]["actions"].append("edit")
    viewer = await stytch_rbac.authenticate(session_jwt=cast.viewer.session_jwt)
    assert not await stytch_rbac.is_authorized(viewer, "documents", "edit")
    stytch_emulator.set_policy(data)
    stytch_emulator.advance_time(301)
    assert not await stytch_rbac.is_authorized(viewer, "documents", "edit")  # stale, served at once
    with anyio.fail_after(30):  # hang guard only: the refresh is awaited, never timed
        while not await stytch_rbac.is_authorized(viewer, "documents", "edit"):  # noqa: ASYNC110
            await anyio.sleep(0.01)
    assert await stytch_rbac.is_authorized(viewer, "documents", "edit")
    assert stytch_emulator.requests["rbac.policy"] == 2
    assert any("RBAC policy changed" in r.getMessage() for r in caplog.records)


async def test_refresh_policy_and_invalidate(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """refresh_policy() and invalidate(org) make the next decision use Stytch's current policy."""
    data = json.loads(EXAMPLE_POLICY.read_text())
    for role in data["roles"]:
        if role["role_id"] == "viewer":
            role["permissions"][0]["actions"].append("share")
    viewer = await stytch_rbac.authenticate(session_jwt=cast.viewer.session_jwt)
    assert not await stytch_rbac.is_authorized(viewer, "documents", "share")
    stytch_emulator.set_policy(data)
    assert not await stytch_rbac.is_authorized(viewer, "documents", "share")
    await stytch_rbac.refresh_policy()
    assert await stytch_rbac.is_authorized(viewer, "documents", "share")
    assert "deleter" not in (await stytch_rbac.policy(cast.org)).role_ids  # now cached
    stytch_emulator.set_org_policy(
        cast.org,
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
    assert "deleter" not in (await stytch_rbac.policy(cast.org)).role_ids
    stytch_rbac.invalidate(cast.org)
    assert "deleter" in (await stytch_rbac.policy(cast.org)).role_ids
    stytch_rbac.invalidate()
    assert stytch_rbac.cache_info()["policy"].size == 0


async def test_works_without_async_with(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """Used without `async with`, stale values are refreshed inline and aclose() cleans up."""
    rbac = configured(stytch_emulator, stytch_rbac)
    editor = await rbac.authenticate(session_jwt=cast.editor.session_jwt)
    assert await rbac.is_authorized(editor, "documents", "edit")
    stytch_emulator.advance_time(301)
    assert await rbac.is_authorized(editor, "documents", "edit")
    assert stytch_emulator.requests["rbac.policy"] == 2
    await rbac.aclose()
    await rbac.aclose()
    assert not rbac.http.is_closed  # not ours to close
    with pytest.raises(RuntimeError, match="closed"):
        await rbac.refresh_policy()


async def test_closed_client_serves_its_cache_and_fetches_nothing(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """After aclose() a cached policy still answers, but nothing is fetched, even on a
    caller-owned httpx client that stays open: a new organization's policy is unavailable."""
    rbac = configured(stytch_emulator, stytch_rbac)
    editor = await rbac.authenticate(session_jwt=cast.editor.session_jwt)
    assert await rbac.is_authorized(editor, "documents", "edit")
    await rbac.aclose()
    assert not rbac.http.is_closed
    fetched = dict(stytch_emulator.requests)
    assert await rbac.is_authorized(editor, "documents", "edit")
    with pytest.raises(StytchUnavailable, match="closed"):
        await rbac.policy(cast.other_org)
    with pytest.raises(RuntimeError, match="closed"):
        await rbac.authenticate(session_token=cast.editor.session_token)
    assert dict(stytch_emulator.requests) == fetched


async def test_async_with_is_not_reentrant(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC
) -> None:
    """Entering a client twice is a clear RuntimeError; once closed it opens again over the
    caller's open http client (re-opening is covered in test_client_lifecycle.py)."""
    async with configured(stytch_emulator, stytch_rbac) as rbac:
        with pytest.raises(RuntimeError, match="already"):
            await rbac.__aenter__()
    async with rbac:
        assert not rbac.http.is_closed


@pytest.mark.stytch_http
async def test_owned_http_client_is_closed(stytch_emulator: Emulator, stytch_base_url: str) -> None:
    """The httpx client StytchRBAC creates is closed on exit."""
    emu = stytch_emulator
    async with StytchRBAC(emu.project_id, emu.secret, base_url=stytch_base_url) as rbac:
        http = rbac.http
        assert not http.is_closed
    assert http.is_closed


# -- the stytch SDK over our transport ---------------------------------------------------------


@both_modes
async def test_stytch_sdk_runs_over_our_http_client(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, mode: str
) -> None:
    """rbac.stytch is one B2BClient whose async calls go through rbac.http (no aiohttp)."""
    from stytch_rbac._stytch.sdk import SDKSession

    client = stytch_rbac.stytch
    assert stytch_rbac.stytch is client
    policy = await client.rbac.policy_async()
    org = await client.organizations.get_async(organization_id=cast.org)
    auth = await client.sessions.authenticate_async(session_token=cast.editor.session_token)
    assert isinstance(client.async_client._session, SDKSession)
    assert policy.policy is not None
    assert {r.role_id for r in policy.policy.roles} >= {"editor", "viewer"}
    assert org.organization.organization_slug == "acme"
    assert auth.member_session.member_id == cast.editor.member_id
    assert stytch_emulator.requests["rbac.policy"] == 1


async def test_cold_cache_outage_is_logged_as_a_warning(
    stytch_emulator: Emulator,
    stytch_rbac: StytchRBAC,
    cast: Cast,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Stytch down with nothing cached: besides the StytchUnavailable the caller gets, a
    WARNING names what could not be fetched (the policy, the organization's policy) and
    since when; the recovery is an INFO."""
    caplog.set_level(logging.INFO, logger="stytch_rbac")
    stytch_emulator.faults.fail("rbac.policy", 503)
    stytch_emulator.faults.fail("rbac.org_policy", 503)
    async with configured(stytch_emulator, stytch_rbac) as rbac:
        editor = await rbac.authenticate(session_jwt=cast.editor.session_jwt)
        with pytest.raises(StytchUnavailable):
            await rbac.is_authorized(editor, "documents", "edit")
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(
            m.startswith("stytch_rbac: cannot fetch RBAC policy (StytchUnavailable: ")
            and "failing since" in m
            for m in warnings
        ), warnings
        stytch_emulator.faults.clear("rbac.policy")
        stytch_emulator.advance_time(5)  # past the interval a failed load is remembered for
        assert await rbac.is_authorized(editor, "documents", "edit")  # no org policy needed
        with pytest.raises(StytchUnavailable):
            await rbac.policy(cast.org)
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(
            m.startswith(f"stytch_rbac: cannot fetch organization policy of {cast.org} (")
            for m in warnings
        ), warnings
        stytch_emulator.faults.clear()
        stytch_emulator.advance_time(5)
        caplog.clear()
        assert (await rbac.policy(cast.org)).allows(editor.roles, "documents", "edit")
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(m.startswith("stytch_rbac: fetched organization policy of ") for m in infos)


# -- hygiene -----------------------------------------------------------------------------------


async def test_no_secret_or_token_in_logs_or_reprs(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, caplog: pytest.LogCaptureFixture
) -> None:
    """Across a flow with failures and refreshes, no log line or repr shows a secret or token."""
    caplog.set_level(logging.DEBUG)
    secrets = [
        stytch_emulator.secret,
        cast.editor.session_token,
        cast.editor.session_jwt,
        cast.editor.session_jwt.split(".")[2],
    ]
    stytch_emulator.faults.fail("rbac.policy", 500, times=1)
    p = await stytch_rbac.authenticate(session_jwt=cast.editor.session_jwt)
    await stytch_rbac.is_authorized(p, "documents", "edit")
    stytch_emulator.advance_time(301)
    t = await stytch_rbac.authenticate(session_jwt=cast.editor.session_jwt)
    stytch_emulator.faults.fail("rbac.policy", 500)
    stytch_emulator.advance_time(301)
    await stytch_rbac.is_authorized(t, "documents", "edit")
    await until(
        lambda: any("refreshing RBAC policy failed" in r.getMessage() for r in caplog.records)
    )
    with pytest.raises(Unauthenticated) as info:
        await stytch_rbac.authenticate(session_jwt=_tamper(cast.editor.session_jwt))
    texts = [repr(stytch_rbac), str(stytch_rbac), repr(p), str(p), repr(t), str(info.value)]
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
    assert StytchRBAC.from_env(env).project_domain is None
    with_domain = {**env, "STYTCH_PROJECT_DOMAIN": "https://auth.acme.test"}
    assert StytchRBAC.from_env(with_domain).project_domain == "auth.acme.test"
    chosen = StytchRBAC.from_env(with_domain, project_domain="other.acme.test")
    assert chosen.project_domain == "other.acme.test"  # an option wins over the environment


def test_principal_is_frozen_and_hashable() -> None:
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
