"""Flask glue: guarded views and before_request guards enforce the example policy with
401/403/503 as the ASGI integrations answer them, tenancy from the URL rule, refreshed JWTs
handed back; through Flask's test client and over real HTTP (werkzeug on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Blueprint, Flask, g
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from examples.permissions import P
from stytch_rbac import (
    PermissionDenied,
    StytchAPIError,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
    path,
)
from stytch_rbac.emulator import Emulator
from stytch_rbac.integrations import flask as flask_glue
from stytch_rbac.integrations import starlette as starlette_glue
from stytch_rbac.integrations.flask import before_request, current_principal, init_app
from stytch_rbac.sync import StytchRBAC
from stytch_rbac.testing import MemberFactory, SeededMember

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"

pytestmark = pytest.mark.stytch_policy(EXAMPLE_POLICY)


def make_app(rbac: StytchRBAC, *, hook: bool = True) -> Flask:
    """Documents under /orgs/<organization_id>, guarded three ways."""
    app = Flask(__name__)
    if hook:
        init_app(app, rbac)
    in_org = path("organization_id")

    @app.get("/orgs/<organization_id>/documents")
    @rbac.require(P.documents.read, organization_id=in_org)
    def list_documents(organization_id: str) -> dict[str, object]:
        return {"organization_id": organization_id, "reader": current_principal().member_id}

    @app.delete("/orgs/<organization_id>/documents/<document_id>")
    @rbac.require(P.documents.delete, organization_id=in_org)
    def delete_document(organization_id: str, document_id: str) -> tuple[str, int]:
        return "", 204

    @app.get("/me")
    def me() -> dict[str, object]:
        principal = g.stytch_principal
        return {"member_id": None if principal is None else principal.member_id}

    @app.get("/edit-check")
    def edit_check() -> dict[str, object]:
        rbac.authorize(current_principal(), P.documents.edit)  # raises: answered as JSON
        return {"ok": True}

    @rbac.require(P.documents.edit)
    def edit_as(principal: object) -> str:
        return "edited"

    @app.get("/edit-as")
    def edit_as_view() -> str:
        return edit_as(principal=current_principal())

    admin = Blueprint("admin", __name__, url_prefix="/orgs/<organization_id>/admin")
    admin.before_request(
        before_request(rbac.require(P.stytch_member.delete, organization_id=in_org))
    )

    @admin.get("/members")
    def members(organization_id: str) -> dict[str, str]:
        return {"admin": g.stytch_principal.member_id}

    app.register_blueprint(admin)
    return app


def detail(response: TestResponse) -> dict[str, Any]:
    """The ``detail`` object of a JSON error answer."""
    body = response.get_json()
    assert isinstance(body, dict)
    found = body["detail"]
    assert isinstance(found, dict)
    return found


def bearer(who: SeededMember) -> dict[str, str]:
    return {"Authorization": f"Bearer {who.session_jwt}"}


def test_view_decorator_enforces_policy_and_tenancy(
    stytch_rbac_sync: StytchRBAC, member: MemberFactory
) -> None:
    """200 for a reader of its own organization; 401 without a credential; 403
    permission_denied without the role; 403 tenancy_error for another organization."""
    viewer, outsider = member(["viewer"]), member(["editor"], organization="Globex")
    client = make_app(stytch_rbac_sync).test_client()
    docs = f"/orgs/{viewer.organization_id}/documents"
    ok = client.get(docs, headers=bearer(viewer))
    assert ok.status_code == 200
    assert ok.json == {"organization_id": viewer.organization_id, "reader": viewer.member_id}
    missing = client.get(docs)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert detail(missing)["error"] == "unauthenticated"
    denied = client.delete(f"{docs}/doc-1", headers=bearer(viewer))
    assert denied.status_code == 403
    assert detail(denied)["error"] == "permission_denied"
    assert detail(denied)["action"] == "delete"
    other = client.get(docs, headers=bearer(outsider))
    assert other.status_code == 403
    assert detail(other)["error"] == "tenancy_error"
    assert client.delete(f"{docs}/doc-1", headers=bearer(member(["owner"]))).status_code == 204


def test_a_forged_credential_is_a_401_invalid_token(
    stytch_rbac_sync: StytchRBAC, member: MemberFactory
) -> None:
    """A credential presented and refused says so in WWW-Authenticate; it never appears in
    the body."""
    viewer = member(["viewer"])
    head, payload, _ = viewer.session_jwt.split(".")
    forged = f"{head}.{payload}.AAAA"
    client = make_app(stytch_rbac_sync).test_client()
    answer = client.get(
        f"/orgs/{viewer.organization_id}/documents", headers={"Authorization": f"Bearer {forged}"}
    )
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert forged not in answer.get_data(as_text=True)


def test_stytch_unavailable_is_a_503(
    stytch_rbac_sync: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """With no policy and Stytch failing, a guarded view answers 503, never 200."""
    viewer = member(["viewer"])
    stytch_emulator.faults.fail("rbac.policy", 503, retry_after=7)
    answer = (
        make_app(stytch_rbac_sync)
        .test_client()
        .get(f"/orgs/{viewer.organization_id}/documents", headers=bearer(viewer))
    )
    assert answer.status_code == 503
    assert detail(answer)["error"] == "stytch_unavailable"
    assert answer.headers["Retry-After"] == "7"


def test_before_request_guards_a_blueprint(
    stytch_rbac_sync: StytchRBAC, member: MemberFactory
) -> None:
    """The blueprint's hook refuses before the view, and lets the right role through."""
    admin, viewer = member(["stytch_admin"]), member(["viewer"])
    client = make_app(stytch_rbac_sync, hook=False).test_client()
    url = f"/orgs/{admin.organization_id}/admin/members"
    assert client.get(url, headers=bearer(admin)).json == {"admin": admin.member_id}
    assert client.get(url, headers=bearer(viewer)).status_code == 403
    assert client.get(url).status_code == 401
    other = member(["stytch_admin"], organization="Globex")
    assert detail(client.get(url, headers=bearer(other)))["error"] == "tenancy_error"


def test_init_app_authenticates_once_and_answers_view_errors(
    stytch_rbac_sync: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """The hook sets g.stytch_principal (None when anonymous) without refusing; errors raised
    in views answer from the table; a principal-taking function is guarded too."""
    viewer, editor = member(["viewer"]), member(["editor"])
    client = make_app(stytch_rbac_sync).test_client()
    assert client.get("/me").json == {"member_id": None}
    assert client.get("/me", headers=bearer(viewer)).json == {"member_id": viewer.member_id}
    assert client.get("/edit-check", headers=bearer(viewer)).status_code == 403
    assert client.get("/edit-check", headers=bearer(editor)).json == {"ok": True}
    assert client.get("/edit-as", headers=bearer(editor)).get_data(as_text=True) == "edited"
    assert client.get("/edit-as", headers=bearer(viewer)).status_code == 403
    client.set_cookie("stytch_session", viewer.session_token)
    token = client.get("/me")
    assert token.json == {"member_id": viewer.member_id}
    assert stytch_emulator.requests["sessions.authenticate"] == 1


@pytest.mark.parametrize("channel", ["cookie", "header"])
def test_refreshed_jwt_is_handed_back(
    stytch_rbac_sync: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory, channel: str
) -> None:
    """An expired JWT refreshed by Stytch goes back on the channel it came in, once."""
    editor = member(["editor"])
    stytch_emulator.advance_time(301)
    client = make_app(stytch_rbac_sync).test_client()
    url = f"/orgs/{editor.organization_id}/documents"
    if channel == "cookie":
        client.set_cookie("stytch_session_jwt", editor.session_jwt)
        answer = client.get(url)
        cookies = answer.headers.getlist("Set-Cookie")
        assert len(cookies) == 1
        assert cookies[0].startswith("stytch_session_jwt=")
        assert editor.session_jwt not in cookies[0]
    else:
        answer = client.get(url, headers=bearer(editor))
        assert answer.headers["X-Stytch-Session-JWT"] not in ("", editor.session_jwt)
        assert "Set-Cookie" not in answer.headers
    assert answer.status_code == 200


ERRORS = [
    Unauthenticated("missing", "no credential"),
    Unauthenticated("expired", "the JWT expired"),
    PermissionDenied("documents", "edit", organization_id="org-1", member_id="m-1"),
    TenancyError("org-1", "org-2", member_id="m-1"),
    StytchUnavailable("down", retry_after=2.5, request_id="req-1"),
    StytchAPIError(404, error_type="member_not_found", request_id="req-2"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_answers_match_the_asgi_integrations(error: Exception) -> None:
    """Flask's answer to each error has the status, JSON body and headers Starlette's has."""
    assert isinstance(error, Exception)
    app = Flask(__name__)
    with app.test_request_context("/"):
        mine = flask_glue.error_response(error)  # type: ignore[arg-type]
    theirs = starlette_glue.error_response(error)  # type: ignore[arg-type]
    assert mine.status_code == theirs.status_code
    assert mine.json == json.loads(bytes(theirs.body))
    wanted = {k.lower(): v for k, v in theirs.headers.items() if k.lower() != "content-length"}
    got = {k.lower(): v for k, v in mine.headers.items() if k.lower() != "content-length"}
    assert got == wanted


@pytest.fixture
def served(stytch_rbac_sync: StytchRBAC) -> Iterator[str]:
    """The app over real HTTP: werkzeug's server on 127.0.0.1, a free port, in a thread."""
    server = make_server("127.0.0.1", 0, make_app(stytch_rbac_sync), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def test_over_real_http(served: str, member: MemberFactory) -> None:
    """The same answers over a socket, from concurrent werkzeug threads."""
    viewer, outsider = member(["viewer"]), member(["viewer"], organization="Globex")
    docs = f"{served}/orgs/{viewer.organization_id}/documents"
    with httpx.Client(timeout=10) as client:
        assert client.get(docs, headers=bearer(viewer)).status_code == 200
        assert client.get(docs).status_code == 401
        assert client.delete(f"{docs}/d", headers=bearer(viewer)).status_code == 403
        assert client.get(docs, headers=bearer(outsider)).status_code == 403


def test_guard_misuse_is_a_clear_error(stytch_rbac_sync: StytchRBAC) -> None:
    """before_request takes a blocking guard; an async view without a request is refused."""
    with pytest.raises(TypeError, match="blocking facade"):
        before_request(object())  # type: ignore[arg-type]

    async def view() -> None:  # pragma: no cover - never called
        return None

    with pytest.raises(TypeError, match="request"):
        stytch_rbac_sync.require(P.documents.read)(view)


def test_cookie_credentials_get_the_csrf_check(
    stytch_rbac_sync: StytchRBAC, member: MemberFactory
) -> None:
    """A cookie credential on an unsafe request from another origin is refused (403
    cross_site_request) before authentication; a safe cross-site request and a bearer one pass."""
    owner = member(["owner"])
    client = make_app(stytch_rbac_sync).test_client()
    client.set_cookie("stytch_session_jwt", owner.session_jwt)
    docs = f"/orgs/{owner.organization_id}/documents"
    evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    refused = client.delete(f"{docs}/d", headers=evil)
    assert refused.status_code == 403
    assert detail(refused)["error"] == "cross_site_request"
    assert client.get(docs, headers=evil).status_code == 200
    assert client.delete(f"{docs}/d", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 204
