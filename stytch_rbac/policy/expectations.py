"""Policy tests: a file of "these roles may (not) do this" rows, checked against a policy.

The same files drive ``stytch-rbac test FILE`` and the pytest plugin, which
collects each row as a test item. A file is YAML (``.yaml``/``.yml``), TOML
(``.toml``) or JSON (``.json``) with this shape (YAML shown)::

    policy: policy.json            # optional: the policy file, relative to this file
    organizations:                 # optional: organizations with custom roles
      acme:                        # a name the rows refer to
        organization_id: organization-test-123   # optional, see below
        roles:                     # the organization's custom roles (org_policy roles)
          - role_id: acme_auditor
            permissions:
              - {resource_id: documents, actions: [read]}
    expectations:
      # grouped form: a role set, then "resource:action" lists
      - roles: viewer                      # one role id, or a list held together
        allow: [documents:read, projects:read]
        deny: [documents:delete, "billing:*"]
      # one resource, plain action names
      - {roles: [editor], resource: documents, allow: [edit, share], deny: [delete]}
      # one row, one answer
      - {roles: developer, resource: webhooks, action: delete, expect: allow}
      # inside an organization, with its custom roles merged (Stytch's merge rule)
      - {roles: acme_auditor, organization: acme, allow: [documents:read]}

Each row may also carry a ``name``. An action ``"*"`` means every action the
resource defines: ``allow`` then needs all of them, ``deny`` none of them.

A row fails when the policy answers otherwise, and also when it names a role,
resource or action the policy does not define: a test about a role that does
not exist would otherwise pass as "deny" forever. When the policy is the live
one (``--from-stytch``), an organization with an ``organization_id`` and no
``roles`` has its custom roles fetched from Stytch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ..errors import PolicyError, StytchRBACError, UnknownPermission
from ..permissions import Permission
from .compiled import CompiledPolicy
from .models import OrgPolicy, Policy

__all__ = [
    "EXPECTATION_SUFFIXES",
    "Expectation",
    "ExpectationFileError",
    "ExpectationResult",
    "ExpectationRunner",
    "ExpectationSuite",
    "OrganizationSpec",
    "load_expectations",
    "parse_expectations",
    "run_expectations",
]

EXPECTATION_SUFFIXES: Final = (".yaml", ".yml", ".toml", ".json")
"""File name endings :func:`load_expectations` reads."""

_WILDCARD: Final = "*"
_ROW_KEYS: Final = frozenset(
    {"name", "roles", "organization", "resource", "action", "expect", "allow", "deny"}
)
_TOP_KEYS: Final = frozenset({"policy", "organizations", "expectations"})
_ORG_KEYS: Final = frozenset({"organization_id", "roles"})


class ExpectationFileError(StytchRBACError, ValueError):
    """A policy-test file cannot be read or does not have the documented shape."""


@dataclass(frozen=True, slots=True)
class OrganizationSpec:
    """An organization of a policy-test file: its name, optional id, optional custom roles."""

    name: str
    organization_id: str | None = None
    org_policy: OrgPolicy | None = None


@dataclass(frozen=True, slots=True)
class Expectation:
    """One question and its expected answer: may ``roles`` do ``action`` on ``resource``?"""

    roles: tuple[str, ...]
    resource: str
    action: str
    allow: bool
    organization: str | None = None
    name: str | None = None
    #: Where the row is: ``"<file>: row 3"`` (rows counted from 1 in ``expectations``).
    location: str = ""

    @property
    def id(self) -> str:
        """A short stable label, e.g. ``"viewer documents:read allow"`` (pytest item ids)."""
        roles = "+".join(self.roles) or "(no roles)"
        org = f"@{self.organization} " if self.organization else ""
        label = f"{org}{roles} {self.resource}:{self.action} {'allow' if self.allow else 'deny'}"
        return f"{self.name}: {label}" if self.name else label


@dataclass(frozen=True, slots=True)
class ExpectationResult:
    """The outcome of one :class:`Expectation` against one policy."""

    expectation: Expectation
    passed: bool
    #: The policy's answer (for ``"*"``: whether every action is allowed); None on error.
    allowed: bool | None
    #: Roles that grant it (for ``"*"``: that grant some action).
    granted_by: frozenset[str] = frozenset()
    #: For ``"*"``: the actions whose answer differs from the expectation.
    mismatched: tuple[str, ...] = ()
    #: Why the row could not be checked (an unknown role, resource or action).
    error: str | None = None

    @property
    def message(self) -> str:
        """One line saying what happened, for reports."""
        exp = self.expectation
        if self.error is not None:
            return self.error
        want = "allow" if exp.allow else "deny"
        if self.passed:
            by = f" (granted by {', '.join(sorted(self.granted_by))})" if self.granted_by else ""
            return f"{want} as expected{by}"
        if self.mismatched:
            verb = "denied" if exp.allow else "allowed"
            return f"expected {want}, but {verb}: {', '.join(self.mismatched)}"
        if exp.allow:
            return "expected allow, but no role grants it"
        return f"expected deny, but granted by {', '.join(sorted(self.granted_by))}"


@dataclass(frozen=True, slots=True)
class ExpectationSuite:
    """A parsed policy-test file."""

    expectations: tuple[Expectation, ...]
    organizations: Mapping[str, OrganizationSpec] = field(default_factory=dict)
    #: The ``policy`` key, resolved against the file's folder; None when absent.
    policy_path: Path | None = None
    #: The file it was read from; None when parsed from data.
    path: Path | None = None

    def __iter__(self) -> Iterator[Expectation]:
        return iter(self.expectations)

    def __len__(self) -> int:
        return len(self.expectations)

    def load_policy(self) -> Policy:
        """Read the policy named by the file's ``policy`` key.

        Raises :class:`ExpectationFileError` when the file names none, and
        :class:`PolicyError` when that policy cannot be used.
        """
        if self.policy_path is None:
            where = f"{self.path}" if self.path else "the expectations"
            raise ExpectationFileError(f"{where} names no 'policy' file; give one explicitly")
        return Policy.from_file(self.policy_path)

    def runner(
        self,
        policy: Policy | CompiledPolicy,
        *,
        org_policies: Mapping[str, OrgPolicy] | None = None,
    ) -> ExpectationRunner:
        """An :class:`ExpectationRunner` for this suite against ``policy``."""
        return ExpectationRunner(self, policy, org_policies=org_policies)


class ExpectationRunner:
    """Checks expectations of one suite against one policy, merging each org once.

    ``org_policies`` (organization name -> custom roles) overrides the roles a
    file gives inline; the CLI uses it for roles fetched from Stytch.
    """

    def __init__(
        self,
        suite: ExpectationSuite,
        policy: Policy | CompiledPolicy,
        *,
        org_policies: Mapping[str, OrgPolicy] | None = None,
    ) -> None:
        self.suite = suite
        self.policy: CompiledPolicy = (
            policy if isinstance(policy, CompiledPolicy) else CompiledPolicy(policy)
        )
        self._org_policies = dict(org_policies or {})
        self._merged: dict[str, CompiledPolicy | PolicyError] = {}

    def _policy_for(self, organization: str | None) -> CompiledPolicy:
        if organization is None:
            return self.policy
        cached = self._merged.get(organization)
        if cached is None:
            spec = self.suite.organizations.get(organization)
            org = self._org_policies.get(organization) or (spec.org_policy if spec else None)
            try:
                cached = self.policy.with_org(org)
            except PolicyError as exc:
                cached = exc
            self._merged[organization] = cached
        if isinstance(cached, PolicyError):
            raise cached
        return cached

    def check(self, expectation: Expectation) -> ExpectationResult:
        """Answer one expectation; never raises for a policy that lacks a name (it fails)."""
        exp = expectation
        try:
            compiled = self._policy_for(exp.organization)
        except PolicyError as exc:
            return ExpectationResult(
                exp, False, None, error=f"organization {exp.organization!r}: {exc}"
            )
        unknown = [r for r in exp.roles if r not in compiled.role_ids]
        if unknown:
            where = f" (with organization {exp.organization!r})" if exp.organization else ""
            return ExpectationResult(
                exp,
                False,
                None,
                error=f"role {unknown[0]!r} is not defined in the policy{where}",
            )
        try:
            if exp.action == _WILDCARD:
                if exp.resource not in compiled.resources:
                    raise UnknownPermission(exp.resource)
                return self._check_all(compiled, exp)
            decision = compiled.decide(exp.roles, exp.resource, exp.action)
        except UnknownPermission as exc:
            return ExpectationResult(exp, False, None, error=str(exc))
        return ExpectationResult(
            exp, decision.allowed == exp.allow, decision.allowed, decision.granted_by
        )

    @staticmethod
    def _check_all(compiled: CompiledPolicy, exp: Expectation) -> ExpectationResult:
        granted_by: set[str] = set()
        mismatched: list[str] = []
        every = True
        for action in compiled.resources[exp.resource]:
            decision = compiled.decide(exp.roles, exp.resource, action)
            granted_by |= decision.granted_by
            every = every and decision.allowed
            if decision.allowed != exp.allow:
                mismatched.append(action)
        return ExpectationResult(
            exp, not mismatched, every, frozenset(granted_by), tuple(mismatched)
        )

    def run(self) -> list[ExpectationResult]:
        """Check every expectation of the suite, in file order."""
        return [self.check(exp) for exp in self.suite.expectations]


def run_expectations(
    suite: ExpectationSuite,
    policy: Policy | CompiledPolicy | None = None,
    *,
    org_policies: Mapping[str, OrgPolicy] | None = None,
) -> list[ExpectationResult]:
    """Check every expectation; ``policy`` defaults to the file's own ``policy`` key."""
    return suite.runner(
        suite.load_policy() if policy is None else policy, org_policies=org_policies
    ).run()


# --- reading files ---------------------------------------------------------------------------


def _read_document(path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix not in EXPECTATION_SUFFIXES:
        raise ExpectationFileError(
            f"{path}: unknown file type {suffix or '(none)'!r}; use one of "
            + ", ".join(EXPECTATION_SUFFIXES)
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExpectationFileError(f"expectations file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExpectationFileError(f"cannot read expectations file {path}: {exc}") from None
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ExpectationFileError(f"{path} is not valid JSON: {exc}") from None
    if suffix == ".toml":
        return _parse_toml(path, text)
    return _parse_yaml(path, text)


def _parse_toml(path: Path, text: str) -> Any:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExpectationFileError(f"{path} is not valid TOML: {exc}") from None


def _parse_yaml(path: Path, text: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise ExpectationFileError(
            f"{path}: reading YAML needs PyYAML: pip install 'stytch-rbac[yaml]'"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())
        raise ExpectationFileError(f"{path} is not valid YAML: {first}") from None


def load_expectations(path: str | Path) -> ExpectationSuite:
    """Read a policy-test file (format in the module docs).

    Raises :class:`ExpectationFileError` naming the file and the problem.
    """
    path = Path(path)
    return parse_expectations(
        _read_document(path), base_dir=path.parent, source=str(path), path=path
    )


def _strings(value: Any, where: str, what: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise ExpectationFileError(f"{where}: {what} must be a string or a list of strings")
    return tuple(items)


def _organizations(raw: Any, source: str) -> dict[str, OrganizationSpec]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ExpectationFileError(f"{source}: 'organizations' must be a table of names")
    orgs: dict[str, OrganizationSpec] = {}
    for name, spec in raw.items():
        where = f"{source}: organizations.{name}"
        if not isinstance(spec, Mapping):
            raise ExpectationFileError(f"{where} must be a table")
        extra = sorted(set(spec) - _ORG_KEYS)
        if extra:
            raise ExpectationFileError(
                f"{where}: unknown key {extra[0]!r} (allowed: {', '.join(sorted(_ORG_KEYS))})"
            )
        org_id = spec.get("organization_id")
        if org_id is not None and not isinstance(org_id, str):
            raise ExpectationFileError(f"{where}: organization_id must be a string")
        org_policy = None
        if "roles" in spec:
            try:
                org_policy = OrgPolicy.parse({"roles": spec["roles"]})
            except PolicyError as exc:
                raise ExpectationFileError(f"{where}: {exc}") from None
        orgs[str(name)] = OrganizationSpec(str(name), org_id, org_policy)
    return orgs


def _row(row: Any, where: str, organizations: Mapping[str, OrganizationSpec]) -> list[Expectation]:
    if not isinstance(row, Mapping):
        raise ExpectationFileError(f"{where} must be a table")
    extra = sorted(set(row) - _ROW_KEYS)
    if extra:
        raise ExpectationFileError(
            f"{where}: unknown key {extra[0]!r} (allowed: {', '.join(sorted(_ROW_KEYS))})"
        )
    if "roles" not in row:
        raise ExpectationFileError(f"{where}: 'roles' is required")
    roles = _strings(row["roles"], where, "roles")
    org = row.get("organization")
    if org is not None and (not isinstance(org, str) or org not in organizations):
        known = ", ".join(sorted(organizations)) or "none defined"
        raise ExpectationFileError(
            f"{where}: organization {org!r} is not in 'organizations' ({known})"
        )
    name = row.get("name")
    if name is not None and not isinstance(name, str):
        raise ExpectationFileError(f"{where}: name must be a string")
    resource = row.get("resource")
    if resource is not None and (not isinstance(resource, str) or not resource.strip()):
        raise ExpectationFileError(f"{where}: resource must be a non-empty string")

    def make(res: str, action: str, allow: bool) -> Expectation:
        return Expectation(roles, res, action, allow, org, name, where)

    if "action" in row or "expect" in row:
        if "allow" in row or "deny" in row:
            raise ExpectationFileError(
                f"{where}: use either action + expect, or allow / deny lists, not both"
            )
        action, expect = row.get("action"), row.get("expect")
        if resource is None or not isinstance(action, str) or not action.strip():
            raise ExpectationFileError(f"{where}: a single check needs resource and action")
        if expect not in ("allow", "deny"):
            raise ExpectationFileError(f"{where}: expect must be 'allow' or 'deny', got {expect!r}")
        return [make(resource, action, expect == "allow")]
    if "allow" not in row and "deny" not in row:
        raise ExpectationFileError(
            f"{where}: nothing to check; give allow / deny lists, or action + expect"
        )
    cases: list[Expectation] = []
    for key in ("allow", "deny"):
        if key not in row:
            continue
        for item in _strings(row[key], where, key):
            if resource is not None:
                cases.append(make(resource, item, key == "allow"))
                continue
            try:
                parsed = Permission.parse(item)
            except ValueError:
                raise ExpectationFileError(
                    f"{where}: {key} entry {item!r} is not 'resource:action' with one ':' "
                    "(or give 'resource' and plain actions)"
                ) from None
            cases.append(make(parsed.resource, parsed.action, key == "allow"))
    return cases


def parse_expectations(
    data: Any,
    *,
    base_dir: str | Path | None = None,
    source: str = "expectations",
    path: Path | None = None,
) -> ExpectationSuite:
    """Build a suite from already-decoded data (a dict shaped like the file format).

    ``base_dir`` resolves a relative ``policy`` path; ``source`` prefixes messages.
    """
    if not isinstance(data, Mapping):
        raise ExpectationFileError(f"{source}: expected a table with an 'expectations' list")
    extra = sorted(set(data) - _TOP_KEYS)
    if extra:
        raise ExpectationFileError(
            f"{source}: unknown key {extra[0]!r} (allowed: {', '.join(sorted(_TOP_KEYS))})"
        )
    rows = data.get("expectations")
    if not isinstance(rows, list) or not rows:
        raise ExpectationFileError(f"{source}: 'expectations' must be a non-empty list of rows")
    organizations = _organizations(data.get("organizations"), source)
    expectations: list[Expectation] = []
    for index, row in enumerate(rows, start=1):
        expectations.extend(_row(row, f"{source}: row {index}", organizations))
    policy_path: Path | None = None
    raw_policy = data.get("policy")
    if raw_policy is not None:
        if not isinstance(raw_policy, str) or not raw_policy.strip():
            raise ExpectationFileError(f"{source}: 'policy' must be a file path")
        policy_path = Path(raw_policy)
        if not policy_path.is_absolute() and base_dir is not None:
            policy_path = Path(os.path.normpath(Path(base_dir) / policy_path))
    return ExpectationSuite(tuple(expectations), organizations, policy_path, path)
