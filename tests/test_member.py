"""MemberClient mirrors every stytch.B2BClient method that takes method_options.

The SDK is walked here independently of the generator: a method the installed SDK
gains, loses or changes makes these tests fail until the wrappers are regenerated.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import types
import typing
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import stytch
import stytch.version

from stytch_rbac import builtins
from stytch_rbac._member_api import MemberAPI

ROOT = Path(__file__).resolve().parent.parent


def _generator() -> ModuleType:
    """scripts/gen_member_api.py, imported by path (it is a script, not a package module)."""
    name = "_gen_member_api_under_test"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "gen_member_api.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _sdk_methods(client: Any) -> dict[str, tuple[type, Callable[..., Any]]]:
    """dotted path -> (owner class, sync function) for every public method taking method_options."""
    found: dict[str, tuple[type, Callable[..., Any]]] = {}
    seen: set[int] = set()

    def visit(obj: Any, path: str) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        for name, value in vars(obj).items():
            if type(value).__module__.startswith("stytch."):
                visit(value, f"{path}{name}.")
        for name, function in inspect.getmembers(type(obj), inspect.isfunction):
            if name.startswith("_") or name.endswith("_async"):
                continue
            if "method_options" in inspect.signature(function).parameters:
                found[path + name] = (type(obj), function)

    visit(client, "")
    return found


def _wrapped(cls: type = MemberAPI, path: str = "") -> Iterator[tuple[str, Callable[..., Any]]]:
    """(dotted path, wrapper function) for every public method of the MemberClient tree."""
    for name, hint in typing.get_type_hints(cls).items():
        if isinstance(hint, type) and not name.startswith("_"):
            yield from _wrapped(hint, f"{path}{name}.")
    for name, function in inspect.getmembers(cls, inspect.isfunction):
        if not name.startswith("_"):
            yield path + name, function


def _norm(hint: Any) -> Any:
    """A comparable form of an annotation: typing.List[x] == list[x], Optional[x] == x | None."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return ("union", frozenset(_norm(a) for a in typing.get_args(hint)))
    if origin is not None:
        return (origin, tuple(_norm(a) for a in typing.get_args(hint)))
    return hint


def _signature_problems(
    dotted: str, sdk: Callable[..., Any], wrapper: Callable[..., Any]
) -> list[str]:
    """Every difference between the SDK method (minus method_options) and its wrapper."""
    problems = []
    sdk_hints, wrapper_hints = typing.get_type_hints(sdk), typing.get_type_hints(wrapper)
    expected = [p for p in inspect.signature(sdk).parameters.values() if p.name != "method_options"]
    actual = list(inspect.signature(wrapper).parameters.values())
    if [p.name for p in expected] != [p.name for p in actual]:
        return [f"{dotted}: parameters {[p.name for p in actual]} != {[p.name for p in expected]}"]
    for want, got in zip(expected, actual, strict=True):
        if want.kind != got.kind or want.default != got.default:
            problems.append(f"{dotted}({want.name}): kind/default {got} != {want}")
        if want.name != "self" and _norm(sdk_hints[want.name]) != _norm(wrapper_hints[got.name]):
            problems.append(
                f"{dotted}({want.name}): {wrapper_hints[got.name]} != {sdk_hints[want.name]}"
            )
    if _norm(sdk_hints["return"]) != _norm(wrapper_hints["return"]):
        problems.append(f"{dotted}: returns {wrapper_hints['return']} != {sdk_hints['return']}")
    if not inspect.iscoroutinefunction(wrapper):
        problems.append(f"{dotted}: wrapper is not a coroutine function")
    return problems


def _coverage_problems(client: Any) -> list[str]:
    sdk = _sdk_methods(client)
    wrapped = dict(_wrapped())
    problems = [
        f"{d}: takes method_options but is not wrapped" for d in sorted(sdk.keys() - wrapped.keys())
    ]
    problems += [
        f"{d}: wrapped but the SDK has no such method_options method"
        for d in sorted(wrapped.keys() - sdk.keys())
    ]
    for dotted in sorted(sdk.keys() & wrapped.keys()):
        problems += _signature_problems(dotted, sdk[dotted][1], wrapped[dotted])
    return problems


@pytest.fixture
def sdk_client() -> Any:
    """A B2BClient for introspection only: it never opens a session or sends a request."""
    with warnings.catch_warnings():
        # aiohttp >= 3.12 deprecates the BasicAuth the SDK builds; not ours to fix.
        warnings.filterwarnings("ignore", "BasicAuth is deprecated", DeprecationWarning)
        return stytch.B2BClient(
            "project-test-introspect", "secret", environment="http://127.0.0.1:9"
        )


def test_every_method_options_method_is_wrapped_with_the_same_signature(sdk_client: Any) -> None:
    """Each SDK method taking method_options has an awaitable wrapper with identical parameters."""
    assert _coverage_problems(sdk_client) == []
    assert len(_sdk_methods(sdk_client)) == 40, stytch.version.__version__


def test_a_new_sdk_method_is_reported_as_unwrapped(
    sdk_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The coverage check fails when the SDK gains a method_options method MemberClient lacks."""
    from stytch.b2b.api.sso import SSO

    def frobnicate(self: Any, organization_id: str, method_options: Any = None) -> Any:
        """A method a future SDK might add."""

    monkeypatch.setattr(SSO, "frobnicate", frobnicate, raising=False)
    assert _coverage_problems(sdk_client) == [
        "sso.frobnicate: takes method_options but is not wrapped"
    ]


def test_a_changed_sdk_signature_is_reported(
    sdk_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The coverage check fails when an SDK method's parameters change under its wrapper."""
    from stytch.b2b.api.organizations_members import Members

    def delete(self: Any, organization_id: str, member_id: int, method_options: Any = None) -> Any:
        """members.delete with a changed parameter type."""

    monkeypatch.setattr(Members, "delete", delete)
    problems = _coverage_problems(sdk_client)
    assert len(problems) == 2
    assert problems[0].startswith("organizations.members.delete(member_id):")


def test_async_twins_take_the_same_parameters(sdk_client: Any) -> None:
    """The *_async method awaited by each wrapper has the sync method's names, kinds, defaults."""
    for dotted, (owner, function) in _sdk_methods(sdk_client).items():
        twin = getattr(owner, function.__name__ + "_async")
        sync = [
            (p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()
        ]
        both = [(p.name, p.kind, p.default) for p in inspect.signature(twin).parameters.values()]
        assert sync == both, dotted


def test_builtins_table_covers_exactly_the_wrapped_methods(sdk_client: Any) -> None:
    """builtins.BUILTIN_METHODS, the pre-flight's table, names exactly the wrapped methods."""
    assert set(_sdk_methods(sdk_client)) == builtins.BUILTIN_METHODS
    assert {d for d, _ in _wrapped()} == builtins.BUILTIN_METHODS


def test_generated_module_is_not_stale() -> None:
    """stytch_rbac/_member_api.py is byte-identical to what the generator writes for this SDK."""
    gen = _generator()
    assert gen.render_module() == (ROOT / "stytch_rbac" / "_member_api.py").read_text(), (
        "stale: run `python scripts/gen_member_api.py`"
    )


def test_docs_table_is_not_stale() -> None:
    """docs/member-calls.md holds the generated table of wrapped methods and permissions."""
    gen = _generator()
    doc = (ROOT / "docs" / "member-calls.md").read_text()
    assert gen.render_docs_table() in doc, "stale: run `python scripts/gen_member_api.py`"


def test_generator_check_mode_reports_staleness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`gen_member_api.py --check` exits 0 when fresh, 1 with a diff when the module differs."""
    gen = _generator()
    assert gen.main(["--check"]) == 0
    stale = tmp_path / "_member_api.py"
    stale.write_text(
        gen.MODULE_PATH.read_text().replace("async def delete(", "async def remove(", 1)
    )
    monkeypatch.setattr(gen, "MODULE_PATH", stale)
    assert gen.main(["--check"]) == 1
    assert "-    async def remove(" in capsys.readouterr().out


def test_generated_header_names_the_sdk_version() -> None:
    """The generated module says which stytch version it mirrors and how many methods it wraps."""
    text = (ROOT / "stytch_rbac" / "_member_api.py").read_text()
    assert f"from stytch {stytch.version.__version__}." in text.splitlines()[0]
    assert f"{len(builtins.BUILTIN_METHODS)} methods" in text
