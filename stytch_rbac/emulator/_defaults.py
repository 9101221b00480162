"""The policy an emulator starts with when none is given: Stytch's default resources and roles."""

from __future__ import annotations

from typing import Any

from ..policy import Policy

__all__ = ["default_policy"]

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


def _grant(resource: str) -> dict[str, Any]:
    return {"resource_id": resource, "actions": ["*"]}


def default_policy() -> Policy:
    """Stytch's default resources (reference 4.7) with ``stytch_member`` and ``stytch_admin``."""
    return Policy.parse(
        {
            "resources": [
                {"resource_id": r, "description": "", "actions": a} for r, a in _ACTIONS.items()
            ],
            "roles": [
                {
                    "role_id": "stytch_member",
                    "description": "Granted to all Members upon creation.",
                    "permissions": [_grant("stytch.self")],
                },
                {
                    "role_id": "stytch_admin",
                    "description": "Granted to Members who create an organization through the "
                    "discovery flow.",
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
