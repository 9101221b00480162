"""One authentication per request, never reused by a guard configured differently.

The request's authentication outcome is kept per producer: the ``StytchRBAC`` that
authenticated and the credential it read (source, kind, value). A guard whose credential
sources differ from the middleware's, or that belongs to another project, authenticates
itself; a guard reading the very same credential with the same ``StytchRBAC`` reuses it.

Real FastAPI and Starlette apps in-process, against the emulator (two emulators, two
projects, for the cross-project case).
"""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stytch_rbac import Principal, StytchRBAC
from stytch_rbac.emulator import Emulator
from stytch_rbac.integrations.fastapi import CurrentPrincipal, StytchSessionMiddleware
from stytch_rbac.integrations.guard import CredentialConfig, request_auth
from stytch_rbac.integrations.starlette import exception_handlers, principal_of
from stytch_rbac.testing import MemberFactory, SeededMember

from .test_fastapi import asgi_client, cookie_header

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(POLICY)]

BEARER_JWT_ONLY = CredentialConfig(bearer="session_jwt", jwt_cookie=None, token_cookie=None)
BEARER_TOKEN_ONLY = CredentialConfig(bearer="session_token", jwt_cookie=None, token_cookie=None)
EVIL = {"Origin": "https://evil.example"}


def app_with(
    rbac: StytchRBAC,
    route_guard_rbac: StytchRBAC | None = None,
    *,
    middleware: bool = True,
    app_wide_guard: bool = False,
) -> FastAPI:
    """``/bearer-jwt`` and ``/bearer-token`` read only the Authorization header (as a JWT, as a
    session token); ``/other-project`` is guarded by ``route_guard_rbac``; ``/me`` is the
    middleware's principal. ``app_wide_guard`` adds ``Depends(rbac.require())`` to every route."""
    dependencies = [Depends(rbac.require())] if app_wide_guard else []
    app = FastAPI(dependencies=dependencies)
    if middleware:
        app.add_middleware(StytchSessionMiddleware, rbac=rbac)
    bearer_jwt = Annotated[Principal, Depends(rbac.require(credentials=BEARER_JWT_ONLY))]
    bearer_token = Annotated[Principal, Depends(rbac.require(credentials=BEARER_TOKEN_ONLY))]

    @app.get("/bearer-jwt")
    async def by_bearer_jwt(who: bearer_jwt) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.get("/bearer-token")
    async def by_bearer_token(who: bearer_token) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.get("/me")
    async def me(who: CurrentPrincipal) -> dict[str, str]:
        return {"member_id": who.member_id}

    if route_guard_rbac is not None:
        other = Annotated[Principal, Depends(route_guard_rbac.require())]

        @app.get("/other-project")
        async def other_project(who: other) -> dict[str, str]:
            return {"member_id": who.member_id}

    return app


@pytest.fixture
async def project_b() -> AsyncIterator[tuple[Emulator, StytchRBAC]]:
    """A second project (its own emulator, keys and members) and its StytchRBAC."""
    emulator = Emulator(policy=POLICY)
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url="http://project-b.invalid"
    )
    async with (
        http,
        StytchRBAC(
            emulator.project_id,
            emulator.secret,
            base_url="http://project-b.invalid",
            http_client=http,
            clock=emulator.clock,
        ) as rbac,
    ):
        yield emulator, rbac


# -- the three reproductions of the issue ----------------------------------------------------


@pytest.mark.parametrize(
    ("middleware", "app_wide_guard"),
    [(True, False), (False, True)],
    ids=["session-middleware", "app-wide-guard"],
)
async def test_bearer_only_guard_does_not_run_as_the_cookies_member(
    stytch_rbac: StytchRBAC, member: MemberFactory, middleware: bool, app_wide_guard: bool
) -> None:
    """A bearer-only route with only a session cookie is 401, though the middleware (or an
    app-wide guard reading cookies) authenticated the cookie: the guard accepts no cookie.
    With a bearer JWT it runs as the bearer's member, not the cookie's."""
    cookie_member, bearer_member = member(roles=["viewer"]), member(roles=["viewer"])
    app = app_with(stytch_rbac, middleware=middleware, app_wide_guard=app_wide_guard)
    cookies = cookie_header(cookie_member.cookies)
    async with asgi_client(app) as client:
        cookie_only = await client.get("/bearer-jwt", headers={**cookies, **EVIL})
        both = await client.get("/bearer-jwt", headers={**cookies, **bearer_member.headers})
    assert cookie_only.status_code == 401, cookie_only.text
    assert cookie_only.json()["detail"]["reason"] == "missing"
    assert both.status_code == 200, both.text
    assert both.json() == {"member_id": bearer_member.member_id}


async def test_bearer_session_token_guard_behind_the_middleware(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """A ``bearer="session_token"`` route behind the default middleware (which reads the
    bearer value as a JWT and refuses it) authenticates the token itself: 200."""
    viewer = member(roles=["viewer"])
    app = app_with(stytch_rbac)
    async with asgi_client(app) as client:
        answer = await client.get(
            "/bearer-token", headers={"Authorization": f"Bearer {viewer.session_token}"}
        )
        as_middleware_sees_it = await client.get(
            "/me", headers={"Authorization": f"Bearer {viewer.session_token}"}
        )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"member_id": viewer.member_id}
    # The middleware's own outcome is unchanged: to it the bearer value is a malformed JWT.
    assert as_middleware_sees_it.status_code == 401


async def test_other_projects_guard_does_not_reuse_this_projects_principal(
    stytch_rbac: StytchRBAC, member: MemberFactory, project_b: tuple[Emulator, StytchRBAC]
) -> None:
    """A route guarded by project B's StytchRBAC, behind project A's middleware, verifies the
    credential with project B: project A's session is 401 there, project B's is 200."""
    _, rbac_b = project_b
    a_member = member(roles=["viewer"])
    b_member = viewer_in(project_b[0])
    app = app_with(stytch_rbac, route_guard_rbac=rbac_b)
    async with asgi_client(app) as client:
        for headers in (a_member.headers, cookie_header(a_member.cookies)):
            a_answer = await client.get("/other-project", headers=headers)
            assert a_answer.status_code == 401, a_answer.text
        b_answer = await client.get("/other-project", headers=b_member.headers)
        a_on_a = await client.get("/me", headers=a_member.headers)
    assert b_answer.status_code == 200, b_answer.text
    assert b_answer.json() == {"member_id": b_member.member_id}
    assert a_on_a.json() == {"member_id": a_member.member_id}


def viewer_in(emulator: Emulator) -> SeededMember:
    """A viewer with a live session in ``emulator``."""
    return MemberFactory(emulator)(roles=["viewer"])


# -- what is still shared ---------------------------------------------------------------------


async def test_same_credential_same_rbac_is_authenticated_once(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """The middleware reading bearer session tokens and a bearer-only guard reading the same
    token share one authentication (one Stytch call); the route gets the same Principal."""
    viewer = member(roles=["viewer"])
    tokens_everywhere = CredentialConfig(bearer="session_token")
    app = FastAPI()
    app.add_middleware(StytchSessionMiddleware, rbac=stytch_rbac, credentials=tokens_everywhere)
    guard = stytch_rbac.require("documents:read", credentials=BEARER_TOKEN_ONLY)

    @app.get("/documents")
    async def documents(
        who: Annotated[Principal, Depends(guard)], me: CurrentPrincipal
    ) -> dict[str, bool]:
        return {"same": who is me}

    before = stytch_emulator.requests["sessions.authenticate"]
    async with asgi_client(app) as client:
        answer = await client.get(
            "/documents", headers={"Authorization": f"Bearer {viewer.session_token}"}
        )
    assert answer.json() == {"same": True}
    assert stytch_emulator.requests["sessions.authenticate"] == before + 1


async def test_principal_of_is_the_guards_principal_in_starlette(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """In a ``@guard`` Starlette endpoint behind the middleware, ``principal_of`` is the
    principal the guard approved (the bearer's), not the middleware's (the cookie's)."""
    cookie_member, bearer_member = member(roles=["viewer"]), member(roles=["viewer"])

    @stytch_rbac.require("documents:read", credentials=BEARER_JWT_ONLY)
    async def documents(request: Request) -> Response:
        assert request_auth(request) is not None
        return JSONResponse({"member_id": principal_of(request).member_id})

    routes = [Route("/documents", documents)]
    app = Starlette(routes=routes, exception_handlers=exception_handlers())
    # The middleware reads cookies only: its principal is the cookie's member.
    app.add_middleware(
        StytchSessionMiddleware, rbac=stytch_rbac, credentials=CredentialConfig(bearer=None)
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        answer = await client.get(
            "/documents",
            headers={
                **cookie_header(cookie_member.cookies),
                "Authorization": bearer_member.headers["Authorization"],
            },
        )
        cookie_only = await client.get("/documents", headers=cookie_header(cookie_member.cookies))
    assert answer.json() == {"member_id": bearer_member.member_id}
    assert cookie_only.status_code == 401
