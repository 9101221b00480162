"""Typed permissions: render a Stytch RBAC policy into a Python module, and check drift.

>>> from stytch_rbac import Policy
>>> from stytch_rbac.codegen import render_module
>>> source = render_module(Policy.from_file("examples/policy.json"))

The generated module defines ``Resource``, one ``<Name>Action`` enum per resource,
``Role``, ``Scope``, ``P`` (``P.documents.edit`` is a typed ``Permission``) and an
overloaded ``permission(resource, action)``. The same policy always renders to the
same bytes, whatever the order of its lists; the header carries the policy's
sha256 and the generator's major.minor version (so output changes, and ``--check``
fails, after an upgrade that may change it, not after every patch release).
Identifier rules: :mod:`stytch_rbac.codegen._names`.

:func:`drift` compares an imported generated module with a policy (the live one,
at start-up, through ``StytchRBAC.verify``): the ids part of the policy diff
(:func:`stytch_rbac.policy.diff.diff_ids`), from the module's ids to the policy's.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import ModuleType
from typing import Literal, TypeAlias

from ..errors import PolicyError
from ..permissions import ActionEnum
from ..policy import CompiledPolicy, Policy
from ..policy.diff import PolicyIds, diff_ids
from ._render import build_model, header_command, render
from ._render_ts import render_typescript_module, ts_header_command

__all__ = [
    "Drift",
    "Lang",
    "PolicyDriftError",
    "Staleness",
    "check",
    "default_command",
    "drift",
    "generate",
    "generator_version",
    "header_command",
    "render_module",
    "render_stub",
    "render_typescript",
    "ts_header_command",
]


Lang: TypeAlias = Literal["python", "ts"]
"""The language of a generated module: Python (``.py`` / ``.pyi``) or TypeScript (``.ts``)."""


def generator_version() -> str:
    """The ``major.minor`` of the installed stytch-rbac: what the generated header records."""
    from .._version import __version__

    major, minor, *_ = __version__.split(".")
    return f"{major}.{minor}"


def default_command(
    *,
    policy: str | None = None,
    output: str | None = None,
    stub: bool = False,
    lang: Lang = "python",
) -> str:
    """The ``stytch-rbac generate ...`` line the header shows for regenerating the file."""
    source = "--from-stytch" if policy is None else f"--policy {policy}"
    if lang == "ts":
        return f"stytch-rbac generate --lang ts {source} --output {output or 'permissions.ts'}"
    target = output or ("permissions.pyi" if stub else "permissions.py")
    return f"stytch-rbac generate {source}{' --stub' if stub else ''} --output {target}"


def _as_policy(policy: Policy | CompiledPolicy) -> Policy:
    return policy.policy if isinstance(policy, CompiledPolicy) else policy


def render_module(policy: Policy | CompiledPolicy, *, command: str | None = None) -> str:
    """The typed module (``permissions.py``) for ``policy``, as text.

    ``command`` is the regenerate line written in the header (default: a
    ``stytch-rbac generate --policy ...`` template). Raises :class:`PolicyError`
    when the policy defines no resources.
    """
    model = build_model(
        _as_policy(policy),
        version=generator_version(),
        command=command or default_command(policy="policy.json"),
    )
    return render(model, stub=False)


def render_stub(policy: Policy | CompiledPolicy, *, command: str | None = None) -> str:
    """The ``.pyi`` stub of :func:`render_module`'s module: the same names, types only."""
    model = build_model(
        _as_policy(policy),
        version=generator_version(),
        command=command or default_command(policy="policy.json", stub=True),
    )
    return render(model, stub=True)


def render_typescript(policy: Policy | CompiledPolicy, *, command: str | None = None) -> str:
    """The TypeScript module (``permissions.ts``) for Stytch's frontend SDKs: ``Permissions``
    (what ``allPermissions<Permissions>()`` takes), a typed ``can(client, resource, action)``,
    const arrays of resources, roles and scopes, and the policy's sha256 in the header."""
    return render_typescript_module(
        _as_policy(policy),
        version=generator_version(),
        command=command or default_command(policy="policy.json", lang="ts"),
    )


def generate(
    policy: Policy | CompiledPolicy,
    *,
    stub: bool = False,
    command: str | None = None,
    lang: Lang = "python",
) -> str:
    """:func:`render_typescript` for ``lang="ts"``, else :func:`render_stub` if ``stub`` else
    :func:`render_module`."""
    if lang == "ts":
        return render_typescript(policy, command=command)
    return (render_stub if stub else render_module)(policy, command=command)


@dataclass(frozen=True, slots=True)
class Staleness:
    """The result of :func:`check`: whether a file matches what the policy renders to."""

    path: Path
    current: bool
    diff: str
    """A unified diff from the file on disk to the fresh rendering (empty when current)."""

    def __bool__(self) -> bool:
        return self.current


def check(
    path: str | Path,
    policy: Policy | CompiledPolicy,
    *,
    stub: bool | None = None,
    command: str | None = None,
    lang: Lang | None = None,
) -> Staleness:
    """Compare the file at ``path`` with a fresh rendering of ``policy``.

    ``stub`` defaults to ``path`` ending in ``.pyi``, ``lang`` to ``"ts"`` for a ``.ts``
    path (else ``"python"``). ``command`` defaults to the
    regenerate line already in the file's header, so the paths a file was
    generated with (relative to another directory, say) do not make it stale;
    everything else must match byte for byte. A missing file is stale (the diff
    adds every line).
    """
    path = Path(path)
    is_stub = path.suffix == ".pyi" if stub is None else stub
    if lang is None:
        lang = "ts" if path.suffix == ".ts" else "python"
    try:
        actual = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        actual = ""
    if command is None:
        command = ts_header_command(actual) if lang == "ts" else header_command(actual)
    expected = generate(policy, stub=is_stub, command=command, lang=lang)
    if actual == expected:
        return Staleness(path, True, "")
    diff = difflib.unified_diff(
        actual.splitlines(keepends=True),
        expected.splitlines(keepends=True),
        fromfile=f"{path.as_posix()} (on disk)",
        tofile=f"{path.as_posix()} (generated)",
    )
    lines = (
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in diff
    )
    return Staleness(path, False, "".join(lines))


# --- drift ---------------------------------------------------------------------------------------


class PolicyDriftError(PolicyError):
    """A generated permissions module no longer matches the policy (``verify(strict=True)``)."""

    def __init__(self, drift: Drift) -> None:
        super().__init__(f"generated permissions are out of date with the policy: {drift}")
        self.drift = drift


@dataclass(frozen=True, slots=True)
class Drift:
    """The differences between a generated module and a policy.

    "Added" is in the policy but not in the module (regenerate to use it);
    "removed" is in the module but no longer in the policy (code using it will be
    denied or raise :class:`~stytch_rbac.UnknownPermission`). Actions of a
    resource that was added or removed as a whole are not listed again. Empty
    (falsy) when the ids match; descriptions and role grants are not compared.
    """

    resources_added: tuple[str, ...] = ()
    resources_removed: tuple[str, ...] = ()
    actions_added: tuple[tuple[str, str], ...] = ()
    actions_removed: tuple[tuple[str, str], ...] = ()
    roles_added: tuple[str, ...] = ()
    roles_removed: tuple[str, ...] = ()
    scopes_added: tuple[str, ...] = ()
    scopes_removed: tuple[str, ...] = ()
    module_sha256: str | None = field(default=None, compare=False)
    policy_sha256: str | None = field(default=None, compare=False)

    def __bool__(self) -> bool:
        return not self.is_empty

    @property
    def is_empty(self) -> bool:
        """True when the module and the policy define the same ids."""
        return not any(
            (
                self.resources_added,
                self.resources_removed,
                self.actions_added,
                self.actions_removed,
                self.roles_added,
                self.roles_removed,
                self.scopes_added,
                self.scopes_removed,
            )
        )

    def __str__(self) -> str:
        if self.is_empty:
            return "no drift: the module has exactly the policy's resources, actions, roles, scopes"
        parts: list[str] = []

        def add(label: str, items: Iterable[str]) -> None:
            shown = list(items)
            if shown:
                parts.append(f"{label}: {', '.join(shown)}")

        add("resources added", map(repr, self.resources_added))
        add("resources removed", map(repr, self.resources_removed))
        add("actions added", (f"{r}:{a}" for r, a in self.actions_added))
        add("actions removed", (f"{r}:{a}" for r, a in self.actions_removed))
        add("roles added", map(repr, self.roles_added))
        add("roles removed", map(repr, self.roles_removed))
        add("scopes added", map(repr, self.scopes_added))
        add("scopes removed", map(repr, self.scopes_removed))
        return "; ".join(parts)


def _enum(module: object, name: str) -> type[Enum]:
    value = getattr(module, name, None)
    if not (isinstance(value, type) and issubclass(value, Enum)):
        shown = getattr(module, "__name__", type(module).__name__)
        raise TypeError(f"{shown!r} is not a module generated by stytch-rbac (no enum {name!r})")
    return value


def _module_ids(module: object) -> PolicyIds:
    """The resources (with their actions), roles and scopes a generated module declares."""
    resource_enum, role_enum, scope_enum = (_enum(module, n) for n in ("Resource", "Role", "Scope"))
    actions: dict[str, frozenset[str]] = {str(r.value): frozenset() for r in resource_enum}
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, ActionEnum)
            and "__resource__" in vars(value)
        ):
            actions[str(value.__resource__)] = frozenset(str(a.value) for a in value)
    roles = frozenset(str(r.value) for r in role_enum)
    scopes = frozenset(str(s.value) for s in scope_enum)
    return PolicyIds(actions, roles, scopes)


def drift(module: ModuleType, policy: Policy | CompiledPolicy) -> Drift:
    """What differs between a generated permissions ``module`` and ``policy``.

    ``module`` is the imported generated module (anything with its ``Resource``,
    ``Role``, ``Scope`` and action enums). Raises :class:`TypeError` for an object
    that is not such a module.
    """
    policy = _as_policy(policy)
    delta = diff_ids(_module_ids(module), PolicyIds.of(policy))
    return Drift(
        resources_added=delta.resources_added,
        resources_removed=delta.resources_removed,
        actions_added=delta.actions_added,
        actions_removed=delta.actions_removed,
        roles_added=delta.roles_added,
        roles_removed=delta.roles_removed,
        scopes_added=delta.scopes_added,
        scopes_removed=delta.scopes_removed,
        module_sha256=_module_sha(module),
        policy_sha256=policy.sha256(),
    )


def _module_sha(module: object) -> str | None:
    value = getattr(module, "POLICY_SHA256", None)
    return value if isinstance(value, str) else None
