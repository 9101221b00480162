"""Only a 2xx answer is a success: a redirection (301, 302, 304, 307) is an error, whatever its
body says, on every path (the facade's fetches, sessions/authenticate, the SDK's calls), and a
redirect is never followed, even by a caller's own client configured to follow them."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stytch_rbac import StytchAPIError, StytchRBAC, StytchRBACError
from stytch_rbac._stytch import Connection, Credentials
from stytch_rbac._stytch.endpoints import authenticate_session, fetch_org_policy, fetch_policy
from stytch_rbac._stytch.errors import error_from_stytch, translate_errors
from stytch_rbac._stytch.http import get_with_retries, in_process_client
from stytch_rbac.emulator import Emulator

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
BASE = "http://emu.invalid"
REDIRECTS = [301, 302, 304, 307]

pytestmark = pytest.mark.anyio


@pytest.fixture
def emu() -> Emulator:
    """An emulator with the example policy."""
    return Emulator(policy=EXAMPLE_POLICY)


@pytest.fixture
async def rbac(emu: Emulator) -> AsyncIterator[StytchRBAC]:
    """The facade over the emulator, in process."""
    async with in_process_client(emu.app, base_url=BASE) as http:
        facade = StytchRBAC(
            emu.project_id, emu.secret, base_url=BASE, http_client=http, clock=emu.clock
        )
        async with facade:
            yield facade


def _conn(emu: Emulator, http: httpx.AsyncClient) -> Connection:
    return Connection(http, Credentials(emu.project_id, emu.secret, BASE))


@pytest.mark.parametrize("status", REDIRECTS)
async def test_a_redirected_policy_is_never_used(
    emu: Emulator, rbac: StytchRBAC, status: int
) -> None:
    """A policy that gives a viewer documents:delete, answered with a 3xx, is refused: the
    check raises StytchAPIError naming the status, it never answers True."""
    org = emu.create_organization(name="Acme").organization_id
    viewer = emu.create_member(org, email_address="v@acme.test", roles=["viewer"])
    session = emu.create_session(viewer.member_id)
    async with in_process_client(emu.app, base_url=BASE) as http:
        body = await fetch_policy(_conn(emu, http))
    injected = copy.deepcopy(body)
    for role in injected["policy"]["roles"]:
        if role["role_id"] == "viewer":
            role["permissions"].append({"resource_id": "documents", "actions": ["delete"]})
    emu.faults.redirect("rbac.policy", status, body=injected)
    principal = await rbac.authenticate(session_jwt=session.session_jwt)
    with pytest.raises(StytchAPIError) as info:
        await rbac.is_authorized(principal, "documents", "delete")
    assert info.value.status_code == status
    assert str(status) in str(info.value)


@pytest.mark.parametrize("status", REDIRECTS)
async def test_a_redirected_session_answer_authenticates_nobody(
    emu: Emulator, rbac: StytchRBAC, status: int
) -> None:
    """A 3xx from sessions/authenticate carrying an admin's genuine member session does not
    authenticate the bogus token that was sent: StytchAPIError, no Principal."""
    org = emu.create_organization(name="Acme").organization_id
    admin = emu.create_member(org, email_address="a@acme.test", roles=["stytch_admin"])
    session = emu.create_session(admin.member_id)
    async with in_process_client(emu.app, base_url=BASE) as http:
        answer = await authenticate_session(
            _conn(emu, http), {"session_token": session.session_token}
        )
    emu.faults.redirect("sessions.authenticate", status, body=answer)
    with pytest.raises(StytchAPIError) as info:
        await rbac.authenticate(session_token="bogus-" + "x" * 38)
    assert info.value.status_code == status


@pytest.mark.parametrize("status", REDIRECTS)
async def test_every_seam_endpoint_refuses_a_redirection(emu: Emulator, status: int) -> None:
    """The policy, org policy and JWKS fetches and sessions/authenticate each raise on a 3xx
    carrying the real answer's body."""
    from stytch_rbac._stytch.endpoints import fetch_jwks

    org = emu.create_organization(name="Acme").organization_id
    async with in_process_client(emu.app, base_url=BASE) as http:
        conn = _conn(emu, http)
        calls: list[tuple[str, Any]] = [
            ("rbac.policy", lambda: fetch_policy(conn)),
            ("rbac.org_policy", lambda: fetch_org_policy(conn, org)),
            ("sessions.jwks", lambda: fetch_jwks(conn)),
            ("sessions.authenticate", lambda: authenticate_session(conn, {"session_token": "x"})),
        ]
        for endpoint, call in calls:
            emu.faults.redirect(endpoint, status, times=1)
            with pytest.raises(StytchAPIError) as info:
                await call()
            assert info.value.status_code == status, endpoint


@pytest.mark.parametrize("status", REDIRECTS)
async def test_the_sdk_refuses_a_redirection(emu: Emulator, status: int) -> None:
    """Through the real stytch SDK over the adapter (GET and POST), a 3xx with the real body is
    an error, not the SDK's success."""
    from stytch_rbac._stytch.sdk import make_stytch_client

    org = emu.create_organization(name="Acme").organization_id
    async with in_process_client(emu.app, base_url=BASE) as http:
        sdk = make_stytch_client(emu.project_id, emu.secret, http, environment=BASE)
        emu.faults.redirect("rbac.policy", status, times=1)
        with pytest.raises(StytchAPIError) as get, translate_errors():
            await sdk.rbac.policy_async()
        emu.faults.redirect("organizations.search", status, times=1)
        with pytest.raises(StytchAPIError) as post, translate_errors():
            await sdk.organizations.search_async()
    assert get.value.status_code == post.value.status_code == status
    assert org


async def test_redirects_are_not_followed_by_a_callers_client() -> None:
    """A caller's httpx client made with follow_redirects=True still does not follow: one
    request is sent and the 302 is an error, though its target answers 200."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path == "/elsewhere":
            return httpx.Response(200, json={"policy": {"roles": []}})
        return httpx.Response(302, headers={"Location": "/elsewhere"})

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(answer), follow_redirects=True
    ) as http:
        conn = Connection(http, Credentials("project-test-1", "secret-1", BASE))
        with pytest.raises(StytchAPIError):
            await fetch_policy(conn)
        response = await get_with_retries(http, BASE + "/v1/b2b/rbac/policy")
    assert response.status_code == 302
    assert [r.url.path for r in sent] == ["/v1/b2b/rbac/policy"] * 2


@pytest.mark.parametrize("status", [100, 199, 300, 302, 304, 399])
def test_a_non_success_status_is_an_api_error_whatever_the_body(status: int) -> None:
    """The translator makes a 1xx or 3xx answer a StytchAPIError with that status, ignoring a
    body that claims success or names an error type."""
    for body in ({}, {"status_code": 200}, {"error_type": "session_not_found"}, None):
        err = error_from_stytch(status, body)
        assert type(err) is StytchAPIError
        assert isinstance(err, StytchRBACError)
        assert (err.status_code, err.error_type) == (status, None)
