"""What is wrong with a policy, as data: Stytch's acceptance rules, checked once per policy.

:func:`project_problems` gives every problem of a project policy and
:func:`org_problems` every problem of an org policy against its project (Stytch's
``validate_org_policy``), each a :class:`PolicyProblem`: a severity, a stable
``code``, the role / scope / resource it is about and a message naming it. A
:class:`~stytch_rbac.Policy` computes its problems once (``Policy.problems``);
``Policy.parse`` raises :class:`~stytch_rbac.PolicyError` for the first error and
a :class:`~stytch_rbac.CompiledPolicy` keeps the warnings (``CompiledPolicy.problems``).
Nothing here logs or warns: callers decide (the client logs them, ``stytch-rbac
lint`` reports them, :meth:`PolicyProblem.warn` turns one into a
:class:`~stytch_rbac.PolicyWarning`). Which rules are errors and which warnings,
and why, is written out in :mod:`stytch_rbac.policy`.

==========================  =========  =========  ========================================
code                        project    org        meaning
==========================  =========  =========  ========================================
``blank-id``                error      error      a role, resource or scope id is blank
``duplicate-id``            error      error      a role, resource or scope id is defined
                                                  twice
``blank-action``            error      error      a resource defines, or a permission
                                                  grants, a blank action
``undefined-resource``      warning    error      a permission names a resource the
                                                  (project) policy does not define
``undefined-action``        warning    error      a permission grants actions its resource
                                                  does not define
``empty-permission``        warning    error      a permission lists no actions
``wildcard-with-others``    warning    error      a permission lists ``"*"`` next to other
                                                  actions
``reserved-action``         warning               a resource defines ``"*"`` as an action
``role-exists-in-project``             error      an org role has the id of a project role
==========================  =========  =========  ========================================

The subject of an org policy's problem is an ``"org_role"``. An org policy's
``undefined-action`` is one problem per action, a project policy's one per
permission (``actions``: every undefined action it grants).
"""

from __future__ import annotations

import warnings
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

from ..errors import PolicyError, PolicyWarning
from ._pace import paced

if TYPE_CHECKING:
    from .models import OrgPolicy, Policy, PolicyRole, PolicyRolePermission

__all__ = [
    "PROBLEM_CODES",
    "PolicyProblem",
    "Severity",
    "SubjectKind",
    "errors_of",
    "org_problems",
    "org_problems_against",
    "project_problems",
    "project_problems_of",
    "raise_first_error",
    "warnings_of",
]

WILDCARD: Final = "*"

Severity: TypeAlias = Literal["error", "warning"]
"""``"error"``: no decision can be trusted; ``"warning"``: Stytch serves it, look at it."""

SubjectKind: TypeAlias = Literal["role", "scope", "resource", "org_role"]
"""What a problem is about: a project role, a scope, a resource, or an org custom role."""

PROBLEM_CODES: Final[tuple[str, ...]] = (
    "blank-id",
    "duplicate-id",
    "blank-action",
    "undefined-resource",
    "undefined-action",
    "empty-permission",
    "wildcard-with-others",
    "reserved-action",
    "role-exists-in-project",
)
"""Every code a :class:`PolicyProblem` can carry (the table in the module docs)."""


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One thing wrong with a policy: what, how bad, about which role, scope or resource.

    ``code`` is stable (see :data:`PROBLEM_CODES`); ``message`` is the human text,
    the one a :class:`~stytch_rbac.PolicyError` carries. ``subject`` is the id of
    the role / scope / resource (``subject_kind``) the problem is about;
    ``resource_id`` and ``actions`` name the permission concerned, when there is
    one (``undefined-action``: the undefined actions; ``blank-action``: the
    blank ones).
    """

    severity: Severity
    code: str
    subject_kind: SubjectKind
    subject: str
    message: str
    resource_id: str | None = None
    actions: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        """Whether the policy cannot be used (``severity == "error"``)."""
        return self.severity == "error"

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, object]:
        """Every field, JSON-ready (``actions`` as a list)."""
        return {
            "severity": self.severity,
            "code": self.code,
            "subject_kind": self.subject_kind,
            "subject": self.subject,
            "message": self.message,
            "resource_id": self.resource_id,
            "actions": list(self.actions),
        }

    def warn(self, *, stacklevel: int = 1) -> None:
        """Emit this problem as a :class:`~stytch_rbac.PolicyWarning` (the library never does).

        For applications that want Python warnings:
        ``for problem in compiled.problems: problem.warn()``. ``stacklevel=1``
        attributes the warning to the line calling ``warn()``, 2 to its caller,
        and so on.
        """
        warnings.warn(self.message, PolicyWarning, stacklevel=stacklevel + 1)


def errors_of(problems: Iterable[PolicyProblem]) -> tuple[PolicyProblem, ...]:
    """The errors among ``problems``, in order."""
    return tuple(p for p in problems if p.severity == "error")


def warnings_of(problems: Iterable[PolicyProblem]) -> tuple[PolicyProblem, ...]:
    """The warnings among ``problems``, in order."""
    return tuple(p for p in problems if p.severity == "warning")


def raise_first_error(problems: Iterable[PolicyProblem]) -> None:
    """Raise :class:`~stytch_rbac.PolicyError` for the first error, carrying every error."""
    errors = errors_of(problems)
    if errors:
        raise PolicyError(errors[0].message, problems=errors)


def _duplicates(ids: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dupes: list[str] = []
    for i in paced(ids):
        if i in seen and i not in dupes:
            dupes.append(i)
        seen.add(i)
    return dupes


def _blank(actions: Sequence[str]) -> tuple[str, ...]:
    return tuple(a for a in actions if not a.strip())


def _grant_problems(
    kind: SubjectKind,
    owner: str,
    rid: str,
    actions: tuple[str, ...],
    defined: Mapping[str, Container[str]],
) -> Iterable[PolicyProblem]:
    """The problems of one project permission (``actions`` on ``rid``) of a role or scope."""
    where = f"{kind} {owner!r} on resource {rid!r}"

    def problem(
        severity: Severity, code: str, text: str, actions: tuple[str, ...]
    ) -> PolicyProblem:
        return PolicyProblem(severity, code, kind, owner, text, rid, actions)

    blank = _blank(actions)
    if blank:
        yield problem("error", "blank-action", f"{where} grants a blank action", blank)
    if not actions:
        yield problem("warning", "empty-permission", f"{where} grants no actions", ())
    elif WILDCARD in actions and len(actions) > 1:
        yield problem(
            "warning",
            "wildcard-with-others",
            f"{where} lists '*' next to other actions",
            actions,
        )
    known = defined.get(rid)
    if known is None:
        yield problem(
            "warning",
            "undefined-resource",
            f"{where}: that resource is not defined in the policy",
            actions,
        )
        return
    undefined = tuple(sorted({a for a in actions if a != WILDCARD and a not in known}))
    if undefined:
        shown = ", ".join(map(repr, undefined))
        yield problem(
            "warning", "undefined-action", f"{where} grants undefined action(s) {shown}", undefined
        )


#: A permission as plain data: (resource id, actions).
Grant: TypeAlias = tuple[str, tuple[str, ...]]
#: A role or scope as plain data, flat: ``(id, description, resource_id, actions,
#: resource_id, actions, ...)``. Flat, because the cyclic GC stops tracking a tuple only
#: once it has seen that what the tuple holds is untracked, one level of nesting per
#: collection: a flat one is untracked at its second at the latest, a deeper one may
#: reach the oldest generation first, where every full collection walks it.
Owner: TypeAlias = tuple[Any, ...]
#: A resource as plain data: (id, description, actions).
Resource: TypeAlias = tuple[str, str, tuple[str, ...]]


def flat_owner(owner: str, description: str, grants: Iterable[Grant]) -> Owner:
    """An :data:`Owner` of these grants."""
    return (owner, description, *chain.from_iterable(grants))


def grants_of(owner: Owner) -> Iterator[Grant]:
    """The (resource id, actions) of an :data:`Owner`, in order."""
    return zip(islice(owner, 2, None, 2), islice(owner, 3, None, 2), strict=True)


def project_problems(policy: Policy) -> tuple[PolicyProblem, ...]:
    """Every problem of a project policy, errors and warnings, in a stable order.

    Prefer ``policy.problems``: it is computed once per policy.
    """

    def owners(items: Iterable[tuple[str, Sequence[PolicyRolePermission]]]) -> list[Owner]:
        return [
            flat_owner(owner, "", [(p.resource_id, p.actions) for p in perms])
            for owner, perms in items
        ]

    return project_problems_of(
        [(r.resource_id, "", r.actions) for r in policy.resources],
        owners((r.role_id, r.permissions) for r in policy.roles),
        owners((s.scope, s.permissions) for s in policy.scopes),
    )


def project_problems_of(
    resources: Sequence[Resource], roles: Sequence[Owner], scopes: Sequence[Owner]
) -> tuple[PolicyProblem, ...]:
    """:func:`project_problems` of a policy given as plain tuples, the form a
    :class:`~stytch_rbac.CompiledPolicy` keeps (no model needed)."""
    out: list[PolicyProblem] = []
    kinds: tuple[tuple[SubjectKind, str, list[str]], ...] = (
        ("resource", "resources", [r[0] for r in resources]),
        ("role", "roles", [r[0] for r in roles]),
        ("scope", "scopes", [s[0] for s in scopes]),
    )
    for kind, key, ids in kinds:
        out.extend(
            PolicyProblem(
                "error", "blank-id", kind, i, f"{key}[{n}]: a {kind} has a blank id ({i!r})"
            )
            for n, i in paced(enumerate(ids))
            if not i.strip()
        )
        out.extend(
            PolicyProblem(
                "error", "duplicate-id", kind, d, f"{kind} {d!r} is defined more than once"
            )
            for d in _duplicates(ids)
        )
    # Later duplicates win, as they did in a dict: a duplicated id is an error anyway.
    defined: dict[str, tuple[str, ...]] = {rid: actions for rid, _, actions in resources}
    for rid, _, actions in paced(resources):
        blank = _blank(actions)
        if blank:
            out.append(
                PolicyProblem(
                    "error",
                    "blank-action",
                    "resource",
                    rid,
                    f"resource {rid!r} defines a blank action",
                    rid,
                    blank,
                )
            )
        if WILDCARD in actions:
            out.append(
                PolicyProblem(
                    "warning",
                    "reserved-action",
                    "resource",
                    rid,
                    f"resource {rid!r} defines '*' as an action; '*' is reserved",
                    rid,
                    (WILDCARD,),
                )
            )
    grantors: tuple[tuple[SubjectKind, Sequence[Owner]], ...] = (("role", roles), ("scope", scopes))
    for kind, owners in grantors:
        for owner in paced(owners):
            for rid, actions in grants_of(owner):
                out.extend(_grant_problems(kind, owner[0], rid, actions, defined))
    return tuple(out)


def _org_role_problems(
    n: int,
    role: PolicyRole,
    project_roles: Container[str],
    defined: Mapping[str, Container[str]],
) -> Iterable[PolicyProblem]:
    """The problems of the org role at index ``n``."""
    role_id = role.role_id

    def problem(
        code: str, text: str, resource_id: str | None = None, actions: tuple[str, ...] = ()
    ) -> PolicyProblem:
        return PolicyProblem("error", code, "org_role", role_id, text, resource_id, actions)

    if not role_id.strip():
        yield problem("blank-id", f"roles[{n}]: an org role has a blank id ({role_id!r})")
    if role_id in project_roles:
        yield problem(
            "role-exists-in-project", f"org role {role_id!r} already exists in the project policy"
        )
    for perm in role.permissions:
        rid = perm.resource_id
        where = f"org role {role_id!r} on resource {rid!r}"
        if rid not in defined:
            yield problem(
                "undefined-resource",
                f"{where}: that resource is not defined in the project policy",
                rid,
                perm.actions,
            )
            continue
        if not perm.actions:
            yield problem("empty-permission", f"{where} grants no actions", rid)
        elif WILDCARD in perm.actions and len(perm.actions) > 1:
            yield problem(
                "wildcard-with-others", f"{where}: '*' must stand alone", rid, perm.actions
            )
        for action in perm.actions:
            if not action.strip():
                yield problem("blank-action", f"{where} grants a blank action", rid, (action,))
            elif action != WILDCARD and action not in defined[rid]:
                yield problem(
                    "undefined-action",
                    f"{where} grants undefined action {action!r}",
                    rid,
                    (action,),
                )


def org_problems(project: Policy, org: OrgPolicy) -> tuple[PolicyProblem, ...]:
    """Stytch's ``validate_org_policy`` rules (reference 4.3): every problem is an error."""
    return org_problems_against(
        {r.role_id for r in project.roles},
        {r.resource_id: set(r.actions) for r in project.resources},
        org,
    )


def org_problems_against(
    project_roles: Container[str], defined: Mapping[str, Container[str]], org: OrgPolicy
) -> tuple[PolicyProblem, ...]:
    """:func:`org_problems` against a project given as its role ids and its defined actions
    per resource (``"*"`` need not be among them): the work is proportional to the org
    policy alone, whatever the size of the project policy."""
    out: list[PolicyProblem] = []
    ids = [r.role_id for r in org.roles]
    out.extend(
        PolicyProblem(
            "error", "duplicate-id", "org_role", d, f"org role {d!r} is defined more than once"
        )
        for d in _duplicates(ids)
    )
    for n, role in enumerate(org.roles):
        out.extend(_org_role_problems(n, role, project_roles, defined))
    return tuple(out)
