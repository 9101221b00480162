"""The stytch SDK's model modules and types that code outside the seam needs at run time.

The generated member wrappers build each call's ``*RequestOptions`` and the
member's ``Authorization`` from these; importing them here keeps the rule that
only ``_stytch`` imports the SDK at run time (everything else imports it for
annotations only).
"""

from stytch.b2b.models import (
    magic_links_email,
    organizations,
    organizations_members,
    organizations_members_connected_apps,
    passwords_email,
    rbac,
    scim,
    scim_connection,
    sessions,
    sso,
    sso_external,
    sso_oidc,
    sso_saml,
)
from stytch.shared.method_options import Authorization

__all__ = [
    "Authorization",
    "magic_links_email",
    "organizations",
    "organizations_members",
    "organizations_members_connected_apps",
    "passwords_email",
    "rbac",
    "scim",
    "scim_connection",
    "sessions",
    "sso",
    "sso_external",
    "sso_oidc",
    "sso_saml",
]
