"""Connected-App clients (``/v1/connected_apps/clients``) and their members' access tokens.

A Connected App is stored once in ``State.connected_apps``: the B2B fields the
organization and member routes answer (``connected_app_id``, ``name``...) beside
the client fields of the ``ConnectedApp`` wire object, and, for the confidential
types, a SHA-256 hash of its secret (shown once, on create).

:func:`mint_agent_token` plays the part of the consent screen and the
authorization-code exchange: it refuses a custom scope the member's roles do not
cover (Stytch offers only scopes the member can grant) and records the grant,
so ``members.connected_apps.revoke`` makes the token inactive at introspection.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ..policy import CompiledPolicy
from ._client_secrets import SecretRotation, new_secret, secret_fields, secret_matches
from ._errors import EmulatorError, bad_request, not_found
from ._m2m import scope_list
from ._params import Params
from ._routing import Req, Route
from ._search import search_cursor, search_limit, search_page
from ._state import MemberRec, State
from ._tokens import new_id
from ._wire import session_role_ids

__all__ = [
    "CLIENT_FIELDS",
    "CLIENT_TYPES",
    "OIDC_SCOPES",
    "ROUTES",
    "app_client_json",
    "check_app_secret",
    "create_app",
    "client_fields",
    "mint_agent_token",
    "uncovered_scopes",
]

JSON = dict[str, Any]

#: Scopes every member may grant: they name the member, not a permission.
OIDC_SCOPES: Final = frozenset({"openid", "email", "profile", "phone", "offline_access"})
CLIENT_TYPES: Final = ("first_party", "first_party_public", "third_party", "third_party_public")
ORGANIZATION_CLAIM: Final = "https://stytch.com/organization"
_MAX_EXPIRY_SECONDS: Final = 24 * 3600
#: Client fields stored under their B2B names (``name``, ``description``).
_RENAMED: Final = {"client_name": "name", "client_description": "description"}
_PATH = "/v1/connected_apps/clients"
_CLIENT = _PATH + "/{client_id}"
CLIENT_FIELDS: Final = (
    "client_name",
    "client_description",
    "redirect_urls",
    "full_access_allowed",
    "access_token_expiry_minutes",
    "access_token_custom_audience",
    "access_token_template_content",
    "post_logout_redirect_urls",
    "logo_url",
    "bypass_consent_for_offline_access",
    "id_token_template_content",
)


def _confidential(client_type: str) -> bool:
    return not client_type.endswith("_public")


def app_client_json(app: Mapping[str, Any]) -> JSON:
    """The ``ConnectedApp`` wire object of the clients API (never a secret)."""
    return {
        "client_id": app["connected_app_id"],
        "client_name": app["name"],
        "client_description": app["description"],
        "status": app.get("status", "active"),
        "full_access_allowed": app.get("full_access_allowed", False),
        "client_type": app["client_type"],
        "redirect_urls": list(app.get("redirect_urls", [])),
        "access_token_expiry_minutes": app.get("access_token_expiry_minutes", 60),
        "access_token_template_content": app.get("access_token_template_content", ""),
        "post_logout_redirect_urls": list(app.get("post_logout_redirect_urls", [])),
        "bypass_consent_for_offline_access": app.get("bypass_consent_for_offline_access", False),
        "creation_method": app.get("creation_method", "api"),
        "id_token_template_content": app.get("id_token_template_content", ""),
        "client_secret_last_four": app.get("secret_last_four"),
        "next_client_secret_last_four": app.get("next_secret_last_four"),
        "access_token_custom_audience": app.get("access_token_custom_audience"),
        "logo_url": app.get("logo_url"),
    }


def check_app_secret(app: Mapping[str, Any], secret: str) -> bool:
    """Whether ``secret`` is the app's secret (or its next one during a rotation)."""
    return secret_matches(app, secret)


def client_fields(p: Params) -> JSON:
    """The client fields of a create or update body, type-checked."""
    out: JSON = {}
    for key in ("client_name", "client_description", "access_token_custom_audience", "logo_url"):
        out[key] = p.opt_str(key)
    for key in ("access_token_template_content", "id_token_template_content"):
        out[key] = p.opt_str(key)
    for key in ("redirect_urls", "post_logout_redirect_urls"):
        out[key] = p.opt_str_list(key)
    for key in ("full_access_allowed", "bypass_consent_for_offline_access"):
        out[key] = p.opt_bool(key)
    minutes = p.opt_int("access_token_expiry_minutes")
    if minutes is not None and not 1 <= minutes <= _MAX_EXPIRY_SECONDS // 60:
        raise bad_request(
            "access_token_expiry_minutes must be between 1 and 1440.",
            "idp_invalid_access_token_expiry_minutes",
        )
    out["access_token_expiry_minutes"] = minutes
    return {k: v for k, v in out.items() if v is not None}


def create_app(state: State, client_type: str, fields: Mapping[str, Any]) -> JSON:
    """Store a new Connected App; its ``ConnectedAppWithClientSecret`` wire object
    (``client_secret`` for the confidential types, this once)."""
    if client_type not in CLIENT_TYPES:
        raise bad_request(
            f"client_type must be one of {', '.join(CLIENT_TYPES)}.", "invalid_connected_app_type"
        )
    secret = new_secret() if _confidential(client_type) else None
    app_id = new_id("connected-app")
    app: JSON = {
        "connected_app_id": app_id,
        "name": fields.get("client_name") or "",
        "description": fields.get("client_description") or "",
        "client_type": client_type,
        "logo_url": fields.get("logo_url"),
        "status": "active",
        **{k: v for k, v in fields.items() if k in CLIENT_FIELDS and k not in _RENAMED},
        **secret_fields(secret),
    }
    with state.lock:
        app["seq"] = state.next_seq()
        state.connected_apps[app_id] = app
        state.changed()
    return {**app_client_json(app), "client_secret": secret}


def require_app(state: State, client_id: str) -> JSON:
    """The stored Connected App with this client id; 404 ``connected_app_not_found``."""
    app = state.connected_apps.get(client_id)
    if app is None:
        raise not_found("connected_app_not_found", "Connected app could not be found.")
    return app


def _create(state: State, req: Req) -> JSON:
    client_type = req.params.required("client_type")
    return {"connected_app": create_app(state, client_type, client_fields(req.params))}


def _get(state: State, req: Req) -> JSON:
    with state.lock:
        return {"connected_app": app_client_json(require_app(state, req.path["client_id"]))}


def _update(state: State, req: Req) -> JSON:
    changes = client_fields(req.params)
    with state.lock:
        app = require_app(state, req.path["client_id"])
        for key, value in changes.items():
            app[_RENAMED.get(key, key)] = value
        state.changed()
        return {"connected_app": app_client_json(app)}


def _delete(state: State, req: Req) -> JSON:
    with state.lock:
        app = require_app(state, req.path["client_id"])
        app_id = app["connected_app_id"]
        del state.connected_apps[app_id]
        for members in state.connected_grants.values():
            for grants in members.values():
                grants.pop(app_id, None)
        for token in state.agent_tokens.values():
            if token["client_id"] == app_id:
                token["revoked"] = True
        state.changed()
        return {"client_id": app_id}


def _search(state: State, req: Req) -> JSON:
    p: Params = req.params
    limit = search_limit(p)
    after = search_cursor(p)
    with state.lock:
        found = sorted(state.connected_apps.values(), key=_seq)
        page, metadata = search_page(found, _seq, after, limit)
        return {"connected_apps": [app_client_json(a) for a in page], "results_metadata": metadata}


def _seq(app: Mapping[str, Any]) -> int:
    seq: int = app.get("seq", 0)
    return seq


# -- access tokens -------------------------------------------------------------------


def _granted_actions(compiled: CompiledPolicy, resource: str, actions: Iterable[str]) -> list[str]:
    """The concrete actions a scope's permission lists (``*``: every action the resource
    defines, or ``*`` itself for a resource the policy does not define)."""
    out: list[str] = []
    for action in actions:
        if action == "*":
            out.extend(compiled.resources.get(resource, ()) or ("*",))
        else:
            out.append(action)
    return out


def uncovered_scopes(state: State, member: MemberRec, scopes: Iterable[str]) -> list[str]:
    """The custom scopes among ``scopes`` that ``member``'s current roles do not cover.

    A policy scope is covered iff the member's roles (the organization's custom
    roles included) grant every action of every permission it lists; OIDC scopes
    are always covered; a scope the policy does not define is never covered.
    """
    with state.lock:
        org = state.orgs[member.organization_id]
        compiled = state.policy_for(org)
        roles = frozenset(session_role_ids(org, member))
        defined = {s.scope: s for s in state.policy.scopes}
        missing: list[str] = []
        for scope in scopes:
            if scope in OIDC_SCOPES:
                continue
            spec = defined.get(scope)
            if spec is None:
                missing.append(scope)
                continue
            for permission in spec.permissions:
                actions = _granted_actions(compiled, permission.resource_id, permission.actions)
                if not all(
                    compiled.stytch_decide(roles, permission.resource_id, a).allowed
                    for a in actions
                ):
                    missing.append(scope)
                    break
        return missing


def mint_agent_token(
    state: State,
    member_id: str,
    client_id: str,
    scopes: Iterable[str],
    *,
    expires_in: int = 3600,
    issuer: str | None = None,
) -> str:
    """A Connected-App access token for ``member_id`` held by ``client_id`` (the SPEC's
    agent claims), after the member's consent: refused (400 ``oauth_invalid_scope_requested``)
    for a custom scope the member's roles do not cover."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int):
        raise bad_request("expires_in must be a whole number of seconds.")
    if not 1 <= expires_in <= _MAX_EXPIRY_SECONDS:
        raise bad_request(f"expires_in must be between 1 and {_MAX_EXPIRY_SECONDS} seconds.")
    requested = scope_list(list(scopes), error_type="invalid_argument")
    with state.lock:
        member = state.members.get(member_id)
        if member is None:
            raise not_found("member_not_found", "Member could not be found.")
        if member.data.get("status") != "active":
            raise bad_request(f"member {member_id} is not active.")
        app = require_app(state, client_id)
        if app.get("status", "active") != "active":
            raise bad_request(f"connected app {client_id} is not active.")
        missing = uncovered_scopes(state, member, requested)
        if missing:
            raise EmulatorError(
                400,
                "oauth_invalid_scope_requested",
                f"member {member_id} cannot grant {', '.join(missing)}: its roles do not "
                "cover every permission of the scope (or the policy defines no such scope).",
            )
        org = state.orgs[member.organization_id]
        grants = state.connected_grants.setdefault(org.organization_id, {})
        held = grants.setdefault(member_id, {}).setdefault(client_id, [])
        held.extend(s for s in requested if s not in held)
        now = int(state.now())
        jti = str(uuid.uuid4())
        claims: JSON = {
            "sub": member_id,
            "iss": issuer or state.access_token_issuer,
            "aud": [state.project_id],
            "exp": now + expires_in,
            "iat": now,
            "nbf": now,
            "jti": jti,
            "scope": " ".join(requested),
            "client_id": client_id,
            ORGANIZATION_CLAIM: {
                "organization_id": org.organization_id,
                "slug": org.data["organization_slug"],
            },
        }
        _prune(state, now)
        state.agent_tokens[jti] = {
            "member_id": member_id,
            "client_id": client_id,
            "exp": now + expires_in,
            "iss": claims["iss"],
            "revoked": False,
        }
        state.changed()
        return state.keys.sign(claims)


def _prune(state: State, now: int) -> None:
    """Forget expired tokens' records: introspection refuses them on ``exp`` alone."""
    for jti in [j for j, t in state.agent_tokens.items() if t["exp"] <= now]:
        del state.agent_tokens[jti]


def _has_secret(app: JSON) -> None:
    if not _confidential(app["client_type"]):
        raise bad_request("A public Connected App has no secret.", "invalid_connected_app_type")


_ROTATION = SecretRotation(
    "connected_app", "connected_app", "app", require_app, app_client_json, can_rotate=_has_secret
)

ROUTES = [
    Route("POST", _PATH, "connected_apps.clients.create", _create),
    Route("POST", _PATH + "/search", "connected_apps.clients.search", _search),
    Route("GET", _CLIENT, "connected_apps.clients.get", _get),
    Route("PUT", _CLIENT, "connected_apps.clients.update", _update),
    Route("DELETE", _CLIENT, "connected_apps.clients.delete", _delete),
    *_ROTATION.routes(_CLIENT, "connected_apps.clients"),
]
