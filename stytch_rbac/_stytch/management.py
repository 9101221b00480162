"""The policy-as-code calls: Stytch's Management API, and the org-policy ``PUT``.

The Management API (``https://management.stytch.com``, OpenAPI "Stytch Management
API") is authenticated with a *workspace* management key (HTTP Basic: key id and
secret), not a project's credentials. Its calls here: list projects, list a
project's environments (each carries the runtime ``project_id``), get and set an
environment's RBAC policy. Organization custom roles are not in it: they are set
with ``PUT /v1/b2b/rbac/organizations/{organization_id}`` and the project secret
(:func:`put_org_policy`, over an :class:`~.endpoints.Connection`).

Every answer goes through the one translator (:func:`.errors.error_from_response`);
GETs are retried (:mod:`.http`), PUTs are sent once.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ..errors import StytchUnavailable
from .endpoints import DEFAULT_TIMEOUT, Connection, resolve_base_url
from .errors import error_from_response

if TYPE_CHECKING:
    import httpx

__all__ = [
    "MANAGEMENT_API",
    "ManagementConnection",
    "WorkspaceCredentials",
    "get_rbac_policy",
    "list_environments",
    "list_projects",
    "open_management",
    "put_org_policy",
    "set_rbac_policy",
]

MANAGEMENT_API: Final = "https://management.stytch.com"
_KEY_ID: Final = "STYTCH_WORKSPACE_KEY_ID"
_KEY_SECRET: Final = "STYTCH_WORKSPACE_KEY_SECRET"
_URL: Final = "STYTCH_MANAGEMENT_URL"


@dataclass(frozen=True, slots=True)
class WorkspaceCredentials:
    """A workspace management key and the Management API origin (secret not in repr)."""

    key_id: str
    key_secret: str = field(repr=False)
    base_url: str = MANAGEMENT_API

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkspaceCredentials:
        """From ``STYTCH_WORKSPACE_KEY_ID``, ``STYTCH_WORKSPACE_KEY_SECRET`` and optional
        ``STYTCH_MANAGEMENT_URL`` (e.g. the emulator). Raises ValueError naming what is
        missing or wrong."""
        source = os.environ if env is None else env
        missing = [k for k in (_KEY_ID, _KEY_SECRET) if not source.get(k)]
        if missing:
            raise ValueError(f"environment variable(s) not set: {', '.join(missing)}")
        url = source.get(_URL) or MANAGEMENT_API
        try:
            base_url = resolve_base_url("", url)
        except ValueError as exc:
            raise ValueError(f"{_URL}: {exc}") from None
        return cls(source[_KEY_ID], source[_KEY_SECRET], base_url)


@dataclass(frozen=True, slots=True)
class ManagementConnection:
    """The pooled client, the workspace key and the timeout of Management API calls."""

    http: httpx.AsyncClient
    credentials: WorkspaceCredentials
    timeout: float = DEFAULT_TIMEOUT

    @property
    def auth(self) -> httpx.Auth:
        """HTTP basic auth with the workspace key, as an ``httpx.Auth`` (no tuple holding
        the secret in a frame a traceback could print)."""
        from .http import basic_auth

        return basic_auth(self.credentials.key_id, self.credentials.key_secret)

    def url(self, *segments: str) -> str:
        """``/pwa/v3/`` + the segments, each percent-encoded."""
        path = "/".join(urllib.parse.quote(s, safe="") for s in segments)
        return f"{self.credentials.base_url}/pwa/v3/{path}"


@asynccontextmanager
async def open_management(
    credentials: WorkspaceCredentials,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109  (each request's bound, given to httpx)
) -> AsyncIterator[ManagementConnection]:
    """A :class:`ManagementConnection` over a new pooled client, closed on exit."""
    from .http import make_http_client

    async with make_http_client(timeout=timeout) as http:
        yield ManagementConnection(http, credentials, timeout)


def _body(response: httpx.Response, what: str, key: str) -> Any:
    if response.status_code >= 400:
        raise error_from_response(response)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or key not in body:
        raise StytchUnavailable(
            f"Stytch answered {what} without {key!r} in a JSON object",
            stytch_status=response.status_code,
        )
    return body[key]


async def _get(conn: ManagementConnection, url: str, what: str, key: str) -> Any:
    from .http import get_with_retries

    response = await get_with_retries(conn.http, url, auth=conn.auth, timeout=conn.timeout)
    return _body(response, what, key)


async def _put(
    http: httpx.AsyncClient,
    url: str,
    body: Mapping[str, Any],
    auth: httpx.Auth,
    timeout: float,  # noqa: ASYNC109  (given to send_once)
) -> httpx.Response:
    from .http import send_once

    return await send_once(http, "PUT", url, json_body=dict(body), auth=auth, timeout=timeout)


async def list_projects(conn: ManagementConnection) -> list[dict[str, Any]]:
    """``GET /pwa/v3/projects``: every project of the workspace (``project_slug``, ``name``)."""
    projects = await _get(conn, conn.url("projects"), "the project list", "projects")
    return [p for p in projects if isinstance(p, dict)] if isinstance(projects, list) else []


async def list_environments(conn: ManagementConnection, project_slug: str) -> list[dict[str, Any]]:
    """``GET /pwa/v3/projects/{slug}/environments``: each with its runtime ``project_id``."""
    envs = await _get(
        conn,
        conn.url("projects", project_slug, "environments"),
        f"the environments of {project_slug}",
        "environments",
    )
    return [e for e in envs if isinstance(e, dict)] if isinstance(envs, list) else []


def _policy_url(conn: ManagementConnection, project_slug: str, environment_slug: str) -> str:
    return conn.url("projects", project_slug, "environments", environment_slug, "rbac_policy")


async def get_rbac_policy(
    conn: ManagementConnection, project_slug: str, environment_slug: str
) -> dict[str, Any]:
    """``GET .../rbac_policy``: the environment's policy, Management shape (its ``policy``)."""
    policy = await _get(
        conn, _policy_url(conn, project_slug, environment_slug), "the RBAC policy", "policy"
    )
    if not isinstance(policy, dict):
        raise StytchUnavailable("Stytch answered the RBAC policy with a 'policy' that is no object")
    return policy


async def set_rbac_policy(
    conn: ManagementConnection,
    project_slug: str,
    environment_slug: str,
    body: Mapping[str, Any],
) -> dict[str, Any]:
    """``PUT .../rbac_policy`` once with a ``pwa_rbac_v3_SetRequest``; the resulting policy."""
    response = await _put(
        conn.http, _policy_url(conn, project_slug, environment_slug), body, conn.auth, conn.timeout
    )
    policy = _body(response, "setting the RBAC policy", "policy")
    if not isinstance(policy, dict):
        raise StytchUnavailable(
            "Stytch answered the policy update with a 'policy' that is no object"
        )
    return policy


async def put_org_policy(
    conn: Connection, organization_id: str, org_policy: Mapping[str, Any]
) -> dict[str, Any]:
    """``PUT /v1/b2b/rbac/organizations/{id}`` once (project credentials); the saved org policy."""
    url = conn.url("/v1/b2b/rbac/organizations/" + urllib.parse.quote(organization_id, safe=""))
    response = await _put(conn.http, url, {"org_policy": dict(org_policy)}, conn.auth, conn.timeout)
    saved = _body(response, f"setting the org policy of {organization_id}", "org_policy")
    if not isinstance(saved, dict):
        raise StytchUnavailable("Stytch answered the org policy update with no object")
    return saved
