"""The permission Stytch demands for each built-in call made with a member session.

Stytch's built-in resources (``stytch.organization``, ``stytch.member``,
``stytch.self``, ``stytch.sso``, ``stytch.scim``) are enforced by Stytch itself
when a call carries the member-session headers. This module is the single
table of what each such ``stytch.B2BClient`` method needs (reference sections
4.10 to 4.12): ``MemberClient`` checks it before the network call (pre-flight)
and the emulator enforces it. Where Stytch documents the permission, the table
is Stytch's; where it documents none, the table states a choice, marked
``documented=False`` (below), and Stytch remains the authority.

Rules, in the order they are applied by :func:`check`:

1. Tenancy: the organization the call targets must be the member's own.
2. Forbidden fields: ``trusted_metadata`` may not be sent with a member session
   to ``organizations.update`` or ``members.update``
   (``cannot_update_trusted_metadata``; Stytch documents it for those two
   updates only, so ``members.create`` and ``magic_links.email.invite`` accept
   it); a member may not change their own ``email_address`` through
   ``members.update`` (``member_cannot_update_their_email_address``).
3. Every :class:`Need` must be held. A need with a ``self_action`` is also met
   by that action on ``stytch.self`` when the target member is the caller.
   ``organizations.update`` and ``members.update`` need one action per field
   sent (``None`` values are not sent, so they need nothing).

Holding a need is Stytch's rule, :meth:`CompiledPolicy.stytch_decide`: a held
role (project or organization) names the action, or ``"*"``, on that resource.
The resource's action list in the policy is not consulted: a real project's
policy may list fewer ``stytch.*`` actions than the endpoints need (Stytch's own
frontend mock omits ``revoke-sessions`` and ``get.connected-apps`` on
``stytch.member``), and Stytch still grants them through ``"*"``. An action
missing from that list is a matter for lint, never a denial by itself. This
applies to the built-in ``stytch.*`` resources only: questions about the
project's own resources keep the strict check of :class:`CompiledPolicy`.

Where Stytch documents no permission, the nearest documented action is
required, with no ``stytch.self`` alternative, the stricter reading for
settings that matter to security (each such :class:`Need` has
``documented=False``; docs/member-calls.md lists them):

* a member's ``external_id`` (``members.update``) and
  ``organizations.members.delete_external_id``: ``stytch.member``
  ``update.info.email``, the other identifier of a member;
* ``organization_external_id`` (``organizations.update``) and
  ``organizations.delete_external_id``: ``stytch.organization``
  ``update.info.slug``, the other identifier of an organization;
* ``claimed_email_domains``: ``stytch.organization``
  ``update.settings.allowed-domains``;
* the connected-app policy fields (``first_party_connected_apps_allowed_type``,
  ``allowed_first_party_connected_apps`` and their ``third_party`` twins):
  ``stytch.organization`` ``update.settings.allowed-auth-methods``, the setting
  of who may obtain access to the organization's members;
* ``organizations.connected_apps`` and ``organizations.get_connected_app``
  (which list the members who installed an app): ``stytch.member``
  ``get.connected-apps``.

``passwords.email.require_reset`` is documented (Stytch's API page):
``update.info.delete.password`` on ``stytch.member``, or on ``stytch.self`` for
one's own password.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from .compiled import CompiledPolicy

__all__ = [
    "BUILTIN_METHODS",
    "MEMBER",
    "ORGANIZATION",
    "SCIM",
    "SELF",
    "SSO",
    "Need",
    "Refusal",
    "Requirement",
    "check",
    "requirement",
]

ORGANIZATION: Final = "stytch.organization"
MEMBER: Final = "stytch.member"
SELF: Final = "stytch.self"
SSO: Final = "stytch.sso"
SCIM: Final = "stytch.scim"


@dataclass(frozen=True, slots=True)
class Need:
    """One permission the caller must hold; ``self_action`` on ``stytch.self`` also
    suffices when the call targets the caller's own member."""

    resource: str
    action: str
    self_action: str | None = None
    #: False where Stytch documents no permission: the nearest documented action, chosen here.
    documented: bool = True


@dataclass(frozen=True, slots=True)
class Requirement:
    """Everything Stytch checks for one call: tenancy, forbidden fields and needs."""

    method: str
    #: The organizations the call acts in (tenancy); empty when the params name none.
    organization_ids: tuple[str, ...]
    #: The member acted on, when the params name one (``None``: not a member call, or
    #: the target is only known server-side, e.g. the owner of a password id).
    target_member_id: str | None
    needs: tuple[Need, ...]
    #: Fields sent that a member session may not send at all.
    trusted_metadata_sent: bool = False
    #: ``members.update`` with ``email_address``: refused when the target is the caller.
    email_update_sent: bool = False

    @property
    def documented(self) -> bool:
        """False when some need is not Stytch's documented one but this table's choice."""
        return all(need.documented for need in self.needs)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why Stytch refuses a call, with the error it answers."""

    kind: Literal["tenancy", "permission", "field"]
    error_type: str
    status_code: int
    message: str
    resource: str | None = None
    action: str | None = None
    organization_id: str | None = None


# --- field -> action tables (reference 4.11 and 4.12) -----------------------------

_ORGANIZATION_UPDATE_FIELDS: Final[Mapping[str, str]] = {
    "organization_name": "update.info.name",
    "organization_slug": "update.info.slug",
    "organization_logo_url": "update.info.logo-url",
    "sso_default_connection_id": "update.settings.default-sso-connection",
    "sso_jit_provisioning": "update.settings.sso-jit-provisioning",
    "sso_jit_provisioning_allowed_connections": "update.settings.sso-jit-provisioning",
    "email_allowed_domains": "update.settings.allowed-domains",
    "email_jit_provisioning": "update.settings.email-jit-provisioning",
    "email_invites": "update.settings.email-invites",
    "auth_methods": "update.settings.allowed-auth-methods",
    "allowed_auth_methods": "update.settings.allowed-auth-methods",
    "mfa_policy": "update.settings.mfa-policy",
    "rbac_email_implicit_role_assignments": "update.settings.implicit-roles",
    "mfa_methods": "update.settings.allowed-mfa-methods",
    "allowed_mfa_methods": "update.settings.allowed-mfa-methods",
    "oauth_tenant_jit_provisioning": "update.settings.oauth-tenant-jit-provisioning",
    "allowed_oauth_tenants": "update.settings.allowed-oauth-tenants",
    # Stytch documents no permission for these: the nearest documented action.
    "organization_external_id": "update.info.slug",
    "claimed_email_domains": "update.settings.allowed-domains",
    "first_party_connected_apps_allowed_type": "update.settings.allowed-auth-methods",
    "allowed_first_party_connected_apps": "update.settings.allowed-auth-methods",
    "third_party_connected_apps_allowed_type": "update.settings.allowed-auth-methods",
    "allowed_third_party_connected_apps": "update.settings.allowed-auth-methods",
}

#: ``organizations.update`` fields whose action is this table's choice, not Stytch's.
_ORGANIZATION_UNDOCUMENTED: Final = frozenset(
    {
        "organization_external_id",
        "claimed_email_domains",
        "first_party_connected_apps_allowed_type",
        "allowed_first_party_connected_apps",
        "third_party_connected_apps_allowed_type",
        "allowed_third_party_connected_apps",
    }
)


def _both(action: str) -> Need:
    return Need(MEMBER, action, action)


_MEMBER_UPDATE_FIELDS: Final[Mapping[str, Need]] = {
    "name": _both("update.info.name"),
    "untrusted_metadata": _both("update.info.untrusted-metadata"),
    "mfa_phone_number": _both("update.info.mfa-phone"),
    "mfa_enrolled": _both("update.settings.mfa-enrolled"),
    "default_mfa_method": _both("update.settings.default-mfa-method"),
    "is_breakglass": Need(MEMBER, "update.settings.is-breakglass"),
    "roles": Need(MEMBER, "update.settings.roles"),
    "email_address": Need(MEMBER, "update.info.email"),
    # Stytch documents no permission: the member's other identifier, as for its email.
    "external_id": Need(MEMBER, "update.info.email", documented=False),
}


def _sent(params: Mapping[str, Any], name: str) -> bool:
    return params.get(name) is not None


def _org(params: Mapping[str, Any]) -> tuple[str, ...]:
    org = params.get("organization_id")
    return (str(org),) if org is not None else ()


def _member(params: Mapping[str, Any]) -> str | None:
    member = params.get("member_id")
    return None if member is None else str(member)


def _fixed(
    resource: str, action: str, self_action: str | None = None
) -> Callable[[str, Mapping[str, Any]], Requirement]:
    """A method that needs one permission, targeting the org (and member) in its params."""

    def build(method: str, params: Mapping[str, Any]) -> Requirement:
        return Requirement(
            method, _org(params), _member(params), (Need(resource, action, self_action),)
        )

    return build


def _chosen(resource: str, action: str) -> Callable[[str, Mapping[str, Any]], Requirement]:
    """A method Stytch documents no permission for: the nearest documented action."""

    def build(method: str, params: Mapping[str, Any]) -> Requirement:
        need = Need(resource, action, documented=False)
        return Requirement(method, _org(params), _member(params), (need,))

    return build


def _merged(needs: Iterable[Need]) -> tuple[Need, ...]:
    """One need per permission, sorted by action; documented if any field documents it."""
    merged: dict[tuple[str, str, str | None], bool] = {}
    for need in needs:
        key = (need.resource, need.action, need.self_action)
        merged[key] = merged.get(key, False) or need.documented
    return tuple(
        Need(resource, action, self_action, documented)
        for (resource, action, self_action), documented in sorted(
            merged.items(), key=lambda item: (item[0][1], item[0][0])
        )
    )


def _organization_update(method: str, params: Mapping[str, Any]) -> Requirement:
    needs = _merged(
        Need(ORGANIZATION, action, documented=field not in _ORGANIZATION_UNDOCUMENTED)
        for field, action in _ORGANIZATION_UPDATE_FIELDS.items()
        if _sent(params, field)
    )
    return Requirement(
        method,
        _org(params),
        None,
        needs,
        trusted_metadata_sent=_sent(params, "trusted_metadata"),
    )


def _member_update(method: str, params: Mapping[str, Any]) -> Requirement:
    needs = _merged(need for f, need in _MEMBER_UPDATE_FIELDS.items() if _sent(params, f))
    return Requirement(
        method,
        _org(params),
        _member(params),
        needs,
        trusted_metadata_sent=_sent(params, "trusted_metadata"),
        email_update_sent=_sent(params, "email_address"),
    )


def _member_create(method: str, params: Mapping[str, Any]) -> Requirement:
    # Stytch forbids trusted_metadata with a session on the two updates only (their
    # field docs); create and invite document no such rule, so it is accepted here.
    return Requirement(method, _org(params), None, (Need(MEMBER, "create"),))


def _require_reset(method: str, params: Mapping[str, Any]) -> Requirement:
    # By member_id the target is that member; by email alone (Stytch's documented form)
    # it is the member with that address, which the caller resolves (``check(target_member_id=)``).
    need = _both("update.info.delete.password")
    return Requirement(method, _org(params), _member(params), (need,))


def _members_search(method: str, params: Mapping[str, Any]) -> Requirement:
    orgs = tuple(str(o) for o in params.get("organization_ids") or ())
    return Requirement(method, orgs, None, (Need(MEMBER, "search"),))


def _delete_password(method: str, params: Mapping[str, Any]) -> Requirement:
    # The target is the owner of member_password_id: only the server knows it.
    need = Need(MEMBER, "update.info.delete.password", "update.info.delete.password")
    return Requirement(method, _org(params), None, (need,))


def _sessions_revoke(method: str, params: Mapping[str, Any]) -> Requirement:
    # By member_id the target is that member; by session id/token/JWT it is the
    # session's owner, which the caller resolves (see ``check(target_member_id=)``).
    # The SDK sends no organization_id; the emulator passes the target's org for tenancy.
    need = Need(MEMBER, "revoke-sessions", "revoke-sessions")
    return Requirement(method, _org(params), _member(params), (need,))


_RULES: Final[Mapping[str, Callable[[str, Mapping[str, Any]], Requirement]]] = {
    "magic_links.email.invite": _member_create,
    "organizations.update": _organization_update,
    "organizations.delete": _fixed(ORGANIZATION, "delete"),
    "organizations.connected_apps": _chosen(MEMBER, "get.connected-apps"),
    "organizations.get_connected_app": _chosen(MEMBER, "get.connected-apps"),
    "organizations.delete_external_id": _chosen(ORGANIZATION, "update.info.slug"),
    "organizations.members.create": _member_create,
    "organizations.members.update": _member_update,
    "organizations.members.delete": _fixed(MEMBER, "delete", "delete"),
    "organizations.members.reactivate": _fixed(MEMBER, "create"),
    "organizations.members.delete_mfa_phone_number": _fixed(
        MEMBER, "update.info.delete.mfa-phone", "update.info.delete.mfa-phone"
    ),
    "organizations.members.delete_totp": _fixed(
        MEMBER, "update.info.delete.mfa-totp", "update.info.delete.mfa-totp"
    ),
    "organizations.members.delete_password": _delete_password,
    "organizations.members.search": _members_search,
    "organizations.members.unlink_retired_email": _fixed(
        MEMBER, "update.info.unlink.retired-email", "update.info.unlink.retired-email"
    ),
    "organizations.members.start_email_update": _fixed(
        MEMBER, "update.info.email", "update.info.email"
    ),
    "organizations.members.get_connected_apps": _fixed(
        MEMBER, "get.connected-apps", "get.connected-apps"
    ),
    "organizations.members.delete_external_id": _chosen(MEMBER, "update.info.email"),
    "organizations.members.connected_apps.revoke": _fixed(
        MEMBER, "revoke.connected-app", "revoke.connected-app"
    ),
    "passwords.email.require_reset": _require_reset,
    "sessions.revoke": _sessions_revoke,
    "sso.get_connections": _fixed(SSO, "get"),
    "sso.delete_connection": _fixed(SSO, "delete"),
    "sso.saml.create_connection": _fixed(SSO, "create"),
    "sso.saml.update_connection": _fixed(SSO, "update"),
    "sso.saml.update_by_url": _fixed(SSO, "update"),
    "sso.saml.delete_verification_certificate": _fixed(SSO, "update"),
    "sso.saml.delete_encryption_private_key": _fixed(SSO, "update"),
    "sso.oidc.create_connection": _fixed(SSO, "create"),
    "sso.oidc.update_connection": _fixed(SSO, "update"),
    "sso.external.create_connection": _fixed(SSO, "create"),
    "sso.external.update_connection": _fixed(SSO, "update"),
    "scim.connection.create": _fixed(SCIM, "create"),
    "scim.connection.get": _fixed(SCIM, "get"),
    "scim.connection.get_groups": _fixed(SCIM, "get"),
    "scim.connection.update": _fixed(SCIM, "update"),
    "scim.connection.delete": _fixed(SCIM, "delete"),
    "scim.connection.rotate_start": _fixed(SCIM, "update"),
    "scim.connection.rotate_complete": _fixed(SCIM, "update"),
    "scim.connection.rotate_cancel": _fixed(SCIM, "update"),
}

#: Every ``stytch.B2BClient`` method (dotted path, no ``_async``) that takes
#: ``method_options`` and so can carry a member session: 40 in stytch 15.x.
BUILTIN_METHODS: Final[frozenset[str]] = frozenset(_RULES)


def requirement(method: str, params: Mapping[str, Any]) -> Requirement:
    """What Stytch checks when ``method`` is called with ``params`` and a member session.

    ``method`` is the SDK's dotted path without ``_async`` (``"organizations.members.delete"``);
    ``params`` are the keyword arguments of the call (``None`` values count as not sent).
    Raises ``KeyError`` for a method that takes no member session.
    """
    try:
        rule = _RULES[method]
    except KeyError:
        raise KeyError(
            f"{method!r} is not a Stytch built-in call that takes a member session"
        ) from None
    return rule(method, params)


_UNKNOWN: Final[Any] = object()


def _holds(policy: CompiledPolicy, roles: frozenset[str], resource: str, action: str) -> bool:
    """Stytch's rule: a held role names the action or ``"*"``, listed in the policy or not."""
    return policy.stytch_decide(roles, resource, action).allowed


def check(
    req: Requirement,
    *,
    policy: CompiledPolicy,
    roles: Iterable[str],
    member_id: str,
    organization_id: str,
    target_member_id: str | None = _UNKNOWN,
) -> Refusal | None:
    """Apply the rules to a caller; ``None`` means Stytch would honour the call.

    ``policy`` must already include the caller's organization's custom roles
    (``CompiledPolicy.with_org``). ``target_member_id`` overrides the target the
    params name, for callers who know it (the emulator resolves the owner of a
    password or a session). When the target is unknown a ``stytch.self``
    alternative is given the benefit of the doubt: the pre-flight is a fast
    local refusal, Stytch remains the authority.
    """
    held = roles if isinstance(roles, frozenset) else frozenset(roles)
    for org in req.organization_ids:
        if org != organization_id:
            return Refusal(
                "tenancy",
                "session_authorization_tenancy_error",
                403,
                "OrganizationID in request does not match session's Organization ID",
                organization_id=org,
            )
    target = req.target_member_id if target_member_id is _UNKNOWN else target_member_id
    if req.trusted_metadata_sent:
        return Refusal(
            "field",
            "cannot_update_trusted_metadata",
            401,
            "trusted_metadata cannot be set with a member session",
        )
    if req.email_update_sent and target == member_id:
        return Refusal(
            "field",
            "member_cannot_update_their_email_address",
            400,
            "Members cannot update their own email address; use start_email_update",
        )
    for need in req.needs:
        if _holds(policy, held, need.resource, need.action):
            continue
        acting_on_self = target is None or target == member_id
        if (
            need.self_action is not None
            and acting_on_self
            and _holds(policy, held, SELF, need.self_action)
        ):
            continue
        return Refusal(
            "permission",
            "session_authorization_error",
            403,
            "The Member is not authorized to perform the requested action on that resource.",
            resource=need.resource,
            action=need.action,
            organization_id=organization_id,
        )
    return None
