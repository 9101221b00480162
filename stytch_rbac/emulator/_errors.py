"""The one exception the emulator raises, shaped like a Stytch error response.

Every ``error_type`` it answers is one of Stytch's own: :data:`ERROR_TYPES`
lists them, each a name of the ``StytchAPIErrorType`` list of Stytch's frontend
SDK (``tests/emulator/test_error_types.py`` checks it against a copy), and
:class:`EmulatorError` refuses any other, so no path can send a made-up name.
Only a fault a test injects with its own ``error_type`` is exempt.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["ERROR_TYPES", "OAUTH_ERRORS", "EmulatorError", "OAuthError", "bad_request", "not_found"]

_ERROR_URL = "https://stytch.com/docs/api-reference/b2b/api/errors/{status}#{error_type}"

#: The error types of Stytch's search pages, answered by organizations.search and
#: members.search (``user_search_*`` for the cursor, limit and operator, as those pages list).
_SEARCH_TYPES: Final = frozenset(
    {
        "member_search_cannot_mix_internal_and_external_member_ids",
        "member_search_expected_array_of_strings",
        "member_search_expected_boolean",
        "member_search_expected_string",
        "member_search_filter_name_must_be_string",
        "member_search_filter_name_not_recognized",
        "member_search_member_email_fuzzy_too_short",
        "member_search_member_mfa_phone_number_fuzzy_too_short",
        "member_search_missing_filter_name",
        "member_search_missing_filter_value",
        "member_search_missing_is_breakglass",
        "member_search_missing_member_email_fuzzy",
        "member_search_missing_member_emails",
        "member_search_missing_member_ids",
        "member_search_missing_member_roles",
        "member_search_missing_mfa_member_phone_number_fuzzy",
        "member_search_missing_mfa_member_phone_numbers",
        "member_search_missing_oauth_providers",
        "member_search_missing_organization_id",
        "member_search_missing_organization_slug",
        "member_search_missing_organization_slug_fuzzy",
        "member_search_missing_password_exists",
        "member_search_missing_status",
        "member_search_missing_statuses",
        "member_search_missing_totp_exists",
        "member_search_organization_ids_empty",
        "member_search_organization_slug_fuzzy_too_short",
        "organization_search_allowed_domain_fuzzy_too_short",
        "organization_search_expected_array_of_strings",
        "organization_search_expected_boolean",
        "organization_search_expected_string",
        "organization_search_filter_name_must_be_string",
        "organization_search_filter_name_not_recognized",
        "organization_search_member_email_fuzzy_too_short",
        "organization_search_missing_allowed_domain_fuzzy",
        "organization_search_missing_allowed_domains",
        "organization_search_missing_claimed_email_domains",
        "organization_search_missing_filter_name",
        "organization_search_missing_filter_value",
        "organization_search_missing_has_active_sso_connection",
        "organization_search_missing_member_email_fuzzy",
        "organization_search_missing_member_emails",
        "organization_search_missing_organization_ids",
        "organization_search_missing_organization_name_fuzzy",
        "organization_search_missing_organization_slug_fuzzy",
        "organization_search_missing_organization_slugs",
        "organization_search_missing_sso_connection_id",
        "organization_search_organization_name_fuzzy_too_short",
        "organization_search_organization_slug_fuzzy_too_short",
        "search_invalid_status_filter",
        "search_timeout",
        "user_search_invalid_cursor",
        "user_search_invalid_limit",
        "user_search_invalid_operator",
    }
)

#: Every error type the emulator may answer with.
ERROR_TYPES: Final[frozenset[str]] = _SEARCH_TYPES | {
    # credentials, routes, envelopes, faults
    "unauthorized_credentials",
    "route_not_found",
    "method_not_allowed",
    "bad_request",
    "invalid_argument",
    "too_many_requests",
    "internal_server_error",
    "server_unavailable",
    "project_not_found",
    # sessions and member-session enforcement (stytch_rbac.policy.builtin_calls)
    "session_not_found",
    "unable_to_parse_session_jwt",
    "no_session_arguments",
    "too_many_session_arguments",
    "no_session_revoke_arguments",
    "too_many_session_revoke_arguments",
    "invalid_session_duration_minutes",
    "custom_claims_too_large",
    "session_authorization_error",
    "session_authorization_tenancy_error",
    "cannot_update_trusted_metadata",
    "member_cannot_update_their_email_address",
    # organizations and members
    "organization_not_found",
    "invalid_organization_name",
    "invalid_organization_slug",
    "organization_slug_already_used",
    "organization_external_id_already_used",
    "member_not_found",
    "invalid_email",
    "invalid_phone_number",
    "duplicate_member_email",
    "duplicate_member_external_id",
    "no_deleted_member_found_for_reactivation",
    "email_unverified_for_reactivation",
    "member_password_not_found",
    "retired_email_missing_email_identifiers",
    "email_not_found",
    "connected_app_not_found",
    # M2M and Connected-App clients (_m2m.py, _connected_apps.py)
    "m2m_client_not_found",
    "duplicate_m2m_client_id",
    "m2m_client_invalid_client_id",
    "m2m_client_invalid_client_secret",
    "m2m_client_invalid_client_name",
    "m2m_client_invalid_client_description",
    "m2m_client_invalid_status",
    "invalid_m2m_client_scope",
    "m2m_client_already_rotating_secret",
    "m2m_client_not_rotating_secret",
    "m2m_search_expected_array_of_strings",
    "m2m_search_filter_name_must_be_string",
    "m2m_search_filter_name_not_recognized",
    "m2m_search_missing_filter_name",
    "m2m_search_missing_filter_value",
    "invalid_connected_app_type",
    "connected_app_already_rotating_secret",
    "connected_app_not_rotating_secret",
    "idp_invalid_access_token_expiry_minutes",
    "oauth_invalid_scope_requested",
    # RBAC
    "invalid_rbac_role_id",
    "cannot_assign_default_rbac_role_id",
    "invalid_rbac_custom_role",
    # the frontend SDK's /sdk/v1 (public tokens, origins, magic links)
    "bad_domain_for_stytch_sdk",
    "public_token_not_found",
    "magic_link_not_found",
    "email_jit_provisioning_not_allowed",
    "intermediate_session_not_found",
    "invalid_intermediate_session_token_for_organization",
    # SSO and SCIM
    "saml_connection_not_found",
    "oidc_connection_not_found",
    "sso_connection_not_found",
    "sso_verification_key_not_found",
    "sso_encryption_private_key_not_found",
    "active_scim_connection_exists",
    "no_active_scim_connection",
    "scim_connection_not_rotating_token",
}


class EmulatorError(Exception):
    """A Stytch API error: raised by the Python API, answered as JSON over HTTP.

    ``status_code``, ``error_type`` and ``error_message`` are what Stytch's
    error envelope carries (reference 1.5); the message never holds a token.
    ``error_type`` must be in :data:`ERROR_TYPES` (``ValueError`` otherwise),
    unless ``injected``: a fault a test asked for may carry any type.
    """

    def __init__(
        self, status_code: int, error_type: str, error_message: str, *, injected: bool = False
    ) -> None:
        if not injected and error_type not in ERROR_TYPES:
            raise ValueError(f"{error_type!r} is not an error type the emulator answers")
        super().__init__(f"{status_code} {error_type}: {error_message}")
        self.status_code = status_code
        self.error_type = error_type
        self.error_message = error_message

    def body(self, request_id: str) -> dict[str, Any]:
        """The JSON error envelope Stytch answers with."""
        return {
            "status_code": self.status_code,
            "request_id": request_id,
            "error_type": self.error_type,
            "error_message": self.error_message,
            "error_url": _ERROR_URL.format(status=self.status_code, error_type=self.error_type),
        }


def bad_request(message: str, error_type: str = "invalid_argument") -> EmulatorError:
    """A 400 error (``invalid_argument`` unless a more precise type is given)."""
    return EmulatorError(400, error_type, message)


def not_found(error_type: str, message: str) -> EmulatorError:
    """A 404 error such as ``member_not_found``."""
    return EmulatorError(404, error_type, message)


#: RFC 6749 section 5.2 (and RFC 7662) error codes the OAuth endpoints answer with.
OAUTH_ERRORS: Final[frozenset[str]] = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)

_OAUTH_URL = "https://stytch.com/docs/api-reference/b2b/api/errors/{status}"


class OAuthError(EmulatorError):
    """An error of the OAuth endpoints (``/v1/public/{project_id}/oauth2/...``).

    They answer RFC 6749's envelope (``error``, ``error_description``,
    ``error_uri``) beside Stytch's own fields: the ``stytch`` SDK reads either
    shape into its ``StytchError``. The code is one of :data:`OAUTH_ERRORS`.
    """

    def __init__(self, status_code: int, error: str, description: str) -> None:
        if error not in OAUTH_ERRORS:
            raise ValueError(f"{error!r} is not an OAuth error code")
        super().__init__(status_code, error, description, injected=True)

    def body(self, request_id: str) -> dict[str, Any]:
        """RFC 6749's error envelope beside Stytch's (``error_type``...): OAuth clients read
        the first, the ``stytch`` SDK and the emulator's callers the second."""
        return {
            **super().body(request_id),
            "error": self.error_type,
            "error_description": self.error_message,
            "error_uri": _OAUTH_URL.format(status=self.status_code),
        }
