"""Stytch's Management API policy document <-> the runtime :class:`Policy`, pure.

The Management API (``GET`` / ``PUT /pwa/v3/projects/{project_slug}/environments/
{environment_slug}/rbac_policy``, schema ``pwa_rbac_v3_Policy``) shapes the same
policy differently from ``GET /v1/b2b/rbac/policy``:

==========================  ===================================================
Management document         runtime policy
==========================  ===================================================
``stytch_member``,          the roles ``stytch_member`` and ``stytch_admin``
``stytch_admin``            (``{"permissions": [...]}``: no id, no description)
``stytch_resources``        the ``stytch.*`` resources; read-only (not in
                            ``pwa_rbac_v3_SetRequest``), ``available_actions``
``custom_roles``            every other role (same fields)
``custom_resources``        every other resource, ``available_actions``
                            -> ``actions``
``custom_scopes``           ``scopes`` (same fields)
``stytch_user``             nothing: the consumer default role, not B2B
==========================  ===================================================

So two things of a runtime policy cannot travel through the Management API: the
descriptions of the two default roles, and the ``stytch.*`` resources (Stytch's).
:func:`from_management` takes them from ``base`` (the emulator: its current
policy), else uses Stytch's own texts (:data:`DEFAULT_ROLE_DESCRIPTIONS`);
:func:`pushable` is what a local policy becomes once pushed, and
:func:`unpushable` names what of it would be lost.

:func:`management_problems` is a local approximation of what Stytch refuses on
``PUT`` (its rules are not published for the Management API; these are the
org-policy rules of the SDK's ``validate_org_policy`` applied to the project,
and the reserved ids). Each is an error: ``push`` sends nothing while one stands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..errors import PolicyError
from .models import WILDCARD, Policy, PolicyResource, PolicyRole

__all__ = [
    "DEFAULT_ROLES",
    "DEFAULT_ROLE_DESCRIPTIONS",
    "STYTCH_RESOURCE_PREFIX",
    "ManagementProblem",
    "from_management",
    "management_document",
    "management_problems",
    "pushable",
    "set_request",
    "unpushable",
]

#: The default roles: in the Management document as fields of their own, never deleted.
DEFAULT_ROLES: Final = ("stytch_member", "stytch_admin")
#: Ids of Stytch's built-in resources start with this; they are read-only through the API.
STYTCH_RESOURCE_PREFIX: Final = "stytch."
_RESERVED_ROLE_PREFIX: Final = "stytch_"

#: Stytch's descriptions of its default roles (the Management document carries none).
DEFAULT_ROLE_DESCRIPTIONS: Final[Mapping[str, str]] = {
    "stytch_member": (
        "Granted to all Members upon creation; grants permissions already implicitly granted to "
        "logged in Members via the SDK. Cannot be deleted."
    ),
    "stytch_admin": (
        "Granted to Members who create an organization through the Stytch discovery flow. Admins "
        "will also have the stytch_member role. Cannot be deleted."
    ),
}

JSON = dict[str, Any]


def _permissions(role: PolicyRole | None) -> list[JSON]:
    if role is None:
        return []
    return [{"resource_id": p.resource_id, "actions": list(p.actions)} for p in role.permissions]


def _resource(resource: PolicyResource) -> JSON:
    return {
        "resource_id": resource.resource_id,
        "description": resource.description,
        "available_actions": list(resource.actions),
    }


def _is_stytch(resource_id: str) -> bool:
    return resource_id.startswith(STYTCH_RESOURCE_PREFIX)


def set_request(policy: Policy) -> JSON:
    """The ``PUT .../rbac_policy`` body (``pwa_rbac_v3_SetRequest``): every field, always.

    ``stytch_resources`` is not part of it (Stytch's, read-only); a default role the
    policy lacks is sent with no permissions (:func:`management_problems` reports it).
    """
    roles = {r.role_id: r for r in policy.roles}
    return {
        "stytch_member": {"permissions": _permissions(roles.get("stytch_member"))},
        "stytch_admin": {"permissions": _permissions(roles.get("stytch_admin"))},
        "custom_roles": [
            {
                "role_id": r.role_id,
                "description": r.description,
                "permissions": _permissions(r),
            }
            for r in policy.roles
            if r.role_id not in DEFAULT_ROLES
        ],
        "custom_resources": [
            _resource(r) for r in policy.resources if not _is_stytch(r.resource_id)
        ],
        "custom_scopes": [
            {
                "scope": s.scope,
                "description": s.description,
                "permissions": [
                    {"resource_id": p.resource_id, "actions": list(p.actions)}
                    for p in s.permissions
                ],
            }
            for s in policy.scopes
        ],
    }


def management_document(policy: Policy) -> JSON:
    """The whole Management document (``pwa_rbac_v3_Policy``) of a runtime policy."""
    return {
        "stytch_resources": [_resource(r) for r in policy.resources if _is_stytch(r.resource_id)],
        **set_request(policy),
    }


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise PolicyError(f"not a valid Management policy: {key} is not an array")
    return value


def _default_role(doc: Mapping[str, Any], key: str) -> Any:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise PolicyError(f"not a valid Management policy: {key} is not an object")
    return value.get("permissions", [])


def _runtime_resource(item: Any, key: str) -> Any:
    if not isinstance(item, Mapping):
        raise PolicyError(f"not a valid Management policy: an item of {key} is not an object")
    out = {k: v for k, v in item.items() if k != "available_actions"}
    out["actions"] = item.get("available_actions", [])
    return out


def from_management(document: Mapping[str, Any], *, base: Policy | None = None) -> Policy:
    """The runtime policy of a Management document (the GET/PUT response or its ``policy``).

    Default-role descriptions come from ``base`` when it has those roles, else
    :data:`DEFAULT_ROLE_DESCRIPTIONS`. Raises :class:`PolicyError` naming what is
    malformed.
    """
    if not isinstance(document, Mapping):
        raise PolicyError("not a valid Management policy: expected a JSON object")
    doc: Mapping[str, Any] = document
    if "policy" in doc and isinstance(doc["policy"], Mapping):
        doc = doc["policy"]
    described = {r.role_id: r.description for r in (base.roles if base else ())}
    roles: list[Any] = [
        {
            "role_id": role_id,
            "description": described.get(role_id, DEFAULT_ROLE_DESCRIPTIONS[role_id]),
            "permissions": _default_role(doc, role_id),
        }
        for role_id in DEFAULT_ROLES
    ]
    roles.extend(_list(doc, "custom_roles"))
    resources = [_runtime_resource(r, "stytch_resources") for r in _list(doc, "stytch_resources")]
    resources += [_runtime_resource(r, "custom_resources") for r in _list(doc, "custom_resources")]
    return Policy.parse(
        {"roles": roles, "resources": resources, "scopes": _list(doc, "custom_scopes")}
    )


def pushable(local: Policy, remote: Policy) -> Policy:
    """What ``local`` becomes once pushed over ``remote``: Stytch's ``stytch.*`` resources
    and default-role descriptions are the remote's (the API cannot change them)."""
    remote_roles = {r.role_id: r for r in remote.roles}
    roles = tuple(
        r.model_copy(update={"description": remote_roles[r.role_id].description})
        if r.role_id in DEFAULT_ROLES and r.role_id in remote_roles
        else r
        for r in local.roles
    )
    stytch = tuple(r for r in remote.resources if _is_stytch(r.resource_id))
    custom = tuple(r for r in local.resources if not _is_stytch(r.resource_id))
    return local.model_copy(update={"roles": roles, "resources": stytch + custom})


def unpushable(local: Policy, remote: Policy) -> list[str]:
    """What of ``local`` a push cannot carry (it differs from the remote there), one line each."""
    notes: list[str] = []
    remote_roles = {r.role_id: r for r in remote.roles}
    for role in local.roles:
        other = remote_roles.get(role.role_id)
        if role.role_id in DEFAULT_ROLES and other and other.description != role.description:
            notes.append(
                f"the description of {role.role_id!r} is Stytch's and is not sent "
                "(the Management API has no field for it)"
            )
    mine = {r.resource_id: r for r in local.resources if _is_stytch(r.resource_id)}
    theirs = {r.resource_id: r for r in remote.resources if _is_stytch(r.resource_id)}
    for rid in sorted(mine.keys() | theirs.keys()):
        a, b = mine.get(rid), theirs.get(rid)
        if (
            a is None
            or b is None
            or set(a.actions) != set(b.actions)
            or a.description != b.description
        ):
            notes.append(
                f"resource {rid!r} is Stytch's (read-only): the local definition differs "
                "and is not sent; Stytch's stays"
            )
    return notes


@dataclass(frozen=True, slots=True)
class ManagementProblem:
    """Something Stytch is expected to refuse on ``PUT``: a stable code, whom it is about, why."""

    code: str
    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_json(self) -> dict[str, str]:
        """``{"code": ..., "subject": ..., "message": ...}``."""
        return {"code": self.code, "subject": self.subject, "message": self.message}


def _grant_problems(
    kind: str, owner: str, permissions: Sequence[Any], actions: Mapping[str, frozenset[str]]
) -> list[ManagementProblem]:
    found: list[ManagementProblem] = []
    where = f"{kind} {owner!r}"
    for perm in permissions:
        defined = actions.get(perm.resource_id)
        if defined is None:
            found.append(
                ManagementProblem(
                    "undefined-resource",
                    owner,
                    f"{where} grants on {perm.resource_id!r}, which the policy does not define",
                )
            )
            continue
        if not perm.actions:
            found.append(
                ManagementProblem(
                    "empty-permission", owner, f"{where} lists no actions on {perm.resource_id!r}"
                )
            )
        if WILDCARD in perm.actions and len(perm.actions) > 1:
            found.append(
                ManagementProblem(
                    "wildcard-with-actions",
                    owner,
                    f"{where} lists '*' next to other actions on {perm.resource_id!r}",
                )
            )
        for action in perm.actions:
            if action != WILDCARD and action not in defined:
                found.append(
                    ManagementProblem(
                        "undefined-action",
                        owner,
                        f"{where} grants {action!r} on {perm.resource_id!r}, "
                        "which the resource does not define",
                    )
                )
    return found


def management_problems(policy: Policy) -> list[ManagementProblem]:
    """What Stytch is expected to refuse in ``policy`` on ``PUT`` (see the module docs)."""
    found: list[ManagementProblem] = []
    role_ids = {r.role_id for r in policy.roles}
    for role_id in DEFAULT_ROLES:
        if role_id not in role_ids:
            found.append(
                ManagementProblem(
                    "default-role-missing",
                    role_id,
                    f"the default role {role_id!r} is missing; Stytch's default roles cannot "
                    "be deleted",
                )
            )
    for role in policy.roles:
        if role.role_id not in DEFAULT_ROLES and role.role_id.startswith(_RESERVED_ROLE_PREFIX):
            found.append(
                ManagementProblem(
                    "reserved-id",
                    role.role_id,
                    f"role id {role.role_id!r}: ids starting with 'stytch_' are Stytch's",
                )
            )
    for resource in policy.resources:
        if WILDCARD in resource.actions:
            found.append(
                ManagementProblem(
                    "reserved-action",
                    resource.resource_id,
                    f"resource {resource.resource_id!r} defines '*' as an action",
                )
            )
    actions = {r.resource_id: frozenset(r.actions) for r in policy.resources}
    for role in policy.roles:
        found += _grant_problems("role", role.role_id, role.permissions, actions)
    for scope in policy.scopes:
        found += _grant_problems("scope", scope.scope, scope.permissions, actions)
    return found
