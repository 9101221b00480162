"""FastAPI: ``Depends(rbac.require(...))`` answers 200 / 401 / 403 / 503 correctly, in-process
and over real HTTP (uvicorn on 127.0.0.1), with cookie and header credentials, tenancy,
``any_of``, the refreshed-JWT hand-back, the session middleware and 500 concurrent requests.

Everything runs against the emulator through the project's own pytest plugin fixtures.
"""

import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import anyio
import httpx
import pytest
from fastapi import Depends, FastAPI, Response
from fastapi.responses import PlainTextResponse
from starlette.requests import HTTPConnection

from stytch_rbac import AnyPrincipal, Permission, Principal, StytchRBAC
from stytch_rbac.emulator import Emulator
from stytch_rbac.integrations.fastapi import CurrentPrincipal, StytchSessionMiddleware
from stytch_rbac.integrations.guard import CredentialConfig, RequestLike, header, path
from stytch_rbac.testing import MemberFactory, SeededMember, serve_app

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
pytestmark = [pytest.mark.anyio, pytest.mark.stytch_policy(POLICY)]

READ = Permission("documents", "read")
EDIT = Permission("documents", "edit")
DELETE = Permission("documents", "delete")
BILLING_READ = Permission("billing", "read")


async def _org_from_query(request: RequestLike) -> str | None:
    return request.query_params.get("org")


def build_app(
    rbac: StytchRBAC,
    *,
    middleware: bool = False,
    own_lifespan: bool = False,
    credentials: CredentialConfig | None = None,
) -> FastAPI:
    """A FastAPI app with one route per guard shape; ``own_lifespan`` opens ``rbac`` itself."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with rbac:
            yield

    app = FastAPI(lifespan=lifespan if own_lifespan else None)
    if middleware:
        app.add_middleware(StytchSessionMiddleware, rbac=rbac, credentials=credentials)

    reader = Annotated[Principal, Depends(rbac.require(READ, credentials=credentials))]
    deleter = Annotated[Principal, Depends(rbac.require(DELETE, credentials=credentials))]
    org_editor = Annotated[
        Principal,
        Depends(
            rbac.require(EDIT, organization_id=path("organization_id"), credentials=credentials)
        ),
    ]
    header_editor = Annotated[
        Principal, Depends(rbac.require(EDIT, organization_id=header("X-Org-Id")))
    ]
    query_editor = Annotated[
        Principal, Depends(rbac.require(EDIT, organization_id=_org_from_query))
    ]
    billing_or_edit = Annotated[Principal, Depends(rbac.require(BILLING_READ, EDIT, any_of=True))]
    authenticated = Annotated[Principal, Depends(rbac.require())]

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/documents")
    async def list_documents(who: reader) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.delete("/documents")
    async def delete_documents(who: deleter) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.put("/orgs/{organization_id}/documents")
    async def edit_in_org(organization_id: str, who: org_editor) -> dict[str, str]:
        return {"member_id": who.member_id, "organization_id": organization_id}

    @app.put("/header-org/documents")
    async def edit_by_header(who: header_editor) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.put("/query-org/documents")
    async def edit_by_query(who: query_editor) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.get("/billing-or-edit")
    async def billing_or_edit_route(who: billing_or_edit) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.get("/whoami")
    async def whoami(who: authenticated) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.get("/two-guards")
    async def two_guards(a: reader, b: authenticated) -> dict[str, bool]:
        return {"same": a is b}

    @app.get("/me")
    async def me(who: CurrentPrincipal) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.get("/raw")
    async def raw(who: reader) -> Response:
        return PlainTextResponse(who.member_id)

    return app


def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    """A ``Cookie`` request header (httpx deprecates per-request ``cookies=``)."""
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


def forged(jwt: str) -> str:
    """``jwt`` with its signature's last characters changed."""
    head, body, signature = jwt.split(".")
    return ".".join((head, body, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")))


@dataclass
class Cast:
    """Members of two organizations: Acme (owner, editor, viewer, billing) and Globex (owner)."""

    acme_id: str
    globex_id: str
    owner: SeededMember
    editor: SeededMember
    viewer: SeededMember
    billing: SeededMember
    outsider: SeededMember


@pytest.fixture
def cast(member: MemberFactory) -> Cast:
    """Seed the cast in the emulator."""
    return Cast(
        acme_id=member.organization("Acme").organization_id,
        globex_id=member.organization("Globex").organization_id,
        owner=member(roles=["owner"]),
        editor=member(roles=["editor"]),
        viewer=member(roles=["viewer"]),
        billing=member(roles=["billing_admin"]),
        outsider=member(roles=["owner"], organization="Globex"),
    )


# (id, method, url, who, credential kind, extra headers, expected status)
Case = tuple[str, str, str, str | None, str, dict[str, str], int]


def cases(c: Cast) -> list[Case]:
    """The table every transport must answer identically."""
    acme, globex = c.acme_id, c.globex_id
    return [
        ("public-anonymous", "GET", "/public", None, "none", {}, 200),
        ("read-bearer", "GET", "/documents", "viewer", "bearer", {}, 200),
        ("read-jwt-cookie", "GET", "/documents", "viewer", "jwt-cookie", {}, 200),
        ("read-token-cookie", "GET", "/documents", "viewer", "token-cookie", {}, 200),
        ("read-missing", "GET", "/documents", None, "none", {}, 401),
        ("read-forged", "GET", "/documents", "viewer", "forged", {}, 401),
        ("read-garbage", "GET", "/documents", "viewer", "garbage", {}, 401),
        ("delete-owner", "DELETE", "/documents", "owner", "bearer", {}, 200),
        ("delete-editor", "DELETE", "/documents", "editor", "bearer", {}, 403),
        ("org-edit-own", "PUT", f"/orgs/{acme}/documents", "editor", "bearer", {}, 200),
        ("org-edit-viewer", "PUT", f"/orgs/{acme}/documents", "viewer", "bearer", {}, 403),
        ("org-edit-other-org", "PUT", f"/orgs/{globex}/documents", "editor", "bearer", {}, 403),
        ("org-edit-outsider", "PUT", f"/orgs/{acme}/documents", "outsider", "bearer", {}, 403),
        ("org-edit-missing", "PUT", f"/orgs/{acme}/documents", None, "none", {}, 401),
        ("header-own", "PUT", "/header-org/documents", "editor", "bearer", {"X-Org-Id": acme}, 200),
        (
            "header-other",
            "PUT",
            "/header-org/documents",
            "editor",
            "bearer",
            {"X-Org-Id": globex},
            403,
        ),
        ("header-absent", "PUT", "/header-org/documents", "editor", "bearer", {}, 403),
        ("query-own", "PUT", f"/query-org/documents?org={acme}", "owner", "bearer", {}, 200),
        ("query-other", "PUT", f"/query-org/documents?org={globex}", "owner", "bearer", {}, 403),
        ("any-of-editor", "GET", "/billing-or-edit", "editor", "bearer", {}, 200),
        ("any-of-billing", "GET", "/billing-or-edit", "billing", "bearer", {}, 200),
        ("any-of-viewer", "GET", "/billing-or-edit", "viewer", "bearer", {}, 403),
        ("authenticated-only", "GET", "/whoami", "billing", "token-cookie", {}, 200),
    ]


def credentials_for(member: SeededMember | None, kind: str) -> dict[str, str]:
    """Request headers presenting ``member``'s credential the way ``kind`` says."""
    if member is None or kind == "none":
        return {}
    if kind == "bearer":
        return member.headers
    if kind == "jwt-cookie":
        return cookie_header({"stytch_session_jwt": member.session_jwt})
    if kind == "token-cookie":
        return cookie_header({"stytch_session": member.session_token})
    if kind == "forged":
        return {"Authorization": f"Bearer {forged(member.session_jwt)}"}
    return {"Authorization": "Bearer not-a-jwt"}


async def check_table(client: httpx.AsyncClient, c: Cast) -> None:
    """Run :func:`cases` through ``client`` and check status, headers and bodies."""
    for case_id, method, url, who, kind, extra, expected in cases(c):
        member = getattr(c, who) if who else None
        response = await client.request(
            method, url, headers={**credentials_for(member, kind), **extra}
        )
        assert response.status_code == expected, (case_id, response.text)
        if expected == 200 and member is not None:
            assert response.json()["member_id"] == member.member_id, case_id
        if expected in (401, 403):
            assert response.headers["content-type"] == "application/json", case_id
            assert set(response.json()) == {"detail"}, case_id
        if expected == 401:
            assert response.headers["www-authenticate"].startswith("Bearer"), case_id
        if member is not None:
            for secret in (member.session_jwt, member.session_token, forged(member.session_jwt)):
                assert secret not in response.text, case_id


def asgi_client(app: FastAPI) -> httpx.AsyncClient:
    """An httpx client calling ``app`` in-process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")


async def test_status_table_in_process(stytch_rbac: StytchRBAC, cast: Cast) -> None:
    """Every guard shape answers the expected status in-process, and no body echoes a token."""
    async with asgi_client(build_app(stytch_rbac)) as client:
        await check_table(client, cast)


async def test_status_table_in_process_with_middleware(stytch_rbac: StytchRBAC, cast: Cast) -> None:
    """With the session middleware installed the answers are the same."""
    async with asgi_client(build_app(stytch_rbac, middleware=True)) as client:
        await check_table(client, cast)


@pytest.mark.stytch_http
async def test_status_table_over_real_http(
    stytch_emulator: Emulator, stytch_base_url: str, cast: Cast
) -> None:
    """Over real HTTP (uvicorn app, emulator over HTTP too) the same table holds, and an
    expired JWT comes back refreshed."""
    assert stytch_base_url.startswith("http://127.0.0.1:")
    rbac = StytchRBAC(
        stytch_emulator.project_id,
        stytch_emulator.secret,
        base_url=stytch_base_url,
        clock=stytch_emulator.clock,
    )
    with serve_app(build_app(rbac, middleware=True, own_lifespan=True)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            await check_table(client, cast)
            # The refreshed-JWT hand-back over the wire: header for bearer, cookie for cookie.
            stytch_emulator.advance_time(301)
            bearer = await client.get("/documents", headers=cast.viewer.headers)
            cookie = await client.get(
                "/documents", headers=cookie_header({"stytch_session_jwt": cast.editor.session_jwt})
            )
    assert bearer.status_code == 200
    assert bearer.headers["x-stytch-session-jwt"] != cast.viewer.session_jwt
    assert cookie.status_code == 200
    assert cookie.headers["set-cookie"].startswith("stytch_session_jwt=")
    assert cast.editor.session_jwt not in cookie.headers["set-cookie"]


async def test_error_bodies(stytch_rbac: StytchRBAC, cast: Cast) -> None:
    """401, 403 and tenancy bodies name the problem with fixed texts and ids only."""
    async with asgi_client(build_app(stytch_rbac)) as client:
        missing = await client.get("/documents")
        assert missing.json() == {
            "detail": {
                "error": "unauthenticated",
                "reason": "missing",
                "message": "not authenticated (missing)",
            }
        }
        assert missing.headers["www-authenticate"] == "Bearer"
        forged_answer = await client.get(
            "/documents", headers={"Authorization": f"Bearer {forged(cast.viewer.session_jwt)}"}
        )
        assert forged_answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        assert forged_answer.json()["detail"]["error"] == "unauthenticated"
        denied = await client.delete("/documents", headers=cast.editor.headers)
        assert denied.json()["detail"] == {
            "error": "permission_denied",
            "message": "the member may not 'delete' on 'documents'",
            "resource": "documents",
            "action": "delete",
            "organization_id": cast.acme_id,
        }
        other = await client.put(f"/orgs/{cast.globex_id}/documents", headers=cast.editor.headers)
        assert other.json()["detail"]["error"] == "tenancy_error"
        assert other.json()["detail"]["organization_id"] == cast.globex_id


async def test_revoked_session_token_is_401(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, cast: Cast
) -> None:
    """A revoked session's token is refused by Stytch: 401 with an invalid_token challenge."""
    stytch_emulator.revoke_session(session_token=cast.viewer.session_token)
    async with asgi_client(build_app(stytch_rbac)) as client:
        answer = await client.get(
            "/documents", headers=cookie_header({"stytch_session": cast.viewer.session_token})
        )
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_stytch_unavailable_is_503(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, cast: Cast
) -> None:
    """With no policy cached and Stytch failing, a guarded route answers 503, a public one 200."""
    stytch_emulator.faults.fail("rbac.policy", status=500)
    async with asgi_client(build_app(stytch_rbac)) as client:
        answer = await client.get("/documents", headers=cast.viewer.headers)
        public = await client.get("/public", headers=cast.viewer.headers)
    assert answer.status_code == 503
    assert answer.json()["detail"]["error"] == "stytch_unavailable"
    assert cast.viewer.session_jwt not in answer.text
    assert public.status_code == 200


async def test_session_token_needs_stytch_so_503_when_down(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, cast: Cast
) -> None:
    """A session token can only be checked by Stytch: when it is down the answer is 503."""
    stytch_emulator.faults.fail("sessions.authenticate", status=503)
    async with asgi_client(build_app(stytch_rbac)) as client:
        answer = await client.get(
            "/whoami", headers=cookie_header({"stytch_session": cast.viewer.session_token})
        )
    assert answer.status_code == 503
    assert cast.viewer.session_token not in answer.text


async def _expire_and_call(
    rbac: StytchRBAC,
    emulator: Emulator,
    member: SeededMember,
    headers: dict[str, str],
    *,
    url: str = "/documents",
    middleware: bool = False,
    credentials: CredentialConfig | None = None,
) -> httpx.Response:
    emulator.advance_time(301)  # the 5-minute JWT expires; the 60-minute session lives on
    app = build_app(rbac, middleware=middleware, credentials=credentials)
    async with asgi_client(app) as client:
        return await client.get(url, headers=headers)


async def _assert_fresh(rbac: StytchRBAC, old: str, new: str) -> None:
    assert new != old
    principal = await rbac.authenticate(session_jwt=new)
    assert not principal.jwt_refreshed


async def test_refreshed_jwt_handed_back_in_header_for_bearer(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, cast: Cast
) -> None:
    """An expired bearer JWT of a live session passes, and the fresh JWT comes back in a header."""
    answer = await _expire_and_call(stytch_rbac, stytch_emulator, cast.viewer, cast.viewer.headers)
    assert answer.status_code == 200
    assert "set-cookie" not in answer.headers
    await _assert_fresh(
        stytch_rbac, cast.viewer.session_jwt, answer.headers["x-stytch-session-jwt"]
    )


async def test_refreshed_jwt_handed_back_as_cookie_for_cookie(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, cast: Cast
) -> None:
    """An expired JWT cookie of a live session passes, and the fresh JWT is set as that cookie."""
    headers = cookie_header({"stytch_session_jwt": cast.viewer.session_jwt})
    answer = await _expire_and_call(stytch_rbac, stytch_emulator, cast.viewer, headers)
    assert answer.status_code == 200
    assert "x-stytch-session-jwt" not in answer.headers
    cookie = answer.headers["set-cookie"]
    name_value, *attributes = cookie.split("; ")
    name, _, value = name_value.partition("=")
    assert name == "stytch_session_jwt"
    assert {"Path=/", "Secure", "SameSite=Lax"} <= set(attributes)
    assert any(a.startswith("Expires=") for a in attributes)
    await _assert_fresh(stytch_rbac, cast.viewer.session_jwt, value)


async def test_refreshed_jwt_handed_back_even_when_denied(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, cast: Cast
) -> None:
    """A 403 answer still hands back the fresh JWT, so the client keeps a valid session."""
    answer = await _expire_and_call(
        stytch_rbac, stytch_emulator, cast.editor, cast.editor.headers, url="/billing-or-edit"
    )
    assert answer.status_code == 200
    denied = await _expire_and_call(
        stytch_rbac, stytch_emulator, cast.viewer, cast.viewer.headers, url="/billing-or-edit"
    )
    assert denied.status_code == 403
    await _assert_fresh(
        stytch_rbac, cast.viewer.session_jwt, denied.headers["x-stytch-session-jwt"]
    )


async def test_handback_configurable(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, cast: Cast
) -> None:
    """``handback="both"`` with a custom header name sends the cookie and the header."""
    config = CredentialConfig(handback="both", handback_header="X-Fresh", cookie_secure=False)
    answer = await _expire_and_call(
        stytch_rbac, stytch_emulator, cast.viewer, cast.viewer.headers, credentials=config
    )
    assert answer.status_code == 200
    assert "Secure" not in answer.headers["set-cookie"]
    assert answer.headers["set-cookie"].startswith(
        f"stytch_session_jwt={answer.headers['x-fresh']};"
    )


async def test_no_handback_when_not_refreshed(stytch_rbac: StytchRBAC, cast: Cast) -> None:
    """A JWT that is still valid gets no cookie or header back."""
    async with asgi_client(build_app(stytch_rbac, middleware=True)) as client:
        answer = await client.get("/documents", headers=cast.viewer.headers)
    assert answer.status_code == 200
    assert "set-cookie" not in answer.headers
    assert "x-stytch-session-jwt" not in answer.headers


async def test_middleware_hands_back_on_returned_response(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, cast: Cast
) -> None:
    """With the middleware, an endpoint returning its own Response still carries the fresh JWT,
    exactly once."""
    answer = await _expire_and_call(
        stytch_rbac,
        stytch_emulator,
        cast.viewer,
        cookie_header(cast.viewer.cookies),
        url="/raw",
        middleware=True,
    )
    assert answer.status_code == 200
    assert answer.text == cast.viewer.member_id
    assert len(answer.headers.get_list("set-cookie")) == 1
    value = answer.headers["set-cookie"].split(";")[0].partition("=")[2]
    await _assert_fresh(stytch_rbac, cast.viewer.session_jwt, value)


async def test_one_authentication_per_request(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, cast: Cast
) -> None:
    """Two guards on one request share one Principal; a session token costs one Stytch call."""
    headers = cookie_header({"stytch_session": cast.viewer.session_token})
    for middleware in (False, True):
        async with asgi_client(build_app(stytch_rbac, middleware=middleware)) as client:
            before = stytch_emulator.requests["sessions.authenticate"]
            answer = await client.get("/two-guards", headers=headers)
            assert answer.json() == {"same": True}
            assert stytch_emulator.requests["sessions.authenticate"] == before + 1


async def test_current_principal_with_middleware(stytch_rbac: StytchRBAC, cast: Cast) -> None:
    """``CurrentPrincipal`` returns the middleware's Principal, and 401 without credentials."""
    async with asgi_client(build_app(stytch_rbac, middleware=True)) as client:
        ok = await client.get("/me", headers=cast.billing.headers)
        anonymous = await client.get("/me")
    assert ok.json() == {"member_id": cast.billing.member_id}
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"


async def test_current_principal_without_middleware_is_a_clear_error(
    stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """``CurrentPrincipal`` without the middleware fails loudly, naming the middleware."""
    transport = httpx.ASGITransport(app=build_app(stytch_rbac), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        with pytest.raises(RuntimeError, match="StytchSessionMiddleware"):
            await client.get("/me", headers=cast.viewer.headers)


async def test_credential_sources_configurable(stytch_rbac: StytchRBAC, cast: Cast) -> None:
    """With bearer reading off and custom cookie names, only the configured sources count."""
    config = CredentialConfig(bearer=None, jwt_cookie="my_jwt", token_cookie=None)
    app = build_app(stytch_rbac, credentials=config)
    async with asgi_client(app) as client:
        bearer = await client.get("/documents", headers=cast.viewer.headers)
        stytch_cookie = await client.get("/documents", headers=cookie_header(cast.viewer.cookies))
        own_cookie = await client.get(
            "/documents", headers=cookie_header({"my_jwt": cast.viewer.session_jwt})
        )
    assert (bearer.status_code, stytch_cookie.status_code, own_cookie.status_code) == (
        401,
        401,
        200,
    )


async def test_500_concurrent_guarded_requests(stytch_rbac: StytchRBAC, cast: Cast) -> None:
    """500 concurrent requests from five callers each get exactly their own correct answer."""
    acme = cast.acme_id
    callers: list[tuple[SeededMember | None, str, int]] = [
        (cast.editor, "bearer", 200),
        (cast.owner, "token-cookie", 200),
        (cast.viewer, "bearer", 403),
        (cast.outsider, "jwt-cookie", 403),
        (None, "none", 401),
    ]
    results: list[tuple[int, int, str | None]] = []
    app = build_app(stytch_rbac, middleware=True)
    async with asgi_client(app) as client:

        async def one(i: int) -> None:
            who, kind, _ = callers[i % len(callers)]
            answer = await client.put(f"/orgs/{acme}/documents", headers=credentials_for(who, kind))
            member_id = answer.json().get("member_id") if answer.status_code == 200 else None
            results.append((i, answer.status_code, member_id))

        async with anyio.create_task_group() as tg:
            for i in range(500):
                tg.start_soon(one, i)
    assert len(results) == 500
    for i, status, member_id in results:
        who, _, expected = callers[i % len(callers)]
        assert status == expected, (i, status)
        if status == 200:
            assert who is not None
            assert member_id == who.member_id


@pytest.mark.stytch_http
async def test_500_concurrent_requests_over_real_http(
    stytch_emulator: Emulator, stytch_base_url: str, cast: Cast
) -> None:
    """500 concurrent requests over real HTTP are each answered correctly."""
    rbac = StytchRBAC(
        stytch_emulator.project_id,
        stytch_emulator.secret,
        base_url=stytch_base_url,
        clock=stytch_emulator.clock,
    )
    wrong: list[tuple[int, int]] = []
    with serve_app(build_app(rbac, own_lifespan=True)) as url:
        limits = httpx.Limits(max_connections=10)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

            async def one(i: int) -> None:
                who = (cast.editor, cast.viewer)[i % 2]
                answer = await client.put(f"/orgs/{cast.acme_id}/documents", headers=who.headers)
                expected = 200 if who is cast.editor else 403
                if answer.status_code != expected:
                    wrong.append((i, answer.status_code))

            async with anyio.create_task_group() as tg:
                for i in range(500):
                    tg.start_soon(one, i)
    assert wrong == []


def test_guard_is_a_dependency_fastapi_understands(stytch_emulator: Emulator) -> None:
    """FastAPI sees ``Depends(guard)`` as an async dependency taking the connection and the
    response, plus documentation-only security schemes (no parameters leak into OpenAPI)."""
    rbac = StytchRBAC(stytch_emulator.project_id, stytch_emulator.secret, base_url="http://x")
    app = build_app(rbac)
    schema = json.dumps(app.openapi())
    for name in ("request", "connection", "kwargs", "_schemes", "stytch_scheme_0"):
        assert f'"name": "{name}"' not in schema
    guard = rbac.require(READ)
    call: Callable[..., Awaitable[AnyPrincipal]] = guard.__wrapped__
    assert call is guard.__wrapped__
    parameters = inspect.signature(guard).parameters
    assert list(parameters)[:2] == ["connection", "response"]
    assert parameters["connection"].annotation is HTTPConnection
    assert parameters["response"].annotation is Response
    assert [p.kind for p in list(parameters.values())[2:]] == [inspect.Parameter.KEYWORD_ONLY] * 3
