"""``CompiledPolicy``: a policy indexed once, so a decision is a few set look-ups.

A decision is two dict look-ups and one set intersection, whatever the size of
the policy. The decision rule and the one deliberate fail-closed difference
from Stytch are written out in :mod:`stytch_rbac.policy`.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeAlias

from ..errors import UnknownPermission
from ..permissions import ActionEnum, Permission, _permission_args
from ._pace import paced
from .models import (
    WILDCARD,
    OrgPolicy,
    Policy,
    PolicyRole,
    PolicyRolePermission,
    Roles,
    canonical_json_of,
)
from .problems import (
    Owner,
    PolicyProblem,
    Resource,
    flat_owner,
    grants_of,
    org_problems_against,
    project_problems_of,
    raise_first_error,
    warnings_of,
)

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


_Row: TypeAlias = dict[str, frozenset[str]]
#: resource -> action -> every grantor (role or scope) of that action, wildcards folded in.
_Index: TypeAlias = dict[str, _Row]
#: Org custom roles, compact: (role_id, description, ((resource_id, actions), ...)).
_OrgRoles: TypeAlias = tuple[tuple[str, str, tuple[tuple[str, tuple[str, ...]], ...]], ...]
#: Org custom roles indexed like the project's, for the resources they grant on only.
_OrgIndex: TypeAlias = dict[str, dict[str, frozenset[str]]]
_NO_ROLES: frozenset[str] = frozenset()
_EntryRow: TypeAlias = dict[str, tuple[frozenset[str], Decision]]
_Entries: TypeAlias = dict[str, _EntryRow]
#: Every (resource, action-or-"*") a project role names, defined or not: Stytch's own scan.
_Scan: TypeAlias = dict[str, _Row]
_NO_SCAN: Mapping[str, frozenset[str]] = MappingProxyType({})
#: resource -> every grantor naming it with its actions, in policy order and flat
#: (``(owner, actions, owner, actions, ...)``, see :data:`Owner`): what rows are built from.
_Grants: TypeAlias = dict[str, tuple[Any, ...]]


def _pairs(flat: tuple[Any, ...]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """The (owner, actions) of one resource's :data:`_Grants`."""
    return zip(islice(flat, 0, None, 2), islice(flat, 1, None, 2), strict=True)


def _group(owners: Sequence[Owner]) -> _Grants:
    """Every (owner, actions) of ``owners``' grants, grouped by resource.

    Only flat tuples of strings are kept, which the cyclic GC soon stops tracking: a
    10,000-role policy adds a few objects for it to walk, not a few hundred
    thousand (every full collection walks them all, and stops every thread
    meanwhile). Grouped with a counting sort into one list rather than one list
    per resource, so that no tracked container per resource survives even the build.
    """
    counts: dict[str, int] = {}
    for owner in paced(owners):
        for resource, _ in grants_of(owner):
            counts[resource] = counts.get(resource, 0) + 2
    starts: dict[str, int] = {}
    total = 0
    for resource, count in counts.items():
        starts[resource] = total
        total += count
    slots: list[Any] = [None] * total
    free = dict(starts)
    for owner in paced(owners):
        owner_id = owner[0]
        for resource, actions in grants_of(owner):
            at = free[resource]
            slots[at] = owner_id
            slots[at + 1] = actions
            free[resource] = at + 2
    return {
        resource: tuple(slots[start : start + counts[resource]])
        for resource, start in paced(starts.items())
    }


def _index_row(defined: tuple[str, ...], grants: tuple[Any, ...]) -> _Row:
    """One resource's row of the index: defined action -> every grantor, ``"*"`` folded in."""
    explicit: dict[str, set[str]] = {}
    wildcard: set[str] = set()
    for owner, actions in _pairs(grants):
        if WILDCARD in actions:
            wildcard.add(owner)
        for action in actions:
            explicit.setdefault(action, set()).add(owner)
    # An action no one is granted shares one empty set: fewer objects to keep.
    return {a: frozenset(explicit.get(a, _NO_ROLES) | wildcard) or _NO_ROLES for a in defined}


def _with_denials(entries: _Entries, resource: str, row: _Row | None) -> _EntryRow | None:
    """``row`` (``resource``'s) with a prebuilt denial per action, kept in ``entries``."""
    if row is None:
        return None
    entry_row = entries.get(resource)
    if entry_row is None:
        entry_row = {
            action: (grantors, Decision(False, resource, action))
            for action, grantors in row.items()
        }
        entries[resource] = entry_row
    return entry_row


def _owner_json(key: str, owner: Owner) -> dict[str, Any]:
    return {
        key: owner[0],
        "description": owner[1],
        "permissions": [
            {"resource_id": rid, "actions": actions} for rid, actions in grants_of(owner)
        ],
    }


def _owners(items: Iterable[tuple[str, str, Sequence[PolicyRolePermission]]]) -> tuple[Owner, ...]:
    return tuple(
        [
            flat_owner(owner, description, [(p.resource_id, p.actions) for p in perms])
            for owner, description, perms in items
        ]
    )


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
        "_grants",
        "_index",
        "_org",
        "_org_index",
        "_policy",
        "_resources",
        "_role_ids",
        "_roles",
        "_scan",
        "_scope_entries",
        "_scope_grants",
        "_scope_index",
        "_scopes",
        "_sha256",
        "problems",
        "scope_ids",
        "strict",
    )

    _policy: Policy | None  # None until first built (see the policy property)
    _sha256: str | None
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
        self._setup(
            tuple([(r.resource_id, r.description, r.actions) for r in policy.resources]),
            _owners((r.role_id, r.description, r.permissions) for r in policy.roles),
            _owners((s.scope, s.description, s.permissions) for s in policy.scopes),
            warnings_of(problems),
            strict,
        )
        self._policy = policy

    @classmethod
    def _from_parts(
        cls,
        resources: tuple[Resource, ...],
        roles: tuple[Owner, ...],
        scopes: tuple[Owner, ...],
        *,
        strict: bool = True,
    ) -> CompiledPolicy:
        """The policy of these plain tuples (:mod:`.response` reads them from Stytch's
        answer), compiled without building its model: :attr:`policy` builds it on first
        use. Raises :class:`PolicyError` for a policy with errors, as ``Policy.parse``."""
        problems = project_problems_of(resources, roles, scopes)
        raise_first_error(problems)
        compiled: CompiledPolicy = object.__new__(cls)
        compiled._setup(resources, roles, scopes, warnings_of(problems), strict)
        return compiled

    def _setup(
        self,
        resources: tuple[Resource, ...],
        roles: tuple[Owner, ...],
        scopes: tuple[Owner, ...],
        warnings: tuple[PolicyProblem, ...],
        strict: bool,
    ) -> None:
        # What is kept is strings, tuples of them and a few dicts of them: nothing the cyclic
        # GC keeps tracking per role or resource (see _group). The index rows, which hold
        # frozensets, are built on a resource's first question (_row) and kept.
        self.problems = warnings
        self.strict = strict
        self._policy = None
        self._sha256 = None
        self._resources, self._roles, self._scopes = resources, roles, scopes
        self._org: _OrgRoles | None = None
        self._org_index: _OrgIndex | None = None
        self._base: CompiledPolicy | None = None
        self._role_ids = frozenset([role[0] for role in roles])
        self.scope_ids = frozenset([scope[0] for scope in scopes])
        self._actions: dict[str, tuple[str, ...]] = {
            rid: tuple(sorted({a for a in actions if a != WILDCARD}))
            for rid, _, actions in paced(resources)
        }
        self._grants = _group(roles)
        self._scope_grants = _group(scopes)
        self._index: _Index = {}
        self._entries: _Entries = {}
        self._scan: _Scan = {}
        self._scope_index: _Index = {}
        self._scope_entries: _Entries = {}

    @classmethod
    def parse(
        cls, source: str | bytes | Path | Mapping[str, Any], *, strict: bool = True
    ) -> CompiledPolicy:
        """Parse and compile in one step (see :meth:`Policy.parse`)."""
        return cls(Policy.parse(source), strict=strict)

    def __repr__(self) -> str:
        return (
            f"<CompiledPolicy roles={len(self.role_ids)} resources={len(self._actions)} "
            f"scopes={len(self.scope_ids)} strict={self.strict}>"
        )

    @property
    def resources(self) -> Mapping[str, tuple[str, ...]]:
        """Every resource id with its defined actions, sorted."""
        return self._actions

    @property
    def policy(self) -> Policy:
        """The policy this answers for (for ``with_org()``: the merged one, rebuilt on access).

        A policy compiled from Stytch's answer by the client keeps no model of it (a
        10,000-role one is some 200,000 objects): it is built on first access and kept.
        """
        base = self.base
        policy = base._policy
        if policy is None:
            policy = base._policy = Policy.parse(
                {
                    "resources": [
                        {"resource_id": rid, "description": description, "actions": actions}
                        for rid, description, actions in base._resources
                    ],
                    "roles": [_owner_json("role_id", role) for role in base._roles],
                    "scopes": [_owner_json("scope", scope) for scope in base._scopes],
                }
            )
        org = self.org_policy
        return (
            policy if org is None else policy.model_copy(update={"roles": policy.roles + org.roles})
        )

    def sha256(self) -> str:
        """:meth:`Policy.sha256` of :attr:`policy`, computed once, without building the model."""
        sha = self._sha256
        if sha is None:
            base = self.base
            roles: Iterable[Owner] = base._roles
            if self._org is not None:
                org = [flat_owner(*role) for role in self._org]
                roles = chain(roles, org)
            canonical = canonical_json_of(base._resources, roles, base._scopes)
            sha = self._sha256 = hashlib.sha256(canonical.encode()).hexdigest()
        return sha

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
        return org_problems_against(base._role_ids, base._actions, org_policy)

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
        defined = self._actions
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
        merged._sha256 = None
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
        merged._sha256 = None
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
                defined = self._actions.get(resource)
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

    # -- rows, built on a resource's first question and kept (shared by every org merge) --

    def _row(self, resource: str) -> _Row | None:
        """``resource``'s row of the index; None for a resource the policy does not define."""
        row = self._index.get(resource)
        if row is None:
            defined = self._actions.get(resource)
            if defined is None:
                return None
            row = self._index[resource] = _index_row(defined, self._grants.get(resource, ()))
        return row

    def _defined_row(self, resource: str) -> _Row:
        row = self._row(resource)
        assert row is not None  # resource is one of self._actions
        return row

    def _scope_row(self, resource: str) -> _Row | None:
        """:meth:`_row` of the scopes' index."""
        row = self._scope_index.get(resource)
        if row is None:
            defined = self._actions.get(resource)
            if defined is None:
                return None
            row = _index_row(defined, self._scope_grants.get(resource, ()))
            self._scope_index[resource] = row
        return row

    def _entry_row(self, resource: str) -> _EntryRow | None:
        """``resource``'s row of the index with a prebuilt denial per action, for decide().

        Prebuilding every row would make a 10,000-role policy about 400,000 objects
        larger, which every full collection of the cyclic GC then walks.
        """
        return _with_denials(self._entries, resource, self._row(resource))

    def _scope_entry_row(self, resource: str) -> _EntryRow | None:
        return _with_denials(self._scope_entries, resource, self._scope_row(resource))

    def _scan_row(self, resource: str) -> Mapping[str, frozenset[str]]:
        """Stytch's scan of ``resource``: action (``"*"`` too) -> the roles naming it."""
        row = self._scan.get(resource)
        if row is None:
            grants = self._grants.get(resource)
            if grants is None:
                return _NO_SCAN  # not kept: any string may be asked about
            named: dict[str, set[str]] = {}
            for owner, actions in _pairs(grants):
                for action in actions:
                    named.setdefault(action, set()).add(owner)
            row = {action: frozenset(owners) for action, owners in named.items()}
            self._scan[resource] = row
        return row

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
        if actions is None:
            actions = self._row(resource)  # first question about it: None if undefined
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
        actions = self._entries.get(resource) or self._entry_row(resource)
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
        named = self._scan.get(resource) or self._scan_row(resource)
        granted_by = named.get(action, frozenset()) | named.get(WILDCARD, frozenset())
        granted_by = granted_by.intersection(held)
        if self._org is not None:
            granted_by |= self._org_grantors(held, resource, action)
        return Decision(bool(granted_by), resource, action, granted_by)

    def is_known(self, resource: _PermissionLike, action: str | None = None) -> bool:
        """Whether the policy defines ``action`` on ``resource``."""
        if action is None or not isinstance(resource, str):
            resource, action = _permission_args(resource, action)
        actions = self._actions.get(resource)
        return actions is not None and action in actions

    def check_known(self, resource: _PermissionLike, action: str | None = None) -> None:
        """Raise :class:`UnknownPermission` unless the policy defines the permission."""
        if action is None or not isinstance(resource, str):
            resource, action = _permission_args(resource, action)
        actions = self._actions.get(resource)
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
                for action, grantors in sorted(self._defined_row(resource).items())
            }
            for resource in sorted(self._actions)
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
        # scope_decide's answer without building its Decision (the facade's warm
        # is_authorized for agents and services): held scopes meeting the grantors.
        if action is None or not isinstance(resource, str):
            resource, action = _permission_args(resource, action)
        actions = self._scope_entries.get(resource) or self._scope_entry_row(resource)
        entry = None if actions is None else actions.get(action)
        if entry is None:
            return self._unknown(resource, action).allowed
        return not entry[0].isdisjoint(scopes.split() if isinstance(scopes, str) else scopes)

    def scope_decide(
        self, scopes: Iterable[str] | str, resource: _PermissionLike, action: str | None = None
    ) -> Decision:
        """Like :meth:`scope_allows`, with the granting scopes in ``granted_by``."""
        if action is None or not isinstance(resource, str):
            resource, action = _permission_args(resource, action)
        held = scopes.split() if isinstance(scopes, str) else scopes
        actions = self._scope_entries.get(resource) or self._scope_entry_row(resource)
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
