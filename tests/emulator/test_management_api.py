"""The emulator's Management API: workspace auth, projects and environments, the RBAC policy.

Every answer is checked against Stytch's Management API description
(tests/conformance/openapi/stytch-management.openapi.yml).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conformance.description import management_description

from stytch_rbac import Policy
from stytch_rbac.emulator import Emulator
from stytch_rbac.policy.management import from_management, set_request

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "examples" / "policy.json"
SPEC = management_description()
_ENV = "/pwa/v3/projects/{project_slug}/environments/{environment_slug}"


def fits(method: str, template: str, body: Any) -> None:
    """``body`` fits the 200 schema the description gives ``method template``."""
    op = SPEC.operations[(method, template)]
    assert SPEC.response_problems(op, 200, body) == []


@pytest.fixture
def emu() -> Emulator:
    """An emulator serving examples/policy.json."""
    return Emulator(policy=POLICY)


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client carrying the workspace key."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emu.app),
        base_url="http://emulator",
        auth=(emu.workspace_key_id, emu.workspace_key_secret),
    ) as client:
        yield client


def _policy_path(emu: Emulator) -> str:
    return f"/pwa/v3/projects/{emu.project_slug}/environments/{emu.environment_slug}/rbac_policy"


@pytest.mark.anyio
async def test_the_management_api_wants_the_workspace_key_not_the_project_secret(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    """The project's id and secret, or no credentials, get Stytch's 401; the project's own
    API does not take the workspace key either."""
    for auth in [(emu.project_id, emu.secret), None]:
        answer = await http.get("/pwa/v3/projects", auth=auth or httpx.Auth())
        assert answer.status_code == 401
        assert answer.json()["error_type"] == "unauthorized_credentials"
    runtime = await http.get("/v1/b2b/rbac/policy")
    assert runtime.status_code == 401


@pytest.mark.anyio
async def test_projects_and_environments_map_to_the_runtime_project(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    """One project with one environment whose project_id is the emulator's, in the documented
    shapes; an unknown slug is a 404."""
    projects = (await http.get("/pwa/v3/projects")).json()
    fits("GET", "/pwa/v3/projects", projects)
    assert [p["project_slug"] for p in projects["projects"]] == [emu.project_slug]
    envs = (await http.get(f"/pwa/v3/projects/{emu.project_slug}/environments")).json()
    fits("GET", "/pwa/v3/projects/{project_slug}/environments", envs)
    assert [(e["environment_slug"], e["project_id"], e["type"]) for e in envs["environments"]] == [
        ("test", emu.project_id, "TEST")
    ]
    one = (await http.get(f"/pwa/v3/projects/{emu.project_slug}/environments/test")).json()
    fits("GET", _ENV, one)
    project = (await http.get(f"/pwa/v3/projects/{emu.project_slug}")).json()
    fits("GET", "/pwa/v3/projects/{project_slug}", project)
    for path in ["/pwa/v3/projects/nope", f"/pwa/v3/projects/{emu.project_slug}/environments/x"]:
        missing = await http.get(path)
        assert missing.status_code == 404
        assert missing.json()["error_type"] == "project_not_found"


@pytest.mark.anyio
async def test_get_answers_the_policy_in_the_management_shape(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    """The document fits pwa_rbac_v3_GetResponse and converts back to the emulator's policy
    (default-role descriptions aside, which the shape does not carry)."""
    body = (await http.get(_policy_path(emu))).json()
    fits("GET", _ENV + "/rbac_policy", body)
    doc = body["policy"]
    assert {r["resource_id"] for r in doc["stytch_resources"]} == {
        r.resource_id for r in emu.policy.resources if r.resource_id.startswith("stytch.")
    }
    assert from_management(doc, base=emu.policy).sha256() == emu.policy.sha256()


@pytest.mark.anyio
async def test_put_changes_what_the_runtime_policy_endpoint_answers(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    """A PUT with a role removed and a permission added answers the resulting policy (fitting
    pwa_rbac_v3_SetResponse), and GET /v1/b2b/rbac/policy answers the same from then on."""
    policy = Policy.from_file(POLICY)
    body = set_request(policy)
    body["custom_roles"] = [r for r in body["custom_roles"] if r["role_id"] != "auditor"]
    viewer = next(r for r in body["custom_roles"] if r["role_id"] == "viewer")
    viewer["permissions"].append({"resource_id": "billing", "actions": ["read"]})
    answer = await http.put(_policy_path(emu), json=body)
    assert answer.status_code == 200, answer.text
    fits("PUT", _ENV + "/rbac_policy", answer.json())
    runtime = await http.get("/v1/b2b/rbac/policy", auth=(emu.project_id, emu.secret))
    roles = {r["role_id"]: r for r in runtime.json()["policy"]["roles"]}
    assert "auditor" not in roles
    assert {"resource_id": "billing", "actions": ["read"]} in roles["viewer"]["permissions"]
    assert from_management(answer.json()["policy"], base=emu.policy) == emu.policy


@pytest.mark.anyio
async def test_put_refuses_what_stytch_refuses_and_keeps_the_policy(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    """A grant on an undefined resource, a missing field type or a reserved role id is a 400
    naming the problem, and the policy is unchanged."""
    before = emu.policy
    base = set_request(before)
    undefined = {
        **base,
        "custom_roles": [
            {
                "role_id": "x",
                "description": "",
                "permissions": [{"resource_id": "nowhere", "actions": ["read"]}],
            }
        ],
    }
    reserved = {
        **base,
        "custom_roles": [{"role_id": "stytch_owner", "description": "", "permissions": []}],
    }
    wrong_type = {**base, "custom_resources": "documents"}
    for body, words in [
        (undefined, "'nowhere'"),
        (reserved, "stytch_owner"),
        (wrong_type, "custom_resources"),
    ]:
        answer = await http.put(_policy_path(emu), json=body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error_type"] == "invalid_argument"
        assert words in answer.json()["error_message"]
    assert emu.policy is before


@pytest.mark.anyio
async def test_stytch_resources_cannot_be_set_and_absent_fields_are_kept(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    """``stytch_resources`` in a PUT body is ignored, and a body with only custom_scopes keeps
    every role and resource."""
    before = emu.policy
    answer = await http.put(
        _policy_path(emu),
        json={"stytch_resources": [], "custom_scopes": []},
    )
    assert answer.status_code == 200, answer.text
    assert emu.policy.roles == before.roles
    assert emu.policy.resources == before.resources
    assert emu.policy.scopes == ()


@pytest.mark.anyio
async def test_faults_apply_to_management_routes(emu: Emulator, http: httpx.AsyncClient) -> None:
    """A fault injected on management.rbac_policy.get is answered like any other route's."""
    emu.faults.fail("management.rbac_policy.get", status=503, times=1)
    assert (await http.get(_policy_path(emu))).status_code == 503
    assert (await http.get(_policy_path(emu))).status_code == 200
    assert emu.requests["management.rbac_policy.get"] == 2
