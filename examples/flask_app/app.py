"""The document service on Flask: routes, guards and an in-memory store.

Every route lives under ``/orgs/<organization_id>``: the guards take the
organization from the URL rule (``path("organization_id")`` reads
``request.view_args``), so a member of another organization gets 403 even when
one of its roles would allow the action. Permissions are the typed constants
generated from ``examples/policy.json``.

Removing and inviting members are Stytch built-in actions: they go through
``rbac.as_member(principal)``, blocking, so that Stytch itself enforces the
member's ``stytch.member`` permissions (the guard answers early, with the same rule).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, abort, jsonify, request
from pydantic import BaseModel, Field, ValidationError

from examples.permissions import P
from stytch_rbac import path
from stytch_rbac.integrations.flask import current_principal, init_app
from stytch_rbac.sync import StytchRBAC

__all__ = ["Document", "DocumentIn", "DocumentStore", "InviteIn", "create_app"]


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
            abort(404, description="no such document in this organization")
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


def _body(model: type[DocumentIn] | type[InviteIn]) -> Any:
    """The request's JSON body as ``model``; a 422 with the errors otherwise, like FastAPI."""
    try:
        return model.model_validate(request.get_json(silent=True) or {})
    except ValidationError as exc:
        abort(Response(exc.json(include_url=False), status=422, mimetype="application/json"))


def create_app(rbac: StytchRBAC | None = None, *, store: DocumentStore | None = None) -> Flask:
    """Build the app around ``rbac`` (default: the blocking ``StytchRBAC.from_env()``)."""
    facade = rbac if rbac is not None else StytchRBAC.from_env()
    documents = store if store is not None else DocumentStore()
    app = Flask(__name__)
    # Authenticates each request once, hands a refreshed session JWT back, and answers the
    # library's errors raised in views (member calls) from the shared table.
    init_app(app, facade)

    in_org = path("organization_id")
    can_read = facade.require(P.documents.read, organization_id=in_org)
    can_create = facade.require(P.documents.create, organization_id=in_org)
    can_edit = facade.require(P.documents.edit, organization_id=in_org)
    can_delete = facade.require(P.documents.delete, organization_id=in_org)
    can_invite = facade.require(P.stytch_member.create, organization_id=in_org)
    can_remove = facade.require(P.stytch_member.delete, organization_id=in_org)

    @app.get("/me")
    def me() -> dict[str, object]:
        """Who the caller is, and every permission its roles grant."""
        principal = current_principal()
        return {
            "member_id": principal.member_id,
            "organization_id": principal.organization_id,
            "roles": sorted(principal.roles),
            "permissions": facade.permissions(principal),
        }

    @app.get("/orgs/<organization_id>/documents")
    @can_read
    def list_documents(organization_id: str) -> Response:
        """The organization's documents (``documents:read``)."""
        return jsonify([d.model_dump() for d in documents.of_organization(organization_id)])

    @app.post("/orgs/<organization_id>/documents")
    @can_create
    def create_document(organization_id: str) -> tuple[dict[str, Any], int]:
        """Create a document (``documents:create``)."""
        data, author = _body(DocumentIn), current_principal()
        created = documents.put(
            Document(
                **data.model_dump(),
                document_id=documents.new_id(),
                organization_id=organization_id,
                created_by=author.member_id,
                updated_by=author.member_id,
            )
        )
        return created.model_dump(), 201

    @app.get("/orgs/<organization_id>/documents/<document_id>")
    @can_read
    def read_document(organization_id: str, document_id: str) -> dict[str, Any]:
        """One document (``documents:read``)."""
        return documents.get(organization_id, document_id).model_dump()

    @app.put("/orgs/<organization_id>/documents/<document_id>")
    @can_edit
    def edit_document(organization_id: str, document_id: str) -> dict[str, Any]:
        """Replace a document's title and body (``documents:edit``)."""
        old = documents.get(organization_id, document_id)
        changes = {**_body(DocumentIn).model_dump(), "updated_by": current_principal().member_id}
        return documents.put(old.model_copy(update=changes)).model_dump()

    @app.delete("/orgs/<organization_id>/documents/<document_id>")
    @can_delete
    def delete_document(organization_id: str, document_id: str) -> tuple[str, int]:
        """Delete a document (``documents:delete``)."""
        documents.delete(organization_id, document_id)
        return "", 204

    @app.post("/orgs/<organization_id>/members/invite")
    @can_invite
    def invite_member(organization_id: str) -> tuple[dict[str, str], int]:
        """Invite someone by email (``stytch.member:create``, enforced by Stytch as well)."""
        invite, inviter = _body(InviteIn), current_principal()
        result = facade.as_member(inviter).magic_links.email.invite(
            organization_id=organization_id,
            email_address=invite.email_address,
            invited_by_member_id=inviter.member_id,
            roles=invite.roles or None,
        )
        return {"member_id": result.member_id, "status": result.member.status}, 201

    @app.delete("/orgs/<organization_id>/members/<member_id>")
    @can_remove
    def remove_member(organization_id: str, member_id: str) -> tuple[str, int]:
        """Remove a member (``stytch.member:delete``), as the caller: Stytch checks it too.

        Stytch's failures answer through init_app's error handlers: no such member is
        404 ``not_found``, Stytch down, slow or rate limiting is 503.
        """
        facade.as_member(current_principal()).organizations.members.delete(
            organization_id=organization_id, member_id=member_id
        )
        return "", 204

    return app
