"""The project's OAuth endpoints: client credentials, introspection and discovery.

- ``POST /v1/public/{project_id}/oauth2/token`` (``grant_type=client_credentials``,
  a JSON or a form body, credentials in the body as the ``stytch`` SDK sends them):
  an RS256 M2M access token signed with the session key (the same JWKS).
- ``POST /v1/public/{project_id}/oauth2/introspect`` (RFC 7662): ``active`` with
  the claims, or only ``active: false`` (forged, expired, not yet valid, revoked).
- ``GET /.well-known/jwks.json``, ``/.well-known/openid-configuration`` and
  ``/.well-known/oauth-authorization-server``.

None of these take the project's Basic credentials: a client authenticates with
its own id and secret, and errors are RFC 6749's envelope (:class:`OAuthError`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Final

from ._connected_apps import OIDC_SCOPES, ORGANIZATION_CLAIM, check_app_secret
from ._errors import OAuthError
from ._m2m import check_secret, require_client
from ._params import Params
from ._routing import Req, Route
from ._state import State

__all__ = ["M2M_LIFETIME", "RESERVED_CLAIMS", "ROUTES", "discovery", "introspect", "mint_m2m"]

JSON = dict[str, Any]

M2M_LIFETIME: Final = 3600
"""Seconds an M2M access token is valid (Stytch: one hour)."""

SESSION_CLAIM: Final = "https://stytch.com/session"

#: Claims a client's custom claims may not set: they decide what a token is and who holds it.
RESERVED_CLAIMS: Final = frozenset(
    {"aud", "exp", "iat", "iss", "jti", "nbf", "sub", "scope", "client_id"}
    | {SESSION_CLAIM, ORGANIZATION_CLAIM}
)


def _invalid_client() -> OAuthError:
    return OAuthError(401, "invalid_client", "Client authentication failed.")


def _field(p: Params, key: str) -> str | None:
    value = p.raw(key)
    if value is not None and not isinstance(value, str):
        raise OAuthError(400, "invalid_request", f"{key} must be a string.")
    return value


def _requested(value: str | None, held: Iterable[str]) -> list[str]:
    held_list = list(held)
    if value is None:
        return held_list
    asked = [s for s in value.split(" ") if s]
    extra = [s for s in asked if s not in held_list]
    if extra:
        raise OAuthError(
            400, "invalid_scope", f"The client was not granted: {' '.join(sorted(set(extra)))}."
        )
    return list(dict.fromkeys(asked))


def mint_m2m(state: State, client_id: str, scopes: Iterable[str] | None = None) -> str:
    """An M2M access token for an active client (the SPEC's service claims)."""
    with state.lock:
        client = state.m2m_clients.get(client_id)
        if client is None or client["status"] != "active":
            raise _invalid_client()
        granted = _requested(None if scopes is None else " ".join(scopes), client["scopes"])
        now = int(state.now())
        claims: JSON = {
            **client.get("custom_claims", {}),
            "sub": client_id,
            "iss": f"stytch.com/{state.project_id}",
            "aud": [state.project_id],
            "exp": now + M2M_LIFETIME,
            "iat": now,
            "nbf": now,
            "jti": str(uuid.uuid4()),
            "scope": " ".join(granted),
        }
        return state.keys.sign(claims)


def _token(state: State, req: Req) -> JSON:
    p = req.params
    if req.path["project_id"] != state.project_id:
        raise _invalid_client()
    grant_type = _field(p, "grant_type")
    if grant_type is None:
        raise OAuthError(400, "invalid_request", "grant_type is required.")
    if grant_type != "client_credentials":
        raise OAuthError(
            400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported here."
        )
    client_id = _field(p, "client_id")
    secret = _field(p, "client_secret")
    if not client_id or not secret:
        raise OAuthError(400, "invalid_request", "client_id and client_secret are required.")
    with state.lock:
        client = state.m2m_clients.get(client_id)
        if client is None or not check_secret(client, secret) or client["status"] != "active":
            raise _invalid_client()
        scopes = _requested(_field(p, "scope"), client["scopes"])
        token = mint_m2m(state, client_id, scopes)
    return {"access_token": token, "token_type": "bearer", "expires_in": M2M_LIFETIME}


def _accepted_issuers(state: State) -> set[str]:
    return {f"stytch.com/{state.project_id}", state.access_token_issuer}


def introspect(state: State, token: str) -> JSON:
    """RFC 7662's answer for ``token``: its claims with ``active: true``, or ``active: false``."""
    inactive: JSON = {"active": False}
    with state.lock:
        claims = state.keys.decode(token, audience=state.project_id)
        if claims is None or SESSION_CLAIM in claims:
            return inactive
        now = state.now()
        if not (isinstance(claims["exp"], int) and isinstance(claims["nbf"], int)):
            return inactive
        if claims["exp"] <= now or claims["nbf"] > now:
            return inactive
        record = state.agent_tokens.get(str(claims.get("jti")))
        if ORGANIZATION_CLAIM in claims:
            member = state.members.get(str(claims["sub"]))
            if (
                record is None
                or record["revoked"]
                or record["member_id"] != claims["sub"]
                or member is None
                or member.data.get("status") != "active"
                or claims.get("client_id") not in state.connected_apps
            ):
                return inactive
            if claims["iss"] not in _accepted_issuers(state) | {record["iss"]}:
                return inactive
        elif claims["iss"] != f"stytch.com/{state.project_id}":
            return inactive
        return {
            **claims,
            "active": True,
            "client_id": claims.get("client_id", claims["sub"]),
            "token_type": "access_token",
        }


def _authenticate_caller(state: State, client_id: str | None, secret: str | None) -> None:
    """The introspecting client: a Connected App (a confidential one with its secret) or an
    M2M client with its secret."""
    if not client_id:
        raise OAuthError(400, "invalid_request", "client_id is required.")
    app = state.connected_apps.get(client_id)
    if app is not None:
        confidential = app.get("secret_hash") is not None
        if secret is None and not confidential:
            return
        if secret is not None and check_app_secret(app, secret):
            return
        raise _invalid_client()
    try:
        client = require_client(state, client_id)
    except Exception:
        raise _invalid_client() from None
    if secret is None or not check_secret(client, secret):
        raise _invalid_client()


def _introspect(state: State, req: Req) -> JSON:
    p = req.params
    if req.path["project_id"] != state.project_id:
        raise _invalid_client()
    token = _field(p, "token")
    if not token:
        raise OAuthError(400, "invalid_request", "token is required.")
    hint = _field(p, "token_type_hint")
    if hint not in (None, "access_token", "refresh_token"):
        raise OAuthError(400, "invalid_request", "token_type_hint is not a token type.")
    with state.lock:
        _authenticate_caller(state, _field(p, "client_id"), _field(p, "client_secret"))
        return introspect(state, token)


def discovery(state: State, base_url: str) -> JSON:
    """The OpenID Provider / RFC 8414 metadata: the issuer Connected-App tokens carry, the
    endpoints where this emulator serves them (``base_url``) and the grantable scopes."""
    base = base_url.rstrip("/")
    public = f"{base}/v1/public/{state.project_id}/oauth2"
    with state.lock:
        custom = [s.scope for s in state.policy.scopes]
    return {
        "issuer": state.access_token_issuer,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "token_endpoint": f"{public}/token",
        "introspection_endpoint": f"{public}/introspect",
        "scopes_supported": sorted(OIDC_SCOPES) + sorted(set(custom) - OIDC_SCOPES),
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_post", "none"],
    }


def _discovery(state: State, req: Req) -> JSON:
    return discovery(state, req.base_url)


def _jwks(state: State, req: Req) -> JSON:
    return {"keys": state.keys.jwks()}


_PUBLIC = "/v1/public/{project_id}/oauth2"

ROUTES = [
    Route("POST", _PUBLIC + "/token", "oauth2.token", _token, auth=False, form=True),
    Route("POST", _PUBLIC + "/introspect", "oauth2.introspect", _introspect, auth=False, form=True),
    Route("GET", "/.well-known/jwks.json", "well_known.jwks", _jwks, auth=False),
    Route(
        "GET",
        "/.well-known/openid-configuration",
        "well_known.openid_configuration",
        _discovery,
        auth=False,
    ),
    Route(
        "GET",
        "/.well-known/oauth-authorization-server",
        "well_known.oauth_authorization_server",
        _discovery,
        auth=False,
    ),
]
