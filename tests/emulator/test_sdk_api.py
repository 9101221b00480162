"""The frontend SDK's ``/sdk/v1`` API, called over httpx exactly as ``@stytch/vanilla-js`` calls it.

Basic ``public_token:session_token`` credentials, the page's ``Origin``, JSON bodies,
``{"data": ...}`` answers. The browser end-to-end test (tests/browser/) runs the
real SDK; these tests pin each route's behaviour and every refusal.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stytch_rbac.emulator import Emulator
from stytch_rbac.emulator._public_tokens import PublicTokens, normalize_origin

from .conftest import Seeded

PAGE = "http://127.0.0.1:5173"


@dataclass
class Page:
    """What a page running the SDK sends: its origin, the public token, maybe a session."""

    http: httpx.AsyncClient
    public_token: str
    origin: str = PAGE
    session_token: str | None = None

    def headers(self) -> dict[str, str]:
        secret = self.session_token or self.public_token
        basic = base64.b64encode(f"{self.public_token}:{secret}".encode()).decode()
        return {
            "Authorization": f"Basic {basic}",
            "Origin": self.origin,
            "X-SDK-Parent-Host": self.origin,
        }

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.http.request(method, "/sdk/v1" + path, json=body, headers=self.headers())

    async def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """The ``data`` of a successful call (anything else fails the test)."""
        response = await self.call(method, path, body)
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == self.origin
        assert response.headers["access-control-allow-credentials"] == "true"
        data: dict[str, Any] = response.json()["data"]
        assert data["status_code"] == 200
        return data

    async def refused(
        self, method: str, path: str, body: Any, status: int, error_type: str
    ) -> None:
        """The call fails with Stytch's error JSON (unwrapped), readable by the page."""
        response = await self.call(method, path, body)
        assert response.status_code == status, response.text
        payload = response.json()
        assert payload["error_type"] == error_type
        assert payload["status_code"] == status
        assert "data" not in payload
        assert response.headers["access-control-allow-origin"] == self.origin

    async def login(self, emu: Emulator, email: str, organization_id: str) -> dict[str, Any]:
        """Log in by email magic link, reading the token from the outbox as a test does."""
        await self.ok(
            "POST",
            "/b2b/magic_links/email/login_or_signup",
            {"email_address": email, "organization_id": organization_id},
        )
        token = emu.outbox[-1]["magic_links_token"]
        data = await self.ok(
            "POST",
            "/b2b/magic_links/authenticate",
            {"magic_links_token": token, "session_duration_minutes": 60},
        )
        self.session_token = data["session_token"]
        return data


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client, no credentials of its own."""
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        yield client


@pytest.fixture
def page(http: httpx.AsyncClient, emu: Emulator) -> Page:
    """A logged-out page on an allowed origin."""
    return Page(http, emu.public_token)


def _page_as(page: Page, session_token: str) -> Page:
    return Page(page.http, page.public_token, page.origin, session_token)


# -- public tokens and origins ------------------------------------------------------


def test_public_token_is_derived_from_the_project_id() -> None:
    """Same project id, same token (a restart keeps a frontend's configuration valid)."""
    one = Emulator(project_id="project-test-fixed")
    two = Emulator(project_id="project-test-fixed")
    other = Emulator(project_id="project-test-other")
    assert one.public_token == two.public_token != other.public_token
    assert one.public_token.startswith("public-token-test-")
    given_token = "public-token-test-0000"
    assert Emulator(public_token=given_token).public_token == given_token


def test_public_token_must_have_stytchs_prefix() -> None:
    """The SDK picks the test API URL by the prefix: another shape is refused by name."""
    with pytest.raises(ValueError, match="public-token-test-"):
        Emulator(public_token="pk_test_123")


@pytest.mark.parametrize(
    "origin",
    ["localhost:3000", "ftp://localhost", "http://localhost/app", "http://localhost:99999"],
)
def test_a_bad_allowed_origin_is_refused_by_name(origin: str) -> None:
    """Only scheme://host[:port] is an origin; the error names the value."""
    with pytest.raises(ValueError, match="allowed origin"):
        Emulator(allowed_origins=[origin])


def test_default_origins_are_any_loopback_port() -> None:
    """localhost and 127.0.0.1 on any port, nothing else."""
    tokens = PublicTokens("project-test-x")
    assert tokens.origin_allowed("http://localhost:3000")
    assert tokens.origin_allowed("http://127.0.0.1:5173")
    assert not tokens.origin_allowed("https://localhost:3000")  # another scheme
    assert not tokens.origin_allowed("http://127.0.0.2:3000")
    assert not tokens.origin_allowed("http://localhost:*")  # a pattern is never a request
    assert not tokens.origin_allowed(None)
    assert not tokens.origin_allowed("null")


def test_an_exact_origin_allows_that_port_only() -> None:
    """``http://app.test:8080`` allows that origin, not its other ports."""
    tokens = PublicTokens("project-test-x", allowed_origins=["HTTP://App.Test:8080/"])
    assert tokens.allowed_origins == ["http://app.test:8080"]
    assert tokens.origin_allowed("http://app.test:8080")
    assert not tokens.origin_allowed("http://app.test:8081")
    assert not tokens.origin_allowed("http://localhost:3000")  # defaults replaced


@given(
    host=st.from_regex(r"[a-z][a-z0-9-]{0,20}\.[a-z]{2,6}", fullmatch=True),
    port=st.integers(1, 65535),
)
def test_no_origin_outside_the_list_is_ever_allowed(host: str, port: int) -> None:
    """Whatever the host and port, only listed origins are allowed."""
    tokens = PublicTokens("project-test-x", allowed_origins=["http://allowed.test:443"])
    origin = f"http://{host}:{port}"
    assert tokens.origin_allowed(origin) == (normalize_origin(origin) == "http://allowed.test:443")


@pytest.mark.anyio
async def test_preflight_of_an_allowed_origin_grants_credentials(http: httpx.AsyncClient) -> None:
    """The SDK's headers and verbs are allowed for the page's exact origin."""
    response = await http.options(
        "/sdk/v1/b2b/organizations/me",
        headers={
            "Origin": PAGE,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type,x-sdk-client",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == PAGE
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "PUT" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "x-sdk-client", "x-sdk-parent-host"):
        assert header in allowed
    assert response.headers["vary"] == "Origin"


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["OPTIONS", "GET"])
async def test_another_origin_is_refused_without_cors_headers(
    http: httpx.AsyncClient, emu: Emulator, method: str
) -> None:
    """400 ``bad_domain_for_stytch_sdk`` and no grant: the browser hides the answer."""
    page = Page(http, emu.public_token, origin="http://evil.test")
    response = await page.call(method, f"/projects/bootstrap/{emu.public_token}")
    assert response.status_code == 400
    assert response.json()["error_type"] == "bad_domain_for_stytch_sdk"
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.anyio
async def test_no_origin_at_all_is_refused(http: httpx.AsyncClient, emu: Emulator) -> None:
    """A call naming no page (neither ``Origin`` nor ``X-SDK-Parent-Host``) is refused."""
    response = await http.get(f"/sdk/v1/projects/bootstrap/{emu.public_token}")
    assert response.status_code == 400
    assert response.json()["error_type"] == "bad_domain_for_stytch_sdk"


@pytest.mark.anyio
async def test_allow_origin_adds_one(http: httpx.AsyncClient, emu: Emulator) -> None:
    """``Emulator.allow_origin`` lets a deployed-looking origin call."""
    page = Page(http, emu.public_token, origin="https://app.example.com")
    response = await page.call("GET", f"/projects/bootstrap/{emu.public_token}")
    assert response.status_code == 400
    emu.allow_origin("https://app.example.com")
    await page.ok("GET", f"/projects/bootstrap/{emu.public_token}")


# -- credentials --------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_unknown_public_token_is_unauthorized(http: httpx.AsyncClient) -> None:
    page = Page(http, "public-token-test-not-this-project")
    await page.refused("POST", "/b2b/sessions/authenticate", {}, 401, "unauthorized_credentials")


@pytest.mark.anyio
async def test_a_member_call_without_a_session_is_unauthorized(page: Page) -> None:
    """The public token alone (logged out) reaches only the public routes."""
    await page.refused("GET", "/b2b/organizations/me", None, 401, "unauthorized_credentials")
    await page.refused("PUT", "/b2b/organizations/me", {}, 401, "unauthorized_credentials")


@pytest.mark.anyio
async def test_a_revoked_session_is_session_not_found(page: Page, seeded: Seeded) -> None:
    """``session_not_found``: one of the SDK's unrecoverable types, so it logs the page out."""
    editor = _page_as(page, seeded.editor_session.session_token)
    seeded.emu.revoke_session(seeded.editor_session.member_session_id)
    await editor.refused("POST", "/b2b/sessions/authenticate", {}, 404, "session_not_found")


@pytest.mark.anyio
async def test_unknown_route_is_route_not_found(page: Page) -> None:
    await page.refused("POST", "/b2b/oauth/authenticate", {}, 404, "route_not_found")


# -- bootstrap and telemetry --------------------------------------------------------


@pytest.mark.anyio
async def test_bootstrap_carries_the_policy_and_turns_everything_else_off(
    page: Page, emu: Emulator
) -> None:
    """``rbac_policy`` is the project policy; captcha, DFP, PKCE and the watermark are off."""
    data = await page.ok("GET", f"/projects/bootstrap/{emu.public_token}")
    assert data["rbac_policy"] == emu.policy.to_json()
    assert data["captcha_settings"] == {"enabled": False}
    assert data["dfp_protected_auth_enabled"] is False
    assert data["disable_sdk_watermark"] is True
    assert data["pkce_required_for_email_magic_links"] is False
    assert data["vertical"] == "B2B"


@pytest.mark.anyio
async def test_bootstrap_of_another_token_is_not_found(page: Page) -> None:
    await page.refused(
        "GET", "/projects/bootstrap/public-token-test-nope", None, 404, "public_token_not_found"
    )


@pytest.mark.anyio
async def test_events_are_accepted_without_credentials(
    http: httpx.AsyncClient, emu: Emulator
) -> None:
    """The SDK's telemetry batches (JSON arrays, no Authorization header) are dropped."""
    response = await http.post(
        "/sdk/v1/events", json=[{"telemetry": {}, "event": {}}], headers={"Origin": PAGE}
    )
    assert response.status_code == 200
    assert response.json()["data"]["status_code"] == 200
    assert emu.requests["sdk.events"] == 1


# -- magic links and sessions -------------------------------------------------------


@pytest.mark.anyio
async def test_magic_link_login_through_the_outbox(page: Page, seeded: Seeded) -> None:
    """login_or_signup writes the email (token and link) to the outbox; authenticate
    spends the token for a session the backend API accepts."""
    emu = seeded.emu
    sent = await page.ok(
        "POST",
        "/b2b/magic_links/email/login_or_signup",
        {
            "email_address": "Editor@acme.test",
            "organization_id": seeded.acme.organization_id,
            "login_redirect_url": "http://127.0.0.1:5173/authenticate",
        },
    )
    assert sent["member_id"] == seeded.editor.member_id
    assert sent["member_created"] is False
    mail = emu.outbox[-1]
    assert mail["kind"] == "login"
    assert mail["email_address"] == "editor@acme.test"
    assert mail["url"] == (
        "http://127.0.0.1:5173/authenticate?stytch_token_type=multi_tenant_magic_links"
        f"&token={mail['magic_links_token']}"
    )
    data = await page.ok(
        "POST", "/b2b/magic_links/authenticate", {"magic_links_token": mail["magic_links_token"]}
    )
    assert data["member_session"]["member_id"] == seeded.editor.member_id
    assert "editor" in data["member_session"]["roles"]
    assert data["organization"]["organization_id"] == seeded.acme.organization_id
    assert data["member_authenticated"] is True
    # the session is a real one: the backend knows it
    jwt = emu.session_jwt(data["member_session"]["member_session_id"])
    assert jwt


@pytest.mark.anyio
async def test_a_magic_link_works_once(page: Page, seeded: Seeded) -> None:
    await page.login(seeded.emu, "viewer@acme.test", seeded.acme.organization_id)
    token = seeded.emu.outbox[-1]["magic_links_token"]
    await page.refused(
        "POST",
        "/b2b/magic_links/authenticate",
        {"magic_links_token": token},
        404,
        "magic_link_not_found",
    )


@pytest.mark.anyio
async def test_a_magic_link_expires(page: Page, seeded: Seeded) -> None:
    await page.ok(
        "POST",
        "/b2b/magic_links/email/login_or_signup",
        {"email_address": "viewer@acme.test", "organization_id": seeded.acme.organization_id},
    )
    token = seeded.emu.outbox[-1]["magic_links_token"]
    seeded.emu.advance_time(61 * 60)
    await page.refused(
        "POST",
        "/b2b/magic_links/authenticate",
        {"magic_links_token": token},
        404,
        "magic_link_not_found",
    )


@pytest.mark.anyio
async def test_an_unknown_token_is_not_found(page: Page) -> None:
    await page.refused(
        "POST",
        "/b2b/magic_links/authenticate",
        {"magic_links_token": "nope"},
        404,
        "magic_link_not_found",
    )


@pytest.mark.anyio
async def test_signup_needs_email_jit_provisioning(page: Page, seeded: Seeded) -> None:
    """An unknown address is refused unless the organization allows JIT for its domain."""
    org_id = seeded.acme.organization_id
    body = {"email_address": "new@acme.test", "organization_id": org_id}
    await page.refused(
        "POST",
        "/b2b/magic_links/email/login_or_signup",
        body,
        403,
        "email_jit_provisioning_not_allowed",
    )
    admin = _page_as(page, seeded.admin_session.session_token)
    await admin.ok(
        "PUT",
        "/b2b/organizations/me",
        {"email_jit_provisioning": "RESTRICTED", "email_allowed_domains": ["acme.test"]},
    )
    sent = await page.ok("POST", "/b2b/magic_links/email/login_or_signup", body)
    assert sent["member_created"] is True
    assert sent["member"]["status"] == "pending"
    assert seeded.emu.outbox[-1]["kind"] == "signup"
    data = await page.ok(
        "POST",
        "/b2b/magic_links/authenticate",
        {"magic_links_token": seeded.emu.outbox[-1]["magic_links_token"]},
    )
    assert data["member"]["status"] == "active"
    assert data["member"]["email_address_verified"] is True


@pytest.mark.anyio
async def test_session_authenticate_refreshes_and_revoke_logs_out(
    page: Page, seeded: Seeded
) -> None:
    """authenticate (the SDK's 3-minute refresh) extends the session and mints a JWT;
    revoke ends it, needing no permission."""
    await page.login(seeded.emu, "viewer@acme.test", seeded.acme.organization_id)
    refreshed = await page.ok(
        "POST", "/b2b/sessions/authenticate", {"session_duration_minutes": 120}
    )
    assert refreshed["session_token"] == page.session_token
    assert refreshed["session_jwt"].count(".") == 2
    assert refreshed["member_session"]["roles"] == ["stytch_member", "viewer"]
    assert await page.ok("POST", "/b2b/sessions/revoke") is not None
    await page.refused("POST", "/b2b/sessions/authenticate", {}, 404, "session_not_found")


@pytest.mark.anyio
async def test_session_exchange_moves_to_another_organization_of_the_same_email(
    page: Page, seeded: Seeded
) -> None:
    emu = seeded.emu
    emu.create_member(seeded.globex.organization_id, "editor@acme.test", roles=["viewer"])
    editor = _page_as(page, seeded.editor_session.session_token)
    data = await editor.ok(
        "POST", "/b2b/sessions/exchange", {"organization_id": seeded.globex.organization_id}
    )
    assert data["organization_id"] == seeded.globex.organization_id
    assert data["member_session"]["roles"] == ["stytch_member", "viewer"]
    viewer = _page_as(page, seeded.viewer_session.session_token)
    await viewer.refused(
        "POST",
        "/b2b/sessions/exchange",
        {"organization_id": seeded.globex.organization_id},
        404,
        "member_not_found",
    )


@pytest.mark.anyio
async def test_revoke_for_member_is_enforced_with_tenancy(page: Page, seeded: Seeded) -> None:
    """Revoking someone else's sessions needs ``stytch.member`` and the same organization."""
    viewer = _page_as(page, seeded.viewer_session.session_token)
    await viewer.refused(
        "POST",
        f"/b2b/sessions/revoke/{seeded.editor.member_id}",
        None,
        403,
        "session_authorization_error",
    )
    admin = _page_as(page, seeded.admin_session.session_token)
    await admin.refused(
        "POST",
        f"/b2b/sessions/revoke/{seeded.outsider.member_id}",
        None,
        403,
        "session_authorization_tenancy_error",
    )
    await admin.ok("POST", f"/b2b/sessions/revoke/{seeded.editor.member_id}")
    editor = _page_as(page, seeded.editor_session.session_token)
    await editor.refused("GET", "/b2b/organizations/me", None, 404, "session_not_found")


# -- the organization, its members, invites -----------------------------------------


@pytest.mark.anyio
async def test_organization_update_is_checked_per_field(page: Page, seeded: Seeded) -> None:
    """An editor may not rename the organization; an admin may; a custom role granting
    only ``update.info.name`` may rename but not change the slug."""
    emu = seeded.emu
    editor = _page_as(page, seeded.editor_session.session_token)
    await editor.refused(
        "PUT",
        "/b2b/organizations/me",
        {"organization_name": "Nope"},
        403,
        "session_authorization_error",
    )
    admin = _page_as(page, seeded.admin_session.session_token)
    data = await admin.ok("PUT", "/b2b/organizations/me", {"organization_name": "Acme Two"})
    assert data["organization"]["organization_name"] == "Acme Two"
    org_id = seeded.acme.organization_id
    emu.set_org_policy(
        org_id,
        {
            "roles": [
                {
                    "role_id": "renamer",
                    "description": "renames",
                    "permissions": [
                        {"resource_id": "stytch.organization", "actions": ["update.info.name"]}
                    ],
                }
            ]
        },
    )
    renamer = emu.create_member(org_id, "renamer@acme.test", roles=["renamer"])
    as_renamer = _page_as(page, emu.create_session(renamer.member_id).session_token)
    await as_renamer.ok("PUT", "/b2b/organizations/me", {"organization_name": "Acme Three"})
    await as_renamer.refused(
        "PUT",
        "/b2b/organizations/me",
        {"organization_name": "Acme Four", "organization_slug": "acme-four"},
        403,
        "session_authorization_error",
    )
    assert emu.get_organization(org_id).organization_name == "Acme Three"
    me = await as_renamer.ok("GET", "/b2b/organizations/me")
    assert [r["role_id"] for r in me["organization"]["custom_roles"]] == ["renamer"]


@pytest.mark.anyio
async def test_invite_is_enforced_and_the_invite_link_logs_in(page: Page, seeded: Seeded) -> None:
    """Invites need ``stytch.member:create``; the invite email's token logs the new
    member in (invited -> active)."""
    editor = _page_as(page, seeded.editor_session.session_token)
    body = {"email_address": "new@acme.test", "roles": ["viewer"]}
    await editor.refused(
        "POST", "/b2b/magic_links/email/invite", body, 403, "session_authorization_error"
    )
    admin = _page_as(page, seeded.admin_session.session_token)
    data = await admin.ok("POST", "/b2b/magic_links/email/invite", body)
    assert data["member"]["status"] == "invited"
    assert data["member"]["organization_id"] == seeded.acme.organization_id
    invite = seeded.emu.invites[-1]
    assert invite["email_address"] == "new@acme.test"
    logged_in = await page.ok(
        "POST", "/b2b/magic_links/authenticate", {"magic_links_token": invite["magic_links_token"]}
    )
    assert logged_in["member"]["status"] == "active"
    assert logged_in["member_session"]["roles"] == ["stytch_member", "viewer"]


@pytest.mark.anyio
async def test_member_calls_are_the_backend_calls(page: Page, seeded: Seeded) -> None:
    """create, search (own organization only), update, delete, reactivate: each with the
    backend's answer and enforcement."""
    viewer = _page_as(page, seeded.viewer_session.session_token)
    admin = _page_as(page, seeded.admin_session.session_token)
    await viewer.refused(
        "POST",
        "/b2b/organizations/members",
        {"email_address": "v@acme.test"},
        403,
        "session_authorization_error",
    )
    created = await admin.ok(
        "POST", "/b2b/organizations/members", {"email_address": "v@acme.test", "name": "V"}
    )
    new_id = created["member_id"]
    found = await admin.ok("POST", "/b2b/organizations/me/members/search", {})
    ids = {m["member_id"] for m in found["members"]}
    assert new_id in ids
    assert seeded.outsider.member_id not in ids
    await viewer.refused(
        "PUT",
        f"/b2b/organizations/members/{new_id}",
        {"name": "W"},
        403,
        "session_authorization_error",
    )
    updated = await admin.ok("PUT", f"/b2b/organizations/members/{new_id}", {"name": "W"})
    assert updated["member"]["name"] == "W"
    await admin.ok("DELETE", f"/b2b/organizations/members/{new_id}")
    assert seeded.emu.get_member(new_id).json["status"] == "deleted"
    # the backend's own rule answers: only a verified email may come back
    await admin.refused(
        "PUT",
        f"/b2b/organizations/members/{new_id}/reactivate",
        None,
        400,
        "email_unverified_for_reactivation",
    )
    # the organization is the session's: another organization's member is not in it
    await admin.refused(
        "DELETE",
        f"/b2b/organizations/members/{seeded.outsider.member_id}",
        None,
        404,
        "member_not_found",
    )
    assert seeded.emu.get_member(seeded.outsider.member_id).json["status"] == "active"


@pytest.mark.anyio
async def test_self_calls_act_on_the_session_member(page: Page, seeded: Seeded) -> None:
    """``self.get`` and ``self.update`` need only ``stytch.self``; a member may not set
    their own trusted metadata."""
    viewer = _page_as(page, seeded.viewer_session.session_token)
    me = await viewer.ok("GET", "/b2b/organizations/members/me")
    assert me["member"]["member_id"] == seeded.viewer.member_id
    updated = await viewer.ok("PUT", "/b2b/organizations/members/update", {"name": "Vera"})
    assert updated["member"]["name"] == "Vera"
    assert seeded.emu.get_member(seeded.viewer.member_id).json["name"] == "Vera"
    response = await viewer.call(
        "PUT", "/b2b/organizations/members/update", {"trusted_metadata": {"a": 1}}
    )
    assert response.status_code in (400, 401, 403)
    assert response.json()["error_type"] == "cannot_update_trusted_metadata"


@pytest.mark.anyio
async def test_get_by_slug_is_public_and_shows_public_fields(page: Page, seeded: Seeded) -> None:
    data = await page.ok("POST", "/b2b/organizations/search", {"organization_slug": "acme"})
    assert data["organization"]["organization_id"] == seeded.acme.organization_id
    assert "trusted_metadata" not in data["organization"]
    missing = await page.ok("POST", "/b2b/organizations/search", {"organization_slug": "nope"})
    assert missing["organization"] is None


# -- SSO and SCIM admin calls -------------------------------------------------------


@pytest.mark.anyio
async def test_sso_and_scim_admin_calls_need_their_permissions(page: Page, seeded: Seeded) -> None:
    editor = _page_as(page, seeded.editor_session.session_token)
    admin = _page_as(page, seeded.admin_session.session_token)
    body = {"display_name": "Okta"}
    await editor.refused("POST", "/b2b/sso/saml", body, 403, "session_authorization_error")
    created = await admin.ok("POST", "/b2b/sso/saml", body)
    connection_id = created["connection"]["connection_id"]
    listed = await admin.ok("GET", "/b2b/sso")
    assert [c["connection_id"] for c in listed["saml_connections"]] == [connection_id]
    await admin.ok("DELETE", f"/b2b/sso/{connection_id}")
    await editor.refused("POST", "/b2b/scim", {}, 403, "session_authorization_error")
    scim = await admin.ok("POST", "/b2b/scim", {"display_name": "Directory"})
    assert scim["connection"]["organization_id"] == seeded.acme.organization_id
    groups = await admin.ok("POST", "/b2b/scim/groups", {})
    assert groups["scim_groups"] == []


@pytest.mark.anyio
async def test_over_real_http(seeded: Seeded) -> None:
    """The same app under uvicorn: the SDK surface is one more route family of it."""
    emu = seeded.emu
    async with emu.serve() as base_url, httpx.AsyncClient(base_url=base_url) as http:
        page = Page(http, emu.public_token)
        data = await page.login(emu, "admin@acme.test", seeded.acme.organization_id)
        assert data["member"]["is_admin"] is True
        assert emu.requests["sdk.magic_links.authenticate"] == 1


# -- discovery ----------------------------------------------------------------------


async def _discover(page: Page, emu: Emulator, email: str) -> dict[str, Any]:
    """Send the discovery email and spend its token: the intermediate session."""
    await page.ok(
        "POST",
        "/b2b/magic_links/email/discovery/send",
        {"email_address": email, "discovery_redirect_url": "http://127.0.0.1:5173/discover"},
    )
    mail = emu.outbox[-1]
    assert mail["kind"] == "discovery"
    assert mail["url"].startswith("http://127.0.0.1:5173/discover?stytch_token_type=discovery&")
    return await page.ok(
        "POST",
        "/b2b/magic_links/discovery/authenticate",
        {"discovery_magic_links_token": mail["magic_links_token"]},
    )


@pytest.mark.anyio
async def test_discovery_lists_memberships_and_exchanges_into_one(
    page: Page, seeded: Seeded
) -> None:
    """The email's organizations (as member, or eligible by email domain), then a session
    in one of them; the intermediate session works once."""
    emu = seeded.emu
    emu.create_member(seeded.globex.organization_id, "editor@acme.test", roles=["viewer"])
    found = await _discover(page, emu, "editor@acme.test")
    ist = found["intermediate_session_token"]
    memberships = {
        d["organization"]["organization_id"]: d["membership"]["type"]
        for d in found["discovered_organizations"]
    }
    assert memberships == {
        seeded.acme.organization_id: "active_member",
        seeded.globex.organization_id: "active_member",
    }
    listed = await page.ok(
        "POST", "/b2b/discovery/organizations", {"intermediate_session_token": ist}
    )
    assert len(listed["discovered_organizations"]) == 2
    body = {"intermediate_session_token": ist, "organization_id": seeded.globex.organization_id}
    data = await page.ok("POST", "/b2b/discovery/intermediate_sessions/exchange", body)
    assert data["member_session"]["organization_id"] == seeded.globex.organization_id
    assert data["member_session"]["roles"] == ["stytch_member", "viewer"]
    await page.refused(
        "POST",
        "/b2b/discovery/intermediate_sessions/exchange",
        body,
        404,
        "intermediate_session_not_found",
    )


@pytest.mark.anyio
async def test_discovery_offers_organizations_joinable_by_domain(
    page: Page, seeded: Seeded
) -> None:
    emu = seeded.emu
    joinable = emu.create_organization(
        "Open", slug="open", email_jit_provisioning="RESTRICTED", email_allowed_domains=["new.test"]
    )
    found = await _discover(page, emu, "someone@new.test")
    [only] = found["discovered_organizations"]
    assert only["organization"]["organization_id"] == joinable.organization_id
    assert only["membership"]["type"] == "eligible_to_join_by_email_domain"
    assert only["membership"]["member"] is None
    data = await page.ok(
        "POST",
        "/b2b/discovery/intermediate_sessions/exchange",
        {
            "intermediate_session_token": found["intermediate_session_token"],
            "organization_id": joinable.organization_id,
        },
    )
    assert data["member"]["email_address"] == "someone@new.test"


@pytest.mark.anyio
async def test_discovery_refuses_an_organization_the_email_cannot_join(
    page: Page, seeded: Seeded
) -> None:
    found = await _discover(page, seeded.emu, "stranger@else.test")
    assert found["discovered_organizations"] == []
    await page.refused(
        "POST",
        "/b2b/discovery/intermediate_sessions/exchange",
        {
            "intermediate_session_token": found["intermediate_session_token"],
            "organization_id": seeded.acme.organization_id,
        },
        400,
        "invalid_intermediate_session_token_for_organization",
    )


@pytest.mark.anyio
async def test_discovery_creates_an_organization_with_its_creator_as_admin(
    page: Page, seeded: Seeded
) -> None:
    emu = seeded.emu
    found = await _discover(page, emu, "founder@start.test")
    data = await page.ok(
        "POST",
        "/b2b/discovery/organizations/create",
        {
            "intermediate_session_token": found["intermediate_session_token"],
            "organization_name": "Startup",
            "organization_slug": "startup",
        },
    )
    assert data["organization"]["organization_slug"] == "startup"
    assert data["member"]["is_admin"] is True
    assert data["member_session"]["roles"] == ["stytch_member", "stytch_admin"]
    assert emu.get_organization("startup").organization_name == "Startup"


@pytest.mark.anyio
async def test_an_intermediate_session_expires_after_ten_minutes(
    page: Page, seeded: Seeded
) -> None:
    found = await _discover(page, seeded.emu, "editor@acme.test")
    seeded.emu.advance_time(10 * 60 + 1)
    await page.refused(
        "POST",
        "/b2b/discovery/organizations",
        {"intermediate_session_token": found["intermediate_session_token"]},
        404,
        "intermediate_session_not_found",
    )


@pytest.mark.anyio
async def test_discovery_list_with_a_member_session(page: Page, seeded: Seeded) -> None:
    """Logged in, the list needs no intermediate session: the session's email decides."""
    editor = _page_as(page, seeded.editor_session.session_token)
    listed = await editor.ok("POST", "/b2b/discovery/organizations", {})
    assert listed["email_address"] == "editor@acme.test"
    ids = [d["organization"]["organization_id"] for d in listed["discovered_organizations"]]
    assert ids == [seeded.acme.organization_id]


# -- passwords ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_password_login(page: Page, seeded: Seeded) -> None:
    """A password set from Python logs the member in; a wrong one, an unknown address and a
    deleted password all answer the same 401."""
    emu = seeded.emu
    password_id = emu.set_password(seeded.viewer.member_id, "correct horse battery")
    assert emu.get_member(seeded.viewer.member_id).json["member_password_id"] == password_id
    body = {
        "organization_id": seeded.acme.organization_id,
        "email_address": "viewer@acme.test",
        "password": "correct horse battery",
    }
    data = await page.ok("POST", "/b2b/passwords/authenticate", body)
    assert data["member_session"]["member_id"] == seeded.viewer.member_id
    for wrong in ({"password": "incorrect horse"}, {"email_address": "nobody@acme.test"}):
        await page.refused(
            "POST",
            "/b2b/passwords/authenticate",
            {**body, **wrong},
            401,
            "unauthorized_credentials",
        )
    admin = _page_as(page, seeded.admin_session.session_token)
    await admin.ok("DELETE", f"/b2b/organizations/members/passwords/{password_id}")
    await page.refused("POST", "/b2b/passwords/authenticate", body, 401, "unauthorized_credentials")


def test_a_short_password_is_refused_by_name(seeded: Seeded) -> None:
    with pytest.raises(ValueError, match="at least 8"):
        seeded.emu.set_password(seeded.viewer.member_id, "short")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer abc", "Basic not-base64!", "Basic " + base64.b64encode(b"\xff\xfe").decode()],
)
async def test_malformed_credentials_are_unauthorized(
    http: httpx.AsyncClient, emu: Emulator, authorization: str
) -> None:
    """Whatever arrives instead of Basic public-token credentials, the answer is 401."""
    response = await http.get(
        f"/sdk/v1/projects/bootstrap/{emu.public_token}",
        headers={"Origin": PAGE, "Authorization": authorization},
    )
    assert response.status_code == 401
    assert response.json()["error_type"] == "unauthorized_credentials"


@pytest.mark.anyio
async def test_a_made_up_session_token_is_not_a_session(page: Page, seeded: Seeded) -> None:
    """A member call with a token that no session has is refused, never served."""
    stranger = _page_as(page, "made-up-token")
    await stranger.refused(
        "PUT", "/b2b/organizations/me", {"organization_name": "X"}, 404, "session_not_found"
    )
    assert seeded.emu.get_organization(seeded.acme.organization_id).organization_name == "Acme"


# -- faults -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_injected_failure_reaches_the_page_with_cors(page: Page, seeded: Seeded) -> None:
    """``emu.faults`` names SDK routes ``sdk.<name>``; the page can read the failure."""
    emu = seeded.emu
    emu.faults.fail("sdk.organization.update", 503, times=1, retry_after=2)
    admin = _page_as(page, seeded.admin_session.session_token)
    response = await admin.call("PUT", "/b2b/organizations/me", {"organization_name": "X"})
    assert response.status_code == 503
    assert response.json()["error_type"] == "server_unavailable"
    assert response.headers["retry-after"] == "2"
    assert response.headers["access-control-allow-origin"] == PAGE
    assert emu.get_organization(seeded.acme.organization_id).organization_name == "Acme"
    await admin.ok("PUT", "/b2b/organizations/me", {"organization_name": "X"})  # once only


@pytest.mark.anyio
async def test_garbage_and_truncated_sdk_answers(page: Page, seeded: Seeded) -> None:
    """Bodies the SDK cannot parse (it reports them as ``StytchAPIUnreachableError``)."""
    emu = seeded.emu
    path = f"/projects/bootstrap/{emu.public_token}"
    emu.faults.garbage("sdk.bootstrap", times=1)
    garbage = await page.call("GET", path)
    assert garbage.status_code == 200
    assert garbage.content.startswith(b"<html>")
    emu.faults.truncated("sdk.bootstrap", times=1)
    truncated = await page.call("GET", path)
    with pytest.raises(json.JSONDecodeError):
        truncated.json()
    assert truncated.headers["access-control-allow-origin"] == PAGE


@pytest.mark.anyio
async def test_a_hung_sdk_call_is_released_by_clear(page: Page, seeded: Seeded) -> None:
    emu = seeded.emu
    emu.faults.hang("sdk.self.get")
    viewer = _page_as(page, seeded.viewer_session.session_token)
    answers: list[httpx.Response] = []

    async def call() -> None:
        answers.append(await viewer.call("GET", "/b2b/organizations/members/me"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await anyio.sleep(0.2)
        assert not answers
        emu.faults.clear()
    assert answers[0].status_code == 503


@pytest.mark.anyio
async def test_telemetry_never_uses_up_a_fault(http: httpx.AsyncClient, emu: Emulator) -> None:
    """The SDK's background ``/events`` batches are not faulted, even by ``"*"``."""
    emu.faults.fail("*", 500, times=1)
    response = await http.post("/sdk/v1/events", json=[], headers={"Origin": PAGE})
    assert response.status_code == 200
    assert len(emu.faults.active) == 1
    with pytest.raises(ValueError, match="unknown endpoint"):
        emu.faults.fail("sdk.events")
