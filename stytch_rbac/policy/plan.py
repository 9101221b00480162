"""Policy as code, pure: the lock file and the plan (``stytch-rbac pull / plan / push``).

The **lock file** (``stytch-rbac.lock.json``, next to the policy file, committed)
records what the last pull or push saw at Stytch: the project and environment
slugs, the runtime project id, the remote policy's sha256 (:meth:`Policy.sha256`,
order-insensitive) and a snapshot of it, and the same for each organization whose
custom roles are managed. The snapshot is what makes drift readable: when the
remote sha is no longer the locked one, the policy was "changed outside code",
and :func:`diff_policies` from the snapshot to the remote says how.

The **plan** compares the remote policy with what the local file becomes once
pushed (:func:`~stytch_rbac.policy.management.pushable`) at the level of
effective grants (:mod:`.diff`: ``*`` expanded to the resource's actions), plus
description changes, :func:`~stytch_rbac.policy.lint.lint_policy` findings, the
local approximation of Stytch's validation
(:func:`~stytch_rbac.policy.management.management_problems`, and Stytch's
org-policy rules for each organization), what a push cannot carry, and drift.
It renders as text, as markdown (for a pull-request comment) and as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ..errors import PolicyError
from .diff import Grant, PolicyDiff, diff_policies
from .lint import LintFinding, lint_policy
from .management import (
    DEFAULT_ROLES,
    STYTCH_RESOURCE_PREFIX,
    ManagementProblem,
    management_problems,
    pushable,
    unpushable,
)
from .models import OrgPolicy, Policy
from .problems import errors_of, org_problems

__all__ = [
    "LOCK_FILE_NAME",
    "LOCK_VERSION",
    "Lock",
    "LockedOrg",
    "OrgPlan",
    "Plan",
    "make_plan",
    "org_sha256",
]

#: The lock file's name, next to the policy file.
LOCK_FILE_NAME: Final = "stytch-rbac.lock.json"
#: The lock file format; a lock of another version is refused.
LOCK_VERSION: Final = 1


def org_sha256(org: OrgPolicy) -> str:
    """SHA-256 of an org policy's canonical form (order-insensitive, like :meth:`Policy.sha256`)."""
    return Policy(roles=org.roles).sha256()


@dataclass(frozen=True, slots=True)
class LockedOrg:
    """One organization's custom roles as last seen at Stytch, and the file that holds them."""

    organization_id: str
    path: str
    remote_sha256: str
    snapshot: OrgPolicy


@dataclass(frozen=True, slots=True)
class Lock:
    """What the last ``pull`` or ``push`` saw at Stytch (see the module docs)."""

    project_slug: str
    environment_slug: str
    project_id: str
    policy_path: str
    remote_sha256: str
    snapshot: Policy
    synced_at: str
    organizations: tuple[LockedOrg, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The lock file's JSON object (stable key order, for readable diffs)."""
        return {
            "version": LOCK_VERSION,
            "project_slug": self.project_slug,
            "environment_slug": self.environment_slug,
            "project_id": self.project_id,
            "synced_at": self.synced_at,
            "policy": {
                "path": self.policy_path,
                "remote_sha256": self.remote_sha256,
                "snapshot": json.loads(self.snapshot.canonical_json()),
            },
            "organizations": {
                o.organization_id: {
                    "path": o.path,
                    "remote_sha256": o.remote_sha256,
                    "snapshot": o.snapshot.to_json(),
                }
                for o in sorted(self.organizations, key=lambda o: o.organization_id)
            },
        }

    def dumps(self) -> str:
        """The lock file's text."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"

    @classmethod
    def parse(cls, data: Any) -> Lock:
        """Read a lock file's decoded JSON; raises :class:`PolicyError` naming what is wrong."""
        try:
            if not isinstance(data, Mapping):
                raise TypeError("expected a JSON object")
            if data.get("version") != LOCK_VERSION:
                raise ValueError(
                    f"version {data.get('version')!r} is not {LOCK_VERSION} (pull again)"
                )
            policy = data["policy"]
            orgs = data.get("organizations", {})
            return cls(
                project_slug=_text(data, "project_slug"),
                environment_slug=_text(data, "environment_slug"),
                project_id=_text(data, "project_id"),
                synced_at=_text(data, "synced_at"),
                policy_path=_text(policy, "path"),
                remote_sha256=_text(policy, "remote_sha256"),
                snapshot=Policy.parse(policy["snapshot"]),
                organizations=tuple(
                    LockedOrg(
                        org_id,
                        _text(entry, "path"),
                        _text(entry, "remote_sha256"),
                        OrgPolicy.parse(entry["snapshot"]),
                    )
                    for org_id, entry in orgs.items()
                ),
            )
        except PolicyError as exc:
            raise PolicyError(f"not a valid lock file: {exc}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise PolicyError(f"not a valid lock file: {what}") from None


def _text(data: Any, key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} is not a non-empty string")
    return value


def _descriptions(old: Policy, new: Policy) -> tuple[str, ...]:
    """``role 'viewer'`` for each role / resource / scope in both whose description changes."""
    changed: list[str] = []
    for kind, key, a, b in (
        ("role", "role_id", old.roles, new.roles),
        ("resource", "resource_id", old.resources, new.resources),
        ("scope", "scope", old.scopes, new.scopes),
    ):
        before = {getattr(x, key): x.description for x in a}
        for item in b:
            ident = getattr(item, key)
            if ident in before and before[ident] != item.description:
                changed.append(f"{kind} {ident!r}")
    return tuple(sorted(changed))


@dataclass(frozen=True, slots=True)
class OrgPlan:
    """The plan of one organization's custom roles (remote -> local)."""

    organization_id: str
    remote_sha256: str
    local_sha256: str
    diff: PolicyDiff
    problems: tuple[str, ...]
    drift: PolicyDiff | None
    descriptions: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether a push would change what the organization's roles grant or say."""
        return self.diff.changed or bool(self.descriptions)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "organization_id": self.organization_id,
            "changed": self.changed,
            "remote_sha256": self.remote_sha256,
            "local_sha256": self.local_sha256,
            "diff": self.diff.to_json(),
            "descriptions_changed": list(self.descriptions),
            "problems": list(self.problems),
            "drift": None if self.drift is None else self.drift.to_json(),
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """What a push of the local policy would change at Stytch, and whether it may."""

    remote: Policy
    local: Policy
    diff: PolicyDiff
    descriptions: tuple[str, ...]
    lint: tuple[LintFinding, ...]
    problems: tuple[ManagementProblem, ...]
    notes: tuple[str, ...]
    drift: PolicyDiff | None
    locked_sha256: str | None
    organizations: tuple[OrgPlan, ...] = field(default=())
    target: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def remote_sha256(self) -> str:
        """The remote policy's sha256 now (what ``push --expect-sha`` compares)."""
        return self.remote.sha256()

    @property
    def local_sha256(self) -> str:
        """The sha256 the remote policy will have after the push."""
        return self.local.sha256()

    @property
    def project_changed(self) -> bool:
        """Whether a push would change what the project policy grants, defines or says.

        A document that differs only in form (``"*"`` spelled out as the full action
        list, another order) is no change: it decides the same.
        """
        return self.diff.changed or bool(self.descriptions)

    @property
    def changed(self) -> bool:
        """Whether a push would change anything (the project or an organization)."""
        return self.project_changed or any(o.changed for o in self.organizations)

    @property
    def errors(self) -> tuple[str, ...]:
        """What Stytch is expected to refuse: a push sends nothing while one stands."""
        return tuple(str(p) for p in self.problems) + tuple(
            f"organization {o.organization_id}: {p}" for o in self.organizations for p in o.problems
        )

    @property
    def removals(self) -> tuple[str, ...]:
        """Every grant, role, resource, action or scope the push would remove, one line each."""
        out: list[str] = []
        for prefix, diff in (
            ("", self.diff),
            *((f"organization {o.organization_id}: ", o.diff) for o in self.organizations),
        ):
            out += [f"{prefix}{g}" for g in diff.grants_removed]
            out += [f"{prefix}role {r}" for r in diff.roles_removed]
            out += [f"{prefix}resource {r}" for r in diff.resources_removed]
            out += [f"{prefix}action {r}:{a}" for r, a in diff.actions_removed]
            out += [f"{prefix}scope {s}" for s in diff.scopes_removed]
        return tuple(out)

    @property
    def drifted(self) -> bool:
        """Whether Stytch changed outside code since the last pull or push."""
        return self.drift is not None or any(o.drift is not None for o in self.organizations)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``--format json``)."""
        return {
            "target": self.target,
            "changed": self.changed,
            "remote_sha256": self.remote_sha256,
            "local_sha256": self.local_sha256,
            "locked_sha256": self.locked_sha256,
            "drifted": self.drifted,
            "drift": None if self.drift is None else self.drift.to_json(),
            "diff": self.diff.to_json(),
            "descriptions_changed": list(self.descriptions),
            "removals": list(self.removals),
            "errors": list(self.errors),
            "lint": [f.to_json() for f in self.lint],
            "not_pushed": list(self.notes),
            "warnings": list(self.warnings),
            "organizations": [o.to_json() for o in self.organizations],
        }

    def to_text(self) -> str:
        """The plan for a terminal."""
        return "\n".join(_render(self, markdown=False)) + "\n"

    def to_markdown(self) -> str:
        """The plan as GitHub-flavoured markdown, for a pull-request comment."""
        return "\n".join(_render(self, markdown=True)) + "\n"


def _md_code(text: str) -> str:
    """``text`` as a markdown code span that is safe in a table cell (ids may hold ``|``
    or backticks; a code span cannot escape a backtick, so a longer fence is used)."""
    text = text.replace("|", "\\|").replace("\n", " ")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_MD_SPECIAL: Final = frozenset("\\`*_[]<>|#")


def _md_text(text: str) -> str:
    """``text`` as literal markdown: every character markdown could read as markup escaped."""
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in " ".join(text.split()))


def _grant_rows(diff: PolicyDiff) -> list[tuple[str, Grant]]:
    return [("+", g) for g in diff.grants_added] + [("-", g) for g in diff.grants_removed]


def _id_lines(diff: PolicyDiff) -> list[str]:
    lines: list[str] = []
    for title, added, removed in (
        ("roles", diff.roles_added, diff.roles_removed),
        ("resources", diff.resources_added, diff.resources_removed),
        (
            "actions",
            tuple(f"{r}:{a}" for r, a in diff.actions_added),
            tuple(f"{r}:{a}" for r, a in diff.actions_removed),
        ),
        ("scopes", diff.scopes_added, diff.scopes_removed),
    ):
        lines += [f"+ {title[:-1]} {x}" for x in added]
        lines += [f"- {title[:-1]} {x}" for x in removed]
    return lines


def _diff_block(diff: PolicyDiff, markdown: bool) -> list[str]:
    lines = _id_lines(diff)
    rows = _grant_rows(diff)
    out: list[str] = []
    if markdown:
        out += [f"- {_md_code(line)}" for line in lines]
        if rows:
            if lines:
                out.append("")
            out += ["| | holder | resource | action |", "|---|---|---|---|"]
            out += [
                f"| {'**+** added' if sign == '+' else '**-** removed'} | "
                f"{'scope' if g.scope else 'role'} {_md_code(g.holder)} | "
                f"{_md_code(g.resource)} | {_md_code(g.action)} |"
                for sign, g in rows
            ]
    else:
        out += [f"  {line}" for line in lines]
        out += [f"  {sign} {g}" for sign, g in rows]
    return out


def _summary(diff: PolicyDiff) -> str:
    return f"{len(diff.grants_added)} grant(s) added, {len(diff.grants_removed)} removed"


def _render(plan: Plan, *, markdown: bool) -> list[str]:
    def head(text: str) -> str:
        return f"#### {text}" if markdown else f"{text}:"

    def code(text: str) -> str:
        return _md_code(text) if markdown else text

    def item(text: str, *, literal: bool = True) -> str:
        if not markdown:
            return f"  {text}"
        return f"- {_md_text(text) if literal else text}"

    title = f"stytch-rbac plan{': ' + plan.target if plan.target else ''}"
    out = [f"### {title}" if markdown else title, ""]
    if not plan.changed:
        out.append("No changes: the remote policy decides as the local file does.")
    else:
        out.append(
            f"Project policy: {_summary(plan.diff)}"
            + (
                f"; descriptions of {', '.join(plan.descriptions)} change"
                if plan.descriptions
                else ""
            )
            + f" (remote {code('sha256:' + plan.remote_sha256[:12])} -> "
            f"local {code('sha256:' + plan.local_sha256[:12])})."
        )
        out.append("")
        out += _diff_block(plan.diff, markdown)
    for org in plan.organizations:
        if org.changed:
            described = f"; descriptions of {', '.join(org.descriptions)} change"
            summary = _summary(org.diff) + (described if org.descriptions else "")
            out += ["", head(f"Organization {code(org.organization_id)}: {summary}")]
            out += _diff_block(org.diff, markdown)
    if plan.drifted:
        out += ["", head("Drift: the remote changed outside code since the last pull")]
        if plan.drift is not None:
            out.append(
                item(
                    f"project policy: locked {code('sha256:' + (plan.locked_sha256 or '')[:12])}, "
                    f"now {code('sha256:' + plan.remote_sha256[:12])}",
                    literal=False,
                )
            )
            out += _diff_block(plan.drift, markdown)
        for org in plan.organizations:
            if org.drift is not None:
                out.append(item(f"organization {code(org.organization_id)}", literal=False))
                out += _diff_block(org.drift, markdown)
    if plan.removals:
        out += ["", head("Removals (push needs --allow-removals)")]
        out += [item(code(r), literal=False) for r in plan.removals]
    if plan.errors:
        out += ["", head("Errors: Stytch is expected to refuse this policy (push sends nothing)")]
        out += [item(e) for e in plan.errors]
    if plan.warnings:
        out += ["", head("Warnings")]
        out += [item(w) for w in plan.warnings]
    if plan.lint:
        out += ["", head("Lint")]
        out += [item(str(f)) for f in plan.lint]
    if plan.notes:
        out += ["", head("Not pushed (Stytch's, read-only)")]
        out += [item(n) for n in plan.notes]
    return out


def _org_plan(
    org_id: str,
    project: Policy,
    local: OrgPolicy,
    remote: OrgPolicy,
    locked: LockedOrg | None,
) -> OrgPlan:
    def as_policy(org: OrgPolicy) -> Policy:
        return project.model_copy(update={"roles": org.roles, "scopes": ()})

    remote_sha = org_sha256(remote)
    drift = None
    if locked is not None and locked.remote_sha256 != remote_sha:
        drift = diff_policies(as_policy(locked.snapshot), as_policy(remote))
    return OrgPlan(
        org_id,
        remote_sha,
        org_sha256(local),
        diff_policies(as_policy(remote), as_policy(local)),
        tuple(p.message for p in errors_of(org_problems(project, local))),
        drift,
        _descriptions(as_policy(remote), as_policy(local)),
    )


def _default_role_warnings(diff: PolicyDiff) -> tuple[str, ...]:
    """Grants on Stytch's resources a default role would lose: reported, not refused.

    Terraform's provider documents that the default roles keep the Stytch-resource
    permissions they need; Stytch's own documents neither confirm nor deny it, so the
    push is not refused, and its read-back shows what Stytch kept.
    """
    lost: dict[str, list[str]] = {}
    for g in diff.grants_removed:
        if (
            not g.scope
            and g.holder in DEFAULT_ROLES
            and g.resource.startswith(STYTCH_RESOURCE_PREFIX)
        ):
            lost.setdefault(g.holder, []).append(f"{g.resource}:{g.action}")
    return tuple(
        f"{role} loses {len(grants)} grant(s) on Stytch's resources ({', '.join(grants[:3])}"
        f"{', ...' if len(grants) > 3 else ''}); Stytch may refuse this or keep them "
        "(unverified), the read-back after push will tell"
        for role, grants in sorted(lost.items())
    )


def make_plan(
    local: Policy,
    remote: Policy,
    *,
    lock: Lock | None = None,
    organizations: Sequence[tuple[str, OrgPolicy, OrgPolicy]] = (),
    admin_roles: Sequence[str] = ("stytch_admin",),
    target: str = "",
) -> Plan:
    """The plan of pushing ``local`` over ``remote`` (see the module docs).

    ``organizations`` are ``(organization_id, local org policy, remote org policy)``;
    ``lock`` (the last pull's) turns a remote that moved since into drift.
    """
    pushed = pushable(local, remote)
    drift = None
    if lock is not None and lock.remote_sha256 != remote.sha256():
        drift = diff_policies(lock.snapshot, remote)
    locked_orgs = {o.organization_id: o for o in lock.organizations} if lock else {}
    diff = diff_policies(remote, pushed)
    return Plan(
        remote=remote,
        local=pushed,
        diff=diff,
        warnings=_default_role_warnings(diff),
        descriptions=_descriptions(remote, pushed),
        lint=tuple(lint_policy(pushed, admin_roles=admin_roles)),
        problems=tuple(management_problems(pushed)),
        notes=tuple(unpushable(local, remote)),
        drift=drift,
        locked_sha256=lock.remote_sha256 if lock else None,
        organizations=tuple(
            _org_plan(org_id, pushed, mine, theirs, locked_orgs.get(org_id))
            for org_id, mine, theirs in organizations
        ),
        target=target,
    )
