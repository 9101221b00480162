"""The observer's fast path (one sink, every allow reported, the system clock) captures
little and works the rest out on first read: every field equals its eager value, the
event stays read-only, and it holds no credential."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from stytch_rbac import (
    DecisionEvent,
    DenialReason,
    Permission,
    PermissionDenied,
    Principal,
    StytchRBAC,
    UnknownPermission,
)
from stytch_rbac.emulator import Emulator
from stytch_rbac.observe import DecisionSource, events
from stytch_rbac.observe.events import DECISION_FIELDS, system_time_at
from stytch_rbac.testing import MemberFactory

from .conftest import EXAMPLE_POLICY, IN_PROCESS_URL

pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(EXAMPLE_POLICY)]


def _system_clock_facade(
    emulator: Emulator, **options: Any
) -> tuple[StytchRBAC, httpx.AsyncClient]:
    """A facade on the system clock (no ``clock=``): the one the fast path serves."""
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url=IN_PROCESS_URL
    )
    rbac = StytchRBAC(
        emulator.project_id,
        emulator.secret,
        base_url=IN_PROCESS_URL,
        http_client=http,
        **options,
    )
    return rbac, http


def _age(rbac: StytchRBAC) -> float:
    _sha, age, _stale = rbac.policy_facts()
    assert age is not None
    return age


async def test_fast_path_fields_equal_their_eager_values(
    stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """An allow and a denial from the fast path: each field as the decision saw it."""
    editor = member(["editor"])
    got: list[DecisionEvent] = []
    rbac, http = _system_clock_facade(stytch_emulator, on_decision=got.append)
    async with http, rbac:
        principal = await rbac.authenticate(session_jwt=editor.session_jwt)
        policy = await rbac.policy()
        before = _age(rbac)
        assert await rbac.is_authorized(principal, "documents:edit")
        assert not await rbac.is_authorized(principal, "documents:delete")
        allowed, denied = got
        assert all(type(e).__name__ == "_Checked" for e in got)  # the fast path ran
        readings = [e.as_dict() for e in got]  # first reads: the lazy fields worked out
        after = _age(rbac)
    sha = policy.policy.sha256()
    common: dict[str, object] = {
        "source": DecisionSource.IS_AUTHORIZED.value,
        "principal_kind": "member",
        "principal_id": editor.member_id,
        "organization_id": editor.organization_id,
        "requested_organization_id": None,
        "resource": "documents",
        "policy_sha256": sha,
        "policy_stale": False,
        "strict": True,
        "route": None,
        "method": None,
    }
    eager_roles = tuple(sorted(policy.decide(principal.roles, "documents", "edit").granted_by))
    assert eager_roles == ("editor",)
    expected: list[dict[str, object]] = [
        {
            **common,
            "action": "edit",
            "allowed": True,
            "reason": None,
            "granted_by": list(eager_roles),
        },
        {**common, "action": "delete", "allowed": False, "reason": "no_grant", "granted_by": []},
    ]
    for reading, want in zip(readings, expected, strict=True):
        for name, value in want.items():
            assert reading[name] == value, name
        # Counted from the decision's time: between the ages read around it (the
        # slack is the float resolution of time.time(), not a speed bound).
        assert before - 1e-3 <= reading["policy_age"] <= after + 1e-3
        assert 0 <= reading["duration"] <= after - before + 1e-3
    assert allowed.reason is None
    assert denied.reason is DenialReason.NO_GRANT
    # Read again: the same values (worked out once, then kept).
    assert [e.as_dict() for e in got] == readings
    # Equal to the same event built eagerly by the public constructor.
    eager = DecisionEvent(**{name: getattr(allowed, name) for name in DECISION_FIELDS})
    assert eager == allowed


async def test_fast_and_general_paths_report_alike(
    stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """One sink (the fast path) and two sinks (the general path): the same fields."""
    editor = member(["editor"])
    one: list[DecisionEvent] = []
    first: list[DecisionEvent] = []
    second: list[DecisionEvent] = []
    fast, fast_http = _system_clock_facade(stytch_emulator, on_decision=one.append)
    general, general_http = _system_clock_facade(stytch_emulator, on_decision=first.append)
    general.observe().add_decision_sink(second.append)
    async with fast_http, fast, general_http, general:
        for rbac in (fast, general):
            principal = await rbac.authenticate(session_jwt=editor.session_jwt)
            for permission in ("documents:edit", "documents:delete"):
                await rbac.is_authorized(principal, permission)
            await rbac.require("documents:edit").check(principal)
    assert [type(e).__name__ for e in one] == ["_Checked"] * 3
    assert [type(e).__name__ for e in first] == ["_Captured"] * 3
    assert first == second

    def timeless(event: DecisionEvent) -> dict[str, Any]:
        return {k: v for k, v in event.as_dict().items() if k not in ("policy_age", "duration")}

    assert [timeless(e) for e in one] == [timeless(e) for e in first]
    assert [e.source for e in one] == [
        DecisionSource.IS_AUTHORIZED,
        DecisionSource.IS_AUTHORIZED,
        DecisionSource.GUARD,
    ]


async def test_sampling_keeps_the_fast_path_for_denials(
    stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """decisions="denials": allows are not reported, denials still take the fast path."""
    editor = member(["editor"])
    got: list[DecisionEvent] = []
    rbac, http = _system_clock_facade(stytch_emulator, on_decision=got.append, decisions="denials")
    async with http, rbac:
        principal = await rbac.authenticate(session_jwt=editor.session_jwt)
        assert await rbac.is_authorized(principal, "documents:edit")
        assert not await rbac.is_authorized(principal, "documents:delete")
    [event] = got
    assert type(event).__name__ == "_Checked"
    assert (event.action, event.allowed, event.reason) == ("delete", False, DenialReason.NO_GRANT)


async def test_captured_events_are_read_only(
    stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """No public field of an observer-made event can be set or deleted, nor one added."""
    editor = member(["editor"])
    got: list[DecisionEvent] = []
    rbac, http = _system_clock_facade(stytch_emulator, on_decision=got.append)
    async with http, rbac:
        principal = await rbac.authenticate(session_jwt=editor.session_jwt)
        await rbac.is_authorized(principal, "documents:edit")
    [event] = got
    before = event.as_dict()
    for name in DECISION_FIELDS:
        with pytest.raises(AttributeError):
            setattr(event, name, None)
        with pytest.raises(AttributeError):
            delattr(event, name)
    with pytest.raises(AttributeError):
        setattr(event, "note", "x")  # noqa: B010 (an attribute the type does not declare)
    assert event.as_dict() == before


async def test_fast_path_events_hold_no_credential(
    stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """Neither the fields nor what the event keeps to work them out hold a JWT, a session
    token, the secret or the principal (which carries the credential)."""
    editor = member(["editor"])
    got: list[DecisionEvent] = []
    rbac, http = _system_clock_facade(stytch_emulator, on_decision=got.append)
    async with http, rbac:
        for principal in (
            await rbac.authenticate(session_jwt=editor.session_jwt),
            await rbac.authenticate(session_token=editor.session_token),
        ):
            await rbac.is_authorized(principal, "documents:edit")
            await rbac.is_authorized(principal, "documents:delete")
    assert len(got) == 4
    text = json.dumps([e.as_dict() for e in got]) + repr(got)
    secrets = (editor.session_jwt, editor.session_token, stytch_emulator.secret)
    for secret in secrets:
        assert secret not in text
    for event in got:
        kept = event._raw
        assert not any(isinstance(value, Principal) for value in kept)
        assert not any(isinstance(value, str) and value in secrets for value in kept)


def test_system_time_at_adds_the_clocks_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    """The decision's system time is its monotonic reading plus the clocks' offset now."""
    monkeypatch.setattr(events, "time", lambda: 1_000_050.0)
    monkeypatch.setattr(events, "perf_counter", lambda: 70.0)
    assert system_time_at(20.0) == 1_000_000.0


async def test_guards_inlined_fast_path_reports_like_the_general_path(
    stytch_emulator: Emulator, member: MemberFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A guard with one sink captures inline (not through Observer.allows): each of its
    events, field by field, equals the general path's (two sinks), for an allow and a
    denial, with the route and the requested organization; a failing sink is logged once
    and changes no decision."""
    from starlette.requests import Request

    editor = member(["editor"])
    request = Request({"type": "http", "method": "GET", "path": "/docs", "headers": []})
    one: list[DecisionEvent] = []
    first: list[DecisionEvent] = []
    second: list[DecisionEvent] = []
    fast, fast_http = _system_clock_facade(stytch_emulator, on_decision=one.append)
    general, general_http = _system_clock_facade(stytch_emulator, on_decision=first.append)
    general.observe().add_decision_sink(second.append)
    org = editor.organization_id
    async with fast_http, fast, general_http, general:
        for rbac in (fast, general):
            principal = await rbac.authenticate(session_jwt=editor.session_jwt)
            any_of = rbac.require("documents:delete", "documents:edit", any_of=True)
            assert await any_of.check(principal, organization_id=org, request=request) is principal
            with pytest.raises(PermissionDenied):
                await rbac.require("documents:edit", "documents:delete").check(principal)
        assert fast.observer is not None
        assert fast.observer.guard_sink is not None  # the inlined path ran for `one`
        assert general.observer is not None
        assert general.observer.guard_sink is None
    assert [type(e).__name__ for e in one] == ["_Checked"] * 4
    assert first == second
    assert len(one) == len(first) == 4
    for inlined, eager in zip(one, first, strict=True):
        for name in DECISION_FIELDS:
            if name not in ("policy_age", "duration"):
                assert getattr(inlined, name) == getattr(eager, name), name
        assert inlined.policy_age is not None
        assert inlined.duration >= 0
    assert [(e.action, e.allowed, e.route) for e in one] == [
        ("delete", False, "/docs"),
        ("edit", True, "/docs"),
        ("edit", True, None),
        ("delete", False, None),
    ]
    assert {e.requested_organization_id for e in one[:2]} == {org}
    assert one[1].granted_by == ("editor",)

    def failing(_event: DecisionEvent) -> None:
        raise RuntimeError("sink down")

    broken, broken_http = _system_clock_facade(stytch_emulator, on_decision=failing)
    async with broken_http, broken:
        principal = await broken.authenticate(session_jwt=editor.session_jwt)
        with caplog.at_level(logging.ERROR, logger="stytch_rbac"):
            for _ in range(2):
                assert await broken.require("documents:edit").check(principal) is principal
                with pytest.raises(PermissionDenied):
                    await broken.require("documents:delete").check(principal)
        assert broken.observer is not None
        assert broken.observer.failures == 4
    assert len([r for r in caplog.records if "observer callback" in r.getMessage()]) == 1


async def test_guards_inlined_fast_path_reports_an_unknown_permission(
    stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """Strict mode: a permission the policy lacks is reported (unknown_permission), then
    raised, on the guard's inlined path too."""
    editor = member(["editor"])
    got: list[DecisionEvent] = []
    rbac, http = _system_clock_facade(stytch_emulator, on_decision=got.append)
    async with http, rbac:
        principal = await rbac.authenticate(session_jwt=editor.session_jwt)
        guard = rbac.require("documents:edit")
        guard.permissions = (Permission("documents", "nope"),)  # skip the eager check
        with pytest.raises(UnknownPermission):
            await guard.check(principal)
    (event,) = got
    assert (event.action, event.allowed, event.reason) == (
        "nope",
        False,
        DenialReason.UNKNOWN_PERMISSION,
    )
    assert event.source is DecisionSource.GUARD
