"""Stytch's real frontend SDK in a real browser, against the same emulator as the Python backend.

The page of examples/fullstack (``@stytch/vanilla-js`` 6.3.0, bundled by esbuild from
the committed lock file) runs in Debian's headless chromium, served with the
FastAPI backend on 127.0.0.1. For a project role (editor), an org custom role
(release_manager) and an admin, the test logs in through a magic link read from
the emulator's outbox, compares the browser's ``rbac.allPermissions()`` and
``rbac.isAuthorized()`` with the backend's ``rbac.permissions(principal)`` on every
resource and action (the table is printed), calls ``organization.update()`` and
``magicLinks.email.invite()`` from the page, then a guarded backend route with
the cookies the SDK set. It skips, saying why, only when chromium or node is not
installed (``make browser-deps`` installs them as root).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from stytch_rbac import StytchRBAC

pytest.importorskip("selenium", reason="the browser test needs the 'browser' extra (selenium)")

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from examples.fullstack.chromium import chromium, missing_browser
from examples.fullstack.frontend import BundleError
from examples.fullstack.seed import PEOPLE
from examples.fullstack.stack import Stack, running_stack

#: Who logs in, and what Stytch and the guard must answer them.
EXPECTED = {
    # email: (organization.update, invite, GET /audit-log)
    "ada@acme.test": ("ok", "ok", 200),
    "eddie@acme.test": ("session_authorization_error", "session_authorization_error", 403),
    "rita@acme.test": ("session_authorization_error", "session_authorization_error", 200),
}


@pytest.fixture
def stack() -> Iterator[Stack]:
    """The emulator and the backend serving the page (skipped, saying why, without node)."""
    try:
        with running_stack() as running:
            yield running
    except BundleError as exc:
        if "are needed" not in str(exc):
            raise
        pytest.skip(str(exc))


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    reason = missing_browser()
    if reason is not None:
        pytest.skip(reason)
    with chromium() as session:
        session.set_script_timeout(30)
        yield session


def _page(browser: WebDriver, url: str) -> None:
    browser.get(url)
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script("return Boolean(window.stytchDemo && window.stytchDemo.ready)")
    )


def _call(browser: WebDriver, expression: str) -> Any:
    """Await a JavaScript expression in the page and return its (JSON) value."""
    script = (
        "const done = arguments[arguments.length - 1];"
        f"Promise.resolve({expression}).then(done, (e) => done({{thrown: String(e)}}));"
    )
    return browser.execute_async_script(script)


def _login(browser: WebDriver, stack: Stack, email: str) -> None:
    """Send the magic link from the page, then open it as the member would."""
    _page(browser, stack.app_url + "/")
    sent = _call(browser, f"stytchDemo.sendLogin({json.dumps(email)})")
    assert sent["ok"], sent
    mail = stack.emulator.outbox[-1]
    assert mail["kind"] == "login"
    assert mail["email_address"] == email
    assert mail["url"].startswith(stack.app_url + "/?stytch_token_type=multi_tenant_magic_links")
    _page(browser, mail["url"])
    assert browser.execute_script("return document.body.dataset.state") == "logged-in"


async def _python_side(stack: Stack, session_jwt: str) -> tuple[list[str], Any]:
    async with StytchRBAC(
        stack.emulator.project_id, stack.emulator.secret, base_url=stack.stytch_url
    ) as rbac:
        principal = await rbac.authenticate(session_jwt=session_jwt)
        return sorted(principal.roles), await rbac.permissions(principal)


def _requested_urls(browser: WebDriver) -> set[str]:
    urls = set()
    for entry in browser.get_log("performance"):  # type: ignore[no-untyped-call]
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.add(message["params"]["request"]["url"])
    return urls


def _table(results: dict[str, dict[str, Any]]) -> str:
    people = list(results)
    first = results[people[0]]["browser"]
    rows = [(r, a) for r in sorted(first) for a in sorted(first[r])]
    width = max(len(f"{r}.{a}") for r, a in rows) + 2
    head = "resource.action".ljust(width) + "".join(
        f"{p.partition('@')[0] + ' (' + results[p]['kind'] + ')':>22}" for p in people
    )
    lines = [head, " " * width + "".join(f"{'browser/python':>22}" for _ in people)]
    agree = 0
    for resource, action in rows:
        cells = []
        for p in people:
            b = results[p]["browser"][resource][action]
            py = results[p]["python"][resource][action]
            agree += b == py
            cells.append(f"{('Y' if b else '.') + '/' + ('Y' if py else '.'):>22}")
        lines.append(f"{resource}.{action}".ljust(width) + "".join(cells))
    total = len(rows) * len(people)
    lines.append(f"agreement: {agree}/{total} (resource, action, member) triples")
    return "\n".join(lines)


def test_frontend_sdk_and_backend_agree_in_a_real_browser(
    stack: Stack, browser: WebDriver, capsys: pytest.CaptureFixture[str]
) -> None:
    kinds = {
        "ada@acme.test": "admin",
        "eddie@acme.test": "project role",
        "rita@acme.test": "org role",
    }
    results: dict[str, dict[str, Any]] = {}
    for index, person in enumerate(PEOPLE):
        email = person.email_address
        _login(browser, stack, email)
        cookies = {c["name"]: c for c in browser.get_cookies()}
        token, jwt = cookies["stytch_session"], cookies["stytch_session_jwt"]
        assert token["sameSite"] == jwt["sameSite"] == "Lax"
        assert token["secure"] is False
        assert token["domain"] == "127.0.0.1"
        in_page = _call(browser, "stytchDemo.permissions()")
        python = {
            backend: anyio.run(_python_side, stack, jwt["value"], backend=backend)
            for backend in ("asyncio", "trio")
        }
        assert python["asyncio"] == python["trio"]
        roles, python_permissions = python["asyncio"]
        assert roles == sorted({"stytch_member", *person.roles})
        assert in_page["all"] == in_page["checks"]  # allPermissions() == isAuthorized() each
        results[email] = {
            "kind": kinds[email],
            "browser": in_page["all"],
            "python": python_permissions,
        }
        rename = _call(browser, f"stytchDemo.renameOrganization('Acme {index}')")
        invite = _call(browser, f"stytchDemo.invite('invitee-{index}@acme.test')")
        guarded = _call(browser, f"stytchDemo.backend('/orgs/{stack.organization_id}/audit-log')")
        want_rename, want_invite, want_status = EXPECTED[email]
        for what, got, want in (("update", rename, want_rename), ("invite", invite, want_invite)):
            if want == "ok":
                assert got["ok"], (email, what, got)
            else:
                assert not got["ok"], (email, what, got)
                assert (got["status"], got["error_type"]) == (403, want), (email, what, got)
        assert guarded["status"] == want_status, (email, guarded)
        logout = _call(browser, "stytchDemo.logout()")
        assert logout is None
        assert "stytch_session" not in {c["name"] for c in browser.get_cookies()}

    # Every resource and action, for each member, the same in the browser and in Python.
    for email, result in results.items():
        assert result["browser"] == result["python"], email
    # What the allowed calls did, seen from the emulator.
    assert stack.emulator.get_organization(stack.organization_id).organization_name == "Acme 0"
    assert [m["email_address"] for m in stack.emulator.invites] == ["invitee-0@acme.test"]
    # Over the network the page contacted its server and the emulator, nothing else
    # (chrome:// and data: URLs are the browser's own pages, not requests).
    contacted = {u for u in _requested_urls(browser) if u.startswith(("http", "ws"))}
    assert any(u.startswith(stack.stytch_url + "/sdk/v1/") for u in contacted)
    strays = {u for u in contacted if not u.startswith((stack.app_url, stack.stytch_url))}
    assert not strays, strays
    assert stack.emulator.requests["sdk.bootstrap"] >= 1
    with capsys.disabled():
        print("\n" + _table(results))


def test_a_page_from_another_origin_is_refused(stack: Stack, browser: WebDriver) -> None:
    """Only the allowed origins get CORS: a page served from elsewhere cannot use the SDK."""
    stack.emulator.set_allowed_origins([stack.app_url])
    other = stack.app_url.replace("127.0.0.1", "localhost")
    _page(browser, other + "/")
    sent = _call(browser, "stytchDemo.sendLogin('ada@acme.test')")
    assert not sent["ok"]
    assert sent["error_type"] == "StytchAPIUnreachableError"
    assert not stack.emulator.outbox  # the request was refused, not served
