"""How agents and services are decided: the rules both facades (async and blocking) share.

A member session is decided by its roles (:mod:`stytch_rbac.client`). An access token is
decided by its scopes, each kind by its own rule, always on the **project** policy (org
custom roles never grant scopes, as in Stytch's ``rbac_local.scope_authorization_check``):

* **Agents** (Connected-App tokens, :class:`~stytch_rbac.AgentPrincipal`): allowed iff a
  token scope names a policy scope granting the action, or ``*``, on the resource
  (:meth:`CompiledPolicy.scope_decide <stytch_rbac.CompiledPolicy.scope_decide>`). Tenancy
  is the token's organization claim: a decision about another organization is a
  :class:`~stytch_rbac.TenancyError` (a denial for ``is_authorized``), as for members. With
  ``agent_roles="intersect"`` the member's *current* roles (fetched from Stytch, briefly
  cached) must allow it too, so a role change bites before the token expires; a member
  Stytch no longer knows holds no roles, and no answer from Stytch is
  :class:`~stytch_rbac.StytchUnavailable`, never an allow.
* **Services** (M2M tokens, :class:`~stytch_rbac.ServicePrincipal`): ``m2m_scopes="policy"``
  (default) decides as for agents; ``"stytch"`` by Stytch's own M2M rule, ``action:resource``
  strings (:func:`stytch_rbac.policy.scopes.m2m_decide`), the permission still checked
  against the policy in strict mode. A service belongs to no organization: a decision
  naming one is refused unless ``service_organizations`` maps clients to organizations
  (a callable of the principal returning organization ids, or the name of a custom claim
  of the token holding one id or a list of them).

Every failure path denies: a claim of the wrong shape maps to no organization.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

from .errors import PermissionDenied, TenancyError
from .policy import CompiledPolicy, Decision
from .policy.scopes import m2m_decide, m2m_permissions, scope_permissions
from .principal import AgentPrincipal, ServicePrincipal

__all__ = [
    "AgentRoles",
    "M2MScopes",
    "MachinePrincipal",
    "MachineRules",
    "ServiceOrganizations",
    "denied",
    "intersect_tables",
    "member_roles_from",
]

AgentRoles: TypeAlias = Literal["ignore", "intersect"]
"""``"ignore"``: an agent is decided by its scopes alone; ``"intersect"``: its member's
current roles must allow it too."""

M2MScopes: TypeAlias = Literal["policy", "stytch"]
"""``"policy"``: a service's scopes are the policy's; ``"stytch"``: Stytch's M2M
``action:resource`` matching."""

ServiceOrganizations: TypeAlias = Callable[[ServicePrincipal], Iterable[str]] | str
"""Which organizations a service may act in: a callable of the principal returning
organization ids, or the name of a (trusted) custom claim of its token holding them."""

MachinePrincipal: TypeAlias = AgentPrincipal | ServicePrincipal
"""The principals decided by their scopes."""

_ACTIVE: Final = "active"


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> Any:
    if not isinstance(value, str) or value not in choices:
        options = " or ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be {options}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class MachineRules:
    """The facade's options for machine callers, validated (see the module docs)."""

    agent_roles: AgentRoles = "ignore"
    m2m_scopes: M2MScopes = "policy"
    service_organizations: ServiceOrganizations | None = None

    def __post_init__(self) -> None:
        _check_choice("agent_roles", self.agent_roles, ("ignore", "intersect"))
        _check_choice("m2m_scopes", self.m2m_scopes, ("policy", "stytch"))
        mapping = self.service_organizations
        if isinstance(mapping, str):
            if not mapping.strip():
                raise ValueError(
                    "service_organizations must name a custom claim (a non-empty string) or be "
                    "a callable"
                )
        elif mapping is not None and not callable(mapping):
            raise TypeError(
                "service_organizations takes a callable (ServicePrincipal) -> iterable of "
                "organization ids, or the name of a custom claim holding them; got "
                f"{type(mapping).__name__}"
            )

    # -- tenancy --------------------------------------------------------------------------

    def organizations_of(self, principal: ServicePrincipal) -> frozenset[str]:
        """The organizations ``principal`` may act in by ``service_organizations`` (none
        when it is not configured, or the claim is missing or of the wrong shape)."""
        mapping = self.service_organizations
        if mapping is None:
            return frozenset()
        if isinstance(mapping, str):
            value = principal.custom_claims.get(mapping)
            if isinstance(value, str):
                return frozenset({value} if value else ())
            if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                return frozenset(v for v in value if v)
            return frozenset()  # missing, or not ids: no organization (fail closed)
        found = mapping(principal)
        if isinstance(found, str) or inspect.isawaitable(found) or not isinstance(found, Iterable):
            if inspect.iscoroutine(found):
                found.close()
            raise TypeError(
                "service_organizations must return an iterable of organization ids (a list, "
                f"a set), got {type(found).__name__}"
            )
        organizations = frozenset(found)
        for organization_id in organizations:
            if not isinstance(organization_id, str):
                raise TypeError(
                    "service_organizations returned a non-string organization id: "
                    f"{type(organization_id).__name__}"
                )
        return organizations

    def tenancy_refusal(
        self, principal: MachinePrincipal, organization_id: str | None
    ) -> TenancyError | None:
        """The :class:`TenancyError` for a decision about ``organization_id`` (None: the
        principal's own, or project-wide for a service), or None when it may act there."""
        if organization_id is None:
            return None
        if isinstance(principal, AgentPrincipal):
            if organization_id == principal.organization_id:
                return None
            return TenancyError(
                principal.organization_id,
                organization_id,
                member_id=principal.member_id,
                client_id=principal.client_id,
            )
        if self.service_organizations is None:
            return TenancyError(
                None,
                organization_id,
                client_id=principal.client_id,
                detail=(
                    f"service {principal.client_id} belongs to no organization, so it may not "
                    f"act in organization {organization_id}: to let M2M clients act in "
                    "organizations, build StytchRBAC with service_organizations= (a callable "
                    "of the ServicePrincipal returning organization ids, or the name of a "
                    "custom claim of the M2M client holding them)"
                ),
            )
        if organization_id in self.organizations_of(principal):
            return None
        return TenancyError(
            None,
            organization_id,
            client_id=principal.client_id,
            detail=(
                f"service {principal.client_id} is not mapped to organization "
                f"{organization_id} (service_organizations)"
            ),
        )

    # -- scopes ---------------------------------------------------------------------------

    def by_stytch_m2m(self, principal: MachinePrincipal) -> bool:
        """Whether ``principal`` is decided by Stytch's M2M ``action:resource`` rule."""
        return isinstance(principal, ServicePrincipal) and self.m2m_scopes == "stytch"

    def needs_roles(self, principal: MachinePrincipal) -> bool:
        """Whether an allow for ``principal`` also needs its member's current roles."""
        return isinstance(principal, AgentPrincipal) and self.agent_roles == "intersect"

    def scope_decision(
        self, project: CompiledPolicy, principal: MachinePrincipal, resource: str, action: str
    ) -> Decision:
        """The decision by ``principal``'s scopes alone, ``granted_by`` the granting scopes.
        Raises :class:`~stytch_rbac.UnknownPermission` in strict mode, as for members."""
        if self.by_stytch_m2m(principal):
            if project.strict:
                project.check_known(resource, action)
            return m2m_decide(principal.scopes, resource, action)
        return project.scope_decide(principal.scopes, resource, action)

    def scope_allows(
        self, project: CompiledPolicy, principal: MachinePrincipal, resource: str, action: str
    ) -> bool:
        """``scope_decision(...).allowed``, quicker (no Decision built for the policy's
        rule): the warm :meth:`StytchRBAC.is_authorized <stytch_rbac.StytchRBAC.is_authorized>`."""
        if self.by_stytch_m2m(principal):
            return self.scope_decision(project, principal, resource, action).allowed
        return project.scope_allows(principal.scopes, resource, action)

    def scope_table(
        self, project: CompiledPolicy, principal: MachinePrincipal
    ) -> dict[str, dict[str, bool]]:
        """``{resource: {action: allowed}}`` by ``principal``'s scopes alone."""
        if self.by_stytch_m2m(principal):
            return m2m_permissions(project, principal.scopes)
        return scope_permissions(project, principal.scopes)


def denied(principal: MachinePrincipal, resource: str, action: str) -> PermissionDenied:
    """The :class:`PermissionDenied` for a machine principal's refused decision."""
    if isinstance(principal, AgentPrincipal):
        return PermissionDenied(
            resource,
            action,
            organization_id=principal.organization_id,
            member_id=principal.member_id,
            client_id=principal.client_id,
        )
    return PermissionDenied(resource, action, client_id=principal.client_id)


def intersect_tables(
    scopes: dict[str, dict[str, bool]], roles: dict[str, dict[str, bool]]
) -> dict[str, dict[str, bool]]:
    """``scopes`` with each permission allowed only where ``roles`` allows it too."""
    for resource, actions in scopes.items():
        granted = roles.get(resource, {})
        for action, allowed in actions.items():
            actions[action] = allowed and granted.get(action, False)
    return scopes


def member_roles_from(body: Mapping[str, Any]) -> frozenset[str]:
    """The role ids of Stytch's ``organizations/members get`` answer (``member.roles``);
    none for a member that is not active. Raises ValueError when it does not parse."""
    member = body.get("member")
    if not isinstance(member, Mapping):
        raise ValueError("no member object")
    if member.get("status", _ACTIVE) != _ACTIVE:
        return frozenset()  # deleted, invited, pending: no roles act for it
    roles = member.get("roles")
    if not isinstance(roles, list):
        raise ValueError("member.roles is not a list")
    ids: set[str] = set()
    for role in roles:
        role_id = role.get("role_id") if isinstance(role, Mapping) else None
        if not isinstance(role_id, str):
            raise ValueError("a member role without a role_id")
        ids.add(role_id)
    return frozenset(ids)
