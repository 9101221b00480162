"""Stytch's RBAC policy: pydantic models of its JSON, the org merge, and ``CompiledPolicy``.

The models parse exactly what ``GET /v1/b2b/rbac/policy`` returns (the whole
response or its ``policy`` object) and what ``GET /v1/b2b/rbac/organizations/{id}``
returns (``org_policy``). ``CompiledPolicy`` indexes a policy once, so a
decision is two dict look-ups and one set intersection, whatever the size of
the policy.

Decision rule (Stytch's, ``stytch/shared/rbac_local.py``): allowed iff one of
the subject's roles has a permission on exactly that ``resource_id`` whose
actions contain the action or ``"*"``. Role ids the policy does not know grant
nothing. Org custom roles are added to the project roles; resources and scopes
come from the project policy only.

One deliberate difference, fail-closed: Stytch's scan never looks at
``policy.resources``, so it grants an action the resource does not define to a
holder of ``"*"`` on that resource, and grants on a resource the policy does not
define to a role whose permission names it. Here such a question raises
:class:`UnknownPermission` (``strict=True``, the default) or is denied
(``strict=False``); ``"*"`` itself is never a defined action. For every defined
(resource, action) the answers are equal, and ``Decision.granted_by`` is exactly
the set of held roles for which Stytch's scan would succeed.

What is an error and what is a warning. Stytch's own acceptance decides
(reference 4.1 to 4.3; ``validate_org_policy`` in the SDK's
``stytch/b2b/api/rbac_organizations.py``):

* :class:`PolicyError` (no decision can be trusted): not JSON, not a JSON
  object, an empty document (none of ``roles`` / ``resources`` / ``scopes``;
  for an org policy no ``roles``), a value of the wrong JSON type (a non-string
  id, say), a missing required field (``role_id``, ``resource_id``, ``scope``,
  a permission's ``resource_id`` or ``actions``), a blank role / resource /
  scope id or a blank action, a role / resource / scope id defined twice (the
  SDK documents every id as a unique identifier). For an org policy, at merge
  time, also everything Stytch's ``validate_org_policy`` rejects: a role id
  repeated, or already in the project policy, a permission on a resource the
  project does not define, an action that resource does not define, no
  actions, or ``"*"`` next to other actions.
* :class:`PolicyWarning` (Stytch serves such a project policy and decides with
  it, so refusing it would only take the service down): a project role or
  scope granting on an undefined resource or an undefined action (the grant is
  kept but can only be reached by a question that is itself unknown), a
  permission with no actions, ``"*"`` next to other actions, a resource that
  defines ``"*"`` as an action. Warnings are emitted when a policy is compiled.
* Accepted silently, for hand-written files: an omitted ``description``
  (``""``), an omitted ``permissions`` or ``actions`` list of a role, resource
  or scope (empty), an omitted top-level list (empty), unknown extra keys
  (ignored, as the SDK does). Stytch itself always sends every field.
"""

from __future__ import annotations

import hashlib
import json
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeAlias

import pydantic
from pydantic import BaseModel, ConfigDict, Field, Strict

from .errors import PolicyError, PolicyWarning, UnknownPermission

if TYPE_CHECKING:
    from stytch.b2b.models.rbac import OrgPolicy as SDKOrgPolicy
    from stytch.b2b.models.rbac import Policy as SDKPolicy

__all__ = [
    "CompiledPolicy",
    "Decision",
    "OrgPolicy",
    "Policy",
    "PolicyResource",
    "PolicyRole",
    "PolicyRolePermission",
    "PolicyScope",
    "PolicyScopePermission",
]

WILDCARD: Final = "*"

# Strict: a number where Stytch sends a string is a malformed policy, not "1".
Str = Annotated[str, Strict()]

Roles: TypeAlias = Iterable[str]
"""Role ids of a subject: a frozenset is fastest; any iterable of str works."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PolicyRolePermission(_Model):
    """The actions one role may take on one resource (``"*"``: every action)."""

    resource_id: Str
    actions: tuple[Str, ...]


PolicyScopePermission = PolicyRolePermission


class PolicyRole(_Model):
    """A role: an id, a description and the permissions it grants."""

    role_id: Str
    description: Str = ""
    permissions: tuple[PolicyRolePermission, ...] = ()


class PolicyResource(_Model):
    """A resource and every action defined on it."""

    resource_id: Str
    description: Str = ""
    actions: tuple[Str, ...] = ()


class PolicyScope(_Model):
    """A Connected-Apps scope and the permissions it grants (reference 4.6)."""

    scope: Str
    description: Str = ""
    permissions: tuple[PolicyRolePermission, ...] = ()


_POLICY_KEYS: Final = ("roles", "resources", "scopes")
_OWNER_KEYS: Final = {"roles": "role_id", "resources": "resource_id", "scopes": "scope"}
_KIND: Final = {"roles": "role", "resources": "resource", "scopes": "scope"}


def _json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    return type(value).__name__


def _where(loc: Sequence[int | str], data: Any) -> str:
    """``roles[2] (role 'editor').permissions[0].actions``: the path, naming the owner."""
    path = ""
    for i, part in enumerate(loc):
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        if i == 1 and isinstance(part, int) and loc[0] in _OWNER_KEYS:
            try:
                ident = data[loc[0]][part][_OWNER_KEYS[str(loc[0])]]
            except (KeyError, IndexError, TypeError):
                ident = None
            if isinstance(ident, str) and ident.strip():
                path += f" ({_KIND[str(loc[0])]} {ident!r})"
    return path or "<root>"


def _explain(error: Any) -> str:
    """One pydantic error in JSON terms ("expected an array", not "a valid tuple")."""
    kind = error["type"]
    got = _json_type(error.get("input"))
    if kind == "missing":
        return "missing required field"
    if kind in ("string_type", "string_sub_type"):
        return f"expected a string, got {got}"
    if kind in ("tuple_type", "list_type"):
        return f"expected an array, got {got}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected an object, got {got}"
    return str(error["msg"])


def _validate(model: type[_Model], data: Any, what: str) -> Any:
    if not isinstance(data, Mapping):
        raise PolicyError(f"not a valid {what}: expected a JSON object, got {_json_type(data)}")
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        more = exc.error_count() - 1
        raise PolicyError(
            f"not a valid {what}: {_where(first['loc'], data)}: {_explain(first)}"
            + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
        ) from None


def _load_json(source: str | bytes | Path | Mapping[str, Any], what: str) -> Any:
    if isinstance(source, Mapping):
        return source
    if isinstance(source, Path):
        try:
            source = source.read_bytes()
        except OSError as exc:
            raise PolicyError(f"cannot read {what} file {str(source)!r}: {exc.strerror}") from None
    if not isinstance(source, (str, bytes, bytearray)):
        raise TypeError(
            f"a {what} is JSON text, bytes, a pathlib.Path or a mapping, "
            f"not {type(source).__name__}"
        )
    try:
        return json.loads(source)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        hint = ""
        if isinstance(source, str) and source.strip().endswith(".json"):
            hint = " (to read a file, pass a pathlib.Path or use from_file())"
        raise PolicyError(f"{what} is not valid JSON: {exc}{hint}") from None


class OrgPolicy(_Model):
    """The custom roles of one organization (``org_policy`` in Stytch's JSON)."""

    roles: tuple[PolicyRole, ...] = ()

    @classmethod
    def parse(cls, source: str | bytes | Path | Mapping[str, Any]) -> OrgPolicy:
        """Parse an org policy: the whole ``GET rbac/organizations/{id}`` response or its
        ``org_policy`` object. Raises :class:`PolicyError` on malformed input."""
        data = _load_json(source, "org policy")
        if isinstance(data, Mapping) and "org_policy" in data:
            data = data["org_policy"]
        if isinstance(data, Mapping) and "roles" not in data:
            raise PolicyError("not a valid org policy: no 'roles'")
        org: OrgPolicy = _validate(cls, data, "org policy")
        return org

    @classmethod
    def from_stytch(cls, org_policy: SDKOrgPolicy) -> OrgPolicy:
        """Convert the stytch SDK's ``OrgPolicy`` model."""
        org: OrgPolicy = _validate(cls, org_policy.model_dump(mode="json"), "org policy")
        return org

    def to_stytch(self) -> SDKOrgPolicy:
        """Convert to the stytch SDK's ``OrgPolicy`` model (imports the SDK)."""
        from stytch.b2b.models.rbac import OrgPolicy as SDKOrgPolicy

        return SDKOrgPolicy.model_validate(self.to_json())

    def to_json(self) -> dict[str, Any]:
        """The JSON object Stytch uses for ``org_policy``."""
        return self.model_dump(mode="json")


class Policy(_Model):
    """A Stytch B2B RBAC policy: roles, resources and scopes."""

    roles: tuple[PolicyRole, ...] = ()
    resources: tuple[PolicyResource, ...] = ()
    scopes: tuple[PolicyScope, ...] = Field(default=())

    @classmethod
    def parse(cls, source: str | bytes | Path | Mapping[str, Any]) -> Policy:
        """Parse a policy: JSON text, bytes, a file path, or an already-decoded object.

        Accepts the whole ``GET /v1/b2b/rbac/policy`` response or its ``policy``
        object. Raises :class:`PolicyError` naming the problem for anything that
        is not a usable policy (see the module docs for what warns instead).
        """
        data = _load_json(source, "policy")
        if isinstance(data, Mapping) and "policy" in data and "roles" not in data:
            data = data["policy"]
        if isinstance(data, Mapping) and not any(k in data for k in _POLICY_KEYS):
            raise PolicyError("not a valid policy: no 'roles', 'resources' or 'scopes'")
        policy: Policy = _validate(cls, data, "policy")
        errors, _ = _project_problems(policy)
        if errors:
            raise PolicyError(errors[0])
        return policy

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """Read and parse a policy JSON file."""
        return cls.parse(Path(path))

    @classmethod
    def from_stytch(cls, policy: SDKPolicy) -> Policy:
        """Convert the stytch SDK's ``stytch.b2b.models.rbac.Policy``."""
        return cls.parse(policy.model_dump(mode="json"))

    def to_stytch(self) -> SDKPolicy:
        """Convert to the stytch SDK's ``stytch.b2b.models.rbac.Policy`` (imports the SDK)."""
        from stytch.b2b.models.rbac import Policy as SDKPolicy

        return SDKPolicy.model_validate(self.to_json())

    def to_json(self) -> dict[str, Any]:
        """The JSON object Stytch uses for ``policy`` (every field, lists not tuples)."""
        return self.model_dump(mode="json")

    def merged(self, org_policy: OrgPolicy | None) -> Policy:
        """Stytch's merge: the org's custom roles appended to the project roles.

        Resources and scopes come from the project policy only. Raises
        :class:`PolicyError` when the org policy breaks Stytch's org-policy rules.
        """
        if org_policy is None or not org_policy.roles:
            return self
        errors = _org_problems(self, org_policy)
        if errors:
            raise PolicyError(errors[0])
        return self.model_copy(update={"roles": self.roles + org_policy.roles})

    def canonical_json(self) -> str:
        """A byte-stable JSON form: every list sorted, so order in the source does not matter."""

        def grants(items: Sequence[PolicyRolePermission]) -> list[dict[str, Any]]:
            rows = [{"resource_id": p.resource_id, "actions": sorted(p.actions)} for p in items]
            return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))

        doc = {
            "resources": sorted(
                (
                    {"resource_id": r.resource_id, "description": r.description}
                    | {"actions": sorted(r.actions)}
                    for r in self.resources
                ),
                key=lambda row: str(row["resource_id"]),
            ),
            "roles": sorted(
                (
                    {"role_id": r.role_id, "description": r.description}
                    | {"permissions": grants(r.permissions)}
                    for r in self.roles
                ),
                key=lambda row: str(row["role_id"]),
            ),
            "scopes": sorted(
                (
                    {"scope": s.scope, "description": s.description}
                    | {"permissions": grants(s.permissions)}
                    for s in self.scopes
                ),
                key=lambda row: str(row["scope"]),
            ),
        }
        return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def sha256(self) -> str:
        """SHA-256 of :meth:`canonical_json`: equal for equal policies, whatever the order."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def compile(self, *, strict: bool = True) -> CompiledPolicy:
        """Index this policy for decisions (see :class:`CompiledPolicy`)."""
        return CompiledPolicy(self, strict=strict)


def _duplicates(ids: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dupes: list[str] = []
    for i in ids:
        if i in seen and i not in dupes:
            dupes.append(i)
        seen.add(i)
    return dupes


def _project_problems(policy: Policy) -> tuple[list[str], list[str]]:
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


def _org_problems(project: Policy, org: OrgPolicy) -> list[str]:
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
_Entries: TypeAlias = dict[str, dict[str, tuple[frozenset[str], Decision]]]


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
                continue  # warned at parse time: unreachable by any defined question
            if WILDCARD in perm.actions:
                wildcard[perm.resource_id].add(owner)
            for action in perm.actions:
                explicit[perm.resource_id].setdefault(action, set()).add(owner)
    return {
        r.resource_id: {
            a: frozenset(explicit[r.resource_id].get(a, set()) | wildcard[r.resource_id])
            for a in r.actions
            if a != WILDCARD
        }
        for r in resources
    }


def _entries(index: _Index) -> _Entries:
    """The index with a prebuilt denial per (resource, action), for decide()."""
    return {
        resource: {
            action: (grantors, Decision(False, resource, action))
            for action, grantors in actions.items()
        }
        for resource, actions in index.items()
    }


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
    members). With ``strict=True`` (the default) a resource or action the policy
    does not define raises :class:`UnknownPermission`; with ``strict=False`` it
    is denied. ``"*"`` is never a defined action: it is how a grant says "every
    action", not something to ask about.
    """

    __slots__ = (
        "_actions",
        "_base",
        "_entries",
        "_index",
        "_org",
        "_policy",
        "_role_ids",
        "_scope_entries",
        "scope_ids",
        "strict",
    )

    strict: bool
    scope_ids: frozenset[str]

    def __init__(self, policy: Policy, *, strict: bool = True, _warn: bool = True) -> None:
        errors, warns = _project_problems(policy)
        if errors:
            raise PolicyError(errors[0])
        if _warn:
            for message in warns:
                warnings.warn(message, PolicyWarning, stacklevel=2)
        self._policy = policy
        self._org: _OrgRoles | None = None
        self._base: CompiledPolicy | None = None
        self.strict = strict
        self._role_ids = frozenset(r.role_id for r in policy.roles)
        self.scope_ids = frozenset(s.scope for s in policy.scopes)
        self._index = _build_index(
            policy.resources, ((r.role_id, r.permissions) for r in policy.roles)
        )
        self._entries = _entries(self._index)
        self._scope_entries = _entries(
            _build_index(policy.resources, ((s.scope, s.permissions) for s in policy.scopes))
        )
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
        ``validate_org_policy`` rules (see :meth:`Policy.merged`). Cheap to keep
        one per organization: the result shares this policy's index and holds
        the org roles as small interned tuples, consulted only when the project
        roles alone deny.
        """
        if org_policy is None or not org_policy.roles:
            return self
        errors = _org_problems(self.policy, org_policy)
        if errors:
            raise PolicyError(errors[0])
        # Interned: thousands of organizations share the same ids and action names.
        roles: _OrgRoles = tuple(
            (
                sys.intern(role.role_id),
                sys.intern(role.description),
                tuple(
                    (sys.intern(p.resource_id), tuple(sys.intern(a) for a in p.actions))
                    for p in role.permissions
                ),
            )
            for role in org_policy.roles
        )
        merged = object.__new__(CompiledPolicy)
        for name in CompiledPolicy.__slots__:
            object.__setattr__(merged, name, getattr(self, name))
        merged._org = roles if self._org is None else self._org + roles
        merged._base = self.base
        return merged

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

    def allows(self, roles: Roles, resource: str, action: str) -> bool:
        """True iff one of ``roles`` grants ``action`` on ``resource``: the fast path."""
        if isinstance(roles, str):
            raise _not_a_string(roles)
        actions = self._index.get(resource)
        if actions is not None:
            grantors = actions.get(action)
            if grantors is not None:
                if not grantors.isdisjoint(roles):
                    return True
                return self._org is not None and bool(self._org_grantors(roles, resource, action))
        return self._unknown(resource, action).allowed

    def decide(self, roles: Roles, resource: str, action: str) -> Decision:
        """Like :meth:`allows`, with the granting roles (``Decision.granted_by``)."""
        if isinstance(roles, str):
            raise _not_a_string(roles)
        actions = self._entries.get(resource)
        entry = None if actions is None else actions.get(action)
        if entry is None:
            return self._unknown(resource, action)
        grantors, denied = entry
        granted_by = grantors.intersection(roles)
        if self._org is not None:
            granted_by |= self._org_grantors(roles, resource, action)
        if not granted_by:
            return denied
        decision: Decision = _new_decision(Decision)  # _allowed_decision(), inlined
        _set_allowed(decision, True)
        _set_resource(decision, denied.resource)
        _set_action(decision, denied.action)
        _set_granted_by(decision, granted_by)
        return decision

    def is_known(self, resource: str, action: str) -> bool:
        """Whether the policy defines ``action`` on ``resource``."""
        actions = self._index.get(resource)
        return actions is not None and action in actions

    def check_known(self, resource: str, action: str) -> None:
        """Raise :class:`UnknownPermission` unless the policy defines the permission."""
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

    def scope_allows(self, scopes: Iterable[str] | str, resource: str, action: str) -> bool:
        """Connected-Apps check: does one of the token's scopes grant the permission?

        ``scopes`` may be the token's space-separated ``scope`` claim. Only the
        project policy's scopes count (Stytch does not merge org roles here).
        """
        return self.scope_decide(scopes, resource, action).allowed

    def scope_decide(self, scopes: Iterable[str] | str, resource: str, action: str) -> Decision:
        """Like :meth:`scope_allows`, with the granting scopes in ``granted_by``."""
        held = scopes.split() if isinstance(scopes, str) else scopes
        actions = self._scope_entries.get(resource)
        entry = None if actions is None else actions.get(action)
        if entry is None:
            return self._unknown(resource, action)
        grantors, denied = entry
        granted_by = grantors.intersection(held)
        if not granted_by:
            return denied
        return _allowed_decision(denied.resource, denied.action, granted_by)
