"""``await rbac.verify(module)`` against the emulator, and a generated module used by a guard."""

from __future__ import annotations

import importlib.util
import types
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from stytch_rbac import PermissionDenied, Policy, PolicyError
from stytch_rbac.client import StytchRBAC
from stytch_rbac.codegen import Drift, PolicyDriftError
from stytch_rbac.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_POLICY = ROOT / "examples" / "policy.json"

pytestmark = pytest.mark.anyio


def load_example_module() -> types.ModuleType:
    """Import examples/permissions.py from its file."""
    spec = importlib.util.spec_from_file_location(
        "example_permissions_verify", ROOT / "examples" / "permissions.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@asynccontextmanager
async def connect(emulator: Emulator) -> AsyncIterator[StytchRBAC]:
    """A StytchRBAC talking to the emulator in process."""
    transport = httpx.ASGITransport(app=emulator.app)
    async with (
        httpx.AsyncClient(transport=transport) as http,
        StytchRBAC(
            emulator.project_id,
            emulator.secret,
            base_url="http://emulator.invalid",
            http_client=http,
        ) as rbac,
    ):
        yield rbac


async def test_verify_is_empty_when_in_sync() -> None:
    """The example module against the emulator serving the example policy: no drift."""
    async with connect(Emulator(policy=EXAMPLE_POLICY)) as rbac:
        result = await rbac.verify(load_example_module())
        assert result == Drift()
        assert not result
        assert await rbac.verify(load_example_module(), strict=True) == Drift()


async def test_verify_reports_and_strict_raises_on_drift(example_policy: Policy) -> None:
    """A live policy that lost a resource and gained a role: reported, or raised with strict."""
    data = example_policy.to_json()
    data["resources"] = [r for r in data["resources"] if r["resource_id"] != "webhooks"]
    for role in data["roles"]:
        role["permissions"] = [p for p in role["permissions"] if p["resource_id"] != "webhooks"]
    data["roles"].append({"role_id": "intern", "description": "", "permissions": []})
    async with connect(Emulator(policy=data)) as rbac:
        module = load_example_module()
        result = await rbac.verify(module)
        assert result.resources_removed == ("webhooks",)
        assert result.roles_added == ("intern",)
        with pytest.raises(PolicyDriftError) as raised:
            await rbac.verify(module, strict=True)
        assert isinstance(raised.value, PolicyError)
        assert raised.value.drift == result
        assert "resources removed: 'webhooks'" in str(raised.value)


async def test_generated_constants_drive_a_guard() -> None:
    """The generated P constants work in require(): an editor may edit, a viewer is denied."""
    emulator = Emulator(policy=EXAMPLE_POLICY)
    org = emulator.create_organization(name="Acme", slug="acme").organization_id
    editor = emulator.create_member(org, email_address="ed@acme.test", roles=["editor"])
    viewer = emulator.create_member(org, email_address="vi@acme.test", roles=["viewer"])
    permissions = load_example_module()
    async with connect(emulator) as rbac:
        guard = rbac.require(permissions.P.documents.edit, permissions.DocumentsAction.READ)
        ed = await rbac.authenticate(
            session_jwt=emulator.create_session(editor.member_id).session_jwt
        )
        vi = await rbac.authenticate(
            session_jwt=emulator.create_session(viewer.member_id).session_jwt
        )
        assert await guard.check(ed) == ed
        with pytest.raises(PermissionDenied):
            await guard.check(vi)
        edit = permissions.permission(
            permissions.Resource.DOCUMENTS, permissions.DocumentsAction.EDIT
        )
        assert await rbac.is_authorized(ed, edit)
        assert not await rbac.is_authorized(vi, edit)
