"""The fields seeding accepts for organizations and members, and the checks of the seed-only ones.

Seeding (the Python API, ``/_emulator/organizations`` and ``/members``, seed
files) takes the fields of Stytch's own create requests plus a few only a seed
can set. Any other name is a 400 ``invalid_argument`` naming it: a typo must not
be silently dropped, nor reach Python as a keyword argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from ._errors import bad_request

__all__ = [
    "MEMBER_CREATE_FIELDS",
    "MEMBER_SEED_FIELDS",
    "ORGANIZATION_CREATE_FIELDS",
    "check_fields",
    "check_member_seed_fields",
]

#: ``organizations.create``'s body fields (Stytch's OpenAPI), plus a fixed ``organization_id``.
ORGANIZATION_CREATE_FIELDS: Final = frozenset(
    {
        "organization_id",
        "organization_name",
        "organization_slug",
        "organization_logo_url",
        "organization_external_id",
        "trusted_metadata",
        "sso_jit_provisioning",
        "email_allowed_domains",
        "email_jit_provisioning",
        "email_invites",
        "auth_methods",
        "allowed_auth_methods",
        "mfa_methods",
        "allowed_mfa_methods",
        "mfa_policy",
        "rbac_email_implicit_role_assignments",
        "oauth_tenant_jit_provisioning",
        "allowed_oauth_tenants",
        "claimed_email_domains",
        "first_party_connected_apps_allowed_type",
        "allowed_first_party_connected_apps",
        "third_party_connected_apps_allowed_type",
        "allowed_third_party_connected_apps",
    }
)

#: Member fields only a seed may set (a real member gets them through login flows).
MEMBER_SEED_FIELDS: Final = frozenset(
    {
        "member_id",
        "status",
        "email_address_verified",
        "mfa_phone_number_verified",
        "member_password_id",
        "totp_registration_id",
    }
)

#: ``organizations.members.create``'s body fields (Stytch's OpenAPI), the path's
#: ``organization_id``, and :data:`MEMBER_SEED_FIELDS`.
MEMBER_CREATE_FIELDS: Final = MEMBER_SEED_FIELDS | {
    "organization_id",
    "email_address",
    "name",
    "roles",
    "external_id",
    "trusted_metadata",
    "untrusted_metadata",
    "create_member_as_pending",
    "is_breakglass",
    "mfa_enrolled",
    "mfa_phone_number",
}

_STATUSES: Final = ("active", "pending", "invited", "deleted")


def check_fields(fields: Iterable[str], allowed: frozenset[str], what: str) -> None:
    """400 ``invalid_argument`` naming every field of ``fields`` not in ``allowed``."""
    unknown = sorted(set(fields) - allowed)
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise bad_request(f"{what} takes no field {names}.")


def check_member_seed_fields(fields: Mapping[str, Any]) -> None:
    """Type checks of the seed-only member fields given (``None``: not given); 400 naming
    the field."""
    given = {key: value for key, value in fields.items() if value is not None}
    for key in ("member_id", "status"):
        if key in given and not isinstance(given[key], str):
            raise bad_request(f"{key} must be a string.")
    if given.get("status", "active") not in _STATUSES:
        raise bad_request(f"status must be one of {', '.join(_STATUSES)}.")
    for key in ("email_address_verified", "mfa_phone_number_verified"):
        if key in given and not isinstance(given[key], bool):
            raise bad_request(f"{key} must be a boolean.")
    for key in ("member_password_id", "totp_registration_id"):
        if key in given and given[key] is not True and not isinstance(given[key], str):
            raise bad_request(f"{key} must be a string, or true for a generated id.")
