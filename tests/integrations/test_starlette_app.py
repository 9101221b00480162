"""A Starlette app's life with stytch-rbac: ``request.user`` and ``@requires`` through the
authentication backend, ``@guard`` on WebSocket endpoints (close code 1008 before accepting)
and the lifespan helper with its start-up check.

HTTP runs in-process through httpx; WebSockets and lifespans under Starlette's ``TestClient``
(on asyncio and trio).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from stytch_rbac import Policy, PolicyRolePermission, StytchRBAC, UnknownPermission
from stytch_rbac.emulator import Emulator
from stytch_rbac.integrations.starlette import (
    StytchAuthBackend,
    StytchSessionMiddleware,
    StytchUser,
    authentication_middleware,
    exception_handlers,
    lifespan,
    on_auth_error,
    principal_of,
    verify_routes,
)
from stytch_rbac.testing import MemberFactory

if TYPE_CHECKING:
    from starlette.testclient import TestClient
    from starlette.types import ASGIApp

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
pytestmark = pytest.mark.stytch_policy(POLICY)

MakeClient = Callable[["ASGIApp"], "TestClient"]


def forged(jwt: str) -> str:
    """``jwt`` with its signature's last characters changed."""
    head, body, signature = jwt.split(".")
    return ".".join((head, body, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")))


# -- request.user and @requires -----------------------------------------------------------------


def auth_app(rbac: StytchRBAC, *, session_middleware: bool = False) -> Starlette:
    """``/me`` shows request.user; ``/edit`` needs ``@requires("documents:edit")``;
    ``/guarded`` is a ``@guard`` reusing the backend's authentication."""

    async def me(request: Request) -> Response:
        user = request.user
        return JSONResponse(
            {
                "authenticated": user.is_authenticated,
                "name": user.display_name,
                "scopes": request.auth.scopes,
            }
        )

    @requires(["authenticated", "documents:edit"])
    async def edit(request: Request) -> Response:
        assert isinstance(request.user, StytchUser)
        return JSONResponse({"member_id": request.user.principal.member_id})

    @rbac.require("documents:read")
    async def guarded(request: Request) -> Response:
        return JSONResponse({"member_id": principal_of(request).member_id})

    middleware = [authentication_middleware(rbac)]
    if session_middleware:
        middleware.insert(0, Middleware(StytchSessionMiddleware, rbac=rbac))
    return Starlette(
        routes=[Route("/me", me), Route("/edit", edit), Route("/guarded", guarded)],
        middleware=middleware,
        exception_handlers=exception_handlers(),
    )


def asgi_client(app: Starlette) -> httpx.AsyncClient:
    """An httpx client calling ``app`` in-process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")


@pytest.mark.anyio
async def test_request_user_and_scopes(stytch_rbac: StytchRBAC, member: MemberFactory) -> None:
    """A signed-in member is request.user (a StytchUser) with the scopes "authenticated" and
    every "resource:action" their roles grant; an anonymous request is Starlette's
    UnauthenticatedUser with no scope."""
    viewer = member(roles=["viewer"])
    async with asgi_client(auth_app(stytch_rbac)) as client:
        signed_in = (await client.get("/me", headers=viewer.headers)).json()
        anonymous = (await client.get("/me")).json()
    policy = await stytch_rbac.policy(viewer.organization_id)
    granted = sorted(f"{r}:{a}" for r, a in policy.granted(viewer.principal.roles))
    assert signed_in == {
        "authenticated": True,
        "name": viewer.member_id,
        "scopes": ["authenticated", *granted],
    }
    assert "documents:read" in granted
    assert "documents:edit" not in granted
    assert anonymous == {"authenticated": False, "name": "", "scopes": []}


@pytest.mark.anyio
async def test_scopes_follow_a_policy_change(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """Once the policy changes (here: viewers may also edit), the next request's scopes say so."""
    viewer = member(roles=["viewer"])
    async with asgi_client(auth_app(stytch_rbac)) as client:
        before = (await client.get("/me", headers=viewer.headers)).json()["scopes"]
        policy = Policy.from_file(POLICY)
        roles = [
            role.model_copy(
                update={
                    "permissions": (
                        *role.permissions,
                        PolicyRolePermission(resource_id="documents", actions=("edit",)),
                    )
                }
            )
            if role.role_id == "viewer"
            else role
            for role in policy.roles
        ]
        stytch_emulator.set_policy(policy.model_copy(update={"roles": tuple(roles)}))
        await stytch_rbac.refresh_policy()
        after = (await client.get("/me", headers=viewer.headers)).json()["scopes"]
        allowed = await client.get("/edit", headers=viewer.headers)
    assert "documents:edit" not in before
    assert set(after) == {*before, "documents:edit"}
    assert allowed.status_code == 200


@pytest.mark.anyio
async def test_requires_with_permissions(stytch_rbac: StytchRBAC, member: MemberFactory) -> None:
    """@requires("documents:edit") lets an editor in and answers Starlette's 403 to a viewer
    and to an anonymous request."""
    editor, viewer = member(roles=["editor"]), member(roles=["viewer"])
    async with asgi_client(auth_app(stytch_rbac)) as client:
        allowed = await client.get("/edit", headers=editor.headers)
        denied = await client.get("/edit", headers=viewer.headers)
        anonymous = await client.get("/edit")
    assert allowed.json() == {"member_id": editor.member_id}
    assert (denied.status_code, anonymous.status_code) == (403, 403)


@pytest.mark.anyio
async def test_refused_credential_is_a_401(stytch_rbac: StytchRBAC, member: MemberFactory) -> None:
    """A presented credential that is refused is answered by on_auth_error with the table's
    401 (JSON, WWW-Authenticate), not Starlette's plain 400, and echoes no credential."""
    viewer = member(roles=["viewer"])
    bad = forged(viewer.session_jwt)
    async with asgi_client(auth_app(stytch_rbac)) as client:
        answer = await client.get("/me", headers={"Authorization": f"Bearer {bad}"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert answer.json()["detail"]["reason"] == "forged"
    assert bad not in answer.text


@pytest.mark.anyio
async def test_stytch_down_is_a_503(
    stytch_rbac: StytchRBAC,
    stytch_emulator: Emulator,
    member: MemberFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A session token Stytch cannot check (Stytch down) is the table's 503."""
    viewer = member(roles=["viewer"])
    stytch_emulator.faults.fail("sessions.authenticate", status=503)
    async with asgi_client(auth_app(stytch_rbac)) as client:
        with caplog.at_level("CRITICAL", logger="stytch_rbac"):
            answer = await client.get(
                "/me", headers={"Cookie": f"stytch_session={viewer.session_token}"}
            )
    assert answer.status_code == 503
    assert answer.json()["detail"]["error"] == "stytch_unavailable"


@pytest.mark.anyio
@pytest.mark.parametrize("session_middleware", [False, True], ids=["backend", "both"])
async def test_backend_and_guards_authenticate_once(
    stytch_rbac: StytchRBAC,
    stytch_emulator: Emulator,
    member: MemberFactory,
    session_middleware: bool,
) -> None:
    """The backend stores its outcome on the request like the session middleware: a guard
    on the same request reuses it (one Stytch call for a session token)."""
    viewer = member(roles=["viewer"])
    app = auth_app(stytch_rbac, session_middleware=session_middleware)
    headers = {"Cookie": f"stytch_session={viewer.session_token}"}
    async with asgi_client(app) as client:
        before = stytch_emulator.requests["sessions.authenticate"]
        answer = await client.get("/guarded", headers=headers)
    assert answer.json() == {"member_id": viewer.member_id}
    assert stytch_emulator.requests["sessions.authenticate"] == before + 1


def test_backend_is_an_authentication_backend(stytch_emulator: Emulator) -> None:
    """StytchAuthBackend plugs into Starlette's AuthenticationMiddleware as documented."""
    from starlette.authentication import AuthenticationBackend
    from starlette.middleware.authentication import AuthenticationMiddleware

    rbac = StytchRBAC(stytch_emulator.project_id, stytch_emulator.secret, base_url="http://x")
    wiring = authentication_middleware(rbac)
    assert list(wiring) == [AuthenticationMiddleware, (), wiring.kwargs]
    assert isinstance(wiring.kwargs["backend"], StytchAuthBackend)
    assert wiring.kwargs["on_error"] is on_auth_error
    assert isinstance(StytchAuthBackend(rbac), AuthenticationBackend)


# -- WebSocket endpoints ------------------------------------------------------------------------


def websocket_app(rbac: StytchRBAC, **lifespan_options: bool) -> Starlette:
    """A ``@guard``-ed WebSocket endpoint (documents:read), with the exception handlers."""

    @rbac.require("documents:read")
    async def feed(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"member_id": principal_of(websocket).member_id})
        await websocket.close()

    return Starlette(
        routes=[WebSocketRoute("/ws", feed)],
        exception_handlers=exception_handlers(),
        lifespan=lifespan(rbac, **lifespan_options),
    )


def test_guarded_websocket_endpoint(
    app_rbac: StytchRBAC, make_client: MakeClient, member: MemberFactory
) -> None:
    """@guard on a WebSocket endpoint authenticates the handshake; a member without the
    permission, or no credential, is refused with 1008 before the socket is accepted."""
    viewer, nobody = member(roles=["viewer"]), member(roles=[])
    with make_client(websocket_app(app_rbac)) as client:
        with client.websocket_connect("/ws", headers=viewer.headers) as socket:
            assert socket.receive_json() == {"member_id": viewer.member_id}
        for headers, reason in (
            (nobody.headers, "permission_denied"),
            ({}, "unauthenticated (missing)"),
        ):
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                client.websocket_connect("/ws", headers=headers),
            ):
                pytest.fail("the handshake was accepted")
            assert (refused.value.code, refused.value.reason) == (1008, reason)


# -- lifespan -----------------------------------------------------------------------------------


def test_lifespan_opens_again_and_checks_guards(
    app_rbac: StytchRBAC, make_client: MakeClient, member: MemberFactory
) -> None:
    """lifespan(rbac) serves two TestClient blocks in a row, and a misspelt @guard
    permission stops start-up naming the route (also inside a Mount)."""
    viewer = member(roles=["viewer"])
    app = websocket_app(app_rbac)
    for _ in range(2):
        with (
            make_client(app) as client,
            client.websocket_connect("/ws", headers=viewer.headers) as socket,
        ):
            assert socket.receive_json()["member_id"] == viewer.member_id

    @app_rbac.require("documents:raed")
    async def typo(request: Request) -> Response:
        return JSONResponse({})

    broken = Starlette(
        routes=[Mount("/api", routes=[Route("/typo", typo, methods=["POST"])])],
        lifespan=lifespan(app_rbac),
    )
    with pytest.raises(UnknownPermission) as unknown, make_client(broken):
        pytest.fail("the app started")
    assert unknown.value.__notes__ == ["required by Guard(documents:raed) on POST /api/typo"]


@pytest.mark.anyio
async def test_verify_routes_on_endpoint_classes(stytch_rbac: StytchRBAC) -> None:
    """verify_routes finds guards on the methods of HTTPEndpoint classes."""
    from starlette.endpoints import HTTPEndpoint

    class Documents(HTTPEndpoint):
        @stytch_rbac.require("documents:fly")
        async def get(self, request: Request) -> Response:
            return JSONResponse({})

    app = Starlette(routes=[Route("/documents", Documents)])
    with pytest.raises(UnknownPermission, match="'fly'") as unknown:
        await verify_routes(app)
    assert unknown.value.__notes__ == ["required by Guard(documents:fly) on GET /documents"]
