"""M2M clients (``/v1/m2m/clients``): create, get, search, update, delete, secret rotation.

A client's secret is shown once (on create, and the next one on ``rotate/start``)
and kept only as a SHA-256 hash with its last four characters, as Stytch
documents; ``get`` and ``search`` never return it. During a rotation both
secrets authenticate; ``rotate`` makes the next one the only one, ``cancel``
drops it. Deleting a client does not invalidate tokens already issued (Stytch:
"only prevent it from receiving new ones").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from ._client_secrets import SecretRotation, new_secret, secret_fields, secret_matches
from ._errors import bad_request, not_found
from ._params import Params
from ._routing import Req, Route
from ._search import Filter, Search, any_in, search_cursor, search_limit, search_page
from ._state import State

__all__ = [
    "ROUTES",
    "check_secret",
    "client_json",
    "create_client",
    "require_client",
    "scope_list",
]

JSON = dict[str, Any]

_MIN_SECRET = 8
_MAX_TEXT = 1024
_PATH = "/v1/m2m/clients"
_CLIENT = _PATH + "/{client_id}"


def scope_list(
    value: Any, *, field: str = "scopes", error_type: str = "invalid_m2m_client_scope"
) -> list[str]:
    """A checked list of scopes: strings, none empty or holding whitespace, no repeats kept."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"{field} must be a list of strings.", error_type)
    out: list[str] = []
    for scope in value:
        if not scope or scope != scope.strip() or any(c.isspace() for c in scope):
            raise bad_request(
                f"{field}: {scope!r} is not a scope (empty or holding whitespace).",
                error_type,
            )
        if scope not in out:
            out.append(scope)
    return out


def _text(p: Params, key: str, error_type: str) -> str | None:
    value = p.opt_str(key)
    if value is not None and len(value) > _MAX_TEXT:
        raise bad_request(f"{key} is longer than {_MAX_TEXT} characters.", error_type)
    return value


def _metadata(p: Params) -> JSON | None:
    return p.opt_dict("trusted_metadata")


def client_json(client: Mapping[str, Any]) -> JSON:
    """The ``M2MClient`` wire object (never a secret)."""
    return {
        "client_id": client["client_id"],
        "client_name": client["client_name"],
        "client_description": client["client_description"],
        "status": client["status"],
        "scopes": list(client["scopes"]),
        "client_secret_last_four": client["secret_last_four"],
        "trusted_metadata": dict(client["trusted_metadata"]),
        "next_client_secret_last_four": client.get("next_secret_last_four"),
    }


def require_client(state: State, client_id: str) -> JSON:
    """The stored client with this id; 404 ``m2m_client_not_found`` otherwise."""
    client = state.m2m_clients.get(client_id)
    if client is None:
        raise not_found("m2m_client_not_found", "M2M client could not be found.")
    return client


def check_secret(client: Mapping[str, Any], secret: str) -> bool:
    """Whether ``secret`` is the client's secret or, during a rotation, its next one."""
    return secret_matches(client, secret)


def create_client(
    state: State,
    *,
    scopes: Iterable[str],
    client_id: str | None = None,
    client_secret: str | None = None,
    client_name: str | None = None,
    client_description: str | None = None,
    trusted_metadata: Mapping[str, Any] | None = None,
) -> JSON:
    """Store a new client; returns its wire object with ``client_secret`` (the only time)."""
    checked = scope_list(list(scopes))
    if client_id is not None and (not client_id or any(c.isspace() or c == "/" for c in client_id)):
        raise bad_request(
            "client_id must be non-empty, without whitespace or '/'.",
            "m2m_client_invalid_client_id",
        )
    if client_secret is not None and len(client_secret) < _MIN_SECRET:
        raise bad_request(
            f"client_secret must be at least {_MIN_SECRET} characters long.",
            "m2m_client_invalid_client_secret",
        )
    secret = client_secret or new_secret()
    with state.lock:
        cid = client_id or f"m2m-client-test-{uuid.uuid4()}"
        if cid in state.m2m_clients:
            raise bad_request(f"An M2M client {cid!r} already exists.", "duplicate_m2m_client_id")
        client: JSON = {
            "client_id": cid,
            "client_name": client_name or "",
            "client_description": client_description or "",
            "status": "active",
            "scopes": checked,
            "trusted_metadata": dict(trusted_metadata or {}),
            **secret_fields(secret),
            "seq": state.next_seq(),
        }
        state.m2m_clients[cid] = client
        state.changed()
        return {**client_json(client), "client_secret": secret}


def _create(state: State, req: Req) -> JSON:
    p = req.params
    if p.raw("scopes") is None:
        raise bad_request("scopes is required.", "invalid_m2m_client_scope")
    created = create_client(
        state,
        scopes=scope_list(p.raw("scopes")),
        client_id=p.opt_str("client_id"),
        client_secret=p.opt_str("client_secret"),
        client_name=_text(p, "client_name", "m2m_client_invalid_client_name"),
        client_description=_text(p, "client_description", "m2m_client_invalid_client_description"),
        trusted_metadata=_metadata(p),
    )
    return {"m2m_client": created}


def _get(state: State, req: Req) -> JSON:
    with state.lock:
        return {"m2m_client": client_json(require_client(state, req.path["client_id"]))}


_SEARCH: Search[JSON] = Search(
    "m2m_search",
    {
        "client_ids": Filter("list", lambda c, v: c["client_id"] in v),
        "scopes": Filter("list", lambda c, v: any_in(c["scopes"], v)),
    },
)


def _search(state: State, req: Req) -> JSON:
    p = req.params
    limit = search_limit(p)
    after = search_cursor(p)
    keep = _SEARCH.matcher(p.opt_dict("query"))
    with state.lock:
        found = sorted((c for c in state.m2m_clients.values() if keep(c)), key=lambda c: c["seq"])
    page, metadata = search_page(found, lambda c: c["seq"], after, limit)
    return {"m2m_clients": [client_json(c) for c in page], "results_metadata": metadata}


def _update(state: State, req: Req) -> JSON:
    p = req.params
    name = _text(p, "client_name", "m2m_client_invalid_client_name")
    description = _text(p, "client_description", "m2m_client_invalid_client_description")
    status = p.opt_str("status")
    if status is not None and status not in ("active", "inactive"):
        raise bad_request("status must be active or inactive.", "m2m_client_invalid_status")
    scopes = None if p.raw("scopes") is None else scope_list(p.raw("scopes"))
    metadata = _metadata(p)
    with state.lock:
        client = require_client(state, req.path["client_id"])
        changes: JSON = {
            "client_name": name,
            "client_description": description,
            "status": status,
            "scopes": scopes,
            "trusted_metadata": metadata,
        }
        client.update({k: v for k, v in changes.items() if v is not None})
        state.changed()
        return {"m2m_client": client_json(client)}


def _delete(state: State, req: Req) -> JSON:
    with state.lock:
        client = require_client(state, req.path["client_id"])
        del state.m2m_clients[client["client_id"]]
        state.changed()
        return {"client_id": client["client_id"]}


_ROTATION = SecretRotation("m2m_client", "m2m_client", "client", require_client, client_json)

ROUTES = [
    Route("POST", _PATH, "m2m.clients.create", _create),
    Route("POST", _PATH + "/search", "m2m.clients.search", _search),
    Route("GET", _CLIENT, "m2m.clients.get", _get),
    Route("PUT", _CLIENT, "m2m.clients.update", _update),
    Route("DELETE", _CLIENT, "m2m.clients.delete", _delete),
    *_ROTATION.routes(_CLIENT, "m2m.clients"),
]
