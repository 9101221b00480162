"""RBAC endpoints: the project policy and per-organization custom roles."""

from __future__ import annotations

from typing import Any

from ..errors import PolicyError
from ..policy import OrgPolicy
from ._errors import bad_request
from ._routing import Req, Route
from ._state import OrgRec, State

__all__ = ["ROUTES", "set_org_policy"]

JSON = dict[str, Any]


def set_org_policy(state: State, org: OrgRec, org_policy: OrgPolicy | dict[str, Any]) -> OrgPolicy:
    """Replace ``org``'s custom roles, validated against the project policy (reference 4.3).

    Raises a 400 ``invalid_rbac_custom_role`` naming the problem.
    """
    try:
        parsed = org_policy if isinstance(org_policy, OrgPolicy) else OrgPolicy.parse(org_policy)
        with state.lock:
            state.policy.merged(parsed)
    except PolicyError as exc:
        raise bad_request(str(exc), "invalid_rbac_custom_role") from None
    with state.lock:
        org.org_policy = parsed
        org.compiled = None
        state.changed()
    return parsed


def _policy(state: State, req: Req) -> JSON:
    return {"policy": state.policy.to_json()}


def _get_org_policy(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        return {"org_policy": org.org_policy.to_json()}


def _set_org_policy(state: State, req: Req) -> JSON:
    body = req.params.opt_dict("org_policy")
    if body is None:
        raise bad_request("org_policy is required.")
    with state.lock:
        org = state.org(req.path["organization_id"])
        return {"org_policy": set_org_policy(state, org, body).to_json()}


_ORG = "/v1/b2b/rbac/organizations/{organization_id}"

ROUTES = [
    Route("GET", "/v1/b2b/rbac/policy", "rbac.policy", _policy),
    Route("GET", _ORG, "rbac.org_policy", _get_org_policy),
    Route("PUT", _ORG, "rbac.organizations.set_org_policy", _set_org_policy),
]
