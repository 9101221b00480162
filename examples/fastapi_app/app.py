"""The document service: routes, guards and an in-memory store.

Every route lives under ``/orgs/{organization_id}``: the guards take the
organization from the path, so a member of another organization gets 403 even
when one of its roles would allow the action. Permissions are the typed
constants generated from ``examples/policy.json`` (``P.documents.edit``): a
typo is a mypy error, not a silent deny.

Removing and inviting members are Stytch built-in actions: they go through
``rbac.as_member(principal)`` so that Stytch itself enforces the member's
``stytch.member`` permissions (the guard answers early, with the same rule).
"""

# No ``from __future__ import annotations``: FastAPI resolves the Annotated guard
# aliases below, which are local to create_app(), from the live annotations.

import itertools
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Response
from pydantic import BaseModel, Field

from examples.permissions import P
from stytch_rbac import Principal, StytchRBAC, path
from stytch_rbac.integrations.fastapi import (
    CurrentPrincipal,
    StytchSessionMiddleware,
    add_exception_handlers,
    lifespan,
)

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
    _ids: "itertools.count[int]" = field(default_factory=lambda: itertools.count(1))

    def of_organization(self, organization_id: str) -> list[Document]:
        """Every document of the organization, oldest first."""
        return list(self.documents.get(organization_id, {}).values())

    def get(self, organization_id: str, document_id: str) -> Document:
        """One document of the organization, or 404."""
        document = self.documents.get(organization_id, {}).get(document_id)
        if document is None:
            raise HTTPException(404, detail="no such document in this organization")
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


def create_app(
    rbac: StytchRBAC | None = None,
    *,
    store: DocumentStore | None = None,
    open_rbac: bool | None = None,
) -> FastAPI:
    """Build the app around ``rbac`` (default: ``StytchRBAC.from_env()``).

    ``open_rbac``: enter ``rbac`` in the app's lifespan (default: only when it
    was created here). Tests pass an already-open facade and leave it False.
    """
    if rbac is None:
        rbac = StytchRBAC.from_env()
        open_rbac = True if open_rbac is None else open_rbac
    facade = rbac
    documents = store if store is not None else DocumentStore()

    # lifespan(rbac) opens the facade for each run, documents the guards' 401/403/503 in
    # /docs and checks every guard's permissions against the policy before serving.
    app = FastAPI(
        title="Documents (stytch-rbac example)", lifespan=lifespan(facade) if open_rbac else None
    )
    # Authenticates each request once, and hands a refreshed session JWT back.
    app.add_middleware(StytchSessionMiddleware, rbac=facade)
    # Errors raised outside a guard (MemberClient calls) answer as JSON too, from the
    # same table as the guards' (stytch_rbac.integrations.responses).
    add_exception_handlers(app)

    in_org = path("organization_id")
    can_read = Annotated[
        Principal, Depends(facade.require(P.documents.read, organization_id=in_org))
    ]
    can_create = Annotated[
        Principal, Depends(facade.require(P.documents.create, organization_id=in_org))
    ]
    can_edit = Annotated[
        Principal, Depends(facade.require(P.documents.edit, organization_id=in_org))
    ]
    can_delete = Annotated[
        Principal, Depends(facade.require(P.documents.delete, organization_id=in_org))
    ]
    can_invite = Annotated[
        Principal, Depends(facade.require(P.stytch_member.create, organization_id=in_org))
    ]
    can_remove = Annotated[
        Principal, Depends(facade.require(P.stytch_member.delete, organization_id=in_org))
    ]

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, object]:
        """Who the caller is, and every permission its roles grant."""
        return {
            "member_id": principal.member_id,
            "organization_id": principal.organization_id,
            "roles": sorted(principal.roles),
            "permissions": await facade.permissions(principal),
        }

    @app.get("/orgs/{organization_id}/documents")
    async def list_documents(organization_id: str, _: can_read) -> list[Document]:
        """The organization's documents (``documents:read``)."""
        return documents.of_organization(organization_id)

    @app.post("/orgs/{organization_id}/documents", status_code=201)
    async def create_document(
        organization_id: str, data: DocumentIn, author: can_create
    ) -> Document:
        """Create a document (``documents:create``)."""
        return documents.put(
            Document(
                **data.model_dump(),
                document_id=documents.new_id(),
                organization_id=organization_id,
                created_by=author.member_id,
                updated_by=author.member_id,
            )
        )

    @app.get("/orgs/{organization_id}/documents/{document_id}")
    async def read_document(organization_id: str, document_id: str, _: can_read) -> Document:
        """One document (``documents:read``)."""
        return documents.get(organization_id, document_id)

    @app.put("/orgs/{organization_id}/documents/{document_id}")
    async def edit_document(
        organization_id: str, document_id: str, data: DocumentIn, editor: can_edit
    ) -> Document:
        """Replace a document's title and body (``documents:edit``)."""
        old = documents.get(organization_id, document_id)
        changes = {**data.model_dump(), "updated_by": editor.member_id}
        return documents.put(old.model_copy(update=changes))

    @app.delete("/orgs/{organization_id}/documents/{document_id}", status_code=204)
    async def delete_document(organization_id: str, document_id: str, _: can_delete) -> Response:
        """Delete a document (``documents:delete``)."""
        documents.delete(organization_id, document_id)
        return Response(status_code=204)

    @app.post("/orgs/{organization_id}/members/invite", status_code=201)
    async def invite_member(
        organization_id: str, invite: InviteIn, inviter: can_invite
    ) -> dict[str, str]:
        """Invite someone by email (``stytch.member:create``, enforced by Stytch as well)."""
        result = await facade.as_member(inviter).magic_links.email.invite(
            organization_id=organization_id,
            email_address=invite.email_address,
            invited_by_member_id=inviter.member_id,
            roles=invite.roles or None,
        )
        return {"member_id": result.member_id, "status": result.member.status}

    @app.delete("/orgs/{organization_id}/members/{member_id}", status_code=204)
    async def remove_member(organization_id: str, member_id: str, remover: can_remove) -> Response:
        """Remove a member (``stytch.member:delete``), as the caller: Stytch checks it too.

        Stytch's failures answer through the exception handlers: no such member is
        404 ``not_found``, Stytch down, slow or rate limiting is 503 (with
        ``Retry-After`` when Stytch sent one).
        """
        await facade.as_member(remover).organizations.members.delete(
            organization_id=organization_id, member_id=member_id
        )
        return Response(status_code=204)

    return app
