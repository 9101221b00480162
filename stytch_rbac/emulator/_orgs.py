"""Organizations: create, get, update, delete, search, metrics, external id, connected apps."""

from __future__ import annotations

import re
from typing import Any

from ._errors import EmulatorError, bad_request, not_found
from ._params import Params
from ._routing import Req, Route
from ._search import Filter, Search, any_in, search_cursor, search_limit, search_page
from ._state import OrgRec, State
from ._time import rfc3339
from ._tokens import new_id
from ._wire import org_json

__all__ = ["ROUTES", "create_org", "delete_org", "update_org"]

JSON = dict[str, Any]

_SLUG = re.compile(r"^[A-Za-z0-9\-._~]{2,128}$")
_THREE = ("ALL_ALLOWED", "RESTRICTED", "NOT_ALLOWED")
_TWO = ("ALL_ALLOWED", "RESTRICTED")
_ENUMS: dict[str, tuple[str, ...]] = {
    "sso_jit_provisioning": _THREE,
    "email_jit_provisioning": ("RESTRICTED", "NOT_ALLOWED"),
    "email_invites": _THREE,
    "auth_methods": _TWO,
    "mfa_methods": _TWO,
    "mfa_policy": ("REQUIRED_FOR_ALL", "OPTIONAL"),
    "oauth_tenant_jit_provisioning": ("RESTRICTED", "NOT_ALLOWED"),
    "first_party_connected_apps_allowed_type": _THREE,
    "third_party_connected_apps_allowed_type": _THREE,
}
_AUTH_METHODS = [
    "sso",
    "magic_link",
    "email_otp",
    "password",
    "google_oauth",
    "microsoft_oauth",
    "slack_oauth",
    "github_oauth",
    "hubspot_oauth",
]
_STR_LISTS = (
    "email_allowed_domains",
    "allowed_auth_methods",
    "allowed_mfa_methods",
    "claimed_email_domains",
    "allowed_first_party_connected_apps",
    "allowed_third_party_connected_apps",
    "sso_jit_provisioning_allowed_connections",
)
_DEFAULTS: JSON = {
    "organization_logo_url": "",
    "trusted_metadata": {},
    "organization_external_id": None,
    "sso_default_connection_id": None,
    "sso_jit_provisioning": "ALL_ALLOWED",
    "sso_jit_provisioning_allowed_connections": [],
    "email_allowed_domains": [],
    "email_jit_provisioning": "NOT_ALLOWED",
    "email_invites": "ALL_ALLOWED",
    "auth_methods": "ALL_ALLOWED",
    "allowed_auth_methods": [],
    "mfa_policy": "OPTIONAL",
    "rbac_email_implicit_role_assignments": [],
    "mfa_methods": "ALL_ALLOWED",
    "allowed_mfa_methods": [],
    "oauth_tenant_jit_provisioning": "NOT_ALLOWED",
    "allowed_oauth_tenants": {},
    "claimed_email_domains": [],
    "first_party_connected_apps_allowed_type": "ALL_ALLOWED",
    "allowed_first_party_connected_apps": [],
    "third_party_connected_apps_allowed_type": "ALL_ALLOWED",
    "allowed_third_party_connected_apps": [],
}


def merge_metadata(old: JSON | None, new: JSON) -> JSON:
    """Stytch's metadata update: top-level keys replaced, a ``null`` value deletes the key."""
    merged = dict(old or {})
    for key, value in new.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _check_slug(state: State, slug: str, org: OrgRec | None) -> None:
    if not _SLUG.match(slug):
        raise bad_request(
            "organization_slug must be 2 to 128 letters, digits or - . _ ~.",
            "invalid_organization_slug",
        )
    for other in state.orgs.values():
        if other is not org and other.data["organization_slug"] == slug:
            raise bad_request(
                "An organization with this slug already exists.", "organization_slug_already_used"
            )


def _settings(state: State, p: Params, org: OrgRec | None) -> JSON:
    """The validated setting fields present in ``p`` (create and update share them)."""
    out: JSON = {}
    name = p.opt_str("organization_name")
    if name is not None:
        if not 1 <= len(name) <= 128:
            raise bad_request(
                "organization_name must be 1 to 128 characters.", "invalid_organization_name"
            )
        out["organization_name"] = name
    slug = p.opt_str("organization_slug")
    if slug is not None:
        _check_slug(state, slug, org)
        out["organization_slug"] = slug
    out.update(p.strings("organization_logo_url", "sso_default_connection_id"))
    external = p.opt_str("organization_external_id")
    if external is not None:
        for other in state.orgs.values():
            if other is not org and other.data.get("organization_external_id") == external:
                raise bad_request(
                    "An organization with this external id already exists.",
                    "organization_external_id_already_used",
                )
        out["organization_external_id"] = external
    for key, allowed in _ENUMS.items():
        value = p.choice(key, allowed)
        if value is not None:
            out[key] = value
    for key in _STR_LISTS:
        values = p.opt_str_list(key)
        if values is not None:
            out[key] = values
    for method in out.get("allowed_auth_methods", ()):
        if method not in _AUTH_METHODS:
            raise bad_request(f"allowed_auth_methods: unknown method {method!r}.")
    for method in out.get("allowed_mfa_methods", ()):
        if method not in ("sms_otp", "totp"):
            raise bad_request(f"allowed_mfa_methods: unknown method {method!r}.")
    tenants = p.opt_dict("allowed_oauth_tenants")
    if tenants is not None:
        out["allowed_oauth_tenants"] = tenants
    rules = p.opt_dict_list("rbac_email_implicit_role_assignments", ("domain", "role_id"))
    if rules is not None:
        known = state.role_ids(org) if org is not None else set(state.compiled.role_ids)
        for rule in rules:
            if rule["role_id"] not in known:
                raise bad_request(f"Unknown role id {rule['role_id']!r}.", "invalid_rbac_role_id")
        out["rbac_email_implicit_role_assignments"] = rules
    return out


def _slug_from(state: State, name: str) -> str:
    base = re.sub(r"[^a-z0-9\-._~]+", "-", name.lower()).strip("-")[:100] or "org"
    base = base if len(base) >= 2 else f"{base}-org"
    taken = {o.data["organization_slug"] for o in state.orgs.values()}
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_org(state: State, p: Params, *, organization_id: str | None = None) -> OrgRec:
    """Create an organization from create-request parameters (``organization_id``: seeding)."""
    p.required("organization_name")
    trusted = p.opt_dict("trusted_metadata")
    with state.lock:
        fields = _settings(state, p, None)
        now = rfc3339(state.now())
        org_id = organization_id or new_id("organization")
        if org_id in state.orgs:
            raise EmulatorError(
                400, "invalid_argument", f"organization_id {org_id!r} already exists."
            )
        data: JSON = {"organization_id": org_id, **_DEFAULTS, **fields}
        data["organization_slug"] = fields.get("organization_slug") or _slug_from(
            state, fields["organization_name"]
        )
        data["trusted_metadata"] = dict(trusted or {})
        data["created_at"] = data["updated_at"] = now
        org = OrgRec(org_id, data, state.next_seq())
        state.orgs[org_id] = org
        state.changed()
        return org


def update_org(state: State, org: OrgRec, p: Params) -> OrgRec:
    """Apply an update request's fields to ``org``."""
    with state.lock:
        fields = _settings(state, p, org)
        trusted = p.opt_dict("trusted_metadata")
        if trusted is not None:
            fields["trusted_metadata"] = merge_metadata(org.data.get("trusted_metadata"), trusted)
        org.data.update(fields)
        org.data["updated_at"] = rfc3339(state.now())
        state.changed()
        return org


def delete_org(state: State, org: OrgRec) -> None:
    """Delete an organization with its members, sessions and connections."""
    with state.lock:
        org_id = org.organization_id
        for session in [s for s in state.sessions.values() if s.organization_id == org_id]:
            state.drop_session(session)
        for member_id in [
            m.member_id for m in state.members.values() if m.organization_id == org_id
        ]:
            del state.members[member_id]
        for table in (state.sso, state.scim):
            for key in [k for k, c in table.items() if c["organization_id"] == org_id]:
                del table[key]
                state.scim_groups.pop(key, None)
        state.connected_grants.pop(org_id, None)
        del state.orgs[org_id]
        state.changed()


# -- search -------------------------------------------------------------------------


def _members_of(state: State, org: OrgRec) -> list[str]:
    return [
        m.data["email_address"]
        for m in state.members.values()
        if m.organization_id == org.organization_id
    ]


def _sso_of(state: State, org: OrgRec) -> list[JSON]:
    return [c for c in state.sso.values() if c["organization_id"] == org.organization_id]


def _org_filters(state: State) -> dict[str, Filter[OrgRec]]:
    """The 11 filters of Stytch's search-organizations "Filter Reference", in its order."""

    def missing(name: str) -> str:
        return f"organization_search_missing_{name}"

    return {
        "organization_ids": Filter(
            "list", lambda o, v: o.organization_id in v, missing("organization_ids")
        ),
        "organization_slugs": Filter(
            "list", lambda o, v: o.data["organization_slug"] in v, missing("organization_slugs")
        ),
        "organization_slug_fuzzy": Filter(
            "fuzzy",
            lambda o, v: v in o.data["organization_slug"].lower(),
            missing("organization_slug_fuzzy"),
        ),
        "organization_name_fuzzy": Filter(
            "fuzzy",
            lambda o, v: v in o.data["organization_name"].lower(),
            missing("organization_name_fuzzy"),
        ),
        "member_emails": Filter(
            "list", lambda o, v: any_in(_members_of(state, o), v), missing("member_emails")
        ),
        "member_email_fuzzy": Filter(
            "fuzzy",
            lambda o, v: any(v in e for e in _members_of(state, o)),
            missing("member_email_fuzzy"),
        ),
        "allowed_domains": Filter(
            "list",
            lambda o, v: any_in(o.data["email_allowed_domains"], v),
            missing("allowed_domains"),
        ),
        "allowed_domain_fuzzy": Filter(
            "fuzzy",
            lambda o, v: any(v in d.lower() for d in o.data["email_allowed_domains"]),
            missing("allowed_domain_fuzzy"),
        ),
        "claimed_email_domains": Filter(
            "list",
            lambda o, v: any_in(o.data["claimed_email_domains"], v),
            missing("claimed_email_domains"),
        ),
        "has_active_sso_connection": Filter(
            "bool",
            lambda o, v: any(c.get("status") == "active" for c in _sso_of(state, o)) is v,
        ),
        "sso_connection_id": Filter(
            "string", lambda o, v: any(c["connection_id"] == v for c in _sso_of(state, o))
        ),
    }


def _search(state: State, req: Req) -> JSON:
    p = req.params
    limit = search_limit(p)
    after = search_cursor(p)
    with state.lock:
        keep = Search("organization_search", _org_filters(state)).matcher(p.opt_dict("query"))
        ordered = sorted(state.orgs.values(), key=lambda o: o.seq)
        hits = [o for o in ordered if keep(o)]
        page, metadata = search_page(hits, _seq, after, limit)
        return {"organizations": [org_json(state, o) for o in page], "results_metadata": metadata}


def _seq(org: OrgRec) -> int:
    return org.seq


# -- handlers -----------------------------------------------------------------------


def _create(state: State, req: Req) -> JSON:
    org = create_org(state, req.params)
    with state.lock:
        return {"organization": org_json(state, org)}


def _get(state: State, req: Req) -> JSON:
    with state.lock:
        return {"organization": org_json(state, state.org(req.path["organization_id"]))}


def _update(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        update_org(state, org, req.params)
        return {"organization": org_json(state, org)}


def _delete(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        delete_org(state, org)
        return {"organization_id": org.organization_id}


def _metrics(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        count = sum(
            1
            for m in state.members.values()
            if m.organization_id == org.organization_id and m.data["status"] != "deleted"
        )
        return {"member_count": count}


def _delete_external_id(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        org.data["organization_external_id"] = None
        org.data["updated_at"] = rfc3339(state.now())
        state.changed()
        return {"organization": org_json(state, org)}


def _connected_apps(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        used = {app_id for grants in state.grants_of_org(org) for app_id in grants}
        return {"connected_apps": [state.app_json(a) for a in sorted(used)]}


def _get_connected_app(state: State, req: Req) -> JSON:
    with state.lock:
        org = state.org(req.path["organization_id"])
        app_id = req.path["connected_app_id"]
        if app_id not in state.connected_apps:
            raise not_found("connected_app_not_found", "Connected app could not be found.")
        active = [
            {"member_id": member_id, "granted_scopes": grants[app_id]}
            for member_id, grants in state.connected_grants.get(org.organization_id, {}).items()
            if app_id in grants
        ]
        return {**state.app_json(app_id), "active_members": active}


_ORG = "/v1/b2b/organizations/{organization_id}"

ROUTES = [
    Route("POST", "/v1/b2b/organizations", "organizations.create", _create),
    Route("POST", "/v1/b2b/organizations/search", "organizations.search", _search),
    Route("GET", _ORG, "organizations.get", _get),
    Route("PUT", _ORG, "organizations.update", _update),
    Route("DELETE", _ORG, "organizations.delete", _delete),
    Route("GET", _ORG + "/metrics", "organizations.metrics", _metrics),
    Route("DELETE", _ORG + "/external_id", "organizations.delete_external_id", _delete_external_id),
    Route("GET", _ORG + "/connected_apps", "organizations.connected_apps", _connected_apps),
    Route(
        "GET",
        _ORG + "/connected_apps/{connected_app_id}",
        "organizations.get_connected_app",
        _get_connected_app,
    ),
]
