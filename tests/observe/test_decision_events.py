"""Every decision path reports one typed event: allow, deny, tenancy, unknown, unavailable,
guards and member pre-flights; sampling; a failing callback changes nothing; no secrets."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from stytch_rbac import (
    AuthenticationEvent,
    DecisionEvent,
    DenialReason,
    PermissionDenied,
    StytchUnavailable,
    TenancyError,
    UnknownPermission,
)
from stytch_rbac.client import StytchRBAC
from stytch_rbac.emulator import Emulator
from stytch_rbac.observe import DecisionSource, Observer
from stytch_rbac.observe.observer import no_grants
from stytch_rbac.testing import MemberFactory

from .conftest import EXAMPLE_POLICY, Seen, in_process

pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(EXAMPLE_POLICY)]


async def test_allow_names_the_granting_roles_and_the_policy(
    observed: StytchRBAC, seen: Seen, member: MemberFactory
) -> None:
    """An allow carries who, what, the granting roles, the policy sha, age and freshness."""
    editor = member(["editor"])
    principal = await observed.authenticate(session_jwt=editor.session_jwt)
    assert await observed.is_authorized(principal, "documents:edit")
    [event] = seen.decisions
    assert event.source is DecisionSource.IS_AUTHORIZED
    assert (event.principal_kind, event.principal_id) == ("member", editor.member_id)
    assert event.organization_id == editor.organization_id
    assert (event.resource, event.action, event.allowed, event.reason) == (
        "documents",
        "edit",
        True,
        None,
    )
    assert event.granted_by == ("editor",)
    policy = await observed.policy()
    assert event.policy_sha256 == policy.policy.sha256()
    assert event.policy_age is not None
    assert event.policy_age >= 0
    assert event.policy_stale is False
    assert event.strict is True
    assert event.duration >= 0
    assert event.route is None
    assert event.method is None


async def test_denial_says_no_grant(
    observed: StytchRBAC, seen: Seen, member: MemberFactory
) -> None:
    """authorize() raising PermissionDenied reports the denial first."""
    viewer = member(["viewer"])
    principal = await observed.authenticate(session_jwt=viewer.session_jwt)
    with pytest.raises(PermissionDenied):
        await observed.authorize(principal, "documents:delete")
    [event] = seen.decisions
    assert event.source is DecisionSource.AUTHORIZE
    assert (event.allowed, event.reason, event.granted_by) == (False, DenialReason.NO_GRANT, ())


async def test_other_organization_is_a_tenancy_denial(
    observed: StytchRBAC, seen: Seen, member: MemberFactory
) -> None:
    """Asking about another organization is reported as tenancy, for each entry point."""
    editor = member(["editor"])
    other = member.organization("Globex").organization_id
    principal = await observed.authenticate(session_jwt=editor.session_jwt)
    assert not await observed.is_authorized(principal, "documents:read", organization_id=other)
    with pytest.raises(TenancyError):
        await observed.authorize(principal, "documents:read", organization_id=other)
    decision = await observed.explain(principal, "documents:read", organization_id=other)
    assert not decision.allowed
    assert [e.source for e in seen.decisions] == [
        DecisionSource.IS_AUTHORIZED,
        DecisionSource.AUTHORIZE,
        DecisionSource.EXPLAIN,
    ]
    assert {(e.reason, e.requested_organization_id, e.allowed) for e in seen.decisions} == {
        (DenialReason.TENANCY, other, False)
    }


async def test_unknown_permission_is_reported_then_raised(
    observed: StytchRBAC, seen: Seen, member: MemberFactory
) -> None:
    """Strict mode raises UnknownPermission; the event says unknown_permission."""
    editor = member(["editor"])
    principal = await observed.authenticate(session_jwt=editor.session_jwt)
    with pytest.raises(UnknownPermission):
        await observed.is_authorized(principal, "documents:fly")
    [event] = seen.decisions
    assert (event.resource, event.action) == ("documents", "fly")
    assert (event.allowed, event.reason) == (False, DenialReason.UNKNOWN_PERMISSION)


async def test_unavailable_policy_is_reported_then_raised(
    stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """No policy at hand (Stytch failing, cold cache): the event says unavailable, no sha."""
    editor = member(["editor"])
    seen = Seen()
    rbac, http = in_process(stytch_emulator, on_decision=seen.decisions.append, timeout=2)
    stytch_emulator.faults.fail("rbac.policy", 503)
    async with http, rbac:
        principal = await rbac.authenticate(session_jwt=editor.session_jwt)
        with pytest.raises(StytchUnavailable):
            await rbac.is_authorized(principal, "documents:read")
    [event] = seen.decisions
    assert (event.allowed, event.reason) == (False, DenialReason.UNAVAILABLE)
    assert (event.policy_sha256, event.policy_age) == (None, None)


async def test_stale_policy_is_flagged(stytch_emulator: Emulator, member: MemberFactory) -> None:
    """A policy served past its TTL because Stytch fails is reported as stale, with its age."""
    editor = member(["editor"])
    seen = Seen()
    rbac, http = in_process(
        stytch_emulator, on_decision=seen.decisions.append, policy_ttl=60, timeout=2
    )
    async with http, rbac:
        principal = await rbac.authenticate(session_jwt=editor.session_jwt)
        assert await rbac.is_authorized(principal, "documents:read")
        stytch_emulator.faults.fail("rbac.policy", 503)
        stytch_emulator.advance_time(120)
        principal = await rbac.authenticate(session_jwt=editor.session_jwt)
        assert await rbac.is_authorized(principal, "documents:read")
    fresh, stale = seen.decisions
    assert fresh.policy_stale is False
    assert stale.policy_stale is True
    assert stale.policy_age is not None
    assert stale.policy_age >= 120
    assert stale.policy_sha256 == fresh.policy_sha256


@pytest.mark.parametrize(
    ("decisions", "expected"),
    [("all", ["allow", "deny", "allow", "deny"]), ("denials", ["deny", "deny"])],
)
async def test_sampling_of_allows(
    stytch_emulator: Emulator,
    member: MemberFactory,
    decisions: Any,
    expected: list[str],
) -> None:
    """decisions="denials" drops allows; denials are always reported."""
    editor = member(["editor"])
    seen = Seen()
    rbac, http = in_process(stytch_emulator, on_decision=seen.decisions.append, decisions=decisions)
    async with http, rbac:
        principal = await rbac.authenticate(session_jwt=editor.session_jwt)
        for permission in ("documents:edit", "documents:delete") * 2:
            await rbac.is_authorized(principal, permission)
    assert ["allow" if e.allowed else "deny" for e in seen.decisions] == expected


def test_sampling_rate_reports_that_share_of_allows() -> None:
    """A rate r reports an allow when the random draw is below r (denials: always)."""
    draws = iter([0.1, 0.9, 0.29, 0.3])
    observer = Observer(
        policy_snapshot=lambda: None,
        now=lambda: 0.0,
        policy_ttl=300,
        strict=True,
        decisions=0.3,
        rate=lambda: next(draws),
    )
    got: list[DecisionEvent] = []
    observer.add_decision_sink(got.append)
    principal = _principal()
    for allowed in (True, True, True, True, False):
        reason = None if allowed else DenialReason.NO_GRANT
        observer.decided(
            DecisionSource.IS_AUTHORIZED, principal, None, "documents", "read", allowed, reason,
            no_grants, 0.0,
        )  # fmt: skip
    assert [e.allowed for e in got] == [True, True, False]


def test_event_is_immutable_and_equal_by_value() -> None:
    """Events cannot be changed; two with the same fields are equal; as_dict is JSON-able."""
    fields = {
        "source": DecisionSource.GUARD,
        "principal_id": "member-test-1",
        "organization_id": "organization-test-1",
        "requested_organization_id": None,
        "resource": "documents",
        "action": "read",
        "allowed": True,
        "reason": None,
        "granted_by": ("viewer",),
    }
    event = DecisionEvent(**fields)  # type: ignore[arg-type]
    assert event == DecisionEvent(**fields)  # type: ignore[arg-type]
    with pytest.raises(AttributeError, match="immutable"):
        event.allowed = False  # type: ignore[misc]
    assert json.loads(json.dumps(event.as_dict()))["granted_by"] == ["viewer"]
    assert "granted_by=('viewer',)" in repr(event)


@pytest.mark.parametrize("bad", [0, 1.5, -0.1, "some", True, None])
def test_bad_sampling_is_refused_with_its_value(bad: object) -> None:
    """decisions= takes "denials", "all" or a rate in (0, 1]; anything else names itself."""
    with pytest.raises(ValueError, match="decisions="):
        StytchRBAC("project-test-x", "secret-test-x", decisions=bad)  # type: ignore[arg-type]


async def test_failing_callback_is_logged_once_and_changes_nothing(
    stytch_emulator: Emulator, member: MemberFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A callback that raises: decisions stand (allow and deny), one log record, a count."""
    editor = member(["editor"])
    calls = 0

    def broken(_event: DecisionEvent) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("sink down")

    rbac, http = in_process(stytch_emulator, on_decision=broken)
    with caplog.at_level(logging.ERROR, logger="stytch_rbac"):
        async with http, rbac:
            principal = await rbac.authenticate(session_jwt=editor.session_jwt)
            assert await rbac.is_authorized(principal, "documents:edit")
            assert not await rbac.is_authorized(principal, "documents:delete")
            with pytest.raises(PermissionDenied):
                await rbac.authorize(principal, "documents:delete")
    assert calls == 3
    records = [r for r in caplog.records if "observer callback" in r.getMessage()]
    assert len(records) == 1
    assert records[0].exc_info is not None
    assert rbac.observer is not None
    assert rbac.observer.failures == 3


async def test_member_preflight_reports_each_needed_permission(
    observed: StytchRBAC, seen: Seen, member: MemberFactory
) -> None:
    """A built-in call made as a member reports its pre-flight: allowed for an admin (with
    the call's name), refused for an editor (before any request reaches Stytch)."""
    admin = member(["stytch_admin"])
    editor = member(["editor"])
    await observed.as_member(session_jwt=admin.session_jwt).organizations.update(
        admin.organization_id, organization_name="Acme Renamed"
    )
    with pytest.raises(PermissionDenied):
        await observed.as_member(session_jwt=editor.session_jwt).organizations.update(
            editor.organization_id, organization_name="Nope"
        )
    preflights = [e for e in seen.decisions if e.source is DecisionSource.PREFLIGHT]
    assert [(e.principal_id, e.allowed) for e in preflights] == [
        (admin.member_id, True),
        (editor.member_id, False),
    ]
    allowed, refused = preflights
    assert allowed.method == refused.method == "organizations.update"
    assert allowed.resource == "stytch.organization"
    assert allowed.granted_by == ("stytch_admin",)
    assert refused.reason is DenialReason.NO_GRANT


async def test_no_event_holds_a_credential_or_the_secret(
    stytch_emulator: Emulator, observed: StytchRBAC, seen: Seen, member: MemberFactory
) -> None:
    """Neither a JWT, a session token nor the project secret appears in any event."""
    editor = member(["editor"])
    by_token = await observed.authenticate(session_token=editor.session_token)
    by_jwt = await observed.authenticate(session_jwt=editor.session_jwt)
    for principal in (by_token, by_jwt):
        await observed.is_authorized(principal, "documents:edit")
        await observed.is_authorized(principal, "documents:delete")
    with pytest.raises(PermissionDenied):  # refused by the pre-flight: a denial event too
        await observed.as_member(session_jwt=editor.session_jwt).organizations.update(
            editor.organization_id, organization_name="Nope"
        )
    events: list[DecisionEvent | AuthenticationEvent] = [*seen.decisions, *seen.authentications]
    assert len(seen.decisions) >= 5
    assert len(seen.authentications) >= 3
    text = json.dumps([e.as_dict() for e in events]) + repr(events)
    for secret in (editor.session_jwt, editor.session_token, stytch_emulator.secret):
        assert secret not in text
    # Also no fragment a log scrubber would miss: the JWT's signature part.
    assert editor.session_jwt.rsplit(".", 1)[1] not in text


async def test_no_observer_without_callbacks(stytch_emulator: Emulator) -> None:
    """Without callbacks nobody observes: the plain decision path runs."""
    rbac, http = in_process(stytch_emulator)
    async with http:
        assert rbac.observer is None
        assert rbac.tracing is None


def _principal() -> Any:
    import datetime

    from stytch_rbac import Principal

    return Principal(
        member_id="member-test-1",
        organization_id="organization-test-1",
        organization_slug="acme",
        roles=frozenset({"editor"}),
        session_id="session-test-1",
        expires_at=datetime.datetime.now(datetime.UTC),
    )
