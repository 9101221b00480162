"""Tenancy decides on the value the handler gets: an organization id from the path, a header,
the query or a callable is compared exactly as the route receives it, never stripped or
normalized. ``org-A\\u00a0`` (NBSP), ``\\u3000org-A``, ``ORG-A`` or a fullwidth look-alike is
another organization: 403, and the handler never runs with it.

Hypothesis draws whitespace and Unicode variants of a member's organization id and sends
them through real FastAPI and Starlette apps (Starlette's ``TestClient``, asyncio and trio)
against the emulator.
"""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import pytest
from fastapi import Depends, FastAPI, Request
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stytch_rbac import Principal, StytchRBAC, TenancyError
from stytch_rbac.integrations.fastapi import lifespan
from stytch_rbac.integrations.guard import OrganizationSpec, RequestLike, header, path, query
from stytch_rbac.integrations.starlette import exception_handlers
from stytch_rbac.integrations.starlette import lifespan as starlette_lifespan
from stytch_rbac.testing import MemberFactory

if TYPE_CHECKING:
    from starlette.testclient import TestClient
    from starlette.types import ASGIApp

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
pytestmark = pytest.mark.stytch_policy(POLICY)

MakeClient = Callable[["ASGIApp"], "TestClient"]

#: Every character ``str.strip()`` removes, and invisible ones it does not.
_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_PADDING = st.text(st.sampled_from(_WHITESPACE + _INVISIBLE), max_size=3)


def _fullwidth(text: str) -> str:
    """``text`` with ASCII letters and digits as their fullwidth forms (NFKC folds them back)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def variants_of(org_id: str) -> st.SearchStrategy[str]:
    """``org_id`` itself, padded with whitespace or invisible characters, or re-cased,
    fullwidth or with a character replaced: the id or a look-alike of it."""
    padded = st.builds(lambda a, b: a + org_id + b, _PADDING, _PADDING)
    inner = st.builds(
        lambda i, ch: org_id[:i] + ch + org_id[i:],
        st.integers(1, len(org_id) - 1),
        st.sampled_from(_WHITESPACE + _INVISIBLE),
    )
    looks_alike = st.sampled_from(
        [org_id.upper(), _fullwidth(org_id), org_id.replace("-", "\u2010"), org_id + "."]
    )
    return st.one_of(st.just(org_id), padded, inner, looks_alike).filter(lambda v: "/" not in v)


def _latin_1(text: str) -> bool:
    """What an HTTP header value can carry."""
    return all(ord(c) < 256 for c in text)


PROPERTY = settings(max_examples=60, deadline=None, database=None, derandomize=True)


def fastapi_app(rbac: StytchRBAC) -> FastAPI:
    """The same tenancy guard (documents:edit in the named organization) reading the id from
    the path, a header, the query and a callable; each handler echoes the id it received."""
    app = FastAPI(lifespan=lifespan(rbac))

    def by(source: OrganizationSpec) -> Any:
        return Depends(rbac.require("documents:edit", organization_id=source))

    async def from_body_header(request: RequestLike) -> str | None:
        return request.headers.get("x-org")

    @app.put("/orgs/{organization_id}/documents")
    async def in_path(
        organization_id: str, who: Annotated[Principal, by(path("organization_id"))]
    ) -> dict[str, str]:
        return {"organization_id": organization_id}

    @app.put("/header/documents")
    async def in_header(
        request: Request, who: Annotated[Principal, by(header("X-Org"))]
    ) -> dict[str, str]:
        return {"organization_id": request.headers["x-org"]}

    @app.put("/query/documents")
    async def in_query(org: str, who: Annotated[Principal, by(query("org"))]) -> dict[str, str]:
        return {"organization_id": org}

    @app.put("/callable/documents")
    async def in_callable(
        request: Request, who: Annotated[Principal, by(from_body_header)]
    ) -> dict[str, str]:
        return {"organization_id": request.headers["x-org"]}

    return app


def assert_decided_on_the_value(
    status: int, body: dict[str, dict[str, str] | str], sent: str, org_id: str
) -> None:
    """200 with exactly the member's id at the handler, or a 403 tenancy refusal."""
    if sent == org_id:
        assert status == 200, (sent, body)
        assert body == {"organization_id": org_id}
    else:
        assert status == 403, (sent, body)
        detail = body["detail"]
        assert isinstance(detail, dict)
        assert detail["error"] == "tenancy_error"
        if sent.isascii():  # the TestClient sends other header characters as UTF-8
            assert detail["organization_id"] == sent


def test_fastapi_path_and_query_ids_are_decided_exactly(
    app_rbac: StytchRBAC, make_client: MakeClient, member: MemberFactory
) -> None:
    """A variant of the member's organization id in the path or the query is 403 unless it
    is the id itself, and then the handler receives the id itself."""
    editor = member(roles=["editor"])
    org_id = editor.organization_id
    with make_client(fastapi_app(app_rbac)) as client:

        @PROPERTY
        @given(sent=variants_of(org_id))
        def check(sent: str) -> None:
            encoded = quote(sent, safe="")
            for url in (f"/orgs/{encoded}/documents", f"/query/documents?org={encoded}"):
                answer = client.put(url, headers=editor.headers)
                assert_decided_on_the_value(answer.status_code, answer.json(), sent, org_id)

        check()


def test_fastapi_header_and_callable_ids_are_decided_exactly(
    app_rbac: StytchRBAC, make_client: MakeClient, member: MemberFactory
) -> None:
    """The same for an id in a header, read by ``header()`` or by a callable of the request."""
    editor = member(roles=["editor"])
    org_id = editor.organization_id
    with make_client(fastapi_app(app_rbac)) as client:

        @PROPERTY
        @given(sent=variants_of(org_id).filter(_latin_1))
        def check(sent: str) -> None:
            headers = {**editor.headers, "x-org": sent.encode("latin-1")}
            for url in ("/header/documents", "/callable/documents"):
                answer = client.put(url, headers=headers)
                assert_decided_on_the_value(answer.status_code, answer.json(), sent, org_id)

        check()


def test_starlette_guard_decides_on_the_path_value(
    app_rbac: StytchRBAC, make_client: MakeClient, member: MemberFactory
) -> None:
    """``@guard`` on a Starlette endpoint with ``path()``: the same rule."""
    editor = member(roles=["editor"])
    org_id = editor.organization_id

    @app_rbac.require("documents:edit", organization_id=path("organization_id"))
    async def edit(request: Request) -> Response:
        return JSONResponse({"organization_id": request.path_params["organization_id"]})

    app = Starlette(
        routes=[Route("/orgs/{organization_id}/documents", edit, methods=["PUT"])],
        exception_handlers=exception_handlers(),
        lifespan=starlette_lifespan(app_rbac),
    )
    with make_client(app) as client:

        @PROPERTY
        @given(sent=variants_of(org_id))
        def check(sent: str) -> None:
            answer = client.put(f"/orgs/{quote(sent, safe='')}/documents", headers=editor.headers)
            assert_decided_on_the_value(answer.status_code, answer.json(), sent, org_id)

        check()


@pytest.mark.anyio
async def test_check_compares_an_explicit_id_exactly(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """``guard.check(principal, organization_id=...)`` with a padded id is a TenancyError."""
    editor = member(roles=["editor"])
    guard = stytch_rbac.require("documents:edit", organization_id=path("organization_id"))
    allowed = await guard.check(editor.principal, organization_id=editor.organization_id)
    assert allowed is editor.principal
    for padded in (f"{editor.organization_id}\u00a0", f"\u3000{editor.organization_id}"):
        with pytest.raises(TenancyError):
            await guard.check(editor.principal, organization_id=padded)
