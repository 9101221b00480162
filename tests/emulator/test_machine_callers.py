"""Machine callers in the emulator: M2M clients, the client-credentials endpoint, Connected
Apps, the consent helper, introspection, discovery, faults and body limits.

Responses of these families are outside the B2B OpenAPI copy (tests/conformance/recorder.py
skips them), so their shapes are checked here against the ``stytch`` SDK's own models.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from stytch.consumer.models.connected_apps_clients import (
    CreateResponse as AppCreateResponse,
)
from stytch.consumer.models.connected_apps_clients import GetResponse as AppGetResponse
from stytch.consumer.models.connected_apps_clients import (
    SearchResponse as AppSearchResponse,
)
from stytch.consumer.models.connected_apps_clients_secrets import (
    RotateCancelResponse as AppRotateCancelResponse,
)
from stytch.consumer.models.connected_apps_clients_secrets import (
    RotateResponse as AppRotateResponse,
)
from stytch.consumer.models.connected_apps_clients_secrets import (
    RotateStartResponse as AppRotateStartResponse,
)
from stytch.consumer.models.m2m import GetTokenResponse
from stytch.consumer.models.m2m_clients import CreateResponse, GetResponse, SearchResponse
from stytch.consumer.models.m2m_clients_secrets import RotateResponse, RotateStartResponse

from stytch_rbac.emulator import ConnectedAppRecord, Emulator, EmulatorError

from .conftest import EXAMPLES, Seeded

ORG_CLAIM = "https://stytch.com/organization"
SESSION_CLAIM = "https://stytch.com/session"


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client with the project's credentials."""
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", auth=(emu.project_id, emu.secret)
    ) as client:
        yield client


@pytest.fixture
async def public(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client without any credentials (the OAuth endpoints take none)."""
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        yield client


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _token_path(emu: Emulator) -> str:
    return f"/v1/public/{emu.project_id}/oauth2/token"


def _introspect_path(emu: Emulator) -> str:
    return f"/v1/public/{emu.project_id}/oauth2/introspect"


# -- project domain --------------------------------------------------------------------


def test_project_domain_defaults_from_the_project_id_and_is_configurable() -> None:
    """The default domain is derived from the project id (stable across restarts); a given
    one may carry https:// and a trailing slash; anything but a host is refused."""
    a = Emulator(project_id="project-test-1234-abcd")
    b = Emulator(project_id="project-test-1234-abcd")
    assert a.project_domain == b.project_domain == "1234-abcd.customers.stytch.dev"
    assert a.access_token_issuer == "https://1234-abcd.customers.stytch.dev"
    live = Emulator(project_id="project-live-9f")
    assert live.project_domain == "9f.customers.stytch.com"
    custom = Emulator(project_domain="https://auth.acme.test/")
    assert (custom.project_domain, custom.access_token_issuer) == (
        "auth.acme.test",
        "https://auth.acme.test",
    )
    for bad in ("", "https://", "auth.acme.test/path", "http://auth.acme.test", "a b"):
        with pytest.raises(ValueError, match="project_domain"):
            Emulator(project_domain=bad)


def test_project_domain_and_machine_records_survive_a_state_file(tmp_path: Path) -> None:
    """M2M clients (hashed secrets), Connected Apps, agent tokens and the domain round-trip."""
    emu = Emulator(policy=EXAMPLES / "policy.json", project_domain="auth.acme.test")
    org = emu.create_organization("Acme", slug="acme")
    ada = emu.create_member(org.organization_id, "ada@acme.test", roles=["editor"])
    client = emu.create_m2m_client("svc", ["read:documents"])
    app = emu.create_connected_app("Agent")
    token = emu.mint_connected_app_token(ada.member_id, app, ["read:documents"])
    path = tmp_path / "state.json"
    emu.save_state(path)
    assert client.client_secret not in path.read_text()
    again = Emulator.from_state(path)
    assert again.project_domain == "auth.acme.test"
    assert again.introspect(token)["active"] is True
    assert _claims(again.m2m_token(client.client_id))["sub"] == client.client_id


# -- M2M clients -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_m2m_client_crud_and_secret_shown_once(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    """Create shows the secret (SDK's CreateResponse); get, search and update never do."""
    created = await http.post(
        "/v1/m2m/clients",
        json={"scopes": ["read:documents", "write:documents"], "client_name": "svc"},
    )
    assert created.status_code == 200, created.text
    parsed = CreateResponse.from_json(200, created.json())
    secret = parsed.m2m_client.client_secret
    client_id = parsed.m2m_client.client_id
    assert client_id.startswith("m2m-client-test-")
    assert parsed.m2m_client.client_secret_last_four == secret[-4:]
    got = await http.get(f"/v1/m2m/clients/{client_id}")
    assert secret not in got.text
    assert "secret_hash" not in got.text
    model = GetResponse.from_json(200, got.json()).m2m_client
    assert (model.client_name, model.status, model.scopes) == (
        "svc",
        "active",
        ["read:documents", "write:documents"],
    )
    updated = await http.put(
        f"/v1/m2m/clients/{client_id}",
        json={"status": "inactive", "scopes": ["read:documents"], "client_description": "d"},
    )
    assert updated.json()["m2m_client"]["status"] == "inactive"
    assert updated.json()["m2m_client"]["scopes"] == ["read:documents"]
    bad = await http.put(f"/v1/m2m/clients/{client_id}", json={"status": "paused"})
    assert (bad.status_code, bad.json()["error_type"]) == (400, "m2m_client_invalid_status")
    deleted = await http.delete(f"/v1/m2m/clients/{client_id}")
    assert deleted.json()["client_id"] == client_id
    missing = await http.get(f"/v1/m2m/clients/{client_id}")
    assert (missing.status_code, missing.json()["error_type"]) == (404, "m2m_client_not_found")


@pytest.mark.anyio
async def test_m2m_client_create_refuses_bad_input(emu: Emulator, http: httpx.AsyncClient) -> None:
    """Missing or malformed scopes, a short secret and a duplicate id are Stytch 400s."""
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "invalid_m2m_client_scope"),
        ({"scopes": "read"}, "invalid_m2m_client_scope"),
        ({"scopes": ["read docs"]}, "invalid_m2m_client_scope"),
        ({"scopes": [""]}, "invalid_m2m_client_scope"),
        ({"scopes": [], "client_secret": "short"}, "m2m_client_invalid_client_secret"),
        ({"scopes": [], "client_id": "a/b"}, "m2m_client_invalid_client_id"),
    ]
    for body, error_type in cases:
        response = await http.post("/v1/m2m/clients", json=body)
        assert (response.status_code, response.json()["error_type"]) == (400, error_type), body
    first = await http.post("/v1/m2m/clients", json={"scopes": [], "client_id": "m2m-mine"})
    assert first.status_code == 200
    again = await http.post("/v1/m2m/clients", json={"scopes": [], "client_id": "m2m-mine"})
    assert again.json()["error_type"] == "duplicate_m2m_client_id"


@pytest.mark.anyio
async def test_m2m_search_filters_and_pages(emu: Emulator, http: httpx.AsyncClient) -> None:
    """Search by client ids and scopes, paging with a cursor; bad filters are m2m_search_*."""
    ids = [emu.create_m2m_client(f"c{i}", [f"s{i % 2}"]).client_id for i in range(5)]
    page = await http.post("/v1/m2m/clients/search", json={"limit": 2})
    parsed = SearchResponse.from_json(200, page.json())
    assert [c.client_id for c in parsed.m2m_clients] == ids[:2]
    assert parsed.results_metadata.total == 5
    cursor = parsed.results_metadata.next_cursor
    rest = await http.post("/v1/m2m/clients/search", json={"limit": 10, "cursor": cursor})
    assert [c["client_id"] for c in rest.json()["m2m_clients"]] == ids[2:]
    assert rest.json()["results_metadata"]["next_cursor"] is None
    query = {"operator": "AND", "operands": [{"filter_name": "scopes", "filter_value": ["s1"]}]}
    by_scope = await http.post("/v1/m2m/clients/search", json={"query": query})
    assert [c["client_id"] for c in by_scope.json()["m2m_clients"]] == [ids[1], ids[3]]
    query = {
        "operator": "OR",
        "operands": [{"filter_name": "client_ids", "filter_value": [ids[4], ids[0]]}],
    }
    by_id = await http.post("/v1/m2m/clients/search", json={"query": query})
    assert [c["client_id"] for c in by_id.json()["m2m_clients"]] == [ids[0], ids[4]]
    bad = {"operator": "AND", "operands": [{"filter_name": "colour", "filter_value": ["x"]}]}
    refused = await http.post("/v1/m2m/clients/search", json={"query": bad})
    assert refused.json()["error_type"] == "m2m_search_filter_name_not_recognized"


@pytest.mark.anyio
async def test_secret_rotation_start_rotate_cancel(
    emu: Emulator, http: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    """During a rotation both secrets mint tokens; rotate keeps only the next one; cancel
    drops it; rotating twice or completing no rotation are Stytch 400s."""
    client = emu.create_m2m_client("svc", ["read"])
    base = f"/v1/m2m/clients/{client.client_id}/secrets/rotate"

    async def mints(secret: str) -> int:
        body = {
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": secret,
        }
        return (await public.post(_token_path(emu), json=body)).status_code

    assert (await http.post(base)).json()["error_type"] == "m2m_client_not_rotating_secret"
    started = await http.post(base + "/start")
    nxt = RotateStartResponse.from_json(200, started.json()).m2m_client.next_client_secret
    assert (await http.post(base + "/start")).json()["error_type"] == (
        "m2m_client_already_rotating_secret"
    )
    got = (await http.get(f"/v1/m2m/clients/{client.client_id}")).json()["m2m_client"]
    assert got["next_client_secret_last_four"] == nxt[-4:]
    assert nxt not in str(got)
    assert (await mints(client.client_secret), await mints(nxt)) == (200, 200)
    rotated = RotateResponse.from_json(200, (await http.post(base)).json()).m2m_client
    assert rotated.client_secret_last_four == nxt[-4:]
    assert rotated.next_client_secret_last_four is None
    assert (await mints(client.client_secret), await mints(nxt)) == (401, 200)
    third = (await http.post(base + "/start")).json()["m2m_client"]["next_client_secret"]
    cancelled = await http.post(base + "/cancel")
    assert cancelled.json()["m2m_client"]["next_client_secret_last_four"] is None
    assert (await mints(third), await mints(nxt)) == (401, 200)


# -- the token endpoint --------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("encoding", ["json", "form"])
async def test_client_credentials_token(
    emu: Emulator, public: httpx.AsyncClient, encoding: str
) -> None:
    """A JSON or a form body mints an RS256 M2M token with the SPEC's claims, signed by the
    session key; the response parses as the SDK's GetTokenResponse."""
    client = emu.create_m2m_client("svc", ["read:documents", "write:documents"], {"tier": "gold"})
    body = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "scope": "read:documents",
    }
    response = await (
        public.post(_token_path(emu), json=body)
        if encoding == "json"
        else public.post(_token_path(emu), data=body)
    )
    assert response.status_code == 200, response.text
    parsed = GetTokenResponse.from_json(200, response.json())
    assert (parsed.token_type, parsed.expires_in) == ("bearer", 3600)
    header = jwt.get_unverified_header(parsed.access_token)
    assert (header["alg"], header["kid"]) == ("RS256", emu.kid)
    claims = _claims(parsed.access_token)
    assert claims["sub"] == client.client_id
    assert claims["iss"] == f"stytch.com/{emu.project_id}"
    assert claims["aud"] == [emu.project_id]
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["nbf"] == claims["iat"]
    assert claims["scope"] == "read:documents"
    assert claims["tier"] == "gold"
    assert SESSION_CLAIM not in claims
    assert ORG_CLAIM not in claims
    assert claims["jti"]
    jwks = (await public.get(f"/v1/b2b/sessions/jwks/{emu.project_id}")).json()["keys"]
    key = jwt.PyJWK(next(k for k in jwks if k["kid"] == emu.kid)).key
    jwt.decode(parsed.access_token, key, algorithms=["RS256"], audience=emu.project_id)


@pytest.mark.anyio
async def test_token_endpoint_refusals_are_oauth_errors(
    emu: Emulator, public: httpx.AsyncClient
) -> None:
    """Wrong secret, unknown or inactive client -> 401 invalid_client; scopes outside the
    client's -> invalid_scope; other grants -> unsupported_grant_type; missing fields ->
    invalid_request. Each carries RFC 6749's fields and Stytch's envelope."""
    client = emu.create_m2m_client("svc", ["read"])
    inactive = emu.create_m2m_client("off", ["read"])
    emu._state.m2m_clients[inactive.client_id]["status"] = "inactive"
    good = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**good, "client_secret": "wrong-secret"}, 401, "invalid_client"),
        ({**good, "client_id": "m2m-client-test-nobody"}, 401, "invalid_client"),
        (
            {**good, "client_id": inactive.client_id, "client_secret": inactive.client_secret},
            401,
            "invalid_client",
        ),
        ({**good, "scope": "read write"}, 400, "invalid_scope"),
        ({**good, "grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"client_id": client.client_id}, 400, "invalid_request"),
        ({**good, "client_secret": None}, 400, "invalid_request"),
        ({**good, "scope": 5}, 400, "invalid_request"),
    ]
    for body, status, error in cases:
        response = await public.post(_token_path(emu), json=body)
        data = response.json()
        assert (response.status_code, data["error"], data["error_type"]) == (
            status,
            error,
            error,
        ), body
        assert data["error_description"]
        assert data["status_code"] == status
    other = await public.post("/v1/public/project-test-other/oauth2/token", json=good)
    assert other.status_code == 401
    assert (await public.post(_token_path(emu), json=good)).status_code == 200


def test_m2m_token_helper_checks_client_and_scopes(emu: Emulator) -> None:
    """``emu.m2m_token`` mints like the endpoint: all scopes by default, a subset on request."""
    client = emu.create_m2m_client("svc", ["a", "b:c:d"])
    assert _claims(emu.m2m_token(client.client_id))["scope"] == "a b:c:d"
    assert _claims(emu.m2m_token(client.client_id, ["b:c:d"]))["scope"] == "b:c:d"
    with pytest.raises(EmulatorError) as scope:
        emu.m2m_token(client.client_id, ["z"])
    assert scope.value.error_type == "invalid_scope"
    with pytest.raises(EmulatorError) as unknown:
        emu.m2m_token("m2m-client-test-nobody")
    assert unknown.value.status_code == 401
    with pytest.raises(EmulatorError, match="custom_claims may not set"):
        emu.create_m2m_client("bad", [], {ORG_CLAIM: {"organization_id": "x"}})


# -- Connected Apps and the consent helper -------------------------------------------


@pytest.mark.anyio
async def test_connected_app_clients_crud(emu: Emulator, http: httpx.AsyncClient) -> None:
    """``/v1/connected_apps/clients``: the SDK's models parse every answer; the secret is
    shown on create only; the organization routes see the same app."""
    created = await http.post(
        "/v1/connected_apps/clients",
        json={"client_type": "third_party", "client_name": "Agent", "redirect_urls": ["https://a"]},
    )
    app = AppCreateResponse.from_json(200, created.json()).connected_app
    assert app.client_secret
    assert app.client_secret_last_four == app.client_secret[-4:]
    got = await http.get(f"/v1/connected_apps/clients/{app.client_id}")
    assert app.client_secret not in got.text
    model = AppGetResponse.from_json(200, got.json()).connected_app
    assert (model.client_name, model.redirect_urls, model.access_token_expiry_minutes) == (
        "Agent",
        ["https://a"],
        60,
    )
    await http.put(f"/v1/connected_apps/clients/{app.client_id}", json={"client_name": "Bot"})
    listed = await http.post("/v1/connected_apps/clients/search", json={})
    apps = AppSearchResponse.from_json(200, listed.json()).connected_apps
    assert [(a.client_id, a.client_name) for a in apps] == [(app.client_id, "Bot")]
    public = await http.post(
        "/v1/connected_apps/clients", json={"client_type": "first_party_public"}
    )
    assert public.json()["connected_app"]["client_secret"] is None
    bad = await http.post("/v1/connected_apps/clients", json={"client_type": "robot"})
    assert bad.json()["error_type"] == "invalid_connected_app_type"
    gone = await http.delete(f"/v1/connected_apps/clients/{app.client_id}")
    assert gone.json()["client_id"] == app.client_id
    assert (await http.get(f"/v1/connected_apps/clients/{app.client_id}")).status_code == 404


def test_mint_refuses_scopes_the_members_roles_do_not_cover(seeded: Seeded) -> None:
    """An editor may grant read:documents and write:documents, not read:billing; a viewer
    only read:documents; OIDC scopes always; a scope the policy lacks never."""
    emu = seeded.emu
    app = emu.create_connected_app("Agent")
    assert isinstance(app, ConnectedAppRecord)
    token = emu.mint_connected_app_token(
        seeded.editor.member_id,
        app,
        ["openid", "offline_access", "read:documents", "write:documents"],
    )
    assert _claims(token)["scope"] == "openid offline_access read:documents write:documents"
    for member, scopes, refused in [
        (seeded.editor, ["read:billing"], "read:billing"),
        (seeded.viewer, ["openid", "write:documents"], "write:documents"),
        (seeded.viewer, ["delete:everything"], "delete:everything"),
        (seeded.admin, ["read:documents"], "read:documents"),
    ]:
        with pytest.raises(EmulatorError) as info:
            emu.mint_connected_app_token(member.member_id, app, scopes)
        assert info.value.error_type == "oauth_invalid_scope_requested"
        assert refused in info.value.error_message
    emu.mint_connected_app_token(seeded.viewer.member_id, app, ["read:documents", "email"])


def test_org_custom_roles_cover_scopes(seeded: Seeded) -> None:
    """A custom role of the member's organization counts towards covering a scope."""
    emu = seeded.emu
    org_id = seeded.acme.organization_id
    role = {
        "role_id": "acme_biller",
        "description": "",
        "permissions": [{"resource_id": "billing", "actions": ["read"]}],
    }
    emu.set_org_policy(org_id, {"roles": [role]})
    member = emu.create_member(org_id, "bill@acme.test", roles=["acme_biller"])
    app = emu.create_connected_app("Agent")
    token = emu.mint_connected_app_token(member.member_id, app, ["read:billing"])
    assert _claims(token)["scope"] == "read:billing"


def test_agent_token_claims(seeded: Seeded) -> None:
    """The SPEC's agent claims: sub member, iss https://{project_domain} (or the given
    issuer), aud [project], client_id, org claim with id and slug, no session claim."""
    emu = seeded.emu
    app = emu.create_connected_app("Agent")
    token = emu.mint_connected_app_token(
        seeded.editor.member_id, app.client_id, ["read:documents"], expires_in=600
    )
    assert jwt.get_unverified_header(token)["kid"] == emu.kid
    claims = _claims(token)
    assert claims["sub"] == seeded.editor.member_id
    assert claims["iss"] == emu.access_token_issuer
    assert claims["aud"] == [emu.project_id]
    assert claims["client_id"] == app.client_id
    assert claims[ORG_CLAIM] == {"organization_id": seeded.acme.organization_id, "slug": "acme"}
    assert claims["exp"] - claims["iat"] == 600
    assert claims["nbf"] == claims["iat"]
    assert SESSION_CLAIM not in claims
    assert claims["jti"]
    custom = emu.mint_connected_app_token(
        seeded.editor.member_id, app, ["openid"], issuer="https://auth.acme.test"
    )
    assert _claims(custom)["iss"] == "https://auth.acme.test"
    for bad in (0, -1, 86401, True):
        with pytest.raises(EmulatorError, match="expires_in"):
            emu.mint_connected_app_token(seeded.editor.member_id, app, [], expires_in=bad)
    with pytest.raises(EmulatorError) as missing:
        emu.mint_connected_app_token(seeded.editor.member_id, "connected-app-test-x", [])
    assert missing.value.error_type == "connected_app_not_found"


def test_mint_records_the_grant(seeded: Seeded) -> None:
    """The consent shows in the member's connected apps, scopes accumulated."""
    emu = seeded.emu
    app = emu.create_connected_app("Agent")
    emu.mint_connected_app_token(seeded.editor.member_id, app, ["openid"])
    emu.mint_connected_app_token(seeded.editor.member_id, app, ["read:documents", "openid"])
    grants = emu._state.connected_grants[seeded.acme.organization_id][seeded.editor.member_id]
    assert grants[app.client_id] == ["openid", "read:documents"]


@pytest.mark.anyio
async def test_connected_app_secret_rotation(
    seeded: Seeded, http: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    """A confidential app rotates like an M2M client: both secrets introspect during a
    rotation, rotate keeps the next one, cancel drops it, the SDK's models parse each answer;
    a public app has no secret to rotate; rotating twice or completing none are 400s."""
    emu = seeded.emu
    app = emu.create_connected_app("Agent")
    assert app.client_secret is not None
    token = emu.mint_connected_app_token(seeded.editor.member_id, app, ["read:documents"])
    base = f"/v1/connected_apps/clients/{app.client_id}/secrets/rotate"

    async def introspects(secret: str) -> int:
        form = {"token": token, "client_id": app.client_id, "client_secret": secret}
        return (await public.post(_introspect_path(emu), data=form)).status_code

    assert (await http.post(base)).json()["error_type"] == "connected_app_not_rotating_secret"
    started = AppRotateStartResponse.from_json(200, (await http.post(base + "/start")).json())
    nxt = started.connected_app.next_client_secret
    assert started.connected_app.client_secret_last_four == app.client_secret[-4:]
    again = await http.post(base + "/start")
    assert again.json()["error_type"] == "connected_app_already_rotating_secret"
    assert (await introspects(app.client_secret), await introspects(nxt)) == (200, 200)
    rotated = AppRotateResponse.from_json(200, (await http.post(base)).json()).connected_app
    assert (rotated.client_secret_last_four, rotated.next_client_secret_last_four) == (
        nxt[-4:],
        None,
    )
    assert (await introspects(app.client_secret), await introspects(nxt)) == (401, 200)
    third = (await http.post(base + "/start")).json()["connected_app"]["next_client_secret"]
    cancelled = AppRotateCancelResponse.from_json(200, (await http.post(base + "/cancel")).json())
    assert cancelled.connected_app.next_client_secret_last_four is None
    assert (await introspects(third), await introspects(nxt)) == (401, 200)
    public_app = emu.create_connected_app("SPA", client_type="first_party_public")
    refused = await http.post(
        f"/v1/connected_apps/clients/{public_app.client_id}/secrets/rotate/start"
    )
    assert refused.json()["error_type"] == "invalid_connected_app_type"


@pytest.mark.anyio
async def test_client_searches_page_by_cursor(emu: Emulator, http: httpx.AsyncClient) -> None:
    """M2M client and Connected-App searches page in creation order: a cursor while more
    follow, none on the last page, the total every time."""
    made = {
        "m2m_clients": [emu.create_m2m_client(f"svc{i}", ["read"]).client_id for i in range(3)],
        "connected_apps": [emu.create_connected_app(f"app{i}").client_id for i in range(3)],
    }
    for key, path in (
        ("m2m_clients", "/v1/m2m/clients/search"),
        ("connected_apps", "/v1/connected_apps/clients/search"),
    ):
        first = (await http.post(path, json={"limit": 2})).json()
        assert [c["client_id"] for c in first[key]] == made[key][:2]
        assert first["results_metadata"]["total"] == 3
        cursor = first["results_metadata"]["next_cursor"]
        assert cursor
        last = (await http.post(path, json={"limit": 2, "cursor": cursor})).json()
        assert [c["client_id"] for c in last[key]] == made[key][2:]
        assert last["results_metadata"] == {"total": 3, "next_cursor": None}
        exact = (await http.post(path, json={"limit": 3})).json()
        assert exact["results_metadata"]["next_cursor"] is None


# -- introspection -------------------------------------------------------------------


@pytest.mark.anyio
async def test_introspection_active_then_revoked(
    seeded: Seeded, http: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    """Active with the claims; inactive once the member's grant is revoked through the
    members connected-apps route; a fresh token after a new consent is active again."""
    emu = seeded.emu
    app = emu.create_connected_app("Agent")
    member = seeded.editor.member_id
    token = emu.mint_connected_app_token(member, app, ["read:documents"])
    form = {"token": token, "client_id": app.client_id, "client_secret": app.client_secret}
    active = (await public.post(_introspect_path(emu), data=form)).json()
    assert active["active"] is True
    assert (active["sub"], active["scope"], active["client_id"], active["token_type"]) == (
        member,
        "read:documents",
        app.client_id,
        "access_token",
    )
    assert active[ORG_CLAIM]["organization_id"] == seeded.acme.organization_id
    org = seeded.acme.organization_id
    revoked = await http.post(
        f"/v1/b2b/organizations/{org}/members/{member}/connected_apps/{app.client_id}/revoke",
        json={},
    )
    assert revoked.status_code == 200, revoked.text
    after = (await public.post(_introspect_path(emu), data=form)).json()
    assert after["active"] is False
    assert "sub" not in after
    fresh = emu.mint_connected_app_token(member, app, ["read:documents"])
    assert emu.introspect(fresh)["active"] is True
    assert emu.introspect(token)["active"] is False
    emu.revoke_connected_app(member, app)
    assert emu.introspect(fresh)["active"] is False


def test_introspection_inactive_when_expired_forged_or_foreign(seeded: Seeded) -> None:
    """Expired, not-yet-valid, forged (another key, same kid), session JWTs and unparsable
    strings are inactive; an M2M token is active; a deleted member's token is inactive."""
    emu = seeded.emu
    app = emu.create_connected_app("Agent")
    token = emu.mint_connected_app_token(seeded.viewer.member_id, app, ["openid"], expires_in=60)
    claims = _claims(token)
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": emu.kid})
    assert emu.introspect(forged) == {"active": False}
    assert emu.introspect("not a token") == {"active": False}
    assert emu.introspect(seeded.viewer_session.session_jwt) == {"active": False}
    service = emu.create_m2m_client("svc", ["x"])
    assert emu.introspect(emu.m2m_token(service.client_id))["active"] is True
    assert emu.introspect(token)["active"] is True
    emu.advance_time(61)
    assert emu.introspect(token) == {"active": False}


@pytest.mark.anyio
async def test_introspection_authenticates_the_caller(
    seeded: Seeded, public: httpx.AsyncClient
) -> None:
    """A confidential app needs its secret; an unknown client or a wrong secret is
    invalid_client; a public app introspects with its id alone; no token -> invalid_request."""
    emu = seeded.emu
    app = emu.create_connected_app("Agent")
    open_app = emu.create_connected_app("SPA", client_type="first_party_public")
    token = emu.mint_connected_app_token(seeded.editor.member_id, app, ["openid"])
    path = _introspect_path(emu)
    forms: list[tuple[dict[str, str | None], int]] = [
        ({"token": token, "client_id": app.client_id}, 401),
        ({"token": token, "client_id": app.client_id, "client_secret": "nope-nope"}, 401),
        ({"token": token, "client_id": "connected-app-test-nobody"}, 401),
        ({"client_id": app.client_id, "client_secret": app.client_secret}, 400),
        ({"token": token}, 400),
    ]
    for form, status in forms:
        response = await public.post(path, data=form)
        assert response.status_code == status, form
        assert response.json()["error"] in ("invalid_client", "invalid_request")
    spa = await public.post(path, data={"token": token, "client_id": open_app.client_id})
    assert spa.json()["active"] is True
    repeated = await public.post(
        path,
        content=b"token=a&token=b",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert repeated.status_code == 400


# -- discovery -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_well_known_documents(seeded: Seeded, public: httpx.AsyncClient) -> None:
    """The JWKS equals the sessions JWKS; both metadata documents name the issuer, the
    endpoints where the emulator serves them, and the OIDC plus the policy's scopes."""
    emu = seeded.emu
    jwks = (await public.get("/.well-known/jwks.json")).json()["keys"]
    sessions = (await public.get(f"/v1/b2b/sessions/jwks/{emu.project_id}")).json()["keys"]
    assert jwks == sessions
    assert jwks
    for name in ("openid-configuration", "oauth-authorization-server"):
        doc = (await public.get(f"/.well-known/{name}")).json()
        assert doc["issuer"] == emu.access_token_issuer
        assert doc["jwks_uri"] == "http://emulator/.well-known/jwks.json"
        assert doc["token_endpoint"] == f"http://emulator{_token_path(emu)}"
        assert doc["introspection_endpoint"] == f"http://emulator{_introspect_path(emu)}"
        assert set(doc["scopes_supported"]) == {
            "openid",
            "email",
            "profile",
            "phone",
            "offline_access",
            "read:documents",
            "write:documents",
            "read:billing",
        }


# -- faults and bodies ---------------------------------------------------------------


@pytest.mark.anyio
async def test_faults_apply_to_the_new_routes(emu: Emulator, public: httpx.AsyncClient) -> None:
    """Each new route has a fault name; an injected 503 and garbage are answered."""
    client = emu.create_m2m_client("svc", ["x"])
    body = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    emu.faults.fail("oauth2.token", status=503, times=1)
    failed = await public.post(_token_path(emu), json=body)
    assert (failed.status_code, failed.json()["error_type"]) == (503, "server_unavailable")
    assert (await public.post(_token_path(emu), json=body)).status_code == 200
    emu.faults.garbage("well_known.jwks", times=1)
    assert (await public.get("/.well-known/jwks.json")).content.startswith(b"<html>")
    for name in (
        "m2m.clients.create",
        "m2m.clients.secrets.rotate_start",
        "connected_apps.clients.get",
        "oauth2.introspect",
        "well_known.openid_configuration",
    ):
        emu.faults.fail(name, status=500, times=1)
    emu.faults.clear()
    assert emu.requests["oauth2.token"] == 2


@pytest.mark.anyio
async def test_oversized_and_malformed_bodies(public: httpx.AsyncClient) -> None:
    """A body over the limit is a 413 envelope; a malformed JSON body a 400 envelope."""
    emu = Emulator(max_request_bytes=1024)
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://e") as small:
        big = await small.post(_token_path(emu), data={"client_id": "x" * 2000})
        assert (big.status_code, big.json()["error_type"]) == (413, "bad_request")
        broken = await small.post(
            _token_path(emu), content=b"{", headers={"content-type": "application/json"}
        )
        assert (broken.status_code, broken.json()["error_type"]) == (400, "bad_request")


@pytest.mark.anyio
async def test_m2m_routes_need_project_credentials(
    emu: Emulator, public: httpx.AsyncClient
) -> None:
    """The clients APIs take the project's Basic credentials; the OAuth endpoints do not."""
    response = await public.post("/v1/m2m/clients", json={"scopes": []})
    assert (response.status_code, response.json()["error_type"]) == (
        401,
        "unauthorized_credentials",
    )
    assert (await public.post("/v1/connected_apps/clients/search", json={})).status_code == 401


@pytest.mark.anyio
async def test_consent_helper_over_http(seeded: Seeded, http: httpx.AsyncClient) -> None:
    """``POST /_emulator/connected_apps/tokens`` mints like ``mint_connected_app_token`` and
    refuses the same scopes."""
    emu = seeded.emu
    app = emu.create_connected_app("Agent")
    body = {"member_id": seeded.viewer.member_id, "client_id": app.client_id}
    ok = await http.post("/_emulator/connected_apps/tokens", json={**body, "scopes": ["openid"]})
    assert ok.status_code == 200, ok.text
    assert emu.introspect(ok.json()["access_token"])["sub"] == seeded.viewer.member_id
    refused = await http.post(
        "/_emulator/connected_apps/tokens", json={**body, "scopes": ["write:documents"]}
    )
    assert (refused.status_code, refused.json()["error_type"]) == (
        400,
        "oauth_invalid_scope_requested",
    )


def _property_policy() -> dict[str, Any]:
    """The example policy plus roles that split its scopes' permissions and a scope
    granting ``*``, so partial coverage is reachable."""
    policy: dict[str, Any] = json.loads((EXAMPLES / "policy.json").read_text())
    documents = next(r for r in policy["resources"] if r["resource_id"] == "documents")
    policy["roles"] += [
        {
            "role_id": "doc_reader",
            "description": "",
            "permissions": [{"resource_id": "documents", "actions": ["read", "download"]}],
        },
        {
            "role_id": "proj_reader",
            "description": "",
            "permissions": [{"resource_id": "projects", "actions": ["read"]}],
        },
        {
            "role_id": "doc_every",
            "description": "",
            "permissions": [{"resource_id": "documents", "actions": list(documents["actions"])}],
        },
    ]
    policy["scopes"].append(
        {
            "scope": "all:documents",
            "description": "",
            "permissions": [{"resource_id": "documents", "actions": ["*"]}],
        }
    )
    return policy


_POLICY = _property_policy()
_ROLE_IDS = sorted(r["role_id"] for r in _POLICY["roles"] if not r["role_id"].startswith("stytch"))
_SCOPES = [*sorted(s["scope"] for s in _POLICY["scopes"]), "openid", "email", "unknown:scope"]


def _covered(roles: set[str], scope: str) -> bool:
    """An oracle read straight from the policy JSON: every action of every permission of
    the scope (``*``: each action the resource defines) is granted by one of the roles
    (the action, or ``*``, in its list)."""
    if scope in {"openid", "email", "profile", "phone", "offline_access"}:
        return True
    spec = next((s for s in _POLICY["scopes"] if s["scope"] == scope), None)
    if spec is None:
        return False
    defined = {r["resource_id"]: r["actions"] for r in _POLICY["resources"]}
    held = [r for r in _POLICY["roles"] if r["role_id"] in roles]
    return all(
        any(
            p["resource_id"] == permission["resource_id"]
            and (action in p["actions"] or "*" in p["actions"])
            for role in held
            for p in role["permissions"]
        )
        for permission in spec["permissions"]
        for wanted in permission["actions"]
        for action in (defined[permission["resource_id"]] if wanted == "*" else [wanted])
    )


@settings(max_examples=300, deadline=None)
@given(
    roles=st.sets(st.sampled_from(_ROLE_IDS), max_size=3),
    scopes=st.lists(st.sampled_from(_SCOPES), min_size=1, max_size=4, unique=True),
)
def test_consent_refuses_exactly_the_uncovered_scopes(roles: set[str], scopes: list[str]) -> None:
    """For any roles and scopes, minting succeeds iff every scope is covered (the oracle),
    and a refusal names each uncovered scope."""
    emu, app_id = _property_world()
    org_id = emu.organizations()[0].organization_id
    member = emu.create_member(org_id, f"m{uuid.uuid4().hex}@acme.test", roles=sorted(roles))
    uncovered = [s for s in scopes if not _covered(roles, s)]
    if not uncovered:
        token = emu.mint_connected_app_token(member.member_id, app_id, scopes)
        assert _claims(token)["scope"].split(" ") == scopes
        return
    with pytest.raises(EmulatorError) as info:
        emu.mint_connected_app_token(member.member_id, app_id, scopes)
    assert all(s in info.value.error_message for s in uncovered)


@functools.cache
def _property_world() -> tuple[Emulator, str]:
    """One emulator and app for every example (members are added per example)."""
    emu = Emulator(policy=_POLICY)
    emu.create_organization("Acme", slug="acme")
    return emu, emu.create_connected_app("Agent").client_id


def test_mint_refuses_malformed_scopes(seeded: Seeded) -> None:
    """A scope holding whitespace, or an empty one, is a 400 invalid_argument naming it."""
    app = seeded.emu.create_connected_app("Agent")
    for bad in ("read docs", "", " openid"):
        with pytest.raises(EmulatorError) as info:
            seeded.emu.mint_connected_app_token(seeded.editor.member_id, app, [bad])
        assert info.value.error_type == "invalid_argument"
        assert repr(bad) in info.value.error_message
