"""The ``/sdk/v1`` routes of Stytch's B2B frontend SDK, mapped onto the backend API's handlers.

A frontend call made with a member session is the backend call of the same
name made with that session in ``X-Stytch-Member-Session``: the organization
(and, for the ``self`` calls, the member) come from the session, the handler
is the backend's, and the member-session enforcement
(:mod:`._enforce`, over :mod:`stytch_rbac.policy.builtin_calls`) decides, so
the frontend and the backend are refused by one table. The handlers are
:mod:`._sdk_handlers`; this module is the table of paths, names and whether a
member session is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._passwords import Passwords
from ._public_tokens import PublicTokens
from ._routing import Req, Route
from ._sdk_handlers import Enforcer, SdkHandlers
from ._state import State

__all__ = ["PREFIX", "sdk_routes"]

JSON = dict[str, Any]

PREFIX = "/sdk/v1"


def sdk_routes(
    tokens: PublicTokens, backends: Mapping[str, Route], enforce: Enforcer, passwords: Passwords
) -> list[Route]:
    """Every served ``/sdk/v1`` route. ``auth=True``: it needs a member session."""
    h = SdkHandlers(tokens, backends, enforce, passwords)
    fwd = h.forward
    orgs, members = "/b2b/organizations", "/b2b/organizations/members"
    m = "organizations.members."
    table: list[tuple[str, str, str, Callable[[State, Req], JSON], bool]] = [
        # project and telemetry
        ("GET", "/projects/bootstrap/{public_token}", "bootstrap", h.bootstrap, False),
        ("POST", "/events", "events", h.events, False),
        # sessions
        (
            "POST",
            "/b2b/sessions/authenticate",
            "sessions.authenticate",
            h.session_authenticate,
            True,
        ),
        ("POST", "/b2b/sessions/revoke", "sessions.revoke", h.session_revoke, True),
        (
            "POST",
            "/b2b/sessions/revoke/{member_id}",
            "sessions.revoke_for_member",
            fwd("sessions.revoke"),
            True,
        ),
        ("POST", "/b2b/sessions/exchange", "sessions.exchange", h.session_exchange, True),
        # the organization of the session
        ("GET", orgs + "/me", "organization.get", fwd("organizations.get"), True),
        ("PUT", orgs + "/me", "organization.update", fwd("organizations.update"), True),
        ("DELETE", orgs + "/me", "organization.delete", fwd("organizations.delete"), True),
        ("POST", orgs + "/search", "organization.get_by_slug", h.org_by_slug, False),
        (
            "GET",
            orgs + "/connected_apps",
            "organization.get_connected_apps",
            fwd("organizations.connected_apps"),
            True,
        ),
        (
            "GET",
            orgs + "/connected_apps/{connected_app_id}",
            "organization.get_connected_app",
            fwd("organizations.get_connected_app"),
            True,
        ),
        # its members
        ("POST", members, "organization.members.create", fwd(m + "create"), True),
        (
            "POST",
            orgs + "/me/members/search",
            "organization.members.search",
            fwd(
                m + "search",
                extra=lambda s, session: {"organization_ids": [session.organization_id]},
            ),
            True,
        ),
        ("PUT", members + "/{member_id}", "organization.members.update", fwd(m + "update"), True),
        (
            "DELETE",
            members + "/{member_id}",
            "organization.members.delete",
            fwd(m + "delete"),
            True,
        ),
        (
            "PUT",
            members + "/{member_id}/reactivate",
            "organization.members.reactivate",
            fwd(m + "reactivate"),
            True,
        ),
        (
            "DELETE",
            members + "/passwords/{member_password_id}",
            "organization.members.delete_password",
            fwd(m + "delete_password"),
            True,
        ),
        (
            "DELETE",
            members + "/mfa_phone_numbers/{member_id}",
            "organization.members.delete_mfa_phone_number",
            fwd(m + "delete_mfa_phone_number"),
            True,
        ),
        (
            "DELETE",
            members + "/totp/{member_id}",
            "organization.members.delete_totp",
            fwd(m + "delete_totp"),
            True,
        ),
        (
            "POST",
            members + "/{member_id}/unlink_retired_email",
            "organization.members.unlink_retired_email",
            fwd(m + "unlink_retired_email"),
            True,
        ),
        (
            "POST",
            members + "/{member_id}/start_email_update",
            "organization.members.start_email_update",
            fwd(m + "start_email_update"),
            True,
        ),
        (
            "POST",
            members + "/{member_id}/connected_apps/{connected_app_id}/revoke",
            "organization.members.revoke_connected_app",
            fwd(m + "connected_apps.revoke"),
            True,
        ),
        # the member of the session
        ("GET", members + "/me", "self.get", h.self_get, True),
        ("PUT", members + "/update", "self.update", fwd(m + "update", as_self=True), True),
        (
            "DELETE",
            members + "/deletePhoneNumber",
            "self.delete_mfa_phone_number",
            fwd(m + "delete_mfa_phone_number", as_self=True),
            True,
        ),
        (
            "DELETE",
            members + "/deleteTOTP",
            "self.delete_totp",
            fwd(m + "delete_totp", as_self=True),
            True,
        ),
        (
            "POST",
            members + "/unlink_retired_email",
            "self.unlink_retired_email",
            fwd(m + "unlink_retired_email", as_self=True),
            True,
        ),
        (
            "POST",
            members + "/start_email_update",
            "self.start_email_update",
            fwd(m + "start_email_update", as_self=True),
            True,
        ),
        (
            "GET",
            members + "/connected_apps",
            "self.get_connected_apps",
            fwd(m + "get_connected_apps", as_self=True),
            True,
        ),
        (
            "POST",
            members + "/connected_apps/{connected_app_id}/revoke",
            "self.revoke_connected_app",
            fwd(m + "connected_apps.revoke", as_self=True),
            True,
        ),
        # email magic links
        (
            "POST",
            "/b2b/magic_links/email/invite",
            "magic_links.email.invite",
            fwd("magic_links.email.invite"),
            True,
        ),
        (
            "POST",
            "/b2b/magic_links/email/login_or_signup",
            "magic_links.email.login_or_signup",
            h.login_or_signup,
            False,
        ),
        (
            "POST",
            "/b2b/magic_links/authenticate",
            "magic_links.authenticate",
            h.magic_link_authenticate,
            False,
        ),
        # passwords (set from Python: Emulator.set_password)
        (
            "POST",
            "/b2b/passwords/authenticate",
            "passwords.authenticate",
            h.password_authenticate,
            False,
        ),
        # discovery: an email first, then an organization
        (
            "POST",
            "/b2b/magic_links/email/discovery/send",
            "magic_links.email.discovery.send",
            h.discovery_send,
            False,
        ),
        (
            "POST",
            "/b2b/magic_links/discovery/authenticate",
            "magic_links.discovery.authenticate",
            h.discovery_authenticate,
            False,
        ),
        (
            "POST",
            "/b2b/discovery/organizations",
            "discovery.organizations.list",
            h.discovery_list,
            False,
        ),
        (
            "POST",
            "/b2b/discovery/organizations/create",
            "discovery.organizations.create",
            h.discovery_create,
            False,
        ),
        (
            "POST",
            "/b2b/discovery/intermediate_sessions/exchange",
            "discovery.intermediate_sessions.exchange",
            h.discovery_exchange,
            False,
        ),
        # SSO connections (admin calls)
        ("GET", "/b2b/sso", "sso.get_connections", fwd("sso.get_connections"), True),
        (
            "DELETE",
            "/b2b/sso/{connection_id}",
            "sso.delete_connection",
            fwd("sso.delete_connection"),
            True,
        ),
        (
            "POST",
            "/b2b/sso/saml",
            "sso.saml.create_connection",
            fwd("sso.saml.create_connection"),
            True,
        ),
        (
            "PUT",
            "/b2b/sso/saml/{connection_id}",
            "sso.saml.update_connection",
            fwd("sso.saml.update_connection"),
            True,
        ),
        (
            "PUT",
            "/b2b/sso/saml/{connection_id}/url",
            "sso.saml.update_connection_by_url",
            fwd("sso.saml.update_by_url"),
            True,
        ),
        (
            "DELETE",
            "/b2b/sso/saml/{connection_id}/verification_certificates/{certificate_id}",
            "sso.saml.delete_verification_certificate",
            fwd("sso.saml.delete_verification_certificate"),
            True,
        ),
        (
            "DELETE",
            "/b2b/sso/saml/{connection_id}/encryption_private_key/{private_key_id}",
            "sso.saml.delete_encryption_private_key",
            fwd("sso.saml.delete_encryption_private_key"),
            True,
        ),
        (
            "POST",
            "/b2b/sso/oidc",
            "sso.oidc.create_connection",
            fwd("sso.oidc.create_connection"),
            True,
        ),
        (
            "PUT",
            "/b2b/sso/oidc/{connection_id}",
            "sso.oidc.update_connection",
            fwd("sso.oidc.update_connection"),
            True,
        ),
        (
            "POST",
            "/b2b/sso/external",
            "sso.external.create_connection",
            fwd("sso.external.create_connection"),
            True,
        ),
        (
            "PUT",
            "/b2b/sso/external/{connection_id}",
            "sso.external.update_connection",
            fwd("sso.external.update_connection"),
            True,
        ),
        # SCIM connection (admin calls)
        ("POST", "/b2b/scim", "scim.create_connection", fwd("scim.connection.create"), True),
        ("GET", "/b2b/scim", "scim.get_connection", fwd("scim.connection.get"), True),
        (
            "PUT",
            "/b2b/scim/{connection_id}",
            "scim.update_connection",
            fwd("scim.connection.update"),
            True,
        ),
        (
            "DELETE",
            "/b2b/scim/{connection_id}",
            "scim.delete_connection",
            fwd("scim.connection.delete"),
            True,
        ),
        (
            "POST",
            "/b2b/scim/groups",
            "scim.get_connection_groups",
            fwd("scim.connection.get_groups", extra=h.scim_connection),
            True,
        ),
        (
            "POST",
            "/b2b/scim/rotate/start",
            "scim.rotate_start",
            fwd("scim.connection.rotate_start"),
            True,
        ),
        (
            "POST",
            "/b2b/scim/rotate/complete",
            "scim.rotate_complete",
            fwd("scim.connection.rotate_complete"),
            True,
        ),
        (
            "POST",
            "/b2b/scim/rotate/cancel",
            "scim.rotate_cancel",
            fwd("scim.connection.rotate_cancel"),
            True,
        ),
    ]
    return [
        Route(method, PREFIX + path, "sdk." + name, handler, auth=needs_session)
        for method, path, name, handler, needs_session in table
    ]
