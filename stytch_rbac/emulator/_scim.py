"""The SCIM connection of an organization: create, get, update, delete, token rotation, groups."""

from __future__ import annotations

from typing import Any

from ._errors import bad_request, not_found
from ._routing import Req, Route
from ._search import page_limit
from ._sso import role_rules
from ._state import OrgRec, State, decode_cursor, encode_cursor
from ._tokens import new_id, new_token

__all__ = ["ROUTES"]

JSON = dict[str, Any]

IDPS = (
    "generic",
    "okta",
    "microsoft-entra",
    "cyberark",
    "jumpcloud",
    "onelogin",
    "pingfederate",
    "rippling",
)
_COMMON = (
    "organization_id",
    "connection_id",
    "status",
    "display_name",
    "identity_provider",
    "base_url",
    "scim_group_implicit_role_assignments",
)


def _view(conn: JSON, shape: str) -> JSON:
    """``SCIMConnection`` (``plain``), ``...WithToken`` (``token``) or ``...WithNextToken``."""
    out = {k: conn[k] for k in _COMMON}
    if shape == "token":
        out["bearer_token"] = conn["bearer_token"]
        return out
    out["bearer_token_last_four"] = conn["bearer_token"][-4:]
    if shape == "next":
        out["next_bearer_token"] = conn["next_bearer_token"]
    else:
        out["next_bearer_token_last_four"] = conn["next_bearer_token"][-4:]
    return out


def _connection(state: State, org: OrgRec, connection_id: str) -> JSON:
    conn = state.scim.get(connection_id)
    if conn is None or conn["organization_id"] != org.organization_id:
        raise not_found("no_active_scim_connection", "SCIM connection could not be found.")
    return conn


def _create(state: State, req: Req) -> JSON:
    p = req.params
    idp = p.choice("identity_provider", IDPS) or "generic"
    with state.lock:
        org = state.org(req.path["organization_id"])
        if any(c["organization_id"] == org.organization_id for c in state.scim.values()):
            raise bad_request(
                "The organization already has an active SCIM connection.",
                "active_scim_connection_exists",
            )
        connection_id = new_id("scim-connection")
        conn: JSON = {
            "organization_id": org.organization_id,
            "connection_id": connection_id,
            "status": "active",
            "display_name": p.opt_str("display_name") or "",
            "identity_provider": idp,
            "base_url": f"https://test.stytch.com/v1/b2b/scim/{connection_id}",
            "scim_group_implicit_role_assignments": [],
            "bearer_token": new_token(),
            "next_bearer_token": "",
        }
        state.scim[connection_id] = conn
        state.scim_groups[connection_id] = []
        state.changed()
        return {"connection": _view(conn, "token")}


def _get(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        conn = next(
            (c for c in state.scim.values() if c["organization_id"] == org.organization_id), None
        )
        return {"connection": None if conn is None else _view(conn, "plain")}


def _update(state: State, req: Req) -> JSON:
    p = req.params
    with state.lock:
        org = state.org(req.path["organization_id"])
        conn = _connection(state, org, req.path["connection_id"])
        name = p.opt_str("display_name")
        idp = p.choice("identity_provider", IDPS)
        rules = role_rules(
            state,
            org,
            p,
            "scim_group_implicit_role_assignments",
            ("role_id", "group_id", "group_name"),
        )
        if name is not None:
            conn["display_name"] = name
        if idp is not None:
            conn["identity_provider"] = idp
        if rules is not None:
            conn["scim_group_implicit_role_assignments"] = rules
        state.changed()
        return {"connection": _view(conn, "plain")}


def _delete(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        conn = _connection(state, org, req.path["connection_id"])
        del state.scim[conn["connection_id"]]
        state.scim_groups.pop(conn["connection_id"], None)
        state.changed()
        return {"connection_id": conn["connection_id"]}


def _get_groups(state: State, req: Req) -> JSON:
    p = req.params
    # The OpenAPI description allows 0 (proto3's unset value): the default page, as unset.
    limit = 100 if p.opt_int("limit") == 0 else page_limit(p)
    cursor = p.opt_str("cursor")
    start = decode_cursor(cursor) if cursor else 0
    with state.lock:
        org = state.org(req.path["organization_id"])
        conn = _connection(state, org, req.path["connection_id"])
        groups = state.scim_groups.get(conn["connection_id"], [])
        page = groups[start : start + limit]
        more = start + limit < len(groups)
        return {
            "scim_groups": [dict(g) for g in page],
            "next_cursor": encode_cursor(start + limit) if more else None,
        }


def _rotate(step: str) -> Any:
    def handler(state: State, req: Req) -> JSON:
        with state.lock:
            org = state.org(req.path["organization_id"])
            conn = _connection(state, org, req.path["connection_id"])
            if step == "start":
                conn["next_bearer_token"] = new_token()
                state.changed()
                return {"connection": _view(conn, "next")}
            if not conn["next_bearer_token"]:
                raise bad_request(
                    "No token rotation is in progress.", "scim_connection_not_rotating_token"
                )
            if step == "complete":
                conn["bearer_token"] = conn["next_bearer_token"]
            conn["next_bearer_token"] = ""
            state.changed()
            return {"connection": _view(conn, "plain")}

    return handler


def add_group(state: State, org: OrgRec, connection_id: str, group_name: str) -> JSON:
    """Record a SCIM group pushed by the identity provider (seeding only)."""
    with state.lock:
        conn = _connection(state, org, connection_id)
        group = {
            "group_id": new_id("scim-group"),
            "group_name": group_name,
            "organization_id": org.organization_id,
            "connection_id": conn["connection_id"],
        }
        state.scim_groups.setdefault(conn["connection_id"], []).append(group)
        state.changed()
        return dict(group)


_BASE = "/v1/b2b/scim/{organization_id}/connection"
_CONN = _BASE + "/{connection_id}"

ROUTES = [
    Route("POST", _BASE, "scim.connection.create", _create),
    Route("GET", _BASE, "scim.connection.get", _get),
    Route("PUT", _CONN, "scim.connection.update", _update),
    Route("DELETE", _CONN, "scim.connection.delete", _delete),
    Route("GET", _CONN, "scim.connection.get_groups", _get_groups),
    Route("POST", _CONN + "/rotate/start", "scim.connection.rotate_start", _rotate("start")),
    Route(
        "POST", _CONN + "/rotate/complete", "scim.connection.rotate_complete", _rotate("complete")
    ),
    Route("POST", _CONN + "/rotate/cancel", "scim.connection.rotate_cancel", _rotate("cancel")),
]
