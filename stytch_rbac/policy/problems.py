"""What is wrong with a policy: Stytch's acceptance rules, checked once per policy.

``project_problems`` gives (errors, warnings) for a project policy and
``org_problems`` the errors of an org policy against its project (Stytch's
``validate_org_policy``). The rules are listed in :mod:`stytch_rbac.policy`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .models import OrgPolicy, Policy

__all__ = ["org_problems", "project_problems"]

WILDCARD: Final = "*"


def _duplicates(ids: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dupes: list[str] = []
    for i in ids:
        if i in seen and i not in dupes:
            dupes.append(i)
        seen.add(i)
    return dupes


def project_problems(policy: Policy) -> tuple[list[str], list[str]]:
    """(errors, warnings) for a project policy, each naming the role/resource/scope."""
    errors: list[str] = []
    warns: list[str] = []
    for kind, key, ids in (
        ("resource", "resources", [r.resource_id for r in policy.resources]),
        ("role", "roles", [r.role_id for r in policy.roles]),
        ("scope", "scopes", [s.scope for s in policy.scopes]),
    ):
        errors.extend(
            f"{key}[{n}]: a {kind} has a blank id ({i!r})"
            for n, i in enumerate(ids)
            if not i.strip()
        )
        errors.extend(f"{kind} {d!r} is defined more than once" for d in _duplicates(ids))
    defined = {r.resource_id: set(r.actions) for r in policy.resources}
    for resource in policy.resources:
        if any(not a.strip() for a in resource.actions):
            errors.append(f"resource {resource.resource_id!r} defines a blank action")
        if WILDCARD in resource.actions:
            warns.append(
                f"resource {resource.resource_id!r} defines '*' as an action; '*' is reserved"
            )
    grants = [("role", r.role_id, r.permissions) for r in policy.roles]
    grants += [("scope", s.scope, s.permissions) for s in policy.scopes]
    for kind, owner, permissions in grants:
        for perm in permissions:
            where = f"{kind} {owner!r} on resource {perm.resource_id!r}"
            if any(not a.strip() for a in perm.actions):
                errors.append(f"{where} grants a blank action")
            if not perm.actions:
                warns.append(f"{where} grants no actions")
            elif WILDCARD in perm.actions and len(perm.actions) > 1:
                warns.append(f"{where} lists '*' next to other actions")
            if perm.resource_id not in defined:
                warns.append(f"{where}: that resource is not defined in the policy")
                continue
            undefined = sorted(set(perm.actions) - defined[perm.resource_id] - {WILDCARD})
            if undefined:
                warns.append(
                    f"{where} grants undefined action(s) {', '.join(map(repr, undefined))}"
                )
    return errors, warns


def org_problems(project: Policy, org: OrgPolicy) -> list[str]:
    """Stytch's ``validate_org_policy`` rules (reference 4.3), each message naming the role."""
    errors: list[str] = []
    project_roles = {r.role_id for r in project.roles}
    defined = {r.resource_id: set(r.actions) for r in project.resources}
    ids = [r.role_id for r in org.roles]
    errors.extend(f"org role {d!r} is defined more than once" for d in _duplicates(ids))
    for n, role in enumerate(org.roles):
        if not role.role_id.strip():
            errors.append(f"roles[{n}]: an org role has a blank id ({role.role_id!r})")
        if role.role_id in project_roles:
            errors.append(f"org role {role.role_id!r} already exists in the project policy")
        for perm in role.permissions:
            where = f"org role {role.role_id!r} on resource {perm.resource_id!r}"
            if perm.resource_id not in defined:
                errors.append(f"{where}: that resource is not defined in the project policy")
                continue
            if not perm.actions:
                errors.append(f"{where} grants no actions")
            elif WILDCARD in perm.actions and len(perm.actions) > 1:
                errors.append(f"{where}: '*' must stand alone")
            for action in perm.actions:
                if not action.strip():
                    errors.append(f"{where} grants a blank action")
                elif action != WILDCARD and action not in defined[perm.resource_id]:
                    errors.append(f"{where} grants undefined action {action!r}")
    return errors
