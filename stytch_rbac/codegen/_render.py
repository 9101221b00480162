"""Render a policy into Python source: the typed module (``.py``) and its stub (``.pyi``).

The output is built line by line so that it is already in the shape ``ruff format``
gives it (line length 100): a statement that fits stays on one line, one that
does not is split the one way ruff would split it. Nothing here depends on the
installed ruff; the hypothesis tests check the claim against it.

Every string taken from the policy is written with ASCII escapes only (``é`` as
``\\xe9``): the value at run time is the id byte for byte, and the source has no
ambiguous Unicode for linters to flag.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import PolicyError
from ..policy import CompiledPolicy, Policy
from ..policy.models import WILDCARD
from ._names import Names, assign

__all__ = ["LINE_LENGTH", "Model", "build_model", "header_command", "render"]

LINE_LENGTH = 100
_INDENT = "    "


@dataclass(frozen=True, slots=True)
class ResourceModel:
    """One resource with the names of its enum member, classes and actions."""

    names: Names
    description: str
    actions: tuple[Names, ...]
    #: Per action (same order): the names of the policy scopes granting it, sorted by id.
    scopes: tuple[tuple[Names, ...], ...]

    @property
    def action_class(self) -> str:
        """``DocumentsAction``."""
        return f"{self.names.pascal}Action"

    @property
    def namespace_class(self) -> str:
        """``_DocumentsPermissions``: the type of ``P.documents``."""
        return f"_{self.names.pascal}Permissions"


@dataclass(frozen=True, slots=True)
class Model:
    """Everything a rendering needs, sorted by id (code point order)."""

    sha256: str
    version: str
    command: str
    resources: tuple[ResourceModel, ...]
    roles: tuple[tuple[Names, str], ...]
    scopes: tuple[tuple[Names, str], ...]


def build_model(policy: Policy, *, version: str, command: str) -> Model:
    """Names for every id of ``policy``; :class:`PolicyError` when there is nothing to type."""
    if not policy.resources:
        raise PolicyError("the policy defines no resources: nothing to generate")
    resource_names = assign(r.resource_id for r in policy.resources)
    role_names = assign(r.role_id for r in policy.roles)
    scope_names = assign(s.scope for s in policy.scopes)
    # The decision rule's own answer (wildcards folded in), not a second reading of the policy.
    compiled = CompiledPolicy(policy, strict=False)
    resources = []
    for resource in sorted(policy.resources, key=lambda r: r.resource_id):
        action_names = assign(a for a in resource.actions if a != WILDCARD)
        actions = sorted(action_names)
        resources.append(
            ResourceModel(
                names=resource_names[resource.resource_id],
                description=resource.description,
                actions=tuple(action_names[a] for a in actions),
                scopes=tuple(
                    tuple(
                        scope_names[s]
                        for s in sorted(compiled.scopes_granting(resource.resource_id, a))
                    )
                    for a in actions
                ),
            )
        )
    return Model(
        sha256=policy.sha256(),
        version=version,
        command=command,
        resources=tuple(resources),
        roles=tuple(
            (role_names[r.role_id], r.description)
            for r in sorted(policy.roles, key=lambda r: r.role_id)
        ),
        scopes=tuple(
            (scope_names[s.scope], s.description)
            for s in sorted(policy.scopes, key=lambda s: s.scope)
        ),
    )


# --- literals and docstrings ------------------------------------------------------------------


def _escape_char(char: str, quote: str) -> str:
    code = ord(char)
    if char == "\\":
        return "\\\\"
    if char == quote:
        return "\\" + quote
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if char == "\t":
        return "\\t"
    if code < 0x20 or code == 0x7F or 0x80 <= code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x80:
        return char
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def literal(text: str) -> str:
    """A Python string literal for ``text``, ASCII only, quoted the way ruff quotes it."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    return quote + "".join(_escape_char(c, quote) for c in text) + quote


def _wrap(tokens: Sequence[str], first: int, width: int) -> list[str]:
    """Greedy fill: ``first`` columns on the first line, ``width`` on the others."""
    lines: list[str] = []
    current = ""
    for token in tokens:
        room = first if not lines else width
        candidate = f"{current} {token}" if current else token
        if len(candidate) <= room:
            current = candidate
            continue
        if current:
            lines.append(current)
            room = width
        current = token
        while len(current) > room:  # one word longer than a line: cut it between characters
            cut = _cut(current, room)
            lines.append(current[:cut])
            current = current[cut:]
            room = width
    lines.append(current)
    return lines


def _docstring(text: str, indent: str) -> list[str]:
    """``text`` (whitespace collapsed) as a docstring wrapped to the line length.

    ruff puts the closing quotes of a one-line docstring on its line, so a text
    that would wrap to exactly one line is wrapped to leave room for them.
    """
    tokens = ["".join(_escape_char(c, '"') for c in word) for word in text.split()]
    if not tokens:
        return []
    width = LINE_LENGTH - len(indent)
    lines = _wrap(tokens, width - 3, width)
    if len(lines) == 1:
        lines = _wrap(tokens, width - 6, width)
        if len(lines) == 1:
            return [f'{indent}"""{lines[0]}"""']
    return [
        f'{indent}"""{lines[0]}',
        *(f"{indent}{line}" for line in lines[1:]),
        f'{indent}"""',
    ]


def _cut(token: str, width: int) -> int:
    """The largest cut <= width that does not split an escape sequence."""
    i = 0
    last = 0
    while i < len(token):
        step = 1
        if token[i] == "\\":
            kind = token[i + 1]
            step = {"x": 4, "u": 6, "U": 10}.get(kind, 2)
        if i + step > width:
            break
        i += step
        last = i
    return max(last, 1)


# --- statement layouts (what ruff format would make of them) ----------------------------------


def _fits(lines: Iterable[str]) -> bool:
    return all(len(line) <= LINE_LENGTH for line in lines)


def _assign(indent: str, target: str, value: str) -> list[str]:
    """``target = value`` where ``value`` cannot be split.

    ruff parenthesises ``value`` when that makes every line fit, else keeps one line.
    """
    flat = f"{indent}{target} = {value}"
    wrapped = [f"{indent}{target} = (", f"{indent}{_INDENT}{value}", f"{indent})"]
    if len(flat) > LINE_LENGTH and _fits(wrapped):
        return wrapped
    return [flat]


@dataclass(frozen=True, slots=True)
class TupleArg:
    """A keyword argument whose value is a tuple: ``name=(a, b)``, split as ruff splits it."""

    name: str
    items: tuple[str, ...]

    @property
    def flat(self) -> str:
        """``name=(a,)`` / ``name=(a, b)``: a one-tuple's comma is not a magic one for ruff."""
        inner = ", ".join(self.items) + ("," if len(self.items) == 1 else "")
        return f"{self.name}=({inner})"

    def lines(self, indent: str) -> list[str]:
        """The argument on its line(s) inside an exploded call, each ending in a comma."""
        flat = f"{indent}{self.flat},"
        if len(flat) <= LINE_LENGTH:
            return [flat]
        # The magic trailing comma keeps ruff from joining the items again.
        return [
            f"{indent}{self.name}=(",
            *(f"{indent}{_INDENT}{item}," for item in self.items),
            f"{indent}),",
        ]


def _arg_lines(indent: str, arg: str | TupleArg) -> list[str]:
    return arg.lines(indent) if isinstance(arg, TupleArg) else [f"{indent}{arg},"]


def _assign_call(indent: str, target: str, func: str, args: Sequence[str | TupleArg]) -> list[str]:
    """``target = func(args)``: one line, or one argument per line with a magic comma.

    ruff's choice when the line is too long: split the call's own brackets, unless
    that leaves the head too long while parenthesising the whole right-hand side
    makes every line fit.
    """
    texts = [a.flat if isinstance(a, TupleArg) else a for a in args]
    flat = f"{indent}{target} = {func}({', '.join(texts)})"
    if len(flat) <= LINE_LENGTH:
        return [flat]
    inner = indent + _INDENT
    head = f"{indent}{target} = {func}("
    parenthesised = [
        f"{indent}{target} = (",
        f"{inner}{func}(",
        *(line for arg in args for line in _arg_lines(inner + _INDENT, arg)),
        f"{inner})",
        f"{indent})",
    ]
    if len(head) > LINE_LENGTH and _fits(parenthesised):
        return parenthesised
    return [head, *(line for arg in args for line in _arg_lines(inner, arg)), f"{indent})"]


def _exploded(head: str, items: Iterable[str], tail: str) -> list[str]:
    return [head, *(f"{_INDENT}{item}," for item in items), tail]


def _subscript(indent: str, prefix: str, inner: str, suffix: str = "") -> list[str]:
    """``prefix[inner]suffix``: one line, or ``inner`` alone on an indented line."""
    flat = f"{indent}{prefix}[{inner}]{suffix}"
    if len(flat) <= LINE_LENGTH:
        return [flat]
    return [f"{indent}{prefix}[", f"{indent}{_INDENT}{inner}", f"{indent}]{suffix}"]


def _annotated(indent: str, name: str, annotation: str, inner: str) -> list[str]:
    """``name: annotation[inner]`` (a declaration in a stub), laid out as ruff does.

    The first layout whose every line fits: one line; the brackets split; the
    whole annotation parenthesised (its brackets split inside if needed).
    Otherwise the brackets split anyway.
    """
    split = _subscript(indent, f"{name}: {annotation}", inner)
    if _fits(split):
        return split
    wrapped = [
        f"{indent}{name}: (",
        *_subscript(indent + _INDENT, annotation, inner),
        f"{indent})",
    ]
    return wrapped if _fits(wrapped) else split


def _class_line(name: str, base: str | None = None, *, comment: str = "") -> list[str]:
    """``class name(base):``; a base that does not fit goes on its own line, as ruff puts it.

    ``comment`` (a pragma such as ``# type: ignore[misc]``) goes on the ``class`` line;
    ruff does not count pragma comments in the line length.
    """
    if base is None:
        head = f"class {name}:"
        return [f"{head}  {comment}" if comment else head]
    flat = f"class {name}({base}):"
    if len(flat) <= LINE_LENGTH:
        return [f"{flat}  {comment}" if comment else flat]
    head = f"class {name}("
    return [f"{head}  {comment}" if comment else head, f"{_INDENT}{base}", "):"]


# --- the module ---------------------------------------------------------------------------------


REGENERATE = "# Regenerate: "
CONTINUATION = "#   "


def _header(model: Model) -> list[str]:
    """Three or more comment lines; a long regenerate command wraps before its ``--`` options."""
    lines = [
        f"# Generated by stytch-rbac {model.version}. DO NOT EDIT.",
        f"# Policy sha256:{model.sha256}",
    ]
    chunks = model.command.replace(" --", "\0--").split("\0")
    current = REGENERATE + chunks[0]
    for chunk in chunks[1:]:
        if len(current) + 1 + len(chunk) <= LINE_LENGTH:
            current += " " + chunk
        else:
            lines.append(current)
            current = CONTINUATION + chunk
    lines.append(current)
    return lines


def header_command(text: str) -> str | None:
    """The regenerate command recorded in a generated file's header (the inverse of rendering)."""
    parts: list[str] = []
    for line in text.splitlines()[:12]:
        if not parts and line.startswith(REGENERATE):
            parts.append(line[len(REGENERATE) :])
        elif parts and line.startswith(CONTINUATION):
            parts.append(line[len(CONTINUATION) :])
        elif parts:
            break
    return " ".join(parts) if parts else None


_MODULE_DOC = [
    '"""Typed permissions of a Stytch B2B RBAC policy.',
    "",
    "``Resource``, ``Role`` and ``Scope`` enumerate the policy's ids; each resource has an",
    "action enum (``DocumentsAction``); ``P.<resource>.<action>`` is a typed ``Permission``",
    "(its ``scopes``: the ``Scope`` members granting it) and ``permission(resource, action)``",
    "builds one, rejecting (under mypy) an action of another resource. The enum values are",
    "the policy's ids, byte for byte.",
    '"""',
]


def _sort_all(names: Iterable[str]) -> list[str]:
    """``__all__`` in ruff's RUF022 order: CONSTANTS, then Classes, then the rest."""

    def key(name: str) -> tuple[int, str]:
        if len(name) > 1 and name.isupper():
            return (0, name)
        if name[:1].isupper():
            return (1, name)
        return (2, name)

    return sorted(names, key=key)


def _exports(model: Model) -> list[str]:
    names = ["GENERATOR_VERSION", "POLICY_SHA256", "P", "Resource", "Role", "Scope", "permission"]
    names += [r.action_class for r in model.resources]
    return _sort_all(names)


def _enum_members(
    members: Iterable[tuple[Names, str, str]], *, stub: bool, blank_between: bool
) -> list[str]:
    """Members ``NAME = "id"``, each followed by its description as a docstring."""
    out: list[str] = []
    for names, value, description in members:
        if blank_between and out:
            out.append("")
        out += _assign(_INDENT, names.upper, literal(value))
        if not stub:
            out += _docstring(description, _INDENT)
    return out


def _enum_class(
    name: str,
    base: str,
    doc: str,
    members: Sequence[tuple[Names, str, str]],
    *,
    stub: bool,
    extra: Sequence[str] = (),
) -> list[str]:
    # mypy rejects a member-less enum in a stub as a likely mistake; here it is the policy's.
    comment = _TYPE_IGNORE.strip() if stub and not members else ""
    out = [*_class_line(name, base, comment=comment), *_docstring(doc, _INDENT)]
    body = [*extra]
    member_lines = _enum_members(members, stub=stub, blank_between=False)
    if body and member_lines:
        body.append("")
    body += member_lines
    if body:
        out += ["", *body]
    return out


def render(model: Model, *, stub: bool) -> str:
    """The module (``stub=False``) or its ``.pyi`` stub, as text ending in one newline."""
    blocks: list[list[str]] = []
    gap = ["", ""] if not stub else [""]

    prelude = [*_header(model), *_MODULE_DOC, ""]
    typing_names = (
        "Final, Literal, final, overload" if len(model.resources) > 1 else "Final, Literal, final"
    )
    imports = [f"from typing import {typing_names}", ""]
    imports.append("from stytch_rbac import ActionEnum, Permission, StrEnum")
    prelude += [*imports, ""]
    prelude += _exploded("__all__ = [", (literal(n) for n in _exports(model)), "]")
    prelude += [""]
    prelude += [f"POLICY_SHA256: Final = {literal(model.sha256)}"]
    if not stub:
        prelude += [
            '"""SHA-256 of the canonical JSON of the policy this module was generated from."""'
        ]
    prelude += [f"GENERATOR_VERSION: Final = {literal(model.version)}"]
    if not stub:
        prelude += ['"""The stytch-rbac version (major.minor) that generated this module."""']
    blocks.append(prelude)

    blocks.append(
        _enum_class(
            "Resource",
            "StrEnum",
            "Every resource id of the policy, Stytch's ``stytch.*`` resources included.",
            [(r.names, r.names.id, r.description) for r in model.resources],
            stub=stub,
        )
    )
    for resource in model.resources:
        doc = f"Actions on resource ``{resource.names.id}``."
        if resource.description.strip():
            doc += f" {resource.description}"
        blocks.append(
            _enum_class(
                resource.action_class,
                "ActionEnum",
                doc,
                [(a, a.id, "") for a in resource.actions],
                stub=stub,
                extra=_assign(_INDENT, "__resource__", f"Resource.{resource.names.upper}"),
            )
        )
    blocks.append(
        _enum_class(
            "Role",
            "StrEnum",
            "Every role id of the project policy (organizations' custom roles are not here).",
            [(n, n.id, d) for n, d in model.roles],
            stub=stub,
        )
    )
    blocks.append(
        _enum_class(
            "Scope",
            "StrEnum",
            "Every Connected-Apps scope of the policy.",
            [(n, n.id, d) for n, d in model.scopes],
            stub=stub,
        )
    )
    for resource in model.resources:
        block = ["@final", *_class_line(resource.namespace_class)]
        block += _docstring(f"Permissions on resource ``{resource.names.id}``.", _INDENT)
        body: list[str] = []
        for action, scopes in zip(resource.actions, resource.scopes, strict=True):
            if stub:
                body += _annotated(_INDENT, action.snake, "Final", "Permission")
            else:
                args: list[str | TupleArg] = [
                    f"Resource.{resource.names.upper}",
                    f"{resource.action_class}.{action.upper}",
                ]
                if scopes:
                    args.append(TupleArg("scopes", tuple(f"Scope.{s.upper}" for s in scopes)))
                body += _assign_call(_INDENT, f"{action.snake}: Final", "Permission", args)
        if not stub:
            body = [f"{_INDENT}__slots__ = ()", *([""] if body else []), *body]
        if body:
            block += ["", *body]
        blocks.append(block)

    p_block = ["@final", "class P:"]
    p_block += _docstring(
        "Typed permission constants: ``P.documents.edit`` is ``Permission('documents', 'edit')``.",
        _INDENT,
    )
    p_body: list[str] = []
    for resource in model.resources:
        if stub:
            p_body += _annotated(_INDENT, resource.names.snake, "Final", resource.namespace_class)
        else:
            p_body += _assign(
                _INDENT, f"{resource.names.snake}: Final", f"{resource.namespace_class}()"
            )
    if not stub:
        p_body = [f"{_INDENT}__slots__ = ()", "", *p_body]
    p_block += ["", *p_body]
    blocks.append(p_block)

    blocks.append(_permission_function(model, stub=stub))

    lines: list[str] = []
    for block in blocks:
        if lines:
            lines += gap
        lines += block
    if any(_too_long(line) for line in lines):
        # Only very long ids get here; a comment at the line would change ruff's layout.
        header_end = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        lines.insert(header_end, LONG_LINES)
    return "\n".join(lines) + "\n"


LONG_LINES = "# ruff: noqa: E501"
_TYPE_IGNORE = "  # type: ignore[misc]"


def _too_long(line: str) -> bool:
    """A line ruff's E501 flags: too long (pragma comments not counted), not one word."""
    code = line.split(_TYPE_IGNORE)[0]
    return len(code) > LINE_LENGTH and " " in code.strip()


_PERMISSION_DOC = [
    f'{_INDENT}"""The permission ``action`` on ``resource``: mypy rejects an action of another',
    f"{_INDENT}resource, and so does this function at run time (``ValueError``).",
    f'{_INDENT}"""',
]
_PERMISSION_BODY = [
    f'{_INDENT}if getattr(type(action), "__resource__", None) != resource:',
    f'{_INDENT * 2}msg = f"{{action!r}} is not an action of resource {{str(resource)!r}}"',
    f"{_INDENT * 2}raise ValueError(msg)",
    f"{_INDENT}return Permission(resource, action)",
]


def _permission_function(model: Model, *, stub: bool) -> list[str]:
    """``permission()``: one overload per resource pairing it with its own action enum."""

    def signature(resource: ResourceModel | None, tail: str) -> list[str]:
        if resource is None:
            params = [f"{_INDENT}resource: Resource,", f"{_INDENT}action: ActionEnum,"]
        else:
            params = _subscript(
                _INDENT, "resource: Literal", f"Resource.{resource.names.upper}", ","
            )
            params.append(f"{_INDENT}action: {resource.action_class},")
        return ["def permission(", *params, tail]

    if len(model.resources) == 1:
        out = signature(model.resources[0], ") -> Permission:") + _PERMISSION_DOC
        return out if stub else out + _PERMISSION_BODY
    out = []
    for resource in model.resources:
        out += ["@overload", *signature(resource, ") -> Permission: ...")]
        if not stub:
            out += ["", ""]
    if stub:
        return out
    return out + signature(None, ") -> Permission:") + _PERMISSION_DOC + _PERMISSION_BODY
