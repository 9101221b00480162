"""Generate ``stytch_rbac/member/_generated_api.py`` (and the table in ``docs/member-calls.md``).

The installed ``stytch`` SDK is introspected: every ``stytch.B2BClient`` method that
takes ``method_options`` becomes an awaitable method of the same name, with the same
parameters, defaults and annotations minus ``method_options``, that calls the SDK's
``*_async`` twin with the member's ``Authorization`` injected. Namespaces mirror the
SDK tree (``organizations.members.connected_apps``, ``sso.saml``, ...).

Usage::

    python scripts/gen_member_api.py           # rewrite the module and the docs table
    python scripts/gen_member_api.py --check   # exit 1 with a diff when either is stale

``tests/member/test_member_client.py`` runs :func:`render_module` and :func:`render_docs_table` and
fails when the committed files differ, so an SDK upgrade that adds or changes a
``method_options`` method cannot go unnoticed.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import re
import shutil
import subprocess
import sys
import textwrap
import types
import typing
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stytch_rbac._stytch import sdk_models

ROOT = Path(__file__).resolve().parent.parent
MODULE_PATH = ROOT / "stytch_rbac" / "member" / "_generated_api.py"
DOCS_PATH = ROOT / "docs" / "member-calls.md"
TABLE_BEGIN = "<!-- BEGIN GENERATED TABLE: python scripts/gen_member_api.py -->"
TABLE_END = "<!-- END GENERATED TABLE -->"

_ACRONYMS = {"sso": "SSO", "saml": "SAML", "oidc": "OIDC", "scim": "SCIM"}


@dataclass(frozen=True)
class SDKMethod:
    """One SDK method that takes ``method_options``."""

    path: tuple[str, ...]
    owner: type
    function: Callable[..., Any]

    @property
    def dotted(self) -> str:
        """The dotted path from the client, without ``_async``."""
        return ".".join(self.path)

    @property
    def name(self) -> str:
        """The method's own name."""
        return self.path[-1]

    @property
    def async_function(self) -> Callable[..., Any]:
        """The SDK's ``*_async`` twin, the one the wrapper awaits."""
        twin: Callable[..., Any] = getattr(self.owner, self.name + "_async")
        return twin


@dataclass
class Namespace:
    """One node of the wrapped tree: an SDK sub-client with wrapped methods below it."""

    path: tuple[str, ...]
    sdk_class: type
    children: dict[str, Namespace] = field(default_factory=dict)
    methods: list[SDKMethod] = field(default_factory=list)

    @property
    def class_name(self) -> str:
        """``MemberOrganizationsMembers`` for ``organizations.members``; root: ``MemberAPI``."""
        if not self.path:
            return "MemberAPI"
        return "Member" + "".join(_ACRONYMS.get(p, p.title().replace("_", "")) for p in self.path)

    def walk(self) -> Iterator[Namespace]:
        """This node and every node below it, depth first, children sorted by name."""
        yield self
        for name in sorted(self.children):
            yield from self.children[name].walk()


def _sdk_client() -> Any:
    import stytch

    # No network and no session are created by the constructor. aiohttp >= 3.12 warns
    # that the SDK's BasicAuth is deprecated; irrelevant to introspection.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "BasicAuth is deprecated", DeprecationWarning)
        return stytch.B2BClient(
            "project-test-introspection", "secret", environment="http://127.0.0.1:9"
        )


def collect_methods(client: Any | None = None) -> list[SDKMethod]:
    """Every ``stytch.B2BClient`` method (no ``_async``) that takes ``method_options``."""
    tree = collect_tree(client)
    return sorted((m for node in tree.walk() for m in node.methods), key=lambda m: m.dotted)


def collect_tree(client: Any | None = None) -> Namespace:
    """The SDK tree pruned to the namespaces that hold a ``method_options`` method."""
    client = _sdk_client() if client is None else client
    seen: set[int] = set()

    def visit(obj: Any, path: tuple[str, ...]) -> Namespace | None:
        if id(obj) in seen:
            return None
        seen.add(id(obj))
        node = Namespace(path, type(obj))
        for name, value in sorted(vars(obj).items()):
            if type(value).__module__.startswith("stytch.b2b.api."):
                child = visit(value, (*path, name))
                if child is not None:
                    node.children[name] = child
        for name, function in sorted(inspect.getmembers(type(obj), inspect.isfunction)):
            if name.startswith("_") or name.endswith("_async"):
                continue
            if "method_options" in inspect.signature(function).parameters:
                node.methods.append(SDKMethod((*path, name), type(obj), function))
        return node if node.children or node.methods else None

    root = visit(client, ())
    if root is None:
        raise RuntimeError("the stytch SDK exposes no method that takes method_options")
    return root


# --- rendering types -------------------------------------------------------------------


class _Imports:
    def __init__(self) -> None:
        self.typing: set[str] = set()
        self.models: set[str] = set()  # modules under stytch.b2b.models / stytch.shared
        self.api: set[str] = set()  # modules under stytch.b2b.api

    def model(self, cls: type) -> str:
        module = cls.__module__
        if module.startswith("stytch.b2b.models.") or module.startswith("stytch.shared."):
            self.models.add(module)
            return f"{module.rsplit('.', 1)[1]}.{cls.__qualname__}"
        raise ValueError(f"unexpected type {module}.{cls.__qualname__} in an SDK signature")


def render_type(hint: Any, imports: _Imports) -> str:
    """Source text for a resolved annotation, in PEP 604 / PEP 585 spelling."""
    if hint is type(None) or hint is None:
        return "None"
    if hint is Any:
        imports.typing.add("Any")
        return "Any"
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        rendered = [render_type(a, imports) for a in args if a is not type(None)]
        if type(None) in args:
            rendered.append("None")
        return " | ".join(rendered)
    if origin in (list, dict, tuple, set, frozenset):
        return f"{origin.__name__}[{', '.join(render_type(a, imports) for a in args)}]"
    if origin is not None:
        raise ValueError(f"unsupported generic {hint!r} in an SDK signature")
    if isinstance(hint, type):
        if hint.__module__ == "builtins":
            return hint.__name__
        return imports.model(hint)
    raise ValueError(f"unsupported annotation {hint!r} in an SDK signature")


def wrapper_parameters(method: SDKMethod) -> list[inspect.Parameter]:
    """The SDK method's parameters minus ``self`` and ``method_options``, hints resolved."""
    hints = typing.get_type_hints(method.function)
    params = []
    for p in inspect.signature(method.function).parameters.values():
        if p.name in ("self", "method_options"):
            continue
        params.append(p.replace(annotation=hints[p.name]))
    return params


def options_class(method: SDKMethod) -> type:
    """The ``*RequestOptions`` class the SDK method takes."""
    hint = typing.get_type_hints(method.function)["method_options"]
    classes = [a for a in typing.get_args(hint) if a is not type(None)]
    if len(classes) != 1 or not isinstance(classes[0], type):
        raise ValueError(f"{method.dotted}: unexpected method_options type {hint!r}")
    return classes[0]


# --- permissions, from stytch_rbac.policy.builtin_calls (the one table) ---------------


def _code(text: str) -> str:
    return f"``{text}``"


def permission_text(method: SDKMethod, *, markdown: bool = False) -> str:
    """What Stytch demands for ``method``, in words, from ``stytch_rbac.policy.builtin_calls``."""
    from stytch_rbac.policy.builtin_calls import requirement

    code = (lambda s: f"`{s}`") if markdown else _code
    names = [p.name for p in wrapper_parameters(method)]
    empty = requirement(method.dotted, {})
    full = requirement(method.dotted, dict.fromkeys(names, "x"))
    if empty.needs != full.needs:
        resources = sorted({n.resource for n in full.needs})
        per = " / ".join(code(r) for r in resources)
        text = f"one {per} action per field sent"
        if any(n.self_action for n in full.needs):
            text += f" ({code('stytch.self')} for some fields on oneself)"
        if not all(requirement(method.dotted, {name: "x"}).documented for name in names):
            text += "; for some fields Stytch documents none: the nearest documented action"
        return text
    parts = []
    for need in empty.needs:
        part = f"{code(need.resource)} {code(need.action)}"
        if need.self_action is not None:
            part += f" (or {code('stytch.self')} {code(need.self_action)} on oneself)"
        if not need.documented:
            part += " (Stytch documents none: the nearest documented action)"
        parts.append(part)
    return " and ".join(parts)


# --- rendering the module --------------------------------------------------------------

HEADER = '''\
# Generated by scripts/gen_member_api.py from stytch {version}. DO NOT EDIT.
# Regenerate: python scripts/gen_member_api.py
# The SDK's longest parameter and type names do not fit in 100 columns:
# ruff: noqa: E501
"""Session-bound wrappers of every ``stytch.B2BClient`` method that takes ``method_options``.

Generated from the installed ``stytch`` SDK ({version}): {count} methods. Each calls the
SDK's ``*_async`` twin with the member's ``Authorization`` injected, after the pre-flight
permission check. Use it through :class:`stytch_rbac.member.MemberClient`.
"""
'''


def _summary(function: Callable[..., Any]) -> str:
    doc = inspect.getdoc(function) or ""
    first = doc.strip().split("\n\n", 1)[0].replace("\n", " ")
    sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0].strip()
    sentence = sentence.replace("\\", "\\\\").replace('"""', "'''")
    return sentence or "Stytch built-in call."


def _render_method(method: SDKMethod, imports: _Imports) -> str:
    params = wrapper_parameters(method)
    opts = imports.model(options_class(method))
    ret = render_type(typing.get_type_hints(method.function)["return"], imports)
    async_hints = typing.get_type_hints(method.async_function)
    lines = [f"    async def {method.name}(", "        self,"]
    for p in params:
        if p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
            raise ValueError(f"{method.dotted}: parameter {p.name} is {p.kind}, not supported")
        default = "" if p.default is inspect.Parameter.empty else f" = {p.default!r}"
        lines.append(f"        {p.name}: {render_type(p.annotation, imports)}{default},")
    lines.append(f"    ) -> {ret}:")
    width = 100 - 8
    doc = [
        *textwrap.wrap(_summary(method.function), width - 3),
        "",
        *textwrap.wrap(
            f"Calls ``{method.dotted}_async`` as the member. Needs: {permission_text(method)}.",
            width,
        ),
    ]
    lines.append('        """' + doc[0])
    lines += [f"        {line}" if line else "" for line in doc[1:]]
    lines.append('        """')
    items = ", ".join(f'"{p.name}": {p.name}' for p in params)
    lines.append(f"        params: dict[str, object] = {{{items}}}")
    lines.append(
        f'        authorization = await self._session.authorize("{method.dotted}", params)'
    )
    lines.append(f'        with self._session.errors("{method.dotted}", params):')
    lines.append(f"            return await self._sdk.{method.name}_async(")
    for p in params:
        value = p.name
        if async_hints[p.name] != p.annotation:
            # The SDK's async twin is annotated narrower than its sync twin (e.g. an
            # enum without ``| str``); both bodies send the value unchanged.
            value = f'cast("{render_type(async_hints[p.name], imports)}", {p.name})'
            imports.typing.add("cast")
        lines.append(f"                {p.name}={value},")
    lines.append(f"                method_options={opts}(authorization=authorization),")
    lines.append("            )")
    return "\n".join(lines)


def _render_class(node: Namespace, imports: _Imports) -> str:
    own = _Imports()
    text = _render_class_body(node, own)
    clashes = {m.rsplit(".", 1)[1] for m in own.models} & (
        set(node.children) | {m.name for m in node.methods}
    )
    if clashes:
        raise ValueError(f"{node.class_name}: attribute names shadow model modules: {clashes}")
    imports.typing |= own.typing
    imports.models |= own.models
    imports.api |= own.api
    return text


def _render_class_body(node: Namespace, imports: _Imports) -> str:
    api = node.sdk_class.__module__
    imports.api.add(api)
    sdk_type = f"{api}.{node.sdk_class.__qualname__}"
    title = f"``{'.'.join(node.path)}``" if node.path else "The root"
    lines = [
        f"class {node.class_name}:",
        f'    """{title}: mirrors ``{sdk_type}``."""',
        "",
        f'    __slots__ = ("_sdk", "_session"{"".join(f", {n!r}" for n in sorted(node.children))})',
        "",
    ]
    for name in sorted(node.children):
        lines.append(f"    {name}: {node.children[name].class_name}")
    if node.children:
        lines.append("")
    lines += [
        f"    def __init__(self, session: MemberSession, sdk: {sdk_type}) -> None:",
        "        self._session = session",
        "        self._sdk = sdk",
    ]
    for name in sorted(node.children):
        child = node.children[name].class_name
        lines.append(f"        self.{name} = {child}(session, sdk.{name})")
    body = "\n".join(lines)
    methods = [_render_method(m, imports) for m in node.methods]
    return "\n\n".join([body, *methods])


def render_module(root: Namespace | None = None) -> str:
    """The text of ``stytch_rbac/member/_generated_api.py`` for the installed SDK, formatted."""
    import stytch.version

    root = collect_tree() if root is None else root
    imports = _Imports()
    classes = [_render_class(node, imports) for node in reversed(list(root.walk()))]
    count = sum(len(n.methods) for n in root.walk())
    names = sorted(n.class_name for n in root.walk())
    out = [HEADER.format(version=stytch.version.__version__, count=count)]
    out.append("from __future__ import annotations\n")
    if imports.typing:
        out.append(f"from typing import TYPE_CHECKING, {', '.join(sorted(imports.typing))}\n")
    else:
        out.append("from typing import TYPE_CHECKING\n")
    # The SDK's model modules come through the seam (stytch_rbac._stytch.sdk_models), the
    # only package that imports the SDK at run time; its API classes only annotate.
    leaves: set[str] = set()
    for module in sorted(imports.models):
        package, leaf = module.rsplit(".", 1)
        if package != "stytch.b2b.models" or leaf not in sdk_models.__all__:
            raise ValueError(
                f"{module} is not re-exported by stytch_rbac._stytch.sdk_models; add it there"
            )
        leaves.add(leaf)
    out.append(f"from .._stytch.sdk_models import {', '.join(sorted(leaves))}\n")
    checking = [f"    import {m}" for m in sorted(imports.api)]
    checking.append("\n    from ._session import MemberSession")
    out.append("if TYPE_CHECKING:\n" + "\n".join(checking) + "\n")
    out.append("__all__ = [" + ", ".join(f'"{n}"' for n in names) + "]\n")
    out.append("\n\n".join(classes) + "\n")
    return _ruff_format("\n".join(out))


def _ruff_format(source: str) -> str:
    # The project's pinned ruff (next to this interpreter) first: formatting is version-bound.
    local = Path(sys.executable).parent / "ruff"
    ruff = str(local) if local.exists() else shutil.which("ruff") or "ruff"
    cmd = [ruff, "format", "--config", str(ROOT / "pyproject.toml"), "--stdin-filename"]
    result = subprocess.run(
        [*cmd, str(MODULE_PATH), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ruff format failed on the generated module:\n{result.stderr}")
    return result.stdout


# --- the docs table --------------------------------------------------------------------


def render_docs_table(methods: list[SDKMethod] | None = None) -> str:
    """The markdown table of wrapped methods and what each needs, between its markers."""
    methods = collect_methods() if methods is None else methods
    rows = [
        TABLE_BEGIN,
        "",
        "| `MemberClient` method | Stytch requires |",
        "|---|---|",
    ]
    rows += [f"| `{m.dotted}` | {permission_text(m, markdown=True)} |" for m in methods]
    rows += ["", TABLE_END]
    return "\n".join(rows)


def _with_table(doc: str, table: str) -> str:
    start, end = doc.find(TABLE_BEGIN), doc.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"{DOCS_PATH} lacks the generated-table markers")
    return doc[:start] + table + doc[end + len(TABLE_END) :]


def main(argv: list[str] | None = None) -> int:
    """Write (or ``--check``) the generated module and docs table; 1 when stale."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="only report staleness")
    args = parser.parse_args(argv)
    targets = {MODULE_PATH: render_module()}
    if DOCS_PATH.exists():
        targets[DOCS_PATH] = _with_table(DOCS_PATH.read_text(), render_docs_table())
    stale = 0
    for path, text in targets.items():
        current = path.read_text() if path.exists() else ""
        if current == text:
            continue
        stale = 1
        if args.check:
            rel = str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(True), text.splitlines(True), rel, rel + " (generated)"
                )
            )
        else:
            path.write_text(text)
            print(f"wrote {path}")
    return stale if args.check else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
