"""The seam's Management API calls (and the org-policy PUT) against the emulator, in process:
credentials, URLs, and every failure through the one translator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from stytch_rbac import StytchAPIError, StytchUnavailable
from stytch_rbac._stytch import Connection, Credentials
from stytch_rbac._stytch.management import (
    MANAGEMENT_API,
    ManagementConnection,
    WorkspaceCredentials,
    get_rbac_policy,
    list_environments,
    list_projects,
    put_org_policy,
    set_rbac_policy,
)
from stytch_rbac.emulator import Emulator
from stytch_rbac.policy.management import from_management, set_request

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
BASE = "http://emulator"


@pytest.fixture
def emu() -> Emulator:
    """An emulator serving the example policy."""
    return Emulator(policy=POLICY)


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests reach the emulator's app in process."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app)) as client:
        yield client


def _conn(
    http: httpx.AsyncClient, emu: Emulator, secret: str | None = None
) -> ManagementConnection:
    creds = WorkspaceCredentials(emu.workspace_key_id, secret or emu.workspace_key_secret, BASE)
    return ManagementConnection(http, creds, timeout=5)


def test_workspace_credentials_come_from_the_environment_and_hide_the_secret() -> None:
    """from_env reads the key and the optional URL, names what is missing or wrong, and the
    repr never shows the secret."""
    creds = WorkspaceCredentials.from_env(
        {"STYTCH_WORKSPACE_KEY_ID": "key", "STYTCH_WORKSPACE_KEY_SECRET": "s3cr3t"}
    )
    assert (creds.key_id, creds.base_url) == ("key", MANAGEMENT_API)
    assert "s3cr3t" not in repr(creds)
    with pytest.raises(ValueError, match="STYTCH_WORKSPACE_KEY_SECRET"):
        WorkspaceCredentials.from_env({"STYTCH_WORKSPACE_KEY_ID": "key"})
    with pytest.raises(ValueError, match="STYTCH_MANAGEMENT_URL"):
        WorkspaceCredentials.from_env(
            {
                "STYTCH_WORKSPACE_KEY_ID": "k",
                "STYTCH_WORKSPACE_KEY_SECRET": "s",
                "STYTCH_MANAGEMENT_URL": "ftp://x",
            }
        )


def test_slugs_are_percent_encoded_one_segment_each() -> None:
    """A slug holding '/' or '?' stays one path segment."""
    conn = ManagementConnection(
        httpx.AsyncClient(), WorkspaceCredentials("k", "s", "https://m.test")
    )
    assert conn.url("projects", "a/b?c", "environments") == (
        "https://m.test/pwa/v3/projects/a%2Fb%3Fc/environments"
    )


@pytest.mark.anyio
async def test_the_calls_round_trip_a_policy(emu: Emulator, http: httpx.AsyncClient) -> None:
    """list_projects -> list_environments -> get -> set give the emulator's project, its
    runtime id and a policy that reads back as sent."""
    conn = _conn(http, emu)
    assert [p["project_slug"] for p in await list_projects(conn)] == ["emulator"]
    (env,) = await list_environments(conn, "emulator")
    assert env["project_id"] == emu.project_id
    policy = from_management(await get_rbac_policy(conn, "emulator", "test"))
    body = set_request(policy)
    body["custom_roles"] = body["custom_roles"][:1]
    answered = await set_rbac_policy(conn, "emulator", "test", body)
    assert len(answered["custom_roles"]) == 1
    assert from_management(await get_rbac_policy(conn, "emulator", "test")) == from_management(
        answered
    )


@pytest.mark.anyio
async def test_failures_go_through_the_one_translator(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    """A wrong key is a StytchAPIError carrying Stytch's fields; a 5xx (after retries), a body
    that is not JSON and a 404 are the translator's exceptions; a PUT is never retried."""
    with pytest.raises(StytchAPIError) as wrong:
        await list_projects(_conn(http, emu, secret="wrong"))
    assert wrong.value.error_type == "unauthorized_credentials"
    assert "wrong" not in str(wrong.value)
    conn = _conn(http, emu)
    emu.faults.fail("management.rbac_policy.get", status=500, times=10)
    with pytest.raises(StytchUnavailable):
        await get_rbac_policy(conn, "emulator", "test")
    emu.faults.clear()
    emu.faults.garbage("management.projects.list", times=1)
    with pytest.raises(StytchUnavailable, match="without 'projects'"):
        await list_projects(conn)
    with pytest.raises(StytchAPIError) as missing:
        await get_rbac_policy(conn, "emulator", "nope")
    assert missing.value.error_type == "project_not_found"
    emu.faults.fail("management.rbac_policy.set", status=503, times=1)
    with pytest.raises(StytchUnavailable):
        await set_rbac_policy(conn, "emulator", "test", {})
    assert emu.requests["management.rbac_policy.set"] == 1


@pytest.mark.anyio
async def test_org_policies_are_put_with_the_project_credentials(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    """put_org_policy saves an organization's custom roles with the project secret and answers
    them; a role Stytch refuses is a StytchAPIError naming it."""
    org = emu.create_organization("Acme", slug="acme").organization_id
    conn = Connection(http, Credentials(emu.project_id, emu.secret, BASE), timeout=5)
    role = {
        "role_id": "rev",
        "description": "",
        "permissions": [{"resource_id": "documents", "actions": ["read"]}],
    }
    saved = await put_org_policy(conn, org, {"roles": [role]})
    assert saved["roles"][0]["role_id"] == "rev"
    bad = {**role, "permissions": [{"resource_id": "nowhere", "actions": ["read"]}]}
    with pytest.raises(StytchAPIError) as refused:
        await put_org_policy(conn, org, {"roles": [bad]})
    assert refused.value.error_type == "invalid_rbac_custom_role"
