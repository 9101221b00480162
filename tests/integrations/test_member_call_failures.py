"""Stytch failing during a member call, over real HTTP: the example app (uvicorn) removes a
member through ``rbac.as_member(...)`` while the emulator (over HTTP too) injects faults.

Whatever Stytch does, the app answers from the one table of
``stytch_rbac.integrations.responses``: 503 for an outage, a rate limit, a timeout or
garbage (with ``Retry-After`` where Stytch sent one), 404 for no such member, 400/502 for
other refusals; never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.fastapi_app import create_app
from stytch_rbac import StytchRBAC
from stytch_rbac.emulator import Emulator
from stytch_rbac.testing import MemberFactory, SeededMember, serve_app

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
pytestmark = [pytest.mark.stytch_policy(POLICY), pytest.mark.stytch_http]

#: The facade's timeout: a hanging Stytch becomes a timeout after this long.
TIMEOUT = 1.0
DELETE = "organizations.members.delete"


class App:
    """The example app served over HTTP, its emulator, a Stytch admin and a member to remove."""

    def __init__(
        self, client: httpx.Client, emu: Emulator, admin: SeededMember, target: SeededMember
    ) -> None:
        self.client = client
        self.emu = emu
        self.admin = admin
        self.target = target

    def remove(self, member_id: str | None = None) -> httpx.Response:
        """``DELETE /orgs/{org}/members/{member}`` as the admin."""
        org = self.admin.organization_id
        who = member_id or self.target.member_id
        return self.client.delete(f"/orgs/{org}/members/{who}", headers=self.admin.headers)


@pytest.fixture
def app(stytch_emulator: Emulator, stytch_base_url: str, member: MemberFactory) -> Iterator[App]:
    """The example app over uvicorn, its facade (timeout 1 s) reaching the emulator over HTTP."""
    assert stytch_base_url.startswith("http://127.0.0.1:")
    rbac = StytchRBAC(
        stytch_emulator.project_id,
        stytch_emulator.secret,
        base_url=stytch_base_url,
        clock=stytch_emulator.clock,
        timeout=TIMEOUT,
    )
    admin, target = member(["stytch_admin"]), member(["viewer"])
    with (
        serve_app(create_app(rbac, open_rbac=True)) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        # Warm the JWKS and the policy, so that only the member call meets the fault.
        assert client.get("/me", headers=admin.headers).status_code == 200
        try:
            yield App(client, stytch_emulator, admin, target)
        finally:
            stytch_emulator.faults.clear()


def _fail(**options: Any) -> Callable[[Emulator], object]:
    return lambda emu: emu.faults.fail(DELETE, times=1, **options)


@pytest.mark.parametrize(
    ("inject", "status", "retry_after", "error"),
    [
        pytest.param(_fail(status=503), 503, None, "stytch_unavailable", id="503"),
        pytest.param(
            _fail(status=503, retry_after=2.5), 503, "3", "stytch_unavailable", id="503-retry-after"
        ),
        pytest.param(
            _fail(status=429, retry_after=7), 503, "7", "stytch_unavailable", id="429-retry-after"
        ),
        pytest.param(_fail(status=500), 503, None, "stytch_unavailable", id="500"),
        pytest.param(
            lambda emu: emu.faults.hang(DELETE, times=1),
            503,
            None,
            "stytch_unavailable",
            id="timeout",
        ),
        pytest.param(
            lambda emu: emu.faults.garbage(DELETE, times=1),
            503,
            None,
            "stytch_unavailable",
            id="garbage-200",
        ),
        pytest.param(
            _fail(status=400, error_type="invalid_argument"), 400, None, "bad_request", id="400"
        ),
        pytest.param(
            _fail(status=401, error_type="unauthorized_credentials"),
            502,
            None,
            "stytch_error",
            id="bad-project-secret",
        ),
    ],
)
def test_stytch_failing_during_a_member_call(
    app: App,
    inject: Callable[[Emulator], object],
    status: int,
    retry_after: str | None,
    error: str,
) -> None:
    """Each Stytch failure answers its documented status and body, Retry-After where Stytch
    sent one, the member is not removed, and the next call goes through."""
    inject(app.emu)
    answer = app.remove()
    assert (answer.status_code, answer.json()["detail"]["error"]) == (status, error)
    assert answer.headers.get("retry-after") == retry_after
    assert app.admin.session_jwt not in answer.text
    assert app.emu.get_member(app.target.member_id).json["status"] == "active"
    assert app.remove().status_code == 204
    assert app.emu.get_member(app.target.member_id).json["status"] == "deleted"


def test_no_such_member_is_404(app: App) -> None:
    """Stytch's 404 for a member that does not exist answers 404 not_found, naming Stytch's
    error type and request id."""
    answer = app.remove("member-test-00000000-0000-0000-0000-000000000000")
    assert answer.status_code == 404
    detail = answer.json()["detail"]
    assert detail["error"] == "not_found"
    assert detail["stytch_error_type"] == "member_not_found"
    assert detail["request_id"]
    assert "retry-after" not in answer.headers
