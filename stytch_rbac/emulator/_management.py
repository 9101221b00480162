"""The Management API's project, environment and RBAC-policy routes, over the emulator's state.

The emulator is one workspace holding one project (``workspace.project_slug``)
with one environment (``workspace.environment_slug``: ``test``, or ``production``
for a ``project-live-`` id) whose runtime ``project_id`` is the emulator's. Its
routes are authenticated with the workspace's own management key (HTTP Basic),
never with the project secret, and answered by the same dispatcher as the rest
(faults, envelopes, request ids), so ``emu.faults.fail("management.rbac_policy.set")``
works as for any route.

``PUT .../rbac_policy`` replaces the project policy: the runtime
``GET /v1/b2b/rbac/policy`` answers the new one from then on. A field the body
leaves out is kept (our client sends every field, as Terraform's provider does);
``stytch_resources`` cannot be set. A body Stytch would refuse
(:func:`~stytch_rbac.policy.management.management_problems`) is a 400
``invalid_argument`` naming the first problem.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.routing import Route as StarletteRoute

from ..errors import PolicyError
from ..policy.management import from_management, management_document, management_problems
from ._app import _METHODS, _Dispatcher
from ._errors import bad_request, not_found
from ._faults import Faults
from ._routing import Req, Route, Router
from ._state import State

__all__ = ["ROUTE_NAMES", "Workspace", "management_routes"]

JSON = dict[str, Any]
_PREFIX = "/pwa/v3"


@dataclass(frozen=True, slots=True)
class Workspace:
    """The emulator's workspace: its management key and the one project's slugs."""

    key_id: str
    key_secret: str = field(repr=False)
    project_slug: str
    environment_slug: str
    project_name: str = "Emulator"


def _project_json(workspace: Workspace) -> JSON:
    return {
        "project_slug": workspace.project_slug,
        "name": workspace.project_name,
        "vertical": "B2B",
        "created_at": "2024-01-01T00:00:00Z",
    }


def _environment_json(state: State, workspace: Workspace) -> JSON:
    live = state.project_id.startswith("project-live-")
    return {
        "environment_slug": workspace.environment_slug,
        "project_slug": workspace.project_slug,
        "name": "Production" if live else "Test",
        "oauth_callback_id": "",
        "cross_org_passwords_enabled": False,
        "user_impersonation_enabled": False,
        "zero_downtime_session_migration_url": "",
        "use_custom_domain_in_magic_link_emails": False,
        "user_lock_self_serve_enabled": False,
        "user_lock_threshold": 10,
        "user_lock_ttl": 3600,
        "idp_authorization_url": "",
        "idp_dynamic_client_registration_enabled": False,
        "idp_dynamic_client_registration_access_token_template_content": "",
        "project_id": state.project_id,
        "type": "LIVE" if live else "TEST",
        "created_at": "2024-01-01T00:00:00Z",
    }


@dataclass(frozen=True, slots=True)
class _Handlers:
    """The route handlers of one workspace."""

    workspace: Workspace

    def _project(self, req: Req) -> None:
        if req.path["project_slug"] != self.workspace.project_slug:
            raise not_found("project_not_found", "Project could not be found.")

    def _environment(self, req: Req) -> None:
        self._project(req)
        if req.path["environment_slug"] != self.workspace.environment_slug:
            raise not_found("project_not_found", "Environment could not be found.")

    def list_projects(self, state: State, req: Req) -> JSON:
        return {"projects": [_project_json(self.workspace)]}

    def get_project(self, state: State, req: Req) -> JSON:
        self._project(req)
        return {"project": _project_json(self.workspace)}

    def list_environments(self, state: State, req: Req) -> JSON:
        self._project(req)
        return {"environments": [_environment_json(state, self.workspace)]}

    def get_environment(self, state: State, req: Req) -> JSON:
        self._environment(req)
        return {"environment": _environment_json(state, self.workspace)}

    def get_policy(self, state: State, req: Req) -> JSON:
        self._environment(req)
        with state.lock:
            return {"policy": management_document(state.policy)}

    def set_policy(self, state: State, req: Req) -> JSON:
        self._environment(req)
        with state.lock:
            current = management_document(state.policy)
            # A field left out is kept; stytch_resources are Stytch's and cannot be set.
            body = {
                key: req.params.raw(key)
                if key in req.params and key != "stytch_resources"
                else value
                for key, value in current.items()
            }
            try:
                policy = from_management(body, base=state.policy)
            except PolicyError as exc:
                raise bad_request(str(exc)) from None
            problems = management_problems(policy)
            if problems:
                raise bad_request(f"The RBAC policy is invalid: {problems[0].message}.")
            state.set_policy(policy)
            return {"policy": management_document(policy)}


_PROJECT = _PREFIX + "/projects/{project_slug}"
_ENV = _PROJECT + "/environments/{environment_slug}"

#: (method, pattern, endpoint name, handler name): the routes, as data.
_TABLE = (
    ("GET", _PREFIX + "/projects", "management.projects.list", "list_projects"),
    ("GET", _PROJECT, "management.projects.get", "get_project"),
    ("GET", _PROJECT + "/environments", "management.environments.list", "list_environments"),
    ("GET", _ENV, "management.environments.get", "get_environment"),
    ("GET", _ENV + "/rbac_policy", "management.rbac_policy.get", "get_policy"),
    ("PUT", _ENV + "/rbac_policy", "management.rbac_policy.set", "set_policy"),
)
#: Every endpoint name of these routes (for fault injection).
ROUTE_NAMES: frozenset[str] = frozenset(name for _, _, name, _ in _TABLE)


class _WorkspaceDispatcher(_Dispatcher):
    """The emulator's dispatcher, authenticating with the workspace key, not the project's."""

    def __init__(self, workspace: Workspace, *args: Any) -> None:
        super().__init__(*args)
        self.workspace = workspace

    def _authorized(self, request: Request) -> bool:
        workspace = self.workspace
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        return hmac.compare_digest(user.encode(), workspace.key_id.encode()) & hmac.compare_digest(
            password.encode(), workspace.key_secret.encode()
        )


def management_routes(
    workspace: Workspace,
    state: State,
    faults: Faults,
    on_change: Callable[[], None] | None,
) -> list[BaseRoute]:
    """The Starlette route serving ``/pwa/v3/...`` (mounted before the catch-all route)."""
    handlers = _Handlers(workspace)
    routes = [Route(m, p, n, getattr(handlers, h)) for m, p, n, h in _TABLE]
    dispatcher = _WorkspaceDispatcher(workspace, state, faults, Router(routes), None, on_change)
    return [StarletteRoute(_PREFIX + "/{path:path}", dispatcher.handle, methods=_METHODS)]
