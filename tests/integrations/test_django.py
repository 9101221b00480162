"""Django and DRF glue: the middleware, guarded views (sync, class-based, async) and the DRF
permission and authentication classes enforce the example policy with 401/403/503 as the ASGI
integrations answer them, tenancy from the URL pattern; Django's test client, minimal
settings (tests/integrations/django_settings.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .django_settings import configure

configure()

from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402
from django.urls import path as url  # noqa: E402
from django.views import View  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from examples.permissions import P  # noqa: E402
from stytch_rbac import (  # noqa: E402
    PermissionDenied,
    StytchAPIError,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
    path,
)
from stytch_rbac.emulator import Emulator  # noqa: E402
from stytch_rbac.integrations import django as django_glue  # noqa: E402
from stytch_rbac.integrations import starlette as starlette_glue  # noqa: E402
from stytch_rbac.integrations.django import StytchAuthentication, principal_of  # noqa: E402
from stytch_rbac.sync import StytchRBAC  # noqa: E402
from stytch_rbac.testing import MemberFactory, SeededMember  # noqa: E402

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"

pytestmark = pytest.mark.stytch_policy(EXAMPLE_POLICY)


class URLConf:
    """A URLconf made at run time (Django takes any object with ``urlpatterns``)."""

    def __init__(self, urlpatterns: list[Any]) -> None:
        self.urlpatterns = urlpatterns


def make_urls(rbac: StytchRBAC) -> URLConf:
    """A URLconf: function, class-based, async and DRF views, all under /orgs/<org>/."""
    in_org = path("organization_id")

    @rbac.require(P.documents.read, organization_id=in_org)
    def list_documents(request: HttpRequest, organization_id: str) -> JsonResponse:
        principal = request.stytch_principal
        return JsonResponse({"organization_id": organization_id, "reader": principal.member_id})

    class Document(View):  # type: ignore[misc]  # Django ships no types
        @rbac.require(P.documents.delete, organization_id=in_org)
        def delete(self, request: HttpRequest, organization_id: str, document_id: str) -> Any:
            return HttpResponse(status=204)

    @rbac.require(P.documents.edit, organization_id=in_org)
    async def edit_async(request: HttpRequest, organization_id: str) -> JsonResponse:
        return JsonResponse({"editor": principal_of(request).member_id})

    def me(request: HttpRequest) -> JsonResponse:
        principal = request.stytch_principal
        return JsonResponse({"member_id": None if principal is None else principal.member_id})

    def edit_check(request: HttpRequest) -> JsonResponse:
        rbac.authorize(principal_of(request), P.documents.edit)  # raises: the middleware answers
        return JsonResponse({"ok": True})

    class Projects(APIView):  # type: ignore[misc]  # DRF ships no types
        authentication_classes = (StytchAuthentication,)
        permission_classes = (rbac.drf(P.projects.update, organization_id=in_org),)

        def put(self, request: Request, organization_id: str) -> Response:
            return Response({"updated_by": request.auth.member_id, "user": str(request.user)})

    return URLConf(
        [
            url("orgs/<organization_id>/documents", list_documents),
            url("orgs/<organization_id>/documents/<document_id>", Document.as_view()),
            url("orgs/<organization_id>/edit", edit_async),
            url("orgs/<organization_id>/projects", Projects.as_view()),
            url("me", me),
            url("edit-check", edit_check),
        ]
    )


@pytest.fixture
def site(stytch_rbac_sync: StytchRBAC) -> Iterator[StytchRBAC]:
    """Django pointed at the test's URLs and the plugin's blocking facade."""
    with override_settings(ROOT_URLCONF=make_urls(stytch_rbac_sync), STYTCH_RBAC=stytch_rbac_sync):
        yield stytch_rbac_sync


def bearer(who: SeededMember) -> dict[str, str]:
    return {"Authorization": f"Bearer {who.session_jwt}"}


def detail(response: Any) -> dict[str, Any]:
    """The ``detail`` object of a JSON error answer."""
    found = json.loads(response.content)["detail"]
    assert isinstance(found, dict)
    return found


def test_function_view_enforces_policy_and_tenancy(site: StytchRBAC, member: MemberFactory) -> None:
    """200 for a reader; 401 without credential; 403 tenancy_error for another organization."""
    viewer, outsider = member(["viewer"]), member(["viewer"], organization="Globex")
    client = Client()
    docs = f"/orgs/{viewer.organization_id}/documents"
    ok = client.get(docs, headers=bearer(viewer))
    assert ok.status_code == 200
    assert ok.json() == {"organization_id": viewer.organization_id, "reader": viewer.member_id}
    missing = client.get(docs)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert detail(missing)["error"] == "unauthenticated"
    other = client.get(docs, headers=bearer(outsider))
    assert other.status_code == 403
    assert detail(other)["error"] == "tenancy_error"


def test_class_based_view_method(site: StytchRBAC, member: MemberFactory) -> None:
    """A guarded View method: 403 permission_denied without the role, 204 with it."""
    viewer, owner = member(["viewer"]), member(["owner"])
    doc = f"/orgs/{viewer.organization_id}/documents/doc-1"
    denied = Client().delete(doc, headers=bearer(viewer))
    assert denied.status_code == 403
    assert detail(denied)["error"] == "permission_denied"
    assert Client().delete(doc, headers=bearer(owner)).status_code == 204


def test_stytch_unavailable_is_a_503(
    site: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """No policy and Stytch failing: 503 with Retry-After, never 200."""
    viewer = member(["viewer"])
    stytch_emulator.faults.fail("rbac.policy", 503, retry_after=4)
    answer = Client().get(f"/orgs/{viewer.organization_id}/documents", headers=bearer(viewer))
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "4"
    assert detail(answer)["error"] == "stytch_unavailable"


def test_middleware_sets_the_principal_and_answers_view_errors(
    site: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """request.stytch_principal is the member (None when anonymous, no refusal); an error
    raised in a view is the table's answer; one authentication per request."""
    viewer, editor = member(["viewer"]), member(["editor"])
    client = Client()
    assert client.get("/me").json() == {"member_id": None}
    client.cookies["stytch_session"] = viewer.session_token
    assert client.get("/me").json() == {"member_id": viewer.member_id}
    assert stytch_emulator.requests["sessions.authenticate"] == 1
    refused = Client().get("/edit-check", headers=bearer(viewer))
    assert refused.status_code == 403
    assert detail(refused)["error"] == "permission_denied"
    assert Client().get("/edit-check", headers=bearer(editor)).json() == {"ok": True}


@pytest.mark.parametrize("channel", ["cookie", "header"])
def test_refreshed_jwt_is_handed_back(
    site: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory, channel: str
) -> None:
    """An expired JWT refreshed by Stytch goes back on the channel it came in."""
    editor = member(["editor"])
    stytch_emulator.advance_time(301)
    client = Client()
    docs = f"/orgs/{editor.organization_id}/documents"
    if channel == "cookie":
        client.cookies["stytch_session_jwt"] = editor.session_jwt
        answer = client.get(docs)
        cookie = answer.cookies["stytch_session_jwt"]
        assert cookie.value not in ("", editor.session_jwt)
        assert cookie["samesite"] == "Lax"
        assert cookie["secure"]
    else:
        answer = client.get(docs, headers=bearer(editor))
        assert answer.headers["X-Stytch-Session-JWT"] not in ("", editor.session_jwt)
        assert "stytch_session_jwt" not in answer.cookies
    assert answer.status_code == 200


def test_drf_permission_and_authentication(site: StytchRBAC, member: MemberFactory) -> None:
    """rbac.drf(...) with StytchAuthentication: 200 for the role, the table's 401 (missing,
    forged), 403 permission_denied and tenancy_error otherwise."""
    manager, viewer = member(["project_manager"]), member(["viewer"])
    outsider = member(["project_manager"], organization="Globex")
    projects = f"/orgs/{manager.organization_id}/projects"
    client = Client()
    ok = client.put(projects, headers=bearer(manager))
    assert ok.status_code == 200
    assert ok.json() == {"updated_by": manager.member_id, "user": manager.member_id}
    missing = client.put(projects)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert detail(missing)["reason"] == "missing"
    head, payload, _ = manager.session_jwt.split(".")
    forged = client.put(projects, headers={"Authorization": f"Bearer {head}.{payload}.AAAA"})
    assert forged.status_code == 401
    assert forged.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    denied = client.put(projects, headers=bearer(viewer))
    assert denied.status_code == 403
    assert detail(denied)["error"] == "permission_denied"
    other = client.put(projects, headers=bearer(outsider))
    assert detail(other)["error"] == "tenancy_error"


def test_drf_answers_503_when_stytch_is_down(
    site: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """DRF refusals carry the table's 503 and Retry-After too."""
    manager = member(["project_manager"])
    stytch_emulator.faults.fail("rbac.policy", 503, retry_after=3)
    answer = Client().put(f"/orgs/{manager.organization_id}/projects", headers=bearer(manager))
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "3"
    assert detail(answer)["error"] == "stytch_unavailable"


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # Django's async stack is asyncio's
async def test_async_view_awaits_the_facade(site: StytchRBAC, member: MemberFactory) -> None:
    """An async view under Django's async stack is guarded through the facade's loop."""
    editor, viewer = member(["editor"]), member(["viewer"])
    client = AsyncClient()
    edit = f"/orgs/{editor.organization_id}/edit"
    ok = await client.get(edit, headers=bearer(editor))
    assert ok.status_code == 200
    assert ok.json() == {"editor": editor.member_id}
    denied = await client.get(edit, headers=bearer(viewer))
    assert denied.status_code == 403
    assert (await client.get(edit)).status_code == 401
    docs = await client.get(f"/orgs/{viewer.organization_id}/documents", headers=bearer(viewer))
    assert docs.status_code == 200  # a sync view in the async stack


def test_missing_settings_are_a_clear_error(stytch_rbac_sync: StytchRBAC) -> None:
    """Without settings.STYTCH_RBAC the middleware names the setting."""
    with override_settings(STYTCH_RBAC=None), pytest.raises(RuntimeError, match="STYTCH_RBAC"):
        django_glue.StytchSessionMiddleware(lambda request: HttpResponse())


ERRORS = [
    Unauthenticated("missing", "no credential"),
    Unauthenticated("revoked", "the session was revoked"),
    PermissionDenied("documents", "edit", organization_id="org-1", member_id="m-1"),
    TenancyError("org-1", "org-2", member_id="m-1"),
    StytchUnavailable("down", retry_after=2.5, request_id="req-1"),
    StytchAPIError(409, error_type="duplicate_email", request_id="req-2"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_answers_match_the_asgi_integrations(error: Exception) -> None:
    """Django's answer to each error has the status, JSON body and headers Starlette's has."""
    mine = django_glue.error_response(error)  # type: ignore[arg-type]
    theirs = starlette_glue.error_response(error)  # type: ignore[arg-type]
    assert mine.status_code == theirs.status_code
    assert json.loads(mine.content) == json.loads(bytes(theirs.body))
    skip = {"content-length", "content-type"}
    assert {k.lower(): v for k, v in mine.headers.items() if k.lower() not in skip} == {
        k.lower(): v for k, v in theirs.headers.items() if k.lower() not in skip
    }


def test_cookie_credentials_get_the_csrf_check(site: StytchRBAC, member: MemberFactory) -> None:
    """A cookie credential on an unsafe request from another origin is refused (403
    cross_site_request); a safe cross-site request passes."""
    owner = member(["owner"])
    client = Client()
    client.cookies["stytch_session_jwt"] = owner.session_jwt
    doc = f"/orgs/{owner.organization_id}/documents/doc-1"
    evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    refused = client.delete(doc, headers=evil)
    assert refused.status_code == 403
    assert detail(refused)["error"] == "cross_site_request"
    listed = client.get(f"/orgs/{owner.organization_id}/documents", headers=evil)
    assert listed.status_code == 200
    assert client.delete(doc, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 204
