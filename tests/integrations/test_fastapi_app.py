"""A FastAPI app's life with stytch-rbac: the lifespan helper (opened again by each run, guards
checked against the policy before serving), the OpenAPI document (security schemes, 401 / 403
/ 503), WebSocket routes (close code 1008 before accepting) and the optional principal.

Apps run under Starlette's ``TestClient`` (on asyncio and trio) against the emulator.
"""

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import anyio
import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request, WebSocket
from starlette.websockets import WebSocketDisconnect

from stytch_rbac import Principal, StytchRBAC, UnknownPermission
from stytch_rbac.emulator import Emulator
from stytch_rbac.integrations.fastapi import (
    OptionalPrincipal,
    StytchSessionMiddleware,
    document_routes,
    lifespan,
    optional_principal_for,
    verify_routes,
)
from stytch_rbac.integrations.guard import CredentialConfig, path
from stytch_rbac.testing import MemberFactory, SeededMember

from .test_fastapi import POLICY, asgi_client, cookie_header, forged

if TYPE_CHECKING:
    from starlette.testclient import TestClient
    from starlette.types import ASGIApp

pytestmark = pytest.mark.stytch_policy(POLICY)

MakeClient = Callable[["ASGIApp"], "TestClient"]


def guarded_app(rbac: StytchRBAC, **options: Any) -> FastAPI:
    """An app with a public route, a reader route, an authenticated-only route, a tenancy
    route and a reader WebSocket, opened by :func:`lifespan`."""
    app = FastAPI(lifespan=lifespan(rbac, **options))
    reader = Annotated[Principal, Depends(rbac.require("documents:read"))]
    signed_in = Annotated[Principal, Depends(rbac.require())]
    org_editor = Annotated[
        Principal, Depends(rbac.require("documents:edit", organization_id=path("org")))
    ]

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/documents")
    async def documents(who: reader) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.get("/whoami")
    async def whoami(who: signed_in) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.put("/orgs/{org}/documents")
    async def edit(org: str, who: org_editor) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.websocket("/ws/documents")
    async def feed(websocket: WebSocket, who: reader) -> None:
        await websocket.accept()
        await websocket.send_json({"member_id": who.member_id})
        await websocket.close()

    return app


# -- OpenAPI ------------------------------------------------------------------------------------


def test_openapi_declares_the_guards_security_schemes(app_rbac: StytchRBAC) -> None:
    """A guarded operation lists the bearer scheme and one scheme per cookie read, as
    alternatives, and components.securitySchemes defines them (the Authorize button)."""
    schema = guarded_app(app_rbac).openapi()
    assert schema["components"]["securitySchemes"] == {
        "StytchSessionJWT": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Stytch member session JWT: `Authorization: Bearer <session_jwt>`.",
        },
        "StytchSessionJWTCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": "stytch_session_jwt",
            "description": "The Stytch member session JWT in the `stytch_session_jwt` cookie "
            "(set by Stytch's frontend SDKs).",
        },
        "StytchSessionTokenCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": "stytch_session",
            "description": "The Stytch member session token in the `stytch_session` cookie "
            "(set by Stytch's frontend SDKs).",
        },
    }
    alternatives: list[dict[str, list[str]]] = [
        {"StytchSessionJWT": []},
        {"StytchSessionJWTCookie": []},
        {"StytchSessionTokenCookie": []},
    ]
    paths = schema["paths"]
    assert paths["/documents"]["get"]["security"] == alternatives
    assert paths["/whoami"]["get"]["security"] == alternatives
    assert "security" not in paths["/public"]["get"]
    # The schemes are documentation: no parameter of the guard leaks into the operation.
    assert "parameters" not in paths["/documents"]["get"]


def test_openapi_schemes_follow_the_credential_config(app_rbac: StytchRBAC) -> None:
    """A guard reading a bearer session token and one custom cookie declares exactly those;
    one reading no bearer header declares no bearer scheme."""
    app = FastAPI()
    tokens = CredentialConfig(bearer="session_token", jwt_cookie=None, token_cookie="sid")
    cookies_only = CredentialConfig(bearer=None, token_cookie=None)
    token_guard = Annotated[Principal, Depends(app_rbac.require(credentials=tokens))]
    cookie_guard = Annotated[Principal, Depends(app_rbac.require(credentials=cookies_only))]

    @app.get("/tokens")
    async def by_token(who: token_guard) -> None: ...

    @app.get("/cookies")
    async def by_cookie(who: cookie_guard) -> None: ...

    schema = app.openapi()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["StytchSessionToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A Stytch member session token: `Authorization: Bearer <session_token>`.",
    }
    assert schemes["StytchSessionTokenCookie.sid"]["name"] == "sid"
    assert schema["paths"]["/tokens"]["get"]["security"] == [
        {"StytchSessionToken": []},
        {"StytchSessionTokenCookie.sid": []},
    ]
    assert schema["paths"]["/cookies"]["get"]["security"] == [{"StytchSessionJWTCookie": []}]


def _responses(schema: dict[str, Any], route: str, method: str) -> dict[str, Any]:
    responses: dict[str, Any] = schema["paths"][route][method]["responses"]
    return responses


def test_openapi_documents_401_403_503_once_the_lifespan_ran(
    app_rbac: StytchRBAC, make_client: MakeClient
) -> None:
    """After start-up, a permission or tenancy guard documents 401, 403 and 503, an
    authentication-only guard 401 and 503, a public route neither."""
    app = guarded_app(app_rbac)
    with make_client(app):
        schema = app.openapi()
    assert set(_responses(schema, "/documents", "get")) == {"200", "401", "403", "503"}
    assert set(_responses(schema, "/orgs/{org}/documents", "put")) >= {"401", "403", "503"}
    assert set(_responses(schema, "/whoami", "get")) == {"200", "401", "503"}
    assert set(_responses(schema, "/public", "get")) == {"200"}
    unauthorized = _responses(schema, "/documents", "get")["401"]
    assert unauthorized["description"].startswith("Not authenticated")
    assert "WWW-Authenticate" in unauthorized["headers"]
    detail = unauthorized["content"]["application/json"]["schema"]["properties"]["detail"]
    assert detail["properties"]["error"]["enum"] == ["unauthenticated"]
    forbidden = _responses(schema, "/documents", "get")["403"]["content"]["application/json"]
    assert forbidden["schema"]["properties"]["detail"]["properties"]["error"]["enum"] == [
        "cross_site_request",
        "forbidden",
        "insufficient_scope",
        "permission_denied",
        "tenancy_error",
    ]
    assert "Retry-After" in _responses(schema, "/documents", "get")["503"]["headers"]


def test_document_routes_without_running_the_app(app_rbac: StytchRBAC) -> None:
    """document_routes(app) documents the answers for a schema exported without running the
    app; it is idempotent, and a response the route declares itself wins."""
    app = guarded_app(app_rbac)
    own = Annotated[Principal, Depends(app_rbac.require("documents:read"))]

    @app.get("/own-401", responses={401: {"description": "Sign in first."}})
    async def own_401(who: own) -> None: ...

    assert "401" not in _responses(app.openapi(), "/documents", "get")
    document_routes(app)
    document_routes(app)
    schema = app.openapi()
    assert set(_responses(schema, "/documents", "get")) == {"200", "401", "403", "503"}
    assert _responses(schema, "/own-401", "get")["401"] == {"description": "Sign in first."}
    assert "403" in _responses(schema, "/own-401", "get")


def test_openapi_covers_included_routers(app_rbac: StytchRBAC) -> None:
    """A guard given as a router's dependency documents its schemes and answers on every
    operation of the router, under the include prefix."""
    app = FastAPI()
    router = APIRouter(dependencies=[Depends(app_rbac.require("reports:view"))])

    @router.get("/reports")
    async def reports() -> None: ...

    app.include_router(router, prefix="/api")
    document_routes(app)
    operation = app.openapi()["paths"]["/api/reports"]["get"]
    assert {"StytchSessionJWT": []} in operation["security"]
    assert set(operation["responses"]) == {"200", "401", "403", "503"}


# -- WebSocket routes ---------------------------------------------------------------------------


def test_websocket_guard_reads_the_handshake(
    app_rbac: StytchRBAC, make_client: MakeClient, member: MemberFactory
) -> None:
    """A guard on a WebSocket route authenticates the handshake's bearer header or cookie
    (it used to crash: missing argument 'request')."""
    viewer = member(roles=["viewer"])
    with make_client(guarded_app(app_rbac)) as client:
        for headers in (viewer.headers, cookie_header(viewer.cookies)):
            with client.websocket_connect("/ws/documents", headers=headers) as socket:
                assert socket.receive_json() == {"member_id": viewer.member_id}


def test_websocket_refused_with_1008_before_accepting(
    app_rbac: StytchRBAC, make_client: MakeClient, member: MemberFactory
) -> None:
    """No credential, a forged JWT, or a member without the permission: the handshake is
    refused with close code 1008 before the endpoint runs, naming the error, no credential."""
    nobody = member(roles=[])
    viewer = member(roles=["viewer"])
    cases = [
        ({}, "unauthenticated (missing)"),
        ({"Authorization": f"Bearer {forged(viewer.session_jwt)}"}, "unauthenticated (forged)"),
        (nobody.headers, "permission_denied"),
    ]
    with make_client(guarded_app(app_rbac)) as client:
        for headers, reason in cases:
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                client.websocket_connect("/ws/documents", headers=headers),
            ):
                pytest.fail("the handshake was accepted")
            assert (refused.value.code, refused.value.reason) == (1008, reason)


def test_websocket_refused_with_1013_when_stytch_is_down(
    app_rbac: StytchRBAC,
    make_client: MakeClient,
    member: MemberFactory,
    stytch_emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A session token Stytch cannot check (Stytch down) refuses the handshake with 1013
    (try again later), the WebSocket form of a 503."""
    viewer = member(roles=["viewer"])
    with make_client(guarded_app(app_rbac)) as client:
        stytch_emulator.faults.fail("sessions.authenticate", status=503)
        cookie = cookie_header({"stytch_session": viewer.session_token})
        with (
            caplog.at_level(logging.CRITICAL, logger="stytch_rbac"),
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect("/ws/documents", headers=cookie),
        ):
            pytest.fail("the handshake was accepted")
    assert (refused.value.code, refused.value.reason) == (1013, "stytch_unavailable")


# -- lifespan and the start-up check ------------------------------------------------------------


@pytest.mark.stytch_http
def test_two_test_client_blocks_in_a_row(
    stytch_emulator: Emulator, stytch_base_url: str, make_client: MakeClient, member: MemberFactory
) -> None:
    """A module-level StytchRBAC opened by the lifespan helper serves one TestClient block,
    is closed at its end, and is opened again by the next block (it used to fail with
    'this StytchRBAC is closed')."""
    viewer = member(roles=["viewer"])
    rbac = StytchRBAC(
        stytch_emulator.project_id,
        stytch_emulator.secret,
        base_url=stytch_base_url,
        clock=stytch_emulator.clock,
    )
    app = guarded_app(rbac)
    pools = []
    for _ in range(2):
        with make_client(app) as client:
            answer = client.get("/documents", headers=viewer.headers)
            assert answer.status_code == 200
            assert answer.json() == {"member_id": viewer.member_id}
            pools.append(rbac.http)
        assert rbac.http.is_closed
    assert pools[0] is not pools[1]


def _app_with_typo(rbac: StytchRBAC, **options: Any) -> FastAPI:
    app = guarded_app(rbac, **options)
    typo = Annotated[Principal, Depends(rbac.require("documents:raed"))]

    @app.get("/typo")
    async def with_typo(who: typo) -> None: ...

    return app


def test_misspelt_guard_permission_stops_start_up(
    app_rbac: StytchRBAC, make_client: MakeClient, stytch_emulator: Emulator
) -> None:
    """A guard asking for a permission the policy lacks stops the app at start-up with
    UnknownPermission naming the guard and the route (it used to be a 500 on the first
    authenticated request); no request is served."""
    with pytest.raises(UnknownPermission) as unknown, make_client(_app_with_typo(app_rbac)):
        pytest.fail("the app started")
    assert (unknown.value.resource, unknown.value.action) == ("documents", "raed")
    assert unknown.value.__notes__ == ["required by Guard(documents:raed) on GET /typo"]
    assert stytch_emulator.requests["sessions.authenticate"] == 0


def test_start_up_check_finds_every_guard(app_rbac: StytchRBAC, make_client: MakeClient) -> None:
    """Router and route dependencies, WebSocket routes, @guard endpoints and mounted apps are
    checked; every unknown permission is named (in route order), the first in the message."""
    app = FastAPI(lifespan=lifespan(app_rbac))
    router = APIRouter(dependencies=[Depends(app_rbac.require("reports:veiw"))])

    @router.get("/reports")
    async def reports() -> None: ...

    @app.websocket("/ws", dependencies=[Depends(app_rbac.require("documents:fly"))])
    async def socket(websocket: WebSocket) -> None: ...

    sub = FastAPI()

    @sub.get("/inner")
    @app_rbac.require("nowhere:read")
    async def inner(request: Request) -> None: ...

    app.include_router(router, prefix="/api")
    app.mount("/sub", sub)
    with pytest.raises(UnknownPermission) as unknown, make_client(app):
        pytest.fail("the app started")
    notes = unknown.value.__notes__
    assert str(unknown.value) == (
        "action 'fly' is not defined on resource 'documents' in the RBAC policy"
    )
    assert notes == [
        "required by Guard(documents:fly) on WebSocket /ws",
        "also not in the policy: reports:veiw (Guard(reports:veiw) on GET /api/reports)",
        "also not in the policy: nowhere:read (Guard(nowhere:read) on GET /sub/inner)",
    ]


def test_lenient_policy_warns_and_starts(
    stytch_emulator: Emulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """With strict=False a guard's unknown permission is logged at start-up (it is denied to
    everyone) and the app starts."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=stytch_emulator.app))
    rbac = StytchRBAC(
        stytch_emulator.project_id,
        stytch_emulator.secret,
        base_url="http://emulator.invalid",
        http_client=http,
        strict=False,
    )
    with (
        caplog.at_level(logging.WARNING, logger="stytch_rbac"),
        make_client(_app_with_typo(rbac)) as client,
    ):
        assert client.get("/public").status_code == 200
    anyio.run(http.aclose)
    warnings = [r.getMessage() for r in caplog.records if "documents:raed" in r.getMessage()]
    assert warnings == [
        "stytch_rbac: Guard(documents:raed) on GET /typo requires documents:raed, which the "
        "RBAC policy does not define: it is denied to everyone"
    ]


def test_start_up_check_skipped_when_stytch_is_down(
    app_rbac: StytchRBAC,
    make_client: MakeClient,
    stytch_emulator: Emulator,
    member: MemberFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With Stytch unreachable at start-up the check is skipped with a warning: the app
    starts, public routes answer, guarded ones 503."""
    viewer = member(roles=["viewer"])
    stytch_emulator.faults.fail("rbac.policy", status=500)
    with (
        caplog.at_level(logging.WARNING, logger="stytch_rbac"),
        make_client(_app_with_typo(app_rbac)) as client,
    ):
        assert client.get("/public").status_code == 200
        assert client.get("/documents", headers=viewer.headers).status_code == 503
    assert any("could not check the guards' permissions" in r.getMessage() for r in caplog.records)


def test_verify_and_document_can_be_turned_off(
    app_rbac: StytchRBAC, make_client: MakeClient
) -> None:
    """lifespan(rbac, verify=False, document=False) only opens the facade."""
    app = _app_with_typo(app_rbac, verify=False, document=False)
    with make_client(app) as client:
        assert client.get("/public").status_code == 200
        assert "401" not in _responses(app.openapi(), "/documents", "get")


@pytest.mark.anyio
async def test_verify_routes_in_your_own_lifespan(stytch_rbac: StytchRBAC) -> None:
    """verify_routes(app) is the same check for an app with its own lifespan."""
    await verify_routes(guarded_app(stytch_rbac))
    with pytest.raises(UnknownPermission, match="'raed'"):
        await verify_routes(_app_with_typo(stytch_rbac))


# -- the optional principal ---------------------------------------------------------------------


def optional_app(rbac: StytchRBAC, *, middleware: bool) -> FastAPI:
    """``/hello`` greets a member or an anonymous visitor (OptionalPrincipal with the
    middleware, optional_principal_for(rbac) without)."""
    app = FastAPI()
    if middleware:
        app.add_middleware(StytchSessionMiddleware, rbac=rbac)
        who_type: Any = OptionalPrincipal
    else:
        who_type = Annotated[Principal | None, Depends(optional_principal_for(rbac))]

    async def hello(who: Principal | None) -> dict[str, str | None]:
        return {"member_id": who.member_id if who else None}

    hello.__annotations__["who"] = who_type
    app.get("/hello")(hello)
    return app


@pytest.mark.anyio
@pytest.mark.parametrize("middleware", [True, False], ids=["middleware", "own-authentication"])
async def test_optional_principal(
    stytch_rbac: StytchRBAC,
    stytch_emulator: Emulator,
    member: MemberFactory,
    middleware: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Signed in: the Principal. No credential: None. A presented credential that is refused
    (forged, revoked): 401, as on a guarded route. Stytch down for a session token: 503."""
    viewer: SeededMember = member(roles=["viewer"])
    async with asgi_client(optional_app(stytch_rbac, middleware=middleware)) as client:
        signed_in = await client.get("/hello", headers=viewer.headers)
        anonymous = await client.get("/hello")
        forged_jwt = await client.get(
            "/hello", headers={"Authorization": f"Bearer {forged(viewer.session_jwt)}"}
        )
        stytch_emulator.faults.fail("sessions.authenticate", status=503)
        with caplog.at_level(logging.CRITICAL, logger="stytch_rbac"):
            down = await client.get(
                "/hello", headers=cookie_header({"stytch_session": viewer.session_token})
            )
    assert signed_in.json() == {"member_id": viewer.member_id}
    assert anonymous.json() == {"member_id": None}
    assert forged_jwt.status_code == 401
    assert forged_jwt.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert forged_jwt.json()["detail"]["reason"] == "forged"
    assert down.status_code == 503


def test_optional_principal_in_openapi(app_rbac: StytchRBAC) -> None:
    """optional_principal_for declares its security schemes and documents 401 and 503, no 403."""
    app = optional_app(app_rbac, middleware=False)
    document_routes(app)
    operation = app.openapi()["paths"]["/hello"]["get"]
    assert {"StytchSessionJWT": []} in operation["security"]
    assert set(operation["responses"]) == {"200", "401", "503"}
