"""The ASGI app in process (httpx.ASGITransport): routing, envelopes, auth and bad input."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from stytch_rbac.emulator import Emulator
from stytch_rbac.emulator._admin import admin_routes
from stytch_rbac.emulator._emulator import ROUTES

from .conftest import Seeded


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client with the emulator's credentials."""
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", auth=(emu.project_id, emu.secret)
    ) as client:
        yield client


def _is_error_envelope(body: Any, status: int) -> bool:
    return (
        isinstance(body, dict)
        and body.get("status_code") == status
        and isinstance(body.get("request_id"), str)
        and isinstance(body.get("error_type"), str)
        and isinstance(body.get("error_message"), str)
        and isinstance(body.get("error_url"), str)
    )


@pytest.mark.anyio
async def test_percent_encoded_segments_are_decoded_one_by_one(
    http: httpx.AsyncClient, seeded: Seeded
) -> None:
    """An external id holding '/' and an email holding '+' reach the right records."""
    org_id = seeded.acme.organization_id
    await http.put(
        f"/v1/b2b/organizations/{org_id}",
        json={"organization_id": org_id, "organization_external_id": "team/one"},
    )
    response = await http.get(
        "/v1/b2b/organizations/team%2Fone", params={"organization_id": "team/one"}
    )
    assert response.json()["organization"]["organization_id"] == org_id
    seeded.emu.create_member(org_id, "a+b@acme.test")
    member = await http.get(
        f"/v1/b2b/organizations/{org_id}/member",
        params={"organization_id": org_id, "email_address": "a+b@acme.test"},
    )
    assert member.json()["member"]["email_address"] == "a+b@acme.test"


@pytest.mark.anyio
async def test_unknown_route_and_wrong_verb_are_stytch_404s(http: httpx.AsyncClient) -> None:
    """Anything unrouted answers route_not_found in Stytch's envelope."""
    for response in (await http.get("/v1/b2b/nope"), await http.patch("/v1/b2b/rbac/policy")):
        assert response.status_code == 404
        assert _is_error_envelope(response.json(), 404)
        assert response.json()["error_type"] == "route_not_found"


@pytest.mark.anyio
async def test_basic_auth_is_required_except_for_the_jwks(emu: Emulator) -> None:
    """No, malformed or wrong credentials get unauthorized_credentials; the JWKS is public."""
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://e") as http:
        wrong = base64.b64encode(f"{emu.project_id}:nope".encode()).decode()
        for headers in ({}, {"Authorization": "Basic !!!"}, {"Authorization": f"Basic {wrong}"}):
            response = await http.get("/v1/b2b/rbac/policy", headers=headers)
            assert response.status_code == 401
            assert response.json()["error_type"] == "unauthorized_credentials"
        jwks = await http.get(f"/v1/b2b/sessions/jwks/{emu.project_id}")
        assert jwks.status_code == 200


@pytest.mark.anyio
async def test_bodies_that_are_not_json_objects(http: httpx.AsyncClient) -> None:
    """A body that is not JSON, or not an object, is a 400 bad_request."""
    for content in (b"{", b"[1, 2]", b"\xff"):
        response = await http.post("/v1/b2b/organizations", content=content)
        assert response.status_code == 400
        assert response.json()["error_type"] == "bad_request"


_WRONG_VALUES: list[Any] = [12345, ["x"], {"x": 1}, True, "", "not-an-id"]


def _path(pattern: str, value: str) -> str:
    return re.sub(r"\{[a-z_]+\}", value, pattern)


@pytest.mark.anyio
async def test_bad_input_never_answers_500(http: httpx.AsyncClient, seeded: Seeded) -> None:
    """Every route, fed wrong-typed values for every field, never answers 5xx; unknown ids
    in the path answer a 400/404 envelope."""
    fields = [
        "organization_id",
        "organization_name",
        "organization_slug",
        "email_address",
        "roles",
        "member_id",
        "session_token",
        "session_jwt",
        "session_duration_minutes",
        "session_custom_claims",
        "authorization_check",
        "query",
        "limit",
        "cursor",
        "organization_ids",
        "trusted_metadata",
        "untrusted_metadata",
        "mfa_phone_number",
        "rbac_email_implicit_role_assignments",
        "org_policy",
        "display_name",
        "identity_provider",
        "metadata_url",
        "external_organization_id",
        "external_connection_id",
        "email_allowed_domains",
        "is_breakglass",
        "mfa_enrolled",
        "create_member_as_pending",
        "invite_expiration_minutes",
        "policy",
        "seconds",
        "kind",
        "endpoint",
        "x509_certificate",
        "attribute_mapping",
        "include_deleted",
        "scim_group_implicit_role_assignments",
        "email_id",
        "delivery_method",
        "grace_seconds",
    ]
    org_id = seeded.acme.organization_id
    routes = [*ROUTES, *admin_routes(seeded.emu)]
    for route in routes:
        if route.method == "DELETE":
            continue  # no body: covered by the unknown-id pass below
        for value in _WRONG_VALUES:
            body = dict.fromkeys(fields, value)
            path = _path(route.pattern, org_id if "organization_id" in route.pattern else "x")
            if route.method == "GET":
                response = await http.get(path, params={k: str(v) for k, v in body.items()})
            else:
                response = await http.request(route.method, path, json=body)
            assert response.status_code < 500, (route.name, value, response.text)
            if response.status_code >= 400:
                assert _is_error_envelope(response.json(), response.status_code), route.name
    for route in routes:
        response = await http.request(route.method, _path(route.pattern, "missing-id"))
        assert response.status_code < 500, (route.name, response.text)
        if "{" in route.pattern and route.method != "POST":
            assert response.status_code in (400, 404), (route.name, response.text)
            assert _is_error_envelope(response.json(), response.status_code)


@pytest.mark.anyio
async def test_success_envelope(http: httpx.AsyncClient) -> None:
    """Successes carry status_code 200, a request id and JSON content type."""
    response = await http.get("/v1/b2b/rbac/policy")
    body = response.json()
    assert response.headers["content-type"] == "application/json"
    assert body["status_code"] == 200
    assert body["request_id"].startswith("request-id-test-")
    assert set(body["policy"]) == {"roles", "resources", "scopes"}
