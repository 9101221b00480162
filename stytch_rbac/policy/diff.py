"""What changed between two policies: roles, resources, actions, scopes and grants.

Grants are compared as decisions, not as JSON: a grant is a (role, resource,
action) triple that the policy allows, with ``"*"`` expanded to the actions the
resource defines. So replacing ``["*"]`` by the full list of actions changes
nothing, while adding an action to a resource on which a role holds ``"*"``
adds a grant. Scopes (Connected Apps) are compared the same way.

``actions_added`` / ``actions_removed`` list actions of resources present in
both policies; the actions of an added or removed resource are implied by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .compiled import CompiledPolicy
from .models import Policy

__all__ = ["Grant", "PolicyDiff", "diff_policies"]


@dataclass(frozen=True, order=True, slots=True)
class Grant:
    """One allowed (resource, action) for one role, or for one scope when ``scope`` is true."""

    holder: str
    resource: str
    action: str
    scope: bool = False

    def __str__(self) -> str:
        kind = "scope" if self.scope else "role"
        return f"{kind} {self.holder}: {self.resource}:{self.action}"

    def to_json(self) -> dict[str, str]:
        """``{"role"|"scope": holder, "resource": ..., "action": ...}``."""
        return {
            "scope" if self.scope else "role": self.holder,
            "resource": self.resource,
            "action": self.action,
        }


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    """The difference from an old policy to a new one; every list is sorted."""

    roles_added: tuple[str, ...] = ()
    roles_removed: tuple[str, ...] = ()
    resources_added: tuple[str, ...] = ()
    resources_removed: tuple[str, ...] = ()
    actions_added: tuple[tuple[str, str], ...] = ()
    actions_removed: tuple[tuple[str, str], ...] = ()
    scopes_added: tuple[str, ...] = ()
    scopes_removed: tuple[str, ...] = ()
    grants_added: tuple[Grant, ...] = field(default=())
    grants_removed: tuple[Grant, ...] = field(default=())

    @property
    def changed(self) -> bool:
        """Whether anything differs."""
        return any(getattr(self, name) for name in self.__slots__)

    @property
    def removes_grants(self) -> bool:
        """Whether some role or scope may do less than before (what CI should flag)."""
        return bool(self.grants_removed)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; actions are ``"resource:action"`` strings."""
        return {
            "roles_added": list(self.roles_added),
            "roles_removed": list(self.roles_removed),
            "resources_added": list(self.resources_added),
            "resources_removed": list(self.resources_removed),
            "actions_added": [f"{r}:{a}" for r, a in self.actions_added],
            "actions_removed": [f"{r}:{a}" for r, a in self.actions_removed],
            "scopes_added": list(self.scopes_added),
            "scopes_removed": list(self.scopes_removed),
            "grants_added": [g.to_json() for g in self.grants_added],
            "grants_removed": [g.to_json() for g in self.grants_removed],
        }


def _grants(compiled: CompiledPolicy) -> set[Grant]:
    grants = {
        Grant(role, resource, action)
        for role in compiled.role_ids
        for resource, action in compiled.granted((role,))
    }
    for scope in compiled.scope_ids:
        for resource, actions in compiled.resources.items():
            grants.update(
                Grant(scope, resource, action, scope=True)
                for action in actions
                if compiled.scope_allows((scope,), resource, action)
            )
    return grants


def _compiled(policy: Policy | CompiledPolicy) -> CompiledPolicy:
    if isinstance(policy, CompiledPolicy):
        return policy
    # Oddities Stytch accepts are lint's business, not diff's: no PolicyWarning here.
    return CompiledPolicy(policy, _warn=False)


def diff_policies(old: Policy | CompiledPolicy, new: Policy | CompiledPolicy) -> PolicyDiff:
    """Compare two policies (see the module docs for how grants are compared)."""
    before, after = _compiled(old), _compiled(new)

    def delta(a: set[Any], b: set[Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return tuple(sorted(b - a)), tuple(sorted(a - b))

    common = set(before.resources) & set(after.resources)

    def actions(c: CompiledPolicy) -> set[tuple[str, str]]:
        return {(r, a) for r, acts in c.resources.items() if r in common for a in acts}

    roles_added, roles_removed = delta(set(before.role_ids), set(after.role_ids))
    res_added, res_removed = delta(set(before.resources), set(after.resources))
    act_added, act_removed = delta(actions(before), actions(after))
    scopes_added, scopes_removed = delta(set(before.scope_ids), set(after.scope_ids))
    grants_added, grants_removed = delta(_grants(before), _grants(after))
    return PolicyDiff(
        roles_added=roles_added,
        roles_removed=roles_removed,
        resources_added=res_added,
        resources_removed=res_removed,
        actions_added=act_added,
        actions_removed=act_removed,
        scopes_added=scopes_added,
        scopes_removed=scopes_removed,
        grants_added=grants_added,
        grants_removed=grants_removed,
    )
