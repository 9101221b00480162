"""What changed between two policies: roles, resources, actions, scopes and grants.

Grants are compared as decisions, not as JSON: a grant is a (role, resource,
action) triple that the policy allows, with ``"*"`` expanded to the actions the
resource defines. So replacing ``["*"]`` by the full list of actions changes
nothing, while adding an action to a resource on which a role holds ``"*"``
adds a grant. Scopes (Connected Apps) are compared the same way.

``actions_added`` / ``actions_removed`` list actions of resources present in
both policies; the actions of an added or removed resource are implied by it.

The ids part (roles, resources, actions, scopes) works on :class:`PolicyIds`,
which need not come from a policy: :func:`stytch_rbac.codegen.drift` diffs the
ids a generated module declares against the live policy's with :func:`diff_ids`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .compiled import CompiledPolicy
from .models import WILDCARD, Policy

__all__ = ["Grant", "PolicyDiff", "PolicyIds", "diff_ids", "diff_policies"]


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


@dataclass(frozen=True, slots=True)
class PolicyIds:
    """The ids a policy defines: resources with their actions (``"*"`` excluded), roles, scopes."""

    resources: Mapping[str, frozenset[str]]
    roles: frozenset[str]
    scopes: frozenset[str]

    @classmethod
    def of(cls, policy: Policy | CompiledPolicy) -> PolicyIds:
        """The ids of ``policy`` (for a ``with_org()`` policy, org roles included)."""
        if isinstance(policy, CompiledPolicy):
            return cls(
                {r: frozenset(actions) for r, actions in policy.resources.items()},
                policy.role_ids,
                policy.scope_ids,
            )
        return cls(
            {
                r.resource_id: frozenset(a for a in r.actions if a != WILDCARD)
                for r in policy.resources
            },
            frozenset(r.role_id for r in policy.roles),
            frozenset(s.scope for s in policy.scopes),
        )


def _delta(
    a: set[Any] | frozenset[Any], b: set[Any] | frozenset[Any]
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(sorted added, sorted removed) going from ``a`` to ``b``."""
    return tuple(sorted(b - a)), tuple(sorted(a - b))


def diff_ids(old: PolicyIds, new: PolicyIds) -> PolicyDiff:
    """The ids part of a :class:`PolicyDiff` (no grants: ids carry none)."""
    common = old.resources.keys() & new.resources.keys()

    def actions(ids: PolicyIds) -> set[tuple[str, str]]:
        return {(r, a) for r in common for a in ids.resources[r]}

    roles_added, roles_removed = _delta(old.roles, new.roles)
    res_added, res_removed = _delta(set(old.resources), set(new.resources))
    act_added, act_removed = _delta(actions(old), actions(new))
    scopes_added, scopes_removed = _delta(old.scopes, new.scopes)
    return PolicyDiff(
        roles_added=roles_added,
        roles_removed=roles_removed,
        resources_added=res_added,
        resources_removed=res_removed,
        actions_added=act_added,
        actions_removed=act_removed,
        scopes_added=scopes_added,
        scopes_removed=scopes_removed,
    )


def _compiled(policy: Policy | CompiledPolicy) -> CompiledPolicy:
    return policy if isinstance(policy, CompiledPolicy) else CompiledPolicy(policy)


def diff_policies(old: Policy | CompiledPolicy, new: Policy | CompiledPolicy) -> PolicyDiff:
    """Compare two policies (see the module docs for how grants are compared)."""
    before, after = _compiled(old), _compiled(new)
    grants_added, grants_removed = _delta(_grants(before), _grants(after))
    return replace(
        diff_ids(PolicyIds.of(before), PolicyIds.of(after)),
        grants_added=grants_added,
        grants_removed=grants_removed,
    )
