"""The document service on Django: plain views for documents, a DRF API for members.

Every route lives under ``/orgs/<organization_id>``: the guards take the
organization from the URL pattern (``path("organization_id")``), so a member
of another organization gets 403 even when one of its roles would allow the
action. Inviting and removing members are Stytch built-in actions, made with
``rbac.as_member(principal)`` so that Stytch itself enforces the member's
``stytch.member`` permissions (the DRF permission class answers early, with the
same rule).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import path as url
from pydantic import BaseModel, Field, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from examples.permissions import P
from stytch_rbac import path
from stytch_rbac.integrations.django import StytchAuthentication, principal_of
from stytch_rbac.sync import StytchRBAC

__all__ = ["Document", "DocumentIn", "DocumentStore", "InviteIn", "urlpatterns_for"]


class DocumentIn(BaseModel):
    """What a client sends to create or edit a document."""

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=100_000)


class Document(DocumentIn):
    """A stored document."""

    document_id: str
    organization_id: str
    created_by: str
    updated_by: str


class InviteIn(BaseModel):
    """Who to invite into the organization, and with which roles."""

    email_address: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    roles: list[str] = Field(default_factory=list)


@dataclass
class DocumentStore:
    """Documents by organization, in memory (a real app would use its database)."""

    documents: dict[str, dict[str, Document]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def of_organization(self, organization_id: str) -> list[Document]:
        """Every document of the organization, oldest first."""
        return list(self.documents.get(organization_id, {}).values())

    def get(self, organization_id: str, document_id: str) -> Document:
        """One document of the organization, or 404."""
        document = self.documents.get(organization_id, {}).get(document_id)
        if document is None:
            raise Http404("no such document in this organization")
        return document

    def put(self, document: Document) -> Document:
        """Store (create or replace) a document."""
        self.documents.setdefault(document.organization_id, {})[document.document_id] = document
        return document

    def new_id(self) -> str:
        """A fresh document id."""
        return f"doc-{next(self._ids)}"

    def delete(self, organization_id: str, document_id: str) -> None:
        """Remove a document, or 404."""
        self.get(organization_id, document_id)
        del self.documents[organization_id][document_id]


def _invalid(exc: ValidationError) -> HttpResponse:
    return HttpResponse(exc.json(include_url=False), status=422, content_type="application/json")


def urlpatterns_for(rbac: StytchRBAC, store: DocumentStore | None = None) -> list[Any]:
    """The routes, guarded by ``rbac`` (the blocking facade), over ``store``."""
    documents = store if store is not None else DocumentStore()
    in_org = path("organization_id")

    def me(request: HttpRequest) -> JsonResponse:
        """Who the caller is, and every permission its roles grant."""
        principal = principal_of(request)
        return JsonResponse(
            {
                "member_id": principal.member_id,
                "organization_id": principal.organization_id,
                "roles": sorted(principal.roles),
                "permissions": rbac.permissions(principal),
            }
        )

    @rbac.require(P.documents.read, organization_id=in_org)
    def list_documents(request: HttpRequest, organization_id: str) -> JsonResponse:
        """The organization's documents (``documents:read``)."""
        found = [d.model_dump() for d in documents.of_organization(organization_id)]
        return JsonResponse(found, safe=False)

    @rbac.require(P.documents.create, organization_id=in_org)
    def create_document(request: HttpRequest, organization_id: str) -> HttpResponse:
        """Create a document (``documents:create``)."""
        try:
            data = DocumentIn.model_validate(json.loads(request.body or b"{}"))
        except ValidationError as exc:
            return _invalid(exc)
        author = principal_of(request)
        created = documents.put(
            Document(
                **data.model_dump(),
                document_id=documents.new_id(),
                organization_id=organization_id,
                created_by=author.member_id,
                updated_by=author.member_id,
            )
        )
        return JsonResponse(created.model_dump(), status=201)

    def documents_view(request: HttpRequest, organization_id: str) -> HttpResponse:
        if request.method == "POST":
            return create_document(request, organization_id)
        return list_documents(request, organization_id)

    @rbac.require(P.documents.read, organization_id=in_org)
    def read_document(request: HttpRequest, organization_id: str, document_id: str) -> Any:
        """One document (``documents:read``)."""
        return JsonResponse(documents.get(organization_id, document_id).model_dump())

    @rbac.require(P.documents.edit, organization_id=in_org)
    def edit_document(request: HttpRequest, organization_id: str, document_id: str) -> Any:
        """Replace a document's title and body (``documents:edit``)."""
        old = documents.get(organization_id, document_id)
        try:
            data = DocumentIn.model_validate(json.loads(request.body or b"{}"))
        except ValidationError as exc:
            return _invalid(exc)
        changes = {**data.model_dump(), "updated_by": principal_of(request).member_id}
        return JsonResponse(documents.put(old.model_copy(update=changes)).model_dump())

    @rbac.require(P.documents.delete, organization_id=in_org)
    def delete_document(request: HttpRequest, organization_id: str, document_id: str) -> Any:
        """Delete a document (``documents:delete``)."""
        documents.delete(organization_id, document_id)
        return HttpResponse(status=204)

    def document_view(request: HttpRequest, organization_id: str, document_id: str) -> Any:
        handler = {"PUT": edit_document, "DELETE": delete_document}.get(
            request.method or "GET", read_document
        )
        return handler(request, organization_id, document_id)

    class Invite(APIView):  # type: ignore[misc]  # DRF ships no types
        """Invite someone by email (``stytch.member:create``, enforced by Stytch as well)."""

        authentication_classes = (StytchAuthentication,)
        permission_classes = (rbac.drf(P.stytch_member.create, organization_id=in_org),)

        def post(self, request: Request, organization_id: str) -> Response:
            try:
                invite = InviteIn.model_validate(request.data)
            except ValidationError as exc:
                return Response(json.loads(exc.json(include_url=False)), status=422)
            inviter = request.auth
            result = rbac.as_member(inviter).magic_links.email.invite(
                organization_id=organization_id,
                email_address=invite.email_address,
                invited_by_member_id=inviter.member_id,
                roles=invite.roles or None,
            )
            return Response({"member_id": result.member_id, "status": result.member.status}, 201)

    class Member(APIView):  # type: ignore[misc]  # DRF ships no types
        """Remove a member (``stytch.member:delete``), as the caller: Stytch checks it too.

        Stytch's failures are answered by the session middleware: no such member is 404
        ``not_found``, Stytch down, slow or rate limiting is 503.
        """

        authentication_classes = (StytchAuthentication,)
        permission_classes = (rbac.drf(P.stytch_member.delete, organization_id=in_org),)

        def delete(self, request: Request, organization_id: str, member_id: str) -> Response:
            rbac.as_member(request.auth).organizations.members.delete(
                organization_id=organization_id, member_id=member_id
            )
            return Response(status=204)

    return [
        url("me", me),
        url("orgs/<organization_id>/documents", documents_view),
        url("orgs/<organization_id>/documents/<document_id>", document_view),
        url("orgs/<organization_id>/members/invite", Invite.as_view()),
        url("orgs/<organization_id>/members/<member_id>", Member.as_view()),
    ]
