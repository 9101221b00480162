"""CSRF protection of cookie credentials: an unsafe request (or a WebSocket handshake) from
another origin may not use the session cookie; bearer credentials are never subject to it.

Real FastAPI and Starlette apps, in-process (httpx) and over real HTTP (uvicorn), and
WebSockets under Starlette's ``TestClient`` (asyncio and trio), against the emulator. The
browser's headers (``Origin``, ``Sec-Fetch-Site``) are set as a browser would set them.
"""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, WebSocket
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from stytch_rbac import CrossSiteRequest, Principal, StytchRBAC
from stytch_rbac.emulator import Emulator
from stytch_rbac.integrations.csrf import cross_site_refusal, normalize_origin
from stytch_rbac.integrations.fastapi import (
    CurrentPrincipal,
    OptionalPrincipal,
    StytchSessionMiddleware,
    document_routes,
    lifespan,
)
from stytch_rbac.integrations.guard import CredentialConfig
from stytch_rbac.integrations.starlette import (
    authentication_middleware,
    exception_handlers,
    principal_of,
)
from stytch_rbac.testing import MemberFactory, SeededMember, serve_app

from .test_fastapi import cookie_header

if TYPE_CHECKING:
    from starlette.testclient import TestClient
    from starlette.types import ASGIApp

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
pytestmark = pytest.mark.stytch_policy(POLICY)

MakeClient = Callable[["ASGIApp"], "TestClient"]

#: The app's own origin in these tests (httpx sends ``Host: api.example.com``).
APP = "https://api.example.com"
#: Headers of a browser request from a page of another site.
CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
#: A page on a sibling subdomain: same site (SameSite cookies are sent), other origin.
SIBLING = {"Origin": "https://evil.example.com", "Sec-Fetch-Site": "same-site"}
#: The app's own pages.
SAME_ORIGIN = {"Origin": APP, "Sec-Fetch-Site": "same-origin"}
#: An older browser: ``Origin`` only.
OLD_BROWSER_CROSS_SITE = {"Origin": "https://evil.example"}


def csrf_app(
    rbac: StytchRBAC, *, credentials: CredentialConfig | None = None, opens_rbac: bool = False
) -> FastAPI:
    """``/documents``: GET (and HEAD) reads (documents:read), POST edits (documents:edit);
    ``/ws`` a reader WebSocket. ``opens_rbac``: the app's lifespan opens ``rbac``."""
    app = FastAPI(lifespan=lifespan(rbac) if opens_rbac else None)
    reader = Annotated[Principal, Depends(rbac.require("documents:read", credentials=credentials))]
    editor = Annotated[Principal, Depends(rbac.require("documents:edit", credentials=credentials))]

    @app.api_route("/documents", methods=["GET", "HEAD"])
    async def read(who: reader) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.post("/documents")
    async def edit(who: editor) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.websocket("/ws")
    async def feed(websocket: WebSocket, who: reader) -> None:
        await websocket.accept()
        await websocket.send_json({"member_id": who.member_id})
        await websocket.close()

    return app


def client_for(app: "ASGIApp", base_url: str = APP) -> httpx.AsyncClient:
    """An httpx client calling ``app`` in-process as ``base_url`` (its ``Host``)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


def cookies_of(who: SeededMember) -> dict[str, str]:
    """Both session cookies of ``who``, as Stytch's frontend SDKs set them."""
    return cookie_header(who.cookies)


def assert_cross_site_refusal(answer: httpx.Response, reason: str) -> None:
    """A 403 ``cross_site_request`` naming ``reason``, with the table's JSON body."""
    assert answer.status_code == 403, answer.text
    detail = answer.json()["detail"]
    assert detail["error"] == "cross_site_request"
    assert detail["reason"] == reason
    assert "evil" not in answer.text  # the other site's Origin is not echoed


# -- the browser cases --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_cross_site_post_with_the_cookie_is_403(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """A cross-site POST carrying the session cookie is refused, by ``Sec-Fetch-Site`` or
    (older browsers) by its ``Origin``, before Stytch is asked about the session."""
    editor = member(roles=["editor"])
    token_cookie = cookie_header({"stytch_session": editor.session_token})
    before = stytch_emulator.requests["sessions.authenticate"]
    async with client_for(csrf_app(stytch_rbac)) as client:
        for cookies in (cookies_of(editor), token_cookie):
            fetch_metadata = await client.post("/documents", headers={**cookies, **CROSS_SITE})
            assert_cross_site_refusal(fetch_metadata, "sec_fetch_site")
            origin_only = await client.post(
                "/documents", headers={**cookies, **OLD_BROWSER_CROSS_SITE}
            )
            assert_cross_site_refusal(origin_only, "origin_mismatch")
    assert stytch_emulator.requests["sessions.authenticate"] == before


@pytest.mark.anyio
async def test_same_origin_post_with_the_cookie_is_allowed(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """The app's own pages (``Sec-Fetch-Site: same-origin``, or an ``Origin`` naming the
    request's host), the user typing the address (``none``) and non-browser clients (neither
    header) use the cookie on a POST."""
    editor = member(roles=["editor"])
    cases = [
        SAME_ORIGIN,
        {"Sec-Fetch-Site": "none"},
        {"Origin": APP},
        {"Origin": "https://API.example.com:443"},  # default port, any case
        {"Origin": "http://api.example.com"},  # no scheme check (TLS ends at a proxy)
        {},
    ]
    async with client_for(csrf_app(stytch_rbac)) as client:
        for browser in cases:
            answer = await client.post("/documents", headers={**cookies_of(editor), **browser})
            assert answer.status_code == 200, (browser, answer.text)
            assert answer.json() == {"member_id": editor.member_id}


@pytest.mark.anyio
async def test_cross_site_safe_methods_are_allowed(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """GET, HEAD and OPTIONS from another site may use the cookie (they must not change
    state): a cross-site link to a page still works."""
    viewer = member(roles=["viewer"])
    async with client_for(csrf_app(stytch_rbac)) as client:
        for browser in (CROSS_SITE, SIBLING, OLD_BROWSER_CROSS_SITE):
            answer = await client.get("/documents", headers={**cookies_of(viewer), **browser})
            assert answer.status_code == 200, (browser, answer.text)
            head = await client.head("/documents", headers={**cookies_of(viewer), **browser})
            assert head.status_code == 200


@pytest.mark.anyio
async def test_bearer_credentials_are_not_subject_to_it(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """A cross-site POST with a bearer JWT (a browser cannot send one cross-site without a
    CORS preflight the app answers) is decided on its permissions, even with cookies too."""
    editor, viewer = member(roles=["editor"]), member(roles=["viewer"])
    async with client_for(csrf_app(stytch_rbac)) as client:
        for browser in (CROSS_SITE, SIBLING, OLD_BROWSER_CROSS_SITE):
            allowed = await client.post(
                "/documents", headers={**editor.headers, **cookies_of(viewer), **browser}
            )
            assert allowed.status_code == 200, allowed.text
            assert allowed.json() == {"member_id": editor.member_id}
            denied = await client.post("/documents", headers={**viewer.headers, **browser})
            assert denied.json()["detail"]["error"] == "permission_denied"


@pytest.mark.anyio
async def test_sibling_subdomain_is_refused_unless_trusted(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """A page on a sibling subdomain (same site: SameSite=Lax cookies are sent) is refused;
    a trusted origin (the app's frontend on another host) is allowed, other siblings not."""
    editor = member(roles=["editor"])
    frontend = {"Origin": "https://app.example.com", "Sec-Fetch-Site": "same-site"}
    trusting = CredentialConfig(trusted_origins=("https://APP.example.com:443/",))
    async with client_for(csrf_app(stytch_rbac)) as default_client:
        for browser in (SIBLING, frontend):
            answer = await default_client.post(
                "/documents", headers={**cookies_of(editor), **browser}
            )
            assert_cross_site_refusal(answer, "sec_fetch_site")
    async with client_for(csrf_app(stytch_rbac, credentials=trusting)) as client:
        ok = await client.post("/documents", headers={**cookies_of(editor), **frontend})
        old_browser = await client.post(
            "/documents", headers={**cookies_of(editor), "Origin": "https://app.example.com"}
        )
        sibling = await client.post("/documents", headers={**cookies_of(editor), **SIBLING})
    assert ok.status_code == 200, ok.text
    assert old_browser.status_code == 200, old_browser.text
    assert_cross_site_refusal(sibling, "sec_fetch_site")


@pytest.mark.anyio
async def test_opting_out(stytch_rbac: StytchRBAC, member: MemberFactory) -> None:
    """``CredentialConfig(csrf_protection=False)`` accepts the cookie from anywhere (an app
    with its own CSRF tokens)."""
    editor = member(roles=["editor"])
    app = csrf_app(stytch_rbac, credentials=CredentialConfig(csrf_protection=False))
    async with client_for(app) as client:
        answer = await client.post("/documents", headers={**cookies_of(editor), **CROSS_SITE})
    assert answer.status_code == 200, answer.text


# -- WebSockets: cross-site WebSocket hijacking --------------------------------------------------


def test_cookie_websocket_from_another_origin_is_refused(
    app_rbac: StytchRBAC, make_client: MakeClient, member: MemberFactory
) -> None:
    """A WebSocket handshake is a GET, but the socket then acts as the session: with the
    cookie and a foreign Origin it is refused (1008) before it is accepted; from the app's
    own origin, without an Origin (not a browser) or with a bearer header it is accepted."""
    viewer = member(roles=["viewer"])
    with make_client(csrf_app(app_rbac)) as client:  # the TestClient's Host is "testserver"
        for browser in (CROSS_SITE, SIBLING, OLD_BROWSER_CROSS_SITE):
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                client.websocket_connect("/ws", headers={**cookies_of(viewer), **browser}),
            ):
                pytest.fail("the handshake was accepted")
            assert (refused.value.code, refused.value.reason) == (1008, "cross_site_request")
        for headers in (
            {**cookies_of(viewer), "Origin": "http://testserver"},
            {**cookies_of(viewer), "Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
            cookies_of(viewer),
            {**viewer.headers, **CROSS_SITE},
        ):
            with client.websocket_connect("/ws", headers=headers) as socket:
                assert socket.receive_json() == {"member_id": viewer.member_id}


def test_starlette_guarded_websocket_from_another_origin_is_refused(
    app_rbac: StytchRBAC, make_client: MakeClient, member: MemberFactory
) -> None:
    """``@guard`` on a Starlette WebSocket endpoint refuses a cookie handshake from another
    origin the same way, behind the session middleware too."""
    viewer = member(roles=["viewer"])

    @app_rbac.require("documents:read")
    async def feed(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"member_id": principal_of(websocket).member_id})
        await websocket.close()

    app = Starlette(routes=[WebSocketRoute("/ws", feed)], exception_handlers=exception_handlers())
    app.add_middleware(StytchSessionMiddleware, rbac=app_rbac)
    with make_client(app) as client:
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect("/ws", headers={**cookies_of(viewer), **CROSS_SITE}),
        ):
            pytest.fail("the handshake was accepted")
        assert (refused.value.code, refused.value.reason) == (1008, "cross_site_request")
        with client.websocket_connect(
            "/ws", headers={**cookies_of(viewer), "Origin": "http://testserver"}
        ) as socket:
            assert socket.receive_json() == {"member_id": viewer.member_id}


# -- the session middleware, its dependencies, Starlette ------------------------------------------


@pytest.mark.anyio
async def test_middleware_principal_dependencies_refuse_a_cross_site_post(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """Behind the middleware, ``CurrentPrincipal`` and ``OptionalPrincipal`` on a cross-site
    POST with the cookie are 403 (not the member, not anonymous); a public POST route still
    answers (the middleware never refuses a request itself)."""
    viewer = member(roles=["viewer"])
    app = FastAPI()
    app.add_middleware(StytchSessionMiddleware, rbac=stytch_rbac)

    @app.post("/me")
    async def me(who: CurrentPrincipal) -> dict[str, str]:
        return {"member_id": who.member_id}

    @app.post("/hello")
    async def hello(who: OptionalPrincipal) -> dict[str, str | None]:
        return {"member_id": who.member_id if who else None}

    @app.post("/public")
    async def public() -> dict[str, str]:
        return {"ok": "yes"}

    async with client_for(app) as client:
        me_answer = await client.post("/me", headers={**cookies_of(viewer), **CROSS_SITE})
        hello_answer = await client.post("/hello", headers={**cookies_of(viewer), **SIBLING})
        public_answer = await client.post("/public", headers={**cookies_of(viewer), **CROSS_SITE})
        own = await client.post("/me", headers={**cookies_of(viewer), **SAME_ORIGIN})
    assert_cross_site_refusal(me_answer, "sec_fetch_site")
    assert_cross_site_refusal(hello_answer, "sec_fetch_site")
    assert public_answer.json() == {"ok": "yes"}
    assert own.json() == {"member_id": viewer.member_id}


@pytest.mark.anyio
async def test_starlette_guard_and_auth_backend_refuse_a_cross_site_post(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """A Starlette ``@guard`` POST endpoint (with the exception handlers) and the
    authentication backend (``request.user``) answer a cross-site cookie POST with the
    table's 403."""
    editor = member(roles=["editor"])

    @stytch_rbac.require("documents:edit")
    async def edit(request: Request) -> Response:
        return JSONResponse({"member_id": principal_of(request).member_id})

    async def user(request: Request) -> Response:
        return JSONResponse({"user": request.user.display_name})

    guarded = Starlette(
        routes=[Route("/edit", edit, methods=["POST"])], exception_handlers=exception_handlers()
    )
    backend = Starlette(
        routes=[Route("/user", user, methods=["POST"])],
        middleware=[authentication_middleware(stytch_rbac)],
    )
    headers = {**cookies_of(editor), **CROSS_SITE}
    async with client_for(guarded) as client:
        assert_cross_site_refusal(await client.post("/edit", headers=headers), "sec_fetch_site")
        ok = await client.post("/edit", headers={**cookies_of(editor), **SAME_ORIGIN})
        assert ok.json() == {"member_id": editor.member_id}
    async with client_for(backend) as client:
        assert_cross_site_refusal(await client.post("/user", headers=headers), "sec_fetch_site")
        ok = await client.post("/user", headers={**cookies_of(editor), **SAME_ORIGIN})
        assert ok.json() == {"user": editor.member_id}


@pytest.mark.stytch_http
@pytest.mark.anyio
async def test_cross_site_post_over_real_http(
    stytch_emulator: Emulator, stytch_base_url: str, member: MemberFactory
) -> None:
    """Over real HTTP (uvicorn on 127.0.0.1, the Host header as the server sees it) a
    cross-site cookie POST is 403, a same-origin one 200."""
    editor = member(roles=["editor"])
    rbac = StytchRBAC(
        stytch_emulator.project_id,
        stytch_emulator.secret,
        base_url=stytch_base_url,
        clock=stytch_emulator.clock,
    )
    with serve_app(csrf_app(rbac, opens_rbac=True)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            cross = await client.post("/documents", headers={**cookies_of(editor), **CROSS_SITE})
            old = await client.post(
                "/documents", headers={**cookies_of(editor), **OLD_BROWSER_CROSS_SITE}
            )
            same = await client.post("/documents", headers={**cookies_of(editor), "Origin": url})
    assert_cross_site_refusal(cross, "sec_fetch_site")
    assert_cross_site_refusal(old, "origin_mismatch")
    assert same.status_code == 200, same.text


def test_openapi_documents_the_403_of_unsafe_cookie_routes(app_rbac: StytchRBAC) -> None:
    """An authentication-only guard reading cookies documents a 403 on a POST (CSRF), not on
    a GET; a bearer-only one documents none."""
    app = FastAPI()
    signed_in = Annotated[Principal, Depends(app_rbac.require())]
    bearer_only = CredentialConfig(jwt_cookie=None, token_cookie=None)
    api = Annotated[Principal, Depends(app_rbac.require(credentials=bearer_only))]

    @app.get("/read")
    async def read(who: signed_in) -> None: ...

    @app.post("/write")
    async def write(who: signed_in) -> None: ...

    @app.post("/api")
    async def by_api(who: api) -> None: ...

    document_routes(app)
    paths = app.openapi()["paths"]
    assert set(paths["/read"]["get"]["responses"]) == {"200", "401", "503"}
    assert set(paths["/write"]["post"]["responses"]) == {"200", "401", "403", "503"}
    assert set(paths["/api"]["post"]["responses"]) == {"200", "401", "503"}


# -- the check itself -----------------------------------------------------------------------------


def test_trusted_origins_are_validated_and_normalized() -> None:
    """Trusted origins are stored as browsers send ``Origin`` (lower case, no default port,
    no trailing slash); anything that is not an origin is refused, naming the problem."""
    config = CredentialConfig(
        trusted_origins=("HTTPS://App.Example.com:443", "http://localhost:8000/", "https://[::1]")
    )
    assert config.trusted_origins == (
        "http://localhost:8000",
        "https://[::1]",
        "https://app.example.com",
    )
    with pytest.raises(TypeError, match="not one string"):
        CredentialConfig(trusted_origins="https://app.example.com")  # type: ignore[arg-type]
    for bad, problem in [
        ("app.example.com", "scheme and a host"),
        ("https://app.example.com/path", "no path"),
        ("https://app.example.com?x=1", "no path, query"),
        ("https://user:pw@app.example.com", "user name"),
        ("https://*.example.com", "wildcards"),
        ("null", "scheme and a host"),
        ("https://app.example.com:99999", "not a valid origin"),
    ]:
        with pytest.raises(ValueError, match=problem):
            normalize_origin(bad)
    with pytest.raises(TypeError, match="takes True or False"):
        CredentialConfig(csrf_protection="yes")  # type: ignore[arg-type]


_UNSAFE = st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "PROPFIND", "post"])
_HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)


@settings(max_examples=300, deadline=None, database=None)
@given(
    method=_UNSAFE,
    site=st.one_of(st.sampled_from(["cross-site", "same-site", "Same-Origin", ""]), _HEADER_TEXT),
    origin=st.one_of(st.none(), st.just("null"), _HEADER_TEXT.map(lambda h: f"https://{h}")),
)
def test_a_browser_saying_other_origin_is_always_refused(
    method: str, site: str, origin: str | None
) -> None:
    """Whatever the Origin, an unsafe request whose ``Sec-Fetch-Site`` is not exactly
    ``same-origin`` or ``none`` is refused unless its Origin is trusted; the same request as
    a GET passes, and as a WebSocket handshake is refused again."""
    if site in ("same-origin", "none"):
        return
    headers = {"sec-fetch-site": site, "host": "api.example.com"}
    if origin is not None:
        headers["origin"] = origin
    refusal = cross_site_refusal({"type": "http", "method": method}, headers)
    assert isinstance(refusal, CrossSiteRequest)
    assert refusal.reason == "sec_fetch_site"
    if origin is not None and origin.startswith("https://"):
        trusted = (origin.lower(),)
        assert cross_site_refusal({"type": "http", "method": method}, headers, trusted) is None
    assert cross_site_refusal({"type": "http", "method": "GET"}, headers) is None
    assert isinstance(cross_site_refusal({"type": "websocket"}, headers), CrossSiteRequest)


_LABEL = st.text(st.sampled_from("abAB0-"), min_size=1, max_size=4)
_HOST = st.builds(
    lambda labels, port: ".".join(labels) + (f":{port}" if port else ""),
    st.lists(_LABEL, min_size=1, max_size=3),
    st.sampled_from([None, 443, 8443]),
)


@settings(max_examples=300, deadline=None, database=None)
@given(host=_HOST, origin_host=_HOST)
def test_without_fetch_metadata_the_origin_must_name_the_host(host: str, origin_host: str) -> None:
    """No ``Sec-Fetch-Site``: an unsafe request passes exactly when its Origin's host is the
    request's Host (case and the default port aside); a request whose method is not known
    is checked like an unsafe one."""
    headers = {"host": host, "origin": f"https://{origin_host}"}
    refusal = cross_site_refusal({"type": "http", "method": "POST"}, headers)
    unknown_method = cross_site_refusal({}, headers)
    same = origin_host.lower().removesuffix(":443") == host.lower().removesuffix(":443")
    if same:
        assert refusal is None
        assert unknown_method is None
    else:
        assert isinstance(refusal, CrossSiteRequest)
        assert refusal.reason == "origin_mismatch"
        assert isinstance(unknown_method, CrossSiteRequest)


def test_an_origin_that_is_not_one_is_refused() -> None:
    """``Origin: null`` (sandboxed frames, redirects), garbage, an origin with a path or user
    name, or a request without ``Host``: refused on an unsafe method."""
    scope = {"type": "http", "method": "POST"}
    for origin in (
        "null",
        "",
        "api.example.com",
        "https://api.example.com/x",
        "https://u@api.example.com",
        "https://[::1",
    ):
        refusal = cross_site_refusal(scope, {"host": "api.example.com", "origin": origin})
        assert isinstance(refusal, CrossSiteRequest), origin
    assert isinstance(
        cross_site_refusal(scope, {"origin": "https://api.example.com"}), CrossSiteRequest
    )
