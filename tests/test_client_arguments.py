"""At run time a generated action enum member is only accepted with its own resource."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.permissions import DocumentsAction, ProjectsAction, Resource
from stytch_rbac import Principal, StytchRBAC
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
