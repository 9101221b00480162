"""Smells in a policy that Stytch accepts but a reviewer would question.

Each finding has a stable ``code`` (usable with ``ignore=``):

=========================  ==========================================================
``undefined-resource``     a role or scope grants on a resource the policy does not define
``undefined-action``       a role or scope grants an action its resource does not define
``empty-permission``       a permission lists no actions
``duplicate-grant``        the same action granted twice to one role or scope on one
                           resource (repeated, in two entries, or next to ``"*"``)
``empty-role``             a role grants nothing the policy defines
``unused-resource``        no role or scope grants any action on a resource
``stytch-wildcard``        a role not in ``admin_roles`` holds ``"*"`` on a ``stytch.*``
                           resource (``stytch.self`` excepted: Stytch's default
                           ``stytch_member`` role holds it, and it only reaches the
                           member's own account)
``reserved-action``        a resource defines ``"*"`` as an action
=========================  ==========================================================

``undefined-resource``, ``undefined-action``, ``empty-permission`` and
``reserved-action`` are the policy's own warnings (``Policy.problems``, the
:mod:`~stytch_rbac.policy.problems` codes of the same names) worded for review;
the other codes are lint's own analyses.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from .compiled import CompiledPolicy
from .models import Policy, PolicyRolePermission
from .problems import PolicyProblem

__all__ = ["LINT_CODES", "LintFinding", "lint_policy"]

LINT_CODES: tuple[str, ...] = (
    "undefined-resource",
    "undefined-action",
    "empty-permission",
    "duplicate-grant",
    "empty-role",
    "unused-resource",
    "stytch-wildcard",
    "reserved-action",
)
"""Every finding code :func:`lint_policy` can report, in the order it reports them."""

_WILDCARD = "*"
_STYTCH_PREFIX = "stytch."
_WILDCARD_EXEMPT = frozenset({"stytch.self"})


@dataclass(frozen=True, slots=True)
class LintFinding:
    """One smell: a code from :data:`LINT_CODES`, the role/scope/resource it is about, a message."""

    code: str
    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_json(self) -> dict[str, str]:
        """``{"code": ..., "subject": ..., "message": ...}``."""
        return {"code": self.code, "subject": self.subject, "message": self.message}


def _from_problem(problem: PolicyProblem) -> Iterable[LintFinding]:
    """Lint's wording of one of the policy's own warnings (none for codes lint words itself)."""
    owner, resource = problem.subject, problem.resource_id
    where = f"{problem.subject_kind} {owner!r} on {resource!r}"
    if problem.code == "undefined-resource":
        yield LintFinding("undefined-resource", owner, f"{where}: the resource is not defined")
    elif problem.code == "undefined-action":
        for action in problem.actions:
            yield LintFinding(
                "undefined-action",
                owner,
                f"{where} grants {action!r}, which the resource does not define",
            )
    elif problem.code == "empty-permission":
        yield LintFinding("empty-permission", owner, f"{where} lists no actions")
    elif problem.code == "reserved-action":
        yield LintFinding(
            "reserved-action",
            owner,
            f"resource {owner!r} defines '*' as an action; '*' means every action",
        )


def _permission_findings(
    kind: str,
    owner: str,
    permissions: Sequence[PolicyRolePermission],
    admin: bool,
) -> Iterable[LintFinding]:
    """Lint's own analyses of one role's or scope's permissions."""
    subject = f"{kind} {owner!r}"
    seen: dict[str, set[str]] = {}
    for perm in permissions:
        where = f"{subject} on {perm.resource_id!r}"
        held = seen.setdefault(perm.resource_id, set())
        for action in perm.actions:
            if action in held:
                yield LintFinding("duplicate-grant", owner, f"{where} grants {action!r} twice")
            held.add(action)
        if (
            not admin
            and kind == "role"
            and _WILDCARD in perm.actions
            and perm.resource_id.startswith(_STYTCH_PREFIX)
            and perm.resource_id not in _WILDCARD_EXEMPT
        ):
            yield LintFinding(
                "stytch-wildcard",
                owner,
                f"{where} grants '*' on a Stytch built-in resource to a non-admin role",
            )
    for resource, held in seen.items():
        if _WILDCARD in held and len(held) > 1:
            extra = ", ".join(repr(a) for a in sorted(held - {_WILDCARD}))
            yield LintFinding(
                "duplicate-grant",
                owner,
                f"{subject} on {resource!r} grants {extra} next to '*', which covers them",
            )


def lint_policy(
    policy: Policy | CompiledPolicy,
    *,
    admin_roles: Collection[str] = ("stytch_admin",),
    ignore: Collection[str] = (),
) -> list[LintFinding]:
    """Every smell in ``policy``, ordered by :data:`LINT_CODES` then subject.

    ``admin_roles`` may hold ``"*"`` on ``stytch.*`` resources; ``ignore`` drops
    findings by code. Raises ``ValueError`` for a code that does not exist.
    """
    unknown = sorted(set(ignore) - set(LINT_CODES))
    if unknown:
        raise ValueError(
            f"unknown lint code(s) {', '.join(map(repr, unknown))}; known: {', '.join(LINT_CODES)}"
        )
    if isinstance(policy, CompiledPolicy):
        compiled, policy = policy, policy.policy
    else:
        compiled = CompiledPolicy(policy)
    findings = [f for problem in compiled.problems for f in _from_problem(problem)]
    for role in policy.roles:
        findings.extend(
            _permission_findings(
                "role", role.role_id, role.permissions, role.role_id in admin_roles
            )
        )
        if not compiled.granted((role.role_id,)):
            findings.append(
                LintFinding(
                    "empty-role",
                    role.role_id,
                    f"role {role.role_id!r} grants nothing the policy defines",
                )
            )
    for scope in policy.scopes:
        findings.extend(_permission_findings("scope", scope.scope, scope.permissions, admin=True))
    granted_resources = {r for role in compiled.role_ids for r, _ in compiled.granted((role,))}
    granted_resources |= {
        resource
        for resource, actions in compiled.resources.items()
        for action in actions
        if compiled.scope_allows(compiled.scope_ids, resource, action)
    }
    for resource in policy.resources:
        if resource.resource_id not in granted_resources:
            findings.append(
                LintFinding(
                    "unused-resource",
                    resource.resource_id,
                    f"no role or scope grants any action on resource {resource.resource_id!r}",
                )
            )
    order = {code: i for i, code in enumerate(LINT_CODES)}
    findings = [f for f in findings if f.code not in ignore]
    findings.sort(key=lambda f: (order[f.code], f.subject, f.message))
    return findings
