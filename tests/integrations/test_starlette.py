"""Starlette: ``@guard`` endpoints with the JSON exception handlers, the session middleware
(one authentication per request, hand-back of a refreshed JWT), in-process and over real HTTP;
and the shared glue (statuses, bodies that never echo a credential, hand-back headers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from stytch_rbac import (
    Forbidden,
    PermissionDenied,
    PolicyError,
    Principal,
    StytchAPIError,
    StytchRBAC,
    StytchRBACError,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
    UnknownPermission,
)
from stytch_rbac.emulator import Emulator
from stytch_rbac.integrations import error_body, error_headers, handback_headers, status_for
from stytch_rbac.integrations.guard import CredentialConfig, Credentials, RequestAuth, path
from stytch_rbac.integrations.starlette import (
    StytchSessionMiddleware,
    add_exception_handlers,
    error_response,
    exception_handlers,
    principal_of,
)
from stytch_rbac.testing import MemberFactory, serve_app

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
pytestmark = pytest.mark.stytch_policy(POLICY)


def build_app(rbac: StytchRBAC, *, own_lifespan: bool = False) -> Starlette:
    """A Starlette app guarded with ``@guard`` and the session middleware."""

    @rbac.require("documents:edit", organization_id=path("organization_id"))
    async def edit(request: Request) -> Response:
        return JSONResponse({"member_id": principal_of(request).member_id})

    @rbac.require("documents:delete")
    async def delete(request: Request) -> Response:
        return JSONResponse({"member_id": principal_of(request).member_id})

    async def public(request: Request) -> Response:
        return PlainTextResponse("public")

    async def me(request: Request) -> Response:
        return JSONResponse({"member_id": principal_of(request).member_id})

    async def imperative(request: Request) -> Response:
        principal = principal_of(request)
        await rbac.authorize(principal, "billing", "read")
        return JSONResponse({"member_id": principal.member_id})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with rbac:
            yield

    app = Starlette(
        routes=[
            Route("/orgs/{organization_id}/documents", edit, methods=["PUT"]),
            Route("/documents", delete, methods=["DELETE"]),
            Route("/public", public),
            Route("/me", me),
            Route("/billing", imperative),
        ],
        exception_handlers=dict(exception_handlers()),
        lifespan=lifespan if own_lifespan else None,
    )
    app.add_middleware(StytchSessionMiddleware, rbac=rbac)
    return app


def asgi_client(app: Starlette) -> httpx.AsyncClient:
    """An httpx client calling ``app`` in-process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")


async def check_statuses(client: httpx.AsyncClient, member: MemberFactory) -> None:
    """Each status code, with header and cookie credentials and tenancy."""
    acme = member.organization("Acme").organization_id
    globex = member.organization("Globex").organization_id
    owner, editor = member(roles=["owner"]), member(roles=["editor"])
    billing = member(roles=["billing_admin"])
    cookie = {"Cookie": f"stytch_session={editor.session_token}"}
    table = [
        ("PUT", f"/orgs/{acme}/documents", editor.headers, 200),
        ("PUT", f"/orgs/{acme}/documents", cookie, 200),
        ("PUT", f"/orgs/{globex}/documents", owner.headers, 403),
        ("PUT", f"/orgs/{acme}/documents", {}, 401),
        ("DELETE", "/documents", owner.headers, 200),
        ("DELETE", "/documents", editor.headers, 403),
        ("GET", "/billing", billing.headers, 200),
        ("GET", "/billing", editor.headers, 403),
        ("GET", "/billing", {}, 401),
        ("GET", "/me", cookie, 200),
        ("GET", "/public", {"Authorization": "Bearer forged.jwt.value"}, 200),
    ]
    for method, url, headers, expected in table:
        answer = await client.request(method, url, headers=headers)
        assert answer.status_code == expected, (method, url, answer.text)
        for secret in (owner.session_jwt, editor.session_jwt, editor.session_token):
            assert secret not in answer.text
        if expected == 401:
            assert answer.headers["www-authenticate"] == "Bearer"
            assert answer.json()["detail"]["error"] == "unauthenticated"


@pytest.mark.anyio
async def test_statuses_in_process(stytch_rbac: StytchRBAC, member: MemberFactory) -> None:
    """@guard endpoints, principal_of and imperative authorize answer the right statuses."""
    async with asgi_client(build_app(stytch_rbac)) as client:
        await check_statuses(client, member)


@pytest.mark.anyio
@pytest.mark.stytch_http
async def test_statuses_over_real_http(
    stytch_emulator: Emulator, stytch_base_url: str, member: MemberFactory
) -> None:
    """Over real HTTP (the app's lifespan opens the facade on the server's loop) too."""
    rbac = StytchRBAC(
        stytch_emulator.project_id,
        stytch_emulator.secret,
        base_url=stytch_base_url,
        clock=stytch_emulator.clock,
    )
    with serve_app(build_app(rbac, own_lifespan=True)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            await check_statuses(client, member)


@pytest.mark.anyio
async def test_503_when_stytch_is_down(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """A guarded endpoint answers 503 when no policy can be fetched; the public one still 200."""
    editor = member(roles=["editor"])
    stytch_emulator.faults.fail("rbac.policy", status=502)
    async with asgi_client(build_app(stytch_rbac)) as client:
        guarded = await client.put(
            f"/orgs/{editor.organization_id}/documents", headers=editor.headers
        )
        public = await client.get("/public", headers=editor.headers)
    assert guarded.status_code == 503
    assert guarded.json()["detail"]["error"] == "stytch_unavailable"
    assert public.status_code == 200


@pytest.mark.anyio
async def test_middleware_hands_back_refreshed_jwt(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """An expired JWT cookie of a live session is refreshed and set back, on any route."""
    viewer = member(roles=["viewer"])
    stytch_emulator.advance_time(301)
    async with asgi_client(build_app(stytch_rbac)) as client:
        answer = await client.get(
            "/public", headers={"Cookie": f"stytch_session_jwt={viewer.session_jwt}"}
        )
    assert answer.status_code == 200
    fresh = answer.headers["set-cookie"].split(";")[0].removeprefix("stytch_session_jwt=")
    assert fresh != viewer.session_jwt
    assert (await stytch_rbac.authenticate(session_jwt=fresh)).member_id == viewer.member_id


@pytest.mark.anyio
async def test_principal_of_without_authentication_is_a_clear_error() -> None:
    """principal_of() on a request nothing authenticated raises RuntimeError naming the fix."""

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(principal_of(request).member_id)

    app = Starlette(routes=[Route("/", endpoint)])
    async with asgi_client(app) as client:
        with pytest.raises(RuntimeError, match="StytchSessionMiddleware"):
            await client.get("/")


def test_add_exception_handlers_registers_every_http_error() -> None:
    """add_exception_handlers() registers a handler for each error that has a status."""
    app = Starlette()
    add_exception_handlers(app)
    registered = set(app.exception_handlers)
    assert {Unauthenticated, Forbidden, StytchUnavailable, StytchAPIError} <= registered


# -- the shared glue -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        pytest.param(Unauthenticated("expired"), 401, id="unauthenticated"),
        pytest.param(PermissionDenied("documents", "edit"), 403, id="denied"),
        pytest.param(TenancyError("org-a", "org-b"), 403, id="tenancy"),
        pytest.param(Forbidden("no"), 403, id="forbidden"),
        pytest.param(StytchUnavailable("down"), 503, id="unavailable"),
        pytest.param(StytchAPIError(404, error_type="member_not_found"), 404, id="api-404"),
        pytest.param(StytchAPIError(400, error_type="invalid_argument"), 400, id="api-400"),
        pytest.param(StytchAPIError(409), 409, id="api-409"),
        pytest.param(
            StytchAPIError(401, error_type="unauthorized_credentials", request_id="r"),
            502,
            id="api-bad-project-secret",
        ),
        pytest.param(UnknownPermission("documents", "fly"), None, id="unknown-permission"),
        pytest.param(PolicyError("bad"), None, id="policy-error"),
    ],
)
def test_status_for(error: StytchRBACError, status: int | None) -> None:
    """Each error maps to its documented status; bugs (no status) are left to the 500."""
    assert status_for(error) == status
    if status is None:
        with pytest.raises(type(error)):
            error_response(error)
    else:
        assert error_response(error).status_code == status


def test_error_body_never_contains_a_credential() -> None:
    """Credentials that reached an error's text are scrubbed from the body."""
    secret = "eyJhbGciOi.secretpayload.signature"
    leaky = PermissionDenied(secret, "edit", organization_id=secret)
    body = error_body(leaky, (secret,))
    assert secret not in repr(body)
    assert body["detail"] == {
        "error": "permission_denied",
        "message": "the member may not 'edit' on '[redacted]'",
        "resource": "[redacted]",
        "action": "edit",
        "organization_id": "[redacted]",
    }


def test_unauthenticated_body_uses_only_the_reason_code() -> None:
    """The 401 body is built from the reason code; free text and odd reasons never appear."""
    body = error_body(Unauthenticated("forged", "details about token abc.def.ghi"))
    assert body == {
        "detail": {
            "error": "unauthenticated",
            "reason": "forged",
            "message": "not authenticated (forged)",
        }
    }
    odd = error_body(Unauthenticated("Bearer abc.def"))["detail"]
    assert isinstance(odd, dict)
    assert odd["reason"] == "invalid"
    assert error_headers(Unauthenticated("forged")) == {
        "WWW-Authenticate": 'Bearer error="invalid_token"'
    }
    assert error_headers(PermissionDenied("documents", "edit")) == {}


def _record(refreshed: bool, source: str = "header") -> RequestAuth:
    principal = Principal(
        member_id="member-1",
        organization_id="org-1",
        organization_slug="acme",
        roles=frozenset({"viewer"}),
        session_id="session-1",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        session_jwt="new.jwt.value",
        jwt_refreshed=refreshed,
    )
    credentials = Credentials(
        session_jwt="old.jwt.value",
        session_token=None,
        source="cookie" if source == "cookie" else "header",
    )
    return RequestAuth(principal=principal, credentials=credentials)


def test_handback_headers_once_and_only_when_refreshed() -> None:
    """Hand-back headers appear only for a refreshed JWT, on the credential's channel, once."""
    config = CredentialConfig()
    assert handback_headers(_record(False), config) == []
    assert handback_headers(None, config) == []
    record = _record(True)
    assert handback_headers(record, config) == [("x-stytch-session-jwt", "new.jwt.value")]
    assert handback_headers(record, config) == []
    cookie = handback_headers(_record(True, "cookie"), config)
    assert cookie == [
        (
            "set-cookie",
            "stytch_session_jwt=new.jwt.value; Path=/; Expires=Tue, 01 Jan 2030 00:00:00 GMT; "
            "Secure; SameSite=Lax",
        )
    ]
    assert handback_headers(_record(True), CredentialConfig(handback="none")) == []
    strict = CredentialConfig(
        handback="cookie",
        jwt_cookie="sess",
        cookie_httponly=True,
        cookie_samesite="strict",
        cookie_domain="example.com",
        cookie_path="/app",
    )
    assert handback_headers(_record(True), strict) == [
        (
            "set-cookie",
            "sess=new.jwt.value; Path=/app; Expires=Tue, 01 Jan 2030 00:00:00 GMT; "
            "Domain=example.com; Secure; HttpOnly; SameSite=Strict",
        )
    ]
