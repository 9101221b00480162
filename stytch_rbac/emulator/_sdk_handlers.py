"""The handlers behind the frontend SDK's ``/sdk/v1`` routes (:mod:`._sdk_routes`).

Most make the backend call of the same name with the request's member session
(:meth:`SdkHandlers.forward`), so the backend's handler and the member-session
enforcement answer; the rest (bootstrap, magic-link and password logins,
discovery, session exchange, the public organization look-up) have no backend twin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._discovery import Discovery
from ._errors import EmulatorError, bad_request, not_found
from ._magic_links import authenticate as spend_magic_link
from ._magic_links import login_or_signup
from ._params import Params
from ._passwords import Passwords
from ._public_tokens import PublicTokens
from ._routing import Req, Route
from ._sessions import create_session, mint_jwt, resolve_session
from ._state import MemberRec, OrgRec, SessionRec, State
from ._wire import member_json, org_json, session_json

__all__ = ["Enforcer", "SdkHandlers", "authenticate_response"]

JSON = dict[str, Any]
Enforcer = Callable[[State, Route, Req], None]

#: Organization fields ``organization.getBySlug`` shows to a visitor who is not logged in.
_PUBLIC_ORG_FIELDS = (
    "organization_id",
    "organization_name",
    "organization_slug",
    "organization_logo_url",
    "sso_active_connections",
    "sso_default_connection_id",
    "auth_methods",
    "allowed_auth_methods",
    "mfa_policy",
    "email_jit_provisioning",
    "email_allowed_domains",
)


def _no_session() -> EmulatorError:
    return EmulatorError(
        401, "unauthorized_credentials", "This call needs a member session: log in first."
    )


def _pattern_names(pattern: str) -> list[str]:
    return [s[1:-1] for s in pattern.strip("/").split("/") if s.startswith("{")]


def authenticate_response(
    state: State, org: OrgRec, member: MemberRec, session: SessionRec
) -> JSON:
    """The body of every SDK call that logs a member in (``member_session`` and tokens)."""
    return {
        "member_id": member.member_id,
        "organization_id": org.organization_id,
        "method_id": member.email_id,
        "reset_sessions": False,
        "member": member_json(org, member),
        "organization": org_json(state, org),
        "member_session": session_json(state, session),
        "session_token": session.session_token,
        "session_jwt": mint_jwt(state, session),
        "intermediate_session_token": "",
        "member_authenticated": True,
        "mfa_required": None,
        "primary_required": None,
    }


class SdkHandlers:
    """Handlers bound to the backend's routes and enforcement."""

    def __init__(
        self,
        tokens: PublicTokens,
        backends: Mapping[str, Route],
        enforce: Enforcer,
        passwords: Passwords,
    ) -> None:
        self.tokens = tokens
        self.backends = backends
        self.enforce = enforce
        self.passwords = passwords
        self.discovery = Discovery()

    # -- helpers --------------------------------------------------------------------

    def session(self, state: State, req: Req) -> SessionRec:
        """The member session of the Basic credentials (401 without one)."""
        if req.session_token is None:
            raise _no_session()
        return resolve_session(state, session_token=req.session_token)

    def call(self, state: State, name: str, req: Req, params: JSON) -> JSON:
        """The backend call ``name`` with ``params``, made with the request's member session."""
        backend = self.backends[name]
        path = {}
        for key in _pattern_names(backend.pattern):
            value = params.get(key)
            if not isinstance(value, str) or not value:
                raise bad_request(f"{key} is required.")
            path[key] = value
        breq = Req(
            backend.method,
            path,
            Params(params, from_query=backend.method in ("GET", "DELETE")),
            session_token=req.session_token,
        )
        self.enforce(state, backend, breq)
        return backend.handler(state, breq)

    def forward(
        self,
        name: str,
        *,
        as_self: bool = False,
        extra: Callable[[State, SessionRec], JSON] | None = None,
    ) -> Callable[[State, Req], JSON]:
        """A handler making backend call ``name`` in the session's organization.

        ``as_self``: on the session's own member (the ``self`` calls). ``extra``:
        parameters computed from the session, applied last.
        """

        def handler(state: State, req: Req) -> JSON:
            with state.lock:
                session = self.session(state, req)
                params: JSON = {**dict(req.params.items()), **req.path}
                params["organization_id"] = session.organization_id
                if as_self:
                    params["member_id"] = session.member_id
                if extra is not None:
                    params.update(extra(state, session))
                return self.call(state, name, req, params)

        return handler

    # -- handlers without a backend twin -------------------------------------------

    def bootstrap(self, state: State, req: Req) -> JSON:
        """Project settings for the SDK: everything optional off, and the RBAC policy."""
        if not self.tokens.known(req.path["public_token"]):
            raise not_found("public_token_not_found", "Public token could not be found.")
        with state.lock:
            policy = state.policy.to_json()
        return {
            "project_name": f"stytch-rbac emulator ({state.project_id})",
            "disable_sdk_watermark": True,
            "cname_domain": None,
            "email_domains": ["stytch.com"],
            "captcha_settings": {"enabled": False},
            "pkce_required_for_email_magic_links": False,
            "pkce_required_for_password_resets": False,
            "pkce_required_for_oauth": False,
            "pkce_required_for_sso": False,
            "slug_pattern": None,
            "create_organization_enabled": True,
            "password_config": None,
            "dfp_protected_auth_enabled": False,
            "rbac_policy": policy,
            "siwe_required_for_crypto_wallets": False,
            "vertical": "B2B",
        }

    def events(self, state: State, req: Req) -> JSON:
        """The SDK's telemetry batches: accepted and dropped."""
        return {}

    def session_authenticate(self, state: State, req: Req) -> JSON:
        """``session.authenticate()``: the session of the Basic credentials, refreshed."""
        params: JSON = {
            "session_token": req.session_token,
            "session_duration_minutes": req.params.opt_int("session_duration_minutes"),
        }
        if req.session_token is None:
            raise _no_session()
        return self.call(state, "sessions.authenticate", req, params)

    def session_revoke(self, state: State, req: Req) -> JSON:
        """``session.revoke()``: logging oneself out needs no permission."""
        with state.lock:
            session = self.session(state, req)
            state.drop_session(session)
        return {}

    def session_exchange(self, state: State, req: Req) -> JSON:
        """``session.exchange()``: a session in another organization the same email belongs to."""
        p = req.params
        with state.lock:
            current = self.session(state, req)
            email = state.members[current.member_id].data["email_address"]
            org = state.org(p.required("organization_id"))
            member = state.member_by_email(org, email)
            if member is None or member.data["status"] == "deleted":
                raise not_found("member_not_found", "Member could not be found.")
            minutes = p.opt_int("session_duration_minutes") or 60
            session = create_session(state, member, duration_minutes=minutes)
            return authenticate_response(state, org, member, session)

    def org_by_slug(self, state: State, req: Req) -> JSON:
        """``organization.getBySlug()``: the public fields, or ``null``."""
        slug = req.params.required("organization_slug")
        with state.lock:
            org = next(
                (o for o in state.orgs.values() if o.data["organization_slug"] == slug), None
            )
            if org is None:
                return {"organization": None}
            data = org_json(state, org)
            return {"organization": {k: data.get(k) for k in _PUBLIC_ORG_FIELDS}}

    def self_get(self, state: State, req: Req) -> JSON:
        """``self.get()``: the session's member."""
        with state.lock:
            session = self.session(state, req)
            org = state.orgs[session.organization_id]
            member = state.members[session.member_id]
            return {
                "member_id": member.member_id,
                "member": member_json(org, member),
                "organization": org_json(state, org),
            }

    def login_or_signup(self, state: State, req: Req) -> JSON:
        """``magicLinks.email.loginOrSignup()``: the email goes to the outbox."""
        return login_or_signup(state, req.params)

    def magic_link_authenticate(self, state: State, req: Req) -> JSON:
        """``magicLinks.authenticate()``: spend a token from the outbox, get a session."""
        p = req.params
        org, member, session = spend_magic_link(
            state,
            p.required("magic_links_token"),
            duration_minutes=p.opt_int("session_duration_minutes"),
        )
        with state.lock:
            return authenticate_response(state, org, member, session)

    def discovery_send(self, state: State, req: Req) -> JSON:
        """``magicLinks.email.discovery.send``: the discovery email goes to the outbox."""
        return self.discovery.send(state, req.params)

    def discovery_authenticate(self, state: State, req: Req) -> JSON:
        """``magicLinks.discovery.authenticate``: an intermediate session for the email."""
        return self.discovery.authenticate(state, req.params)

    def discovery_list(self, state: State, req: Req) -> JSON:
        """``discovery.organizations.list``: by the intermediate session, else the session."""
        ist = req.params.opt_str("intermediate_session_token")
        if ist is None and req.session_token is not None:
            with state.lock:
                session = self.session(state, req)
                email = str(state.members[session.member_id].data["email_address"])
        else:
            email = self.discovery.email_of(state, ist)
        return self.discovery.list_organizations(state, email)

    def discovery_exchange(self, state: State, req: Req) -> JSON:
        """``discovery.intermediateSessions.exchange``: a member session in the organization."""
        org, member, session = self.discovery.exchange(state, req.params)
        with state.lock:
            return authenticate_response(state, org, member, session)

    def discovery_create(self, state: State, req: Req) -> JSON:
        """``discovery.organizations.create``: a new organization with its creator as admin."""
        org, member, session = self.discovery.create(state, req.params)
        with state.lock:
            return authenticate_response(state, org, member, session)

    def password_authenticate(self, state: State, req: Req) -> JSON:
        """``passwords.authenticate``: email and password in an organization."""
        org, member, session = self.passwords.authenticate(state, req.params)
        with state.lock:
            return authenticate_response(state, org, member, session)

    @staticmethod
    def scim_connection(state: State, session: SessionRec) -> JSON:
        """The organization's SCIM connection id (the SDK's group listing names none)."""
        found = next(
            (
                c["connection_id"]
                for c in state.scim.values()
                if c["organization_id"] == session.organization_id
            ),
            None,
        )
        if found is None:
            raise EmulatorError(
                400, "no_active_scim_connection", "The organization has no SCIM connection."
            )
        return {"connection_id": found}
