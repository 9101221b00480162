"""The policy an emulator starts with when none is given: Stytch's default resources and roles."""

from __future__ import annotations

import functools
from typing import Any

from ..policy import CompiledPolicy, Policy

__all__ = ["compile_policy", "default_policy"]

_ACTIONS: dict[str, list[str]] = {
    "stytch.organization": [
        "update.info.name",
        "update.info.slug",
        "update.info.logo-url",
        "update.settings.allowed-auth-methods",
        "update.settings.allowed-mfa-methods",
        "update.settings.email-jit-provisioning",
        "update.settings.email-invites",
        "update.settings.allowed-domains",
        "update.settings.default-sso-connection",
        "update.settings.sso-jit-provisioning",
        "update.settings.mfa-policy",
        "update.settings.implicit-roles",
        "update.settings.oauth-tenant-jit-provisioning",
        "update.settings.allowed-oauth-tenants",
        "delete",
    ],
    "stytch.member": [
        "create",
        "update.info.name",
        "update.info.email",
        "update.info.untrusted-metadata",
        "update.info.mfa-phone",
        "update.info.delete.mfa-phone",
        "update.info.delete.mfa-totp",
        "update.info.delete.password",
        "update.info.unlink.retired-email",
        "update.settings.is-breakglass",
        "update.settings.mfa-enrolled",
        "update.settings.default-mfa-method",
        "update.settings.roles",
        "search",
        "delete",
        "revoke-sessions",
        "get.connected-apps",
        "revoke.connected-app",
    ],
    "stytch.self": [
        "update.info.name",
        "update.info.email",
        "update.info.untrusted-metadata",
        "update.info.mfa-phone",
        "update.info.delete.mfa-phone",
        "update.info.delete.password",
        "update.info.delete.mfa-totp",
        "update.info.unlink.retired-email",
        "update.settings.mfa-enrolled",
        "update.settings.default-mfa-method",
        "delete",
        "revoke-sessions",
        "get.connected-apps",
        "revoke.connected-app",
    ],
    "stytch.sso": ["create", "get", "update", "delete"],
    "stytch.scim": ["create", "get", "update", "delete"],
    "stytch.custom-org-roles": ["create", "get", "update", "delete"],
}


#: Stytch's descriptions, from its own frontend mock of a project policy;
#: ``stytch.custom-org-roles`` is not in that mock, so its text follows the others.
_DESCRIPTIONS: dict[str, str] = {
    "stytch.organization": "Builtin resource for Stytch organization objects",
    "stytch.member": "Builtin resource for Stytch member objects",
    "stytch.self": "Builtin resource for the logged-in Stytch member object",
    "stytch.sso": "Builtin resource for Stytch SSO Connection objects",
    "stytch.scim": "Builtin resource for Stytch SCIM Connection objects",
    "stytch.custom-org-roles": "Builtin resource for Stytch custom organization role objects",
}
_MEMBER_DESCRIPTION = (
    "Granted to all Members upon creation; grants permissions already implicitly granted to "
    "logged in Members via the SDK. Cannot be deleted."
)
_ADMIN_DESCRIPTION = (
    "Granted to Members who create an organization through the Stytch discovery flow. Admins "
    "will also have the stytch_member role. Cannot be deleted."
)


def _grant(resource: str) -> dict[str, Any]:
    return {"resource_id": resource, "actions": ["*"]}


@functools.cache
def default_policy() -> Policy:
    """Stytch's default resources (reference 4.7) with ``stytch_member`` and ``stytch_admin``.

    One object per process (a ``Policy`` is immutable), so that its compiled form is
    built once too (:func:`compile_policy`).
    """
    return Policy.parse(
        {
            "resources": [
                {"resource_id": r, "description": _DESCRIPTIONS[r], "actions": a}
                for r, a in _ACTIONS.items()
            ],
            "roles": [
                {
                    "role_id": "stytch_member",
                    "description": _MEMBER_DESCRIPTION,
                    "permissions": [_grant("stytch.self")],
                },
                {
                    "role_id": "stytch_admin",
                    "description": _ADMIN_DESCRIPTION,
                    "permissions": [
                        _grant(r)
                        for r in (
                            "stytch.organization",
                            "stytch.member",
                            "stytch.sso",
                            "stytch.scim",
                        )
                    ],
                },
            ],
            "scopes": [],
        }
    )


@functools.cache
def _compiled_default() -> CompiledPolicy:
    return CompiledPolicy(default_policy(), strict=False)


def compile_policy(policy: Policy) -> CompiledPolicy:
    """``policy`` compiled as the emulator uses it (not strict); the default policy's
    compiled form is shared by every emulator of the process (both are immutable)."""
    if policy is default_policy():
        return _compiled_default()
    return CompiledPolicy(policy, strict=False)
