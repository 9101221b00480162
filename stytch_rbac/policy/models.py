"""Pydantic models of Stytch's RBAC policy JSON, and Stytch's org merge.

The models parse exactly what ``GET /v1/b2b/rbac/policy`` returns (the whole
response or its ``policy`` object) and what ``GET /v1/b2b/rbac/organizations/{id}``
returns (``org_policy``). What is an error and what a warning is written out in
:mod:`stytch_rbac.policy` and checked by :mod:`.problems`, once per policy
(``Policy.problems``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, TypeAlias

import pydantic
from pydantic import BaseModel, ConfigDict, Field, Strict

from ..errors import PolicyError
from .problems import (
    Grant,
    Owner,
    PolicyProblem,
    Resource,
    flat_owner,
    grants_of,
    org_problems,
    project_problems,
    raise_first_error,
)

if TYPE_CHECKING:
    from stytch.b2b.models.rbac import OrgPolicy as SDKOrgPolicy
    from stytch.b2b.models.rbac import Policy as SDKPolicy

    from .compiled import CompiledPolicy

__all__ = [
    "WILDCARD",
    "OrgPolicy",
    "Policy",
    "PolicyResource",
    "PolicyRole",
    "PolicyRolePermission",
    "PolicyScope",
    "PolicyScopePermission",
    "Roles",
]

WILDCARD: Final = "*"

# Strict: a number where Stytch sends a string is a malformed policy, not "1".
Str = Annotated[str, Strict()]

Roles: TypeAlias = Iterable[str]
"""Role ids of a subject: a frozenset is fastest; any iterable of str works."""


class _Model(BaseModel):
    """Base of the policy models: immutable, and unknown fields of Stytch's answers ignored."""

    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True, extra="ignore")


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
# Where a Policy keeps its problems, in its instance __dict__ (not a field: not dumped,
# not compared): ((roles, resources, scopes), problems). The fields are kept to notice
# a model_copy(update=...), which copies __dict__ and so this entry with it.
_PROBLEMS_KEY: Final = "_stytch_rbac_problems"


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


def _validate_policy(cls: type[Policy], data: Any) -> Policy:
    """:func:`_validate` of a policy, one role, resource or scope per pydantic call.

    One call for a whole 10,000-role policy holds the GIL for about half a second,
    which a worker thread compiling the policy cannot give back to the event loop;
    one call per item holds it for microseconds. The items validated, the policy is
    assembled from them (model instances are not validated again). Whatever does
    not validate is validated again whole, for :func:`_validate`'s message.
    """
    if isinstance(data, Mapping):
        items: dict[str, tuple[_Model, ...]] = {}
        try:
            for key, model in _ITEM_MODELS:
                if key in data:
                    value = data[key]
                    if not isinstance(value, (list, tuple)):
                        raise ValueError(key)  # not an array: the whole validation says so
                    items[key] = tuple(model.model_validate(item) for item in value)
            return cls.model_validate(items)
        except ValueError:  # pydantic's ValidationError is one
            pass
    policy: Policy = _validate(cls, data, "policy")
    return policy


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
        from .._stytch.sdk_models import rbac

        return rbac.OrgPolicy.model_validate(self.to_json())

    def to_json(self) -> dict[str, Any]:
        """The JSON object Stytch uses for ``org_policy``."""
        return self.model_dump(mode="json")


def canonical_json_of(
    resources: Iterable[Resource], roles: Iterable[Owner], scopes: Iterable[Owner]
) -> str:
    """:meth:`Policy.canonical_json` of a policy given as plain tuples (the form a
    :class:`~stytch_rbac.CompiledPolicy` keeps), so that no model need be built for it."""

    def grants(owner: Owner) -> list[dict[str, Any]]:
        rows = [
            {"resource_id": rid, "actions": sorted(actions)} for rid, actions in grants_of(owner)
        ]
        return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))

    doc = {
        "resources": sorted(
            (
                {"resource_id": rid, "description": description, "actions": sorted(actions)}
                for rid, description, actions in resources
            ),
            key=lambda row: str(row["resource_id"]),
        ),
        "roles": sorted(
            (
                {"role_id": role[0], "description": role[1], "permissions": grants(role)}
                for role in roles
            ),
            key=lambda row: str(row["role_id"]),
        ),
        "scopes": sorted(
            (
                {"scope": scope[0], "description": scope[1], "permissions": grants(scope)}
                for scope in scopes
            ),
            key=lambda row: str(row["scope"]),
        ),
    }
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


_ITEM_MODELS: Final[tuple[tuple[str, type[_Model]], ...]] = (
    ("roles", PolicyRole),
    ("resources", PolicyResource),
    ("scopes", PolicyScope),
)


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
        is not a usable policy; the oddities Stytch accepts are warnings instead,
        kept in :attr:`problems` (see the module docs).
        """
        data = _load_json(source, "policy")
        if isinstance(data, Mapping) and "policy" in data and "roles" not in data:
            data = data["policy"]
        if isinstance(data, Mapping) and not any(k in data for k in _POLICY_KEYS):
            raise PolicyError("not a valid policy: no 'roles', 'resources' or 'scopes'")
        policy = _validate_policy(cls, data)
        raise_first_error(policy.problems)
        return policy

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """Read and parse a policy JSON file."""
        return cls.parse(Path(path))

    @classmethod
    def from_stytch(cls, policy: SDKPolicy) -> Policy:
        """Convert the stytch SDK's ``stytch.b2b.models.rbac.Policy``."""
        return cls.parse(policy.model_dump(mode="json"))

    @property
    def problems(self) -> tuple[PolicyProblem, ...]:
        """Every problem of this policy (errors and warnings, in the order found), computed once.

        A parsed policy has no errors (``parse`` raises :class:`PolicyError` for
        the first); one built in code may. Codes and severities:
        :mod:`stytch_rbac.policy.problems`.
        """
        fields = (self.roles, self.resources, self.scopes)
        cached = self.__dict__.get(_PROBLEMS_KEY)
        if cached is not None and all(a is b for a, b in zip(cached[0], fields, strict=True)):
            problems: tuple[PolicyProblem, ...] = cached[1]
            return problems
        problems = project_problems(self)
        self.__dict__[_PROBLEMS_KEY] = (fields, problems)
        return problems

    def to_stytch(self) -> SDKPolicy:
        """Convert to the stytch SDK's ``stytch.b2b.models.rbac.Policy`` (imports the SDK)."""
        from .._stytch.sdk_models import rbac

        return rbac.Policy.model_validate(self.to_json())

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
        raise_first_error(org_problems(self, org_policy))
        return self.model_copy(update={"roles": self.roles + org_policy.roles})

    def canonical_json(self) -> str:
        """A byte-stable JSON form: every list sorted, so order in the source does not matter."""

        def grants(items: Sequence[PolicyRolePermission]) -> list[Grant]:
            return [(p.resource_id, p.actions) for p in items]

        return canonical_json_of(
            [(r.resource_id, r.description, r.actions) for r in self.resources],
            [flat_owner(r.role_id, r.description, grants(r.permissions)) for r in self.roles],
            [flat_owner(s.scope, s.description, grants(s.permissions)) for s in self.scopes],
        )

    def sha256(self) -> str:
        """SHA-256 of :meth:`canonical_json`: equal for equal policies, whatever the order."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def compile(self, *, strict: bool = True) -> CompiledPolicy:
        """Index this policy for decisions (see :class:`CompiledPolicy`)."""
        from .compiled import CompiledPolicy

        return CompiledPolicy(self, strict=strict)
