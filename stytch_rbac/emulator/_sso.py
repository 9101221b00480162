"""SSO connections: SAML, OIDC and external; list, create, update, delete."""

from __future__ import annotations

from typing import Any

from ._errors import bad_request, not_found
from ._params import Params
from ._routing import Req, Route
from ._state import OrgRec, State
from ._time import rfc3339
from ._tokens import new_id

__all__ = ["ROUTES", "connection_json", "role_rules"]

JSON = dict[str, Any]

IDPS = [
    "classlink",
    "cyberark",
    "duo",
    "generic",
    "google-workspace",
    "jumpcloud",
    "keycloak",
    "miniorange",
    "microsoft-entra",
    "okta",
    "onelogin",
    "pingfederate",
    "rippling",
    "salesforce",
    "shibboleth",
]
_SAML_REQUIRED = ("idp_sso_url", "attribute_mapping", "idp_entity_id")
_OIDC_REQUIRED = (
    "issuer",
    "client_id",
    "client_secret",
    "authorization_url",
    "token_url",
    "userinfo_url",
    "jwks_url",
)
_FAKE_CERT = "-----BEGIN CERTIFICATE-----\nZW11bGF0b3I=\n-----END CERTIFICATE-----\n"


def connection_json(conn: JSON) -> JSON:
    """A connection's wire object (internal keys dropped)."""
    return {k: v for k, v in conn.items() if not k.startswith("_")}


def _connection(state: State, org: OrgRec, connection_id: str, kind: str | None) -> JSON:
    conn = state.sso.get(connection_id)
    if (
        conn is None
        or conn["organization_id"] != org.organization_id
        or (kind is not None and conn["_kind"] != kind)
    ):
        if kind == "saml":
            raise not_found("saml_connection_not_found", "SAML connection could not be found.")
        if kind == "oidc":
            raise not_found("oidc_connection_not_found", "OIDC connection could not be found.")
        raise not_found("sso_connection_not_found", "SSO connection could not be found.")
    return conn


def role_rules(state: State, org: OrgRec, p: Params, key: str, fields: tuple[str, ...]) -> Any:
    rules = p.opt_dict_list(key, fields)
    if rules is not None:
        known = state.role_ids(org)
        for rule in rules:
            if rule["role_id"] not in known:
                raise bad_request(f"Unknown role id {rule['role_id']!r}.", "invalid_rbac_role_id")
    return rules


def _rule_changes(
    state: State, org: OrgRec, p: Params, *specs: tuple[str, tuple[str, ...]]
) -> JSON:
    """The role-assignment lists among ``specs`` (key, fields) that were sent, checked."""
    return {
        key: rules
        for key, fields in specs
        if (rules := role_rules(state, org, p, key, fields)) is not None
    }


def _idp_changes(p: Params, *keys: str) -> JSON:
    """An update's strings among ``keys``, its identity provider and attribute mapping."""
    changes: JSON = dict(p.strings(*keys))
    idp = p.choice("identity_provider", tuple(IDPS))
    if idp is not None:
        changes["identity_provider"] = idp
    mapping = p.opt_dict("attribute_mapping")
    if mapping is not None:
        changes["attribute_mapping"] = mapping
    return changes


def _refresh_status(conn: JSON) -> None:
    if conn["_kind"] == "saml":
        ready = all(conn.get(k) for k in _SAML_REQUIRED) and conn["verification_certificates"]
    elif conn["_kind"] == "oidc":
        ready = all(conn.get(k) for k in _OIDC_REQUIRED)
    else:
        ready = True
    conn["status"] = "active" if ready else "pending"


def _base(state: State, org: OrgRec, kind: str, p: Params) -> JSON:
    idp = p.choice("identity_provider", tuple(IDPS)) if kind != "external" else None
    connection_id = new_id(f"{kind}-connection")
    return {
        "_kind": kind,
        "organization_id": org.organization_id,
        "connection_id": connection_id,
        "display_name": p.opt_str("display_name") or "",
        "status": "pending",
        **({} if kind == "external" else {"identity_provider": idp or "generic"}),
    }


def _save(state: State, conn: JSON) -> JSON:
    _refresh_status(conn)
    state.sso[conn["connection_id"]] = conn
    state.changed()
    return {"connection": connection_json(conn)}


def _saml_create(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        conn = _base(state, org, "saml", req.params)
        cid = conn["connection_id"]
        conn.update(
            {
                "idp_entity_id": "",
                "idp_sso_url": "",
                "acs_url": f"https://test.stytch.com/v1/b2b/sso/callback/{cid}",
                "audience_uri": f"https://test.stytch.com/{state.project_id}",
                "signing_certificates": [
                    {
                        "certificate_id": new_id("certificate"),
                        "certificate": _FAKE_CERT,
                        "issuer": "Stytch",
                        "created_at": rfc3339(state.now()),
                    }
                ],
                "verification_certificates": [],
                "encryption_private_keys": [],
                "saml_connection_implicit_role_assignments": [],
                "saml_group_implicit_role_assignments": [],
                "alternative_audience_uri": "",
                "nameid_format": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                "alternative_acs_url": "",
                "idp_initiated_auth_disabled": False,
                "allow_gateway_callback": False,
                "attribute_mapping": {},
            }
        )
        return _save(state, conn)


def _saml_update(state: State, req: Req) -> JSON:
    p = req.params
    with state.lock:
        org = state.org(req.path["organization_id"])
        conn = _connection(state, org, req.path["connection_id"], "saml")
        changes = _idp_changes(
            p,
            "idp_entity_id",
            "display_name",
            "idp_sso_url",
            "alternative_audience_uri",
            "nameid_format",
            "alternative_acs_url",
        )
        changes.update(p.flags("idp_initiated_auth_disabled", "allow_gateway_callback"))
        changes.update(
            _rule_changes(
                state,
                org,
                p,
                ("saml_connection_implicit_role_assignments", ("role_id",)),
                ("saml_group_implicit_role_assignments", ("role_id", "group")),
            )
        )
        now = rfc3339(state.now())
        cert = p.opt_str("x509_certificate")
        if cert is not None:
            changes["verification_certificates"] = [
                {
                    "certificate_id": new_id("certificate"),
                    "certificate": cert,
                    "issuer": "IdP",
                    "created_at": now,
                }
            ]
        key_pem = p.opt_str("saml_encryption_private_key")
        if key_pem is not None:
            changes["encryption_private_keys"] = [
                *conn["encryption_private_keys"],
                {
                    "private_key_id": new_id("private-key"),
                    "private_key": key_pem,
                    "created_at": now,
                },
            ]
        p.opt_str("signing_private_key")
        conn.update(changes)
        return _save(state, conn)


def _saml_update_by_url(state: State, req: Req) -> JSON:
    url = req.params.required("metadata_url")
    if not url.startswith(("https://", "http://")):
        raise bad_request("metadata_url must be an http(s) URL.")
    with state.lock:
        org = state.org(req.path["organization_id"])
        conn = _connection(state, org, req.path["connection_id"], "saml")
        conn["idp_entity_id"] = url
        conn["idp_sso_url"] = url.rsplit("/", 1)[0] + "/sso"
        conn["verification_certificates"] = [
            {
                "certificate_id": new_id("certificate"),
                "certificate": _FAKE_CERT,
                "issuer": url,
                "created_at": rfc3339(state.now()),
            }
        ]
        conn["attribute_mapping"] = conn["attribute_mapping"] or {
            "email": "email",
            "full_name": "name",
        }
        return _save(state, conn)


def _saml_delete_item(list_key: str, id_key: str, error: str) -> Any:
    def handler(state: State, req: Req) -> JSON:
        with state.lock:
            org = state.org(req.path["organization_id"])
            conn = _connection(state, org, req.path["connection_id"], "saml")
            item_id = req.path[id_key]
            kept = [c for c in conn[list_key] if c[id_key] != item_id]
            if len(kept) == len(conn[list_key]):
                raise not_found(error, "Could not be found.")
            conn[list_key] = kept
            _save(state, conn)
            return {id_key: item_id}

    return handler


def _oidc_create(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        conn = _base(state, org, "oidc", req.params)
        conn.update(dict.fromkeys(_OIDC_REQUIRED, ""))
        conn["redirect_url"] = (
            f"https://test.stytch.com/v1/b2b/sso/callback/{conn['connection_id']}"
        )
        conn["custom_scopes"] = ""
        conn["attribute_mapping"] = {}
        return _save(state, conn)


def _oidc_update(state: State, req: Req) -> JSON:
    p = req.params
    with state.lock:
        org = state.org(req.path["organization_id"])
        conn = _connection(state, org, req.path["connection_id"], "oidc")
        conn.update(_idp_changes(p, "display_name", "custom_scopes", *_OIDC_REQUIRED))
        return _save(state, conn)


def _external_create(state: State, req: Req) -> JSON:
    p = req.params
    with state.lock:
        org = state.org(req.path["organization_id"])
        source_org = state.org(p.required("external_organization_id"))
        source = _connection(state, source_org, p.required("external_connection_id"), None)
        conn = _base(state, org, "external", p)
        conn.update(
            {
                "external_organization_id": source_org.organization_id,
                "external_connection_id": source["connection_id"],
                "external_connection_implicit_role_assignments": role_rules(
                    state, org, p, "connection_implicit_role_assignments", ("role_id",)
                )
                or [],
                "external_group_implicit_role_assignments": role_rules(
                    state, org, p, "group_implicit_role_assignments", ("role_id", "group")
                )
                or [],
            }
        )
        return _save(state, conn)


def _external_update(state: State, req: Req) -> JSON:
    p = req.params
    with state.lock:
        org = state.org(req.path["organization_id"])
        conn = _connection(state, org, req.path["connection_id"], "external")
        conn.update(p.strings("display_name"))
        conn.update(
            _rule_changes(
                state,
                org,
                p,
                ("external_connection_implicit_role_assignments", ("role_id",)),
                ("external_group_implicit_role_assignments", ("role_id", "group")),
            )
        )
        return _save(state, conn)


def _get_connections(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        mine = [c for c in state.sso.values() if c["organization_id"] == org.organization_id]
        return {
            f"{kind}_connections": [connection_json(c) for c in mine if c["_kind"] == kind]
            for kind in ("saml", "oidc", "external")
        }


def _delete_connection(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        conn = _connection(state, org, req.path["connection_id"], None)
        del state.sso[conn["connection_id"]]
        if org.data.get("sso_default_connection_id") == conn["connection_id"]:
            org.data["sso_default_connection_id"] = None
        state.changed()
        return {"connection_id": conn["connection_id"]}


_SSO = "/v1/b2b/sso"
_SAML = _SSO + "/saml/{organization_id}"

ROUTES = [
    Route("GET", _SSO + "/{organization_id}", "sso.get_connections", _get_connections),
    Route(
        "DELETE",
        _SSO + "/{organization_id}/connections/{connection_id}",
        "sso.delete_connection",
        _delete_connection,
    ),
    Route("POST", _SAML, "sso.saml.create_connection", _saml_create),
    Route(
        "PUT", _SAML + "/connections/{connection_id}", "sso.saml.update_connection", _saml_update
    ),
    Route(
        "PUT",
        _SAML + "/connections/{connection_id}/url",
        "sso.saml.update_by_url",
        _saml_update_by_url,
    ),
    Route(
        "DELETE",
        _SAML + "/connections/{connection_id}/verification_certificates/{certificate_id}",
        "sso.saml.delete_verification_certificate",
        _saml_delete_item(
            "verification_certificates", "certificate_id", "sso_verification_key_not_found"
        ),
    ),
    Route(
        "DELETE",
        _SAML + "/connections/{connection_id}/encryption_private_keys/{private_key_id}",
        "sso.saml.delete_encryption_private_key",
        _saml_delete_item(
            "encryption_private_keys", "private_key_id", "sso_encryption_private_key_not_found"
        ),
    ),
    Route("POST", _SSO + "/oidc/{organization_id}", "sso.oidc.create_connection", _oidc_create),
    Route(
        "PUT",
        _SSO + "/oidc/{organization_id}/connections/{connection_id}",
        "sso.oidc.update_connection",
        _oidc_update,
    ),
    Route(
        "POST",
        _SSO + "/external/{organization_id}",
        "sso.external.create_connection",
        _external_create,
    ),
    Route(
        "PUT",
        _SSO + "/external/{organization_id}/connections/{connection_id}",
        "sso.external.update_connection",
        _external_update,
    ),
]
