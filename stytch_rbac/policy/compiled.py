"""``CompiledPolicy``: a policy indexed once, so a decision is a few set look-ups.

A decision is two dict look-ups and one set intersection, whatever the size of
the policy. The decision rule and the one deliberate fail-closed difference
from Stytch are written out in :mod:`stytch_rbac.policy`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from ..errors import UnknownPermission
from ..permissions import ActionEnum, Permission, _permission_args
from .models import (
    WILDCARD,
    OrgPolicy,
    Policy,
    PolicyResource,
    PolicyRole,
    PolicyRolePermission,
    Roles,
)
from .problems import PolicyProblem, org_problems_against, raise_first_error, warnings_of

__all__ = ["CompiledPolicy", "Decision"]

_PermissionLike: TypeAlias = "str | Permission | ActionEnum"
"""A resource id (with ``action``), or alone a whole permission: a ``Permission``, an
action enum member or a ``"resource:action"`` string."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one question: allowed or not, and which of the subject's roles grant it.

    Truthy iff allowed. ``granted_by`` holds role ids (or scope names for
    :meth:`CompiledPolicy.scope_decide`); empty when denied. ``resource`` and
    ``action`` are plain strings (a StrEnum argument is reduced to its value).
    """

    allowed: bool
    resource: str
    action: str
    granted_by: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return self.allowed


# A frozen dataclass's generated __init__ goes through object.__setattr__ once per
# field; decide() builds its allowed Decisions through the slot descriptors instead
# (about half the cost). Denials are built once, at compile time.
_new_decision = object.__new__
_set_allowed = Decision.__dict__["allowed"].__set__
_set_resource = Decision.__dict__["resource"].__set__
_set_action = Decision.__dict__["action"].__set__
_set_granted_by = Decision.__dict__["granted_by"].__set__


def _allowed_decision(resource: str, action: str, granted_by: frozenset[str]) -> Decision:
    decision: Decision = _new_decision(Decision)
    _set_allowed(decision, True)
    _set_resource(decision, resource)
    _set_action(decision, action)
    _set_granted_by(decision, granted_by)
    return decision


_Index: TypeAlias = dict[str, dict[str, frozenset[str]]]
#: Org custom roles, compact: (role_id, description, ((resource_id, actions), ...)).
_OrgRoles: TypeAlias = tuple[tuple[str, str, tuple[tuple[str, tuple[str, ...]], ...]], ...]
#: Org custom roles indexed like the project's, for the resources they grant on only.
_OrgIndex: TypeAlias = dict[str, dict[str, frozenset[str]]]
_NO_ROLES: frozenset[str] = frozenset()
_Entries: TypeAlias = dict[str, dict[str, tuple[frozenset[str], Decision]]]
#: Every (resource, action-or-"*") a project role names, defined or not: Stytch's own scan.
_Scan: TypeAlias = dict[str, dict[str, frozenset[str]]]


def _build_index(
    resources: Sequence[PolicyResource],
    grantors: Iterable[tuple[str, Sequence[PolicyRolePermission]]],
) -> _Index:
    """resource -> action -> every grantor (role or scope) of that action, wildcards folded in.

    Only defined (resource, action) pairs are keys: anything else is unknown.
    """
    explicit: dict[str, dict[str, set[str]]] = {r.resource_id: {} for r in resources}
    wildcard: dict[str, set[str]] = {r.resource_id: set() for r in resources}
    for owner, permissions in grantors:
        for perm in permissions:
            if perm.resource_id not in explicit:
                continue  # an undefined-resource problem: unreachable by any defined question
            if WILDCARD in perm.actions:
                wildcard[perm.resource_id].add(owner)
            for action in perm.actions:
                explicit[perm.resource_id].setdefault(action, set()).add(owner)
    return {
        r.resource_id: {
            # An action no one is granted shares one empty set: fewer objects to keep.
            a: frozenset(explicit[r.resource_id].get(a, _NO_ROLES) | wildcard[r.resource_id])
            or _NO_ROLES
            for a in r.actions
            if a != WILDCARD
        }
        for r in resources
    }


def _build_scan(roles: Iterable[PolicyRole]) -> _Scan:
    """resource -> action (``"*"`` too) -> the roles naming it, whatever the resources define."""
    scan: dict[str, dict[str, set[str]]] = {}
    for role in roles:
        for perm in role.permissions:
            actions = scan.setdefault(perm.resource_id, {})
            for action in perm.actions:
                actions.setdefault(action, set()).add(role.role_id)
    return {
        resource: {action: frozenset(owners) for action, owners in actions.items()}
        for resource, actions in scan.items()
    }


def _entry_row(
    entries: _Entries, index: _Index, resource: str
) -> dict[str, tuple[frozenset[str], Decision]] | None:
    """``resource``'s row of the index with a prebuilt denial per action, for decide().

    Built on first use and kept (in ``entries``, shared by every org merge of the
    policy): prebuilding them all would make a 10,000-role policy about 400,000 objects
    larger, which every full collection of the cyclic GC then walks.
    """
    row = entries.get(resource)
    if row is None:
        actions = index.get(resource)
        if actions is None:
            return None
        row = {
            action: (grantors, Decision(False, resource, action))
            for action, grantors in actions.items()
        }
        entries[resource] = row
    return row


def _not_a_string(roles: str) -> TypeError:
    return TypeError(
        f"roles must be a collection of role ids, not one string ({roles!r}); "
        f"pass [{roles!r}] or a frozenset"
    )


class CompiledPolicy:
    """A policy indexed once for decisions by set look-ups.

    Build one per policy version (``Policy.compile()`` or ``CompiledPolicy(policy)``);
    it is immutable and safe to share between tasks. ``with_org()`` returns the
    policy merged with one organization's custom roles.

    Every query method takes the subject's role ids (any iterable of ``str``
    except a single ``str``, which raises ``TypeError``; a ``frozenset`` is
    fastest), a resource and an action (plain strings or generated StrEnum
    members), or the permission as one argument: a :class:`~stytch_rbac.Permission`,
    a generated action enum member or a ``"resource:action"`` string
    (``allows(roles, "documents:edit")``; split rule in :mod:`stytch_rbac.permissions`).
    With ``strict=True`` (the default) a resource or action the policy
    does not define raises :class:`UnknownPermission`; with ``strict=False`` it
    is denied. ``"*"`` is never a defined action: it is how a grant says "every
    action", not something to ask about.

    Compiling raises :class:`~stytch_rbac.PolicyError` for a policy with errors
    (one built in code; ``Policy.parse`` already refuses them) and keeps the
    policy's warnings in ``problems``: it reuses ``Policy.problems`` (no second
    validation) and never emits a Python warning.
    """

    __slots__ = (
        "_actions",
        "_base",
        "_entries",
        "_index",
        "_org",
        "_org_index",
        "_policy",
        "_role_ids",
        "_scan",
        "_scope_entries",
        "_scope_index",
        "problems",
        "scope_ids",
        "strict",
    )

    strict: bool
    scope_ids: frozenset[str]
    problems: tuple[PolicyProblem, ...]
    """The project policy's warnings (oddities Stytch serves); ``()`` for a clean policy.

    Codes: :mod:`stytch_rbac.policy.problems`. ``with_org()`` adds none: an org
    policy with a problem is refused.
    """

    def __init__(self, policy: Policy, *, strict: bool = True) -> None:
        problems = policy.problems
        raise_first_error(problems)
        self.problems = warnings_of(problems)
        self._policy = policy
        self._org: _OrgRoles | None = None
        self._org_index: _OrgIndex | None = None
        self._base: CompiledPolicy | None = None
        self.strict = strict
        self._role_ids = frozenset(r.role_id for r in policy.roles)
        self.scope_ids = frozenset(s.scope for s in policy.scopes)
        self._index = _build_index(
            policy.resources, ((r.role_id, r.permissions) for r in policy.roles)
        )
        self._entries: _Entries = {}  # rows built on first use: _entry_row()
        self._scan = _build_scan(policy.roles)
        self._scope_index = _build_index(
            policy.resources, ((s.scope, s.permissions) for s in policy.scopes)
        )
        self._scope_entries: _Entries = {}
        self._actions: dict[str, tuple[str, ...]] = {
            resource: tuple(sorted(actions)) for resource, actions in self._index.items()
        }

    @classmethod
    def parse(
        cls, source: str | bytes | Path | Mapping[str, Any], *, strict: bool = True
    ) -> CompiledPolicy:
        """Parse and compile in one step (see :meth:`Policy.parse`)."""
        return cls(Policy.parse(source), strict=strict)

    def __repr__(self) -> str:
        return (
            f"<CompiledPolicy roles={len(self.role_ids)} resources={len(self._index)} "
            f"scopes={len(self.scope_ids)} strict={self.strict}>"
        )

    @property
    def resources(self) -> Mapping[str, tuple[str, ...]]:
        """Every resource id with its defined actions, sorted."""
        return self._actions

    @property
    def policy(self) -> Policy:
        """The policy this answers for (for ``with_org()``: the merged one, rebuilt on access)."""
        org = self.org_policy
        return (
            self._policy
            if org is None
            else self._policy.model_copy(update={"roles": self._policy.roles + org.roles})
        )

    @property
    def org_policy(self) -> OrgPolicy | None:
        """The organization's custom roles merged in by ``with_org()``; None for none."""
        if self._org is None:
            return None
        return OrgPolicy(
            roles=tuple(
                PolicyRole(
                    role_id=role_id,
                    description=description,
                    permissions=tuple(
                        PolicyRolePermission(resource_id=resource, actions=actions)
                        for resource, actions in grants
                    ),
                )
                for role_id, description, grants in self._org
            )
        )

    @property
    def base(self) -> CompiledPolicy:
        """The project policy ``with_org()`` merged onto; the policy itself when not merged."""
        return self if self._base is None else self._base

    @property
    def role_ids(self) -> frozenset[str]:
        """Every role id the policy defines (org custom roles included)."""
        if self._org is None:
            return self._role_ids
        return self._role_ids | {role_id for role_id, _, _ in self._org}

    def with_org(self, org_policy: OrgPolicy | None) -> CompiledPolicy:
        """This policy merged with one organization's custom roles (Stytch's merge rule).

        Raises :class:`PolicyError` when the org policy breaks Stytch's
        ``validate_org_policy`` rules (see :meth:`Policy.merged`);
        :meth:`with_fitting_org_roles` ignores the roles that break them instead.
        Cheap to keep one per organization: the result shares this policy's index
        and holds the org roles as small interned tuples with an index of their own,
        so merging costs in proportion to the org roles, whatever the size of the
        project policy.
        """
        if org_policy is None or not org_policy.roles:
            return self
        merged = self._fitting_overlay(self._compact(org_policy.roles))
        if merged is not None:
            return merged
        raise_first_error(self._org_problems(org_policy))
        return self._overlay(org_policy.roles)

    def with_fitting_org_roles(
        self, org_policy: OrgPolicy | None
    ) -> tuple[CompiledPolicy, tuple[PolicyProblem, ...]]:
        """Like :meth:`with_org`, but an org role that breaks Stytch's org-policy rules is
        ignored (it grants nothing) instead of refusing the whole org policy.

        Returns the merged policy and the problems of the ignored roles (``()`` when
        every role fits). This is what Stytch's own check does with an org policy
        that no longer fits a changed project policy: it never validates at decision
        time. Ignoring the role, rather than honouring what Stytch's scan would make
        of it (an id that is now a project role's would add its grants to that
        role's), fails closed. A role with a problem is ignored whole, and so is every
        role sharing the id of a duplicated or blank one.
        """
        if org_policy is None or not org_policy.roles:
            return self, ()
        merged = self._fitting_overlay(self._compact(org_policy.roles))
        if merged is not None:
            return merged, ()
        problems = self._org_problems(org_policy)
        if not problems:
            return self._overlay(org_policy.roles), ()
        unfit = {problem.subject for problem in problems}
        fitting = tuple(role for role in org_policy.roles if role.role_id not in unfit)
        return (self._overlay(fitting) if fitting else self), problems

    def defines_roles(self, roles: Roles) -> bool:
        """Whether every one of ``roles`` is a role of this policy (org roles included).

        For the project policy, True means no organization's custom roles can change
        any answer for these roles: an org role grants only to a member holding its
        id, and Stytch refuses an org role whose id is a project role's (one that
        became so later is ignored, see :meth:`with_fitting_org_roles`). So the org
        policy need not even be fetched.
        """
        if isinstance(roles, str):
            raise _not_a_string(roles)
        return (self._role_ids if self._org is None else self.role_ids).issuperset(roles)

    def _org_problems(self, org_policy: OrgPolicy) -> tuple[PolicyProblem, ...]:
        """Stytch's org-policy rules against the project policy's own index: O(org roles)."""
        base = self.base
        return org_problems_against(base._role_ids, base._index, org_policy)

    def rebased(self, onto: CompiledPolicy) -> tuple[CompiledPolicy, tuple[PolicyProblem, ...]]:
        """This merged policy's org roles merged onto ``onto`` (a refreshed project
        policy) as :meth:`with_fitting_org_roles` merges them; ``onto`` itself for a policy
        with no org roles. Cheaper than merging the :attr:`org_policy` again: the roles
        are reused as they are kept, no model is rebuilt.
        """
        if self._org is None:
            return onto, ()
        merged = onto._fitting_overlay(self._org)
        if merged is not None:
            return merged, ()
        org_policy = self.org_policy
        assert org_policy is not None
        return onto.with_fitting_org_roles(org_policy)

    @staticmethod
    def _compact(org_roles: Sequence[PolicyRole]) -> _OrgRoles:
        """Org roles as the small tuples a merged policy keeps, their strings interned:
        thousands of organizations share the same ids and action names."""
        intern = sys.intern
        return tuple(
            [
                (
                    intern(role.role_id),
                    intern(role.description),
                    tuple(
                        [
                            (intern(p.resource_id), tuple([intern(a) for a in p.actions]))
                            for p in role.permissions
                        ]
                    ),
                )
                for role in org_roles
            ]
        )

    def _fitting_overlay(self, org: _OrgRoles) -> CompiledPolicy | None:
        """The overlay of the ``org`` roles when every one fits Stytch's org-policy rules,
        else None (then :func:`org_problems_against` says what does not fit).

        The first check of an organization's member merges its roles, so this is on the
        request path: one pass checks the rules and indexes the roles, touching only
        what they name. It accepts nothing the rules refuse
        (tests/policy/test_sdk_equivalence.py holds it to the SDK's validate_org_policy).
        """
        if self._org is not None:
            return None  # layered merges take the general path
        project_roles = self._role_ids
        defined = self._index
        seen: set[str] = set()
        index: dict[str, dict[str, set[str]]] = {}
        for role_id, _, grants in org:
            if role_id in seen or role_id in project_roles or not role_id.strip():
                return None
            seen.add(role_id)
            for resource, actions in grants:
                actions_defined = defined.get(resource)
                if actions_defined is None or not actions:
                    return None
                if WILDCARD in actions:
                    if len(actions) > 1:
                        return None
                    granted: Iterable[str] = actions_defined
                else:
                    for action in actions:
                        if action not in actions_defined:  # a blank action never is
                            return None
                    granted = actions
                row = index.setdefault(resource, {})
                for action in granted:
                    row.setdefault(action, set()).add(role_id)
        merged = object.__new__(CompiledPolicy)
        for name in CompiledPolicy.__slots__:
            object.__setattr__(merged, name, getattr(self, name))
        merged._org = org
        merged._org_index = {
            resource: {action: frozenset(owners) for action, owners in row.items()}
            for resource, row in index.items()
        }
        merged._base = self
        return merged

    def _overlay(self, org_roles: Sequence[PolicyRole]) -> CompiledPolicy:
        """A copy of this policy with ``org_roles`` (already checked) added."""
        roles = self._compact(org_roles)
        merged = object.__new__(CompiledPolicy)
        for name in CompiledPolicy.__slots__:
            object.__setattr__(merged, name, getattr(self, name))
        merged._org = roles if self._org is None else self._org + roles
        merged._org_index = self._build_org_index(merged._org)
        merged._base = self.base
        return merged

    def _build_org_index(self, org: _OrgRoles) -> _OrgIndex:
        """resource -> action -> the org roles granting it (``"*"`` expanded over the
        resource's defined actions): touches only the resources the org roles name."""
        index: dict[str, dict[str, set[str]]] = {}
        for role_id, _, grants in org:
            for resource, actions in grants:
                defined = self._index.get(resource)
                if defined is None:
                    continue  # unreachable by any defined question (checked roles never do)
                row = index.setdefault(resource, {})
                for action in defined if WILDCARD in actions else actions:
                    if action in defined:
                        row.setdefault(action, set()).add(role_id)
        return {
            resource: {action: frozenset(owners) for action, owners in row.items()}
            for resource, row in index.items()
        }

    def _org_grantors(self, roles: Roles, resource: str, action: str) -> frozenset[str]:
        """The held org roles granting a defined ``action`` on ``resource``."""
        held = roles if isinstance(roles, (set, frozenset)) else frozenset(roles)
        return frozenset(
            role_id
            for role_id, _, grants in self._org or ()
            if role_id in held
            for granted, actions in grants
            if granted == resource and (action in actions or WILDCARD in actions)
        )

    def _unknown(self, resource: str, action: str) -> Decision:
        """Strict: raise for an undefined resource or action. Otherwise: a denial."""
        if self.strict:
            self.check_known(resource, action)
        return Decision(False, str(resource), str(action))

    def allows(self, roles: Roles, resource: _PermissionLike, action: str | None = None) -> bool:
        """True iff one of ``roles`` grants ``action`` on ``resource``: the fast path."""
        if isinstance(roles, str):
            raise _not_a_string(roles)
        if action is None or not isinstance(resource, str):
            resource, action = _permission_args(resource, action)
        org = self._org_index
        if org is not None:  # merged: only members holding an org role decide with it
            row = org.get(resource)
            if row is not None:
                granted = row.get(action)
                if granted is not None and not granted.isdisjoint(roles):
                    return True
        actions = self._index.get(resource)
        if actions is not None:
            grantors = actions.get(action)
            if grantors is not None:
                return not grantors.isdisjoint(roles)
        return self._unknown(resource, action).allowed

    def decide(
        self, roles: Roles, resource: _PermissionLike, action: str | None = None
    ) -> Decision:
        """Like :meth:`allows`, with the granting roles (``Decision.granted_by``)."""
        if isinstance(roles, str):
            raise _not_a_string(roles)
        if action is None or not isinstance(resource, str):
            resource, action = _permission_args(resource, action)
        actions = self._entries.get(resource) or _entry_row(self._entries, self._index, resource)
        entry = None if actions is None else actions.get(action)
        if entry is None:
            return self._unknown(resource, action)
        grantors, denied = entry
        granted_by = grantors.intersection(roles)
        org = self._org_index
        if org is not None:
            row = org.get(resource)
            if row is not None:
                granted_by |= row.get(action, _NO_ROLES).intersection(roles)
        if not granted_by:
            return denied
        decision: Decision = _new_decision(Decision)  # _allowed_decision(), inlined
        _set_allowed(decision, True)
        _set_resource(decision, denied.resource)
        _set_action(decision, denied.action)
        _set_granted_by(decision, granted_by)
        return decision

    def stytch_decide(self, roles: Roles, resource: str, action: str) -> Decision:
        """Stytch's own rule, whatever the policy's resources define: never strict, never raises.

        Allowed iff a held role (project or org) names ``action`` or ``"*"`` on
        exactly ``resource``, as ``stytch/shared/rbac_local.py`` scans; the
        resource's action list is not consulted. This is how Stytch enforces its
        built-in ``stytch.*`` resources, whose action list in a project's policy
        may omit actions its endpoints need (reference 4.2): ``*`` grants every
        action of the resource. :mod:`stytch_rbac.policy.builtin_calls` and the
        emulator decide with it; questions about the project's own resources go
        through :meth:`decide`, whose strict check it does not weaken. For a
        defined (resource, action) both answer the same.
        """
        if isinstance(roles, str):
            raise _not_a_string(roles)
        held = roles if isinstance(roles, (set, frozenset)) else frozenset(roles)
        resource, action = str(resource), str(action)
        named = self._scan.get(resource, {})
        granted_by = named.get(action, frozenset()) | named.get(WILDCARD, frozenset())
        granted_by = granted_by.intersection(held)
        if self._org is not None:
            granted_by |= self._org_grantors(held, resource, action)
        return Decision(bool(granted_by), resource, action, granted_by)

    def is_known(self, resource: _PermissionLike, action: str | None = None) -> bool:
        """Whether the policy defines ``action`` on ``resource``."""
        if action is None or not isinstance(resource, str):
            resource, action = _permission_args(resource, action)
        actions = self._index.get(resource)
        return actions is not None and action in actions

    def check_known(self, resource: _PermissionLike, action: str | None = None) -> None:
        """Raise :class:`UnknownPermission` unless the policy defines the permission."""
        if action is None or not isinstance(resource, str):
            resource, action = _permission_args(resource, action)
        actions = self._index.get(resource)
        if actions is None:
            raise UnknownPermission(resource)
        if action not in actions:
            raise UnknownPermission(resource, action)

    def permissions(self, roles: Roles) -> dict[str, dict[str, bool]]:
        """``{resource: {action: allowed}}`` for every resource and action in the policy."""
        if isinstance(roles, str):
            raise _not_a_string(roles)
        held = roles if isinstance(roles, (set, frozenset)) else frozenset(roles)
        table = {
            resource: {
                action: not grantors.isdisjoint(held)
                for action, grantors in sorted(actions.items())
            }
            for resource, actions in sorted(self._index.items())
        }
        for role_id, _, grants in self._org or ():
            if role_id in held:
                for resource, actions in grants:
                    row = table[resource]
                    for action in row if WILDCARD in actions else actions:
                        row[action] = True
        return table

    def granted(self, roles: Roles) -> frozenset[tuple[str, str]]:
        """Every defined (resource, action) pair that ``roles`` are allowed."""
        if isinstance(roles, str):
            raise _not_a_string(roles)
        return frozenset(
            (resource, action)
            for resource, actions in self.permissions(roles).items()
            for action, allowed in actions.items()
            if allowed
        )

    def scope_allows(
        self, scopes: Iterable[str] | str, resource: _PermissionLike, action: str | None = None
    ) -> bool:
        """Connected-Apps check: does one of the token's scopes grant the permission?

        ``scopes`` may be the token's space-separated ``scope`` claim. Only the
        project policy's scopes count (Stytch does not merge org roles here).
        """
        return self.scope_decide(scopes, resource, action).allowed

    def scope_decide(
        self, scopes: Iterable[str] | str, resource: _PermissionLike, action: str | None = None
    ) -> Decision:
        """Like :meth:`scope_allows`, with the granting scopes in ``granted_by``."""
        if action is None or not isinstance(resource, str):
            resource, action = _permission_args(resource, action)
        held = scopes.split() if isinstance(scopes, str) else scopes
        actions = self._scope_entries.get(resource) or _entry_row(
            self._scope_entries, self._scope_index, resource
        )
        entry = None if actions is None else actions.get(action)
        if entry is None:
            return self._unknown(resource, action)
        grantors, denied = entry
        granted_by = grantors.intersection(held)
        if not granted_by:
            return denied
        return _allowed_decision(denied.resource, denied.action, granted_by)

    def scopes_granting(
        self, resource: _PermissionLike, action: str | None = None
    ) -> frozenset[str]:
        """Every policy scope granting the permission (by name or ``"*"``): what a token
        would need one of; the ``scope=`` of an ``insufficient_scope`` challenge.

        Empty when no scope grants it. An unknown permission raises
        :class:`UnknownPermission` in strict mode and is granted by no scope otherwise.
        """
        # Holding every scope, the granting ones are exactly scope_decide's granted_by.
        return self.scope_decide(self.scope_ids, resource, action).granted_by
