"""At run time a generated action enum member is only accepted with its own resource."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.permissions import DocumentsAction, ProjectsAction, Resource
from stytch_rbac import Principal, StytchRBAC
from stytch_rbac.emulator import Emulator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.anyio
async def test_foreign_action_enum_is_refused_not_reinterpreted(anyio_backend: str) -> None:
    """(Resource.DOCUMENTS, ProjectsAction.READ) raises TypeError instead of quietly asking
    about documents:read, while the matching pair and plain strings keep working."""
    emu = Emulator(policy=EXAMPLES / "policy.json")
    org = emu.create_organization("Acme", slug="acme")
    viewer = emu.create_member(org.organization_id, "v@acme.test", roles=["viewer"])
    session = emu.create_session(viewer.member_id)
    async with (
        emu.serve() as base_url,
        StytchRBAC(emu.project_id, emu.secret, base_url=base_url, clock=emu.clock) as rbac,
    ):
        principal: Principal = await rbac.authenticate(session_jwt=session.session_jwt)
        assert await rbac.is_authorized(principal, Resource.DOCUMENTS, DocumentsAction.READ)
        assert await rbac.is_authorized(principal, "documents", "read")
        with pytest.raises(TypeError, match=r"ProjectsAction\.READ is an action of resource"):
            await rbac.is_authorized(principal, Resource.DOCUMENTS, ProjectsAction.READ)
        with pytest.raises(TypeError, match="'projects', not of 'documents'"):
            await rbac.authorize(principal, "documents", ProjectsAction.READ)
