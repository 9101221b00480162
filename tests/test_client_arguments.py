"""The permission arguments of the facade: every spelling (including "resource:action") is
accepted, a generated action enum member only with its own resource, and a misspelling is
an error naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.permissions import DocumentsAction, P, ProjectsAction, Resource
from stytch_rbac import Permission, PermissionDenied, Principal, StytchRBAC, UnknownPermission
from stytch_rbac.testing import MemberFactory

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.anyio
@pytest.mark.stytch_policy(EXAMPLES / "policy.json")
@pytest.mark.stytch_http
async def test_foreign_action_enum_is_refused_not_reinterpreted(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """(Resource.DOCUMENTS, ProjectsAction.READ) raises TypeError instead of quietly asking
    about documents:read, while the matching pair and plain strings keep working."""
    rbac = stytch_rbac
    viewer = member(["viewer"])
    principal: Principal = await rbac.authenticate(session_jwt=viewer.session_jwt)
    assert await rbac.is_authorized(principal, Resource.DOCUMENTS, DocumentsAction.READ)
    assert await rbac.is_authorized(principal, "documents", "read")
    with pytest.raises(TypeError, match=r"ProjectsAction\.READ is an action of resource"):
        await rbac.is_authorized(principal, Resource.DOCUMENTS, ProjectsAction.READ)
    with pytest.raises(TypeError, match="'projects', not of 'documents'"):
        await rbac.authorize(principal, "documents", ProjectsAction.READ)


@pytest.mark.anyio
@pytest.mark.stytch_policy(EXAMPLES / "policy.json")
async def test_every_spelling_of_a_permission_is_accepted(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """is_authorized, authorize, explain and require take "resource:action" as they take
    Permission, P constants, action enums and (resource, action), with the same answers."""
    viewer = member(roles=["viewer"])
    principal = viewer.principal
    for read in (
        ("documents:read",),
        (Permission("documents", "read"),),
        (P.documents.read,),
        (DocumentsAction.READ,),
        ("documents", "read"),
    ):
        assert await stytch_rbac.is_authorized(principal, *read)
        await stytch_rbac.authorize(principal, *read)
        assert (await stytch_rbac.explain(principal, *read)).granted_by == {"viewer"}
    assert not await stytch_rbac.is_authorized(principal, "documents:delete")
    with pytest.raises(PermissionDenied) as denied:
        await stytch_rbac.authorize(principal, "stytch.member:update.info.name")
    assert (denied.value.resource, denied.value.action) == ("stytch.member", "update.info.name")
    assert not (await stytch_rbac.explain(principal, "documents:share")).allowed
    assert await stytch_rbac.require("documents:read").check(principal) is principal


@pytest.mark.anyio
@pytest.mark.stytch_policy(EXAMPLES / "policy.json")
async def test_misspelt_permissions_name_the_problem(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """A resource without an action is a TypeError, text with two ':' a ValueError, an action
    the policy lacks UnknownPermission: never a silent deny."""
    principal = member(roles=["viewer"]).principal
    with pytest.raises(TypeError, match="'documents' is a resource without an action"):
        await stytch_rbac.is_authorized(principal, "documents")
    with pytest.raises(ValueError, match="more than one ':'"):
        await stytch_rbac.authorize(principal, "documents:read:all")
    with pytest.raises(ValueError, match="expected 'resource:action'"):
        await stytch_rbac.explain(principal, "documents:")
    with pytest.raises(UnknownPermission, match="'raed'"):
        await stytch_rbac.is_authorized(principal, "documents:raed")
    with pytest.raises(ValueError, match="more than one ':'"):
        stytch_rbac.require("a:b:c")
