"""Guards report each decision with the route template; authentication is reported with
its outcome, reason, credential kind, source and what answered (memo, local, Stytch)."""

# No ``from __future__ import annotations``: FastAPI must see the live Annotated dependency
# of the route built inside the fixture.

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated

import anyio
import pytest
from fastapi import Depends, FastAPI
from observe.conftest import EXAMPLE_POLICY, Seen, in_process

from stytch_rbac import Principal, StytchRBAC, StytchUnavailable, Unauthenticated
from stytch_rbac.emulator import Emulator
from stytch_rbac.integrations.fastapi import lifespan
from stytch_rbac.integrations.guard import path
from stytch_rbac.observe import AuthenticationOutcome, DecisionSource, DenialReason
from stytch_rbac.testing import MemberFactory

if TYPE_CHECKING:
    from starlette.testclient import TestClient
    from starlette.types import ASGIApp

    MakeClient = Callable[[ASGIApp], TestClient]

pytestmark = pytest.mark.stytch_policy(EXAMPLE_POLICY)


@pytest.fixture
def app_and_seen(
    stytch_emulator: Emulator, make_client: "MakeClient"
) -> "Iterator[tuple[TestClient, Seen]]":
    """A FastAPI app with a tenancy-checked, permission-guarded route, its events collected."""
    seen = Seen()
    rbac, http = in_process(
        stytch_emulator,
        on_decision=seen.decisions.append,
        on_authentication=seen.authentications.append,
    )
    app = FastAPI(lifespan=lifespan(rbac))
    edit = rbac.require("documents:edit", organization_id=path("org_id"))

    @app.post("/orgs/{org_id}/docs")
    async def write(org_id: str, who: Annotated[Principal, Depends(edit)]) -> dict[str, str]:
        return {"member_id": who.member_id}

    with make_client(app) as client:
        yield client, seen
    anyio.run(http.aclose)


def test_guard_reports_allow_deny_and_tenancy_with_the_route(
    app_and_seen: "tuple[TestClient, Seen]", member: MemberFactory
) -> None:
    """200, 403 (no grant) and 403 (tenancy) each give one guard event naming the route."""
    client, seen = app_and_seen
    editor, viewer = member(["editor"]), member(["viewer"])
    other = member.organization("Globex").organization_id
    org = editor.organization_id
    assert client.post(f"/orgs/{org}/docs", headers=editor.headers).status_code == 200
    assert client.post(f"/orgs/{org}/docs", headers=viewer.headers).status_code == 403
    assert client.post(f"/orgs/{other}/docs", headers=editor.headers).status_code == 403
    guard_events = [e for e in seen.decisions if e.source is DecisionSource.GUARD]
    assert [(e.principal_id, e.allowed, e.reason) for e in guard_events] == [
        (editor.member_id, True, None),
        (viewer.member_id, False, DenialReason.NO_GRANT),
        (editor.member_id, False, DenialReason.TENANCY),
    ]
    assert {e.route for e in guard_events} == {"/orgs/{org_id}/docs"}
    assert guard_events[0].granted_by == ("editor",)
    assert guard_events[2].requested_organization_id == other


def test_authentication_events_say_source_and_what_answered(
    app_and_seen: "tuple[TestClient, Seen]", member: MemberFactory
) -> None:
    """A bearer JWT (local, then memo), a session-token cookie (Stytch) and no credential."""
    client, seen = app_and_seen
    editor = member(["editor"])
    url = f"/orgs/{editor.organization_id}/docs"
    client.post(url, headers=editor.headers)
    client.post(url, headers=editor.headers)
    client.cookies.set("stytch_session", editor.session_token)
    client.post(url)
    client.cookies.clear()
    assert client.post(url).status_code == 401
    got = [
        (e.outcome, e.credential, e.source, e.answered_by, e.reason) for e in seen.authentications
    ]
    assert got == [
        (AuthenticationOutcome.AUTHENTICATED, "session_jwt", "header", "local", None),
        (AuthenticationOutcome.AUTHENTICATED, "session_jwt", "header", "memo", None),
        (AuthenticationOutcome.AUTHENTICATED, "session_token", "cookie", "stytch", None),
        (AuthenticationOutcome.REFUSED, None, "request", None, "missing"),
    ]
    assert seen.authentications[0].principal_id == editor.member_id


@pytest.mark.anyio
async def test_direct_authentication_refused_and_unavailable(
    stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """authenticate() called directly: source "argument"; a forged JWT is refused (reason
    forged or malformed), Stytch down on a session token is unavailable."""
    editor = member(["editor"])
    seen = Seen()
    rbac, http = in_process(
        stytch_emulator, on_authentication=seen.authentications.append, timeout=1
    )
    async with http, rbac:
        header, payload, signature = editor.session_jwt.split(".")
        forged = f"{header}.{payload}.{signature[::-1]}"
        with pytest.raises(Unauthenticated):
            await rbac.authenticate(session_jwt=forged)
        stytch_emulator.faults.fail("sessions.authenticate", 503)
        with pytest.raises(StytchUnavailable):
            await rbac.authenticate(session_token=editor.session_token)
    refused, unavailable = seen.authentications
    assert (refused.outcome, refused.source, refused.credential) == (
        AuthenticationOutcome.REFUSED,
        "argument",
        "session_jwt",
    )
    assert refused.reason in {"forged", "malformed"}
    assert (unavailable.outcome, unavailable.answered_by) == (
        AuthenticationOutcome.UNAVAILABLE,
        None,
    )


@pytest.mark.anyio
async def test_refreshed_jwt_is_reported(stytch_emulator: Emulator, member: MemberFactory) -> None:
    """An expired JWT answered by Stytch with a fresh one: jwt_refreshed, answered_by stytch."""
    editor = member(["editor"])
    seen = Seen()
    rbac, http = in_process(stytch_emulator, on_authentication=seen.authentications.append)
    async with http, rbac:
        stytch_emulator.advance_time(6 * 60)  # past the JWT's 5 minutes, within the session
        principal = await rbac.authenticate(session_jwt=editor.session_jwt)
    assert principal.jwt_refreshed
    [event] = seen.authentications
    assert (event.answered_by, event.jwt_refreshed) == ("stytch", True)


def test_rbac_without_observer_is_untouched_by_guards(stytch_emulator: Emulator) -> None:
    """The guard asks for the observer and finds none: nothing is built."""
    rbac: StytchRBAC
    rbac, http = in_process(stytch_emulator)
    assert rbac.observer is None
    anyio.run(http.aclose)
