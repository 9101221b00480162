"""The public surface: stytch_rbac.__all__ is sorted, complete, importable and documented."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

import stytch_rbac

#: Modules whose whole ``__all__`` is public API re-exported from ``stytch_rbac``.
_REEXPORTED_MODULES = ("stytch_rbac.errors", "stytch_rbac.permissions", "stytch_rbac.policy")


def test_all_is_sorted_without_duplicates() -> None:
    """stytch_rbac.__all__ is in sorted() order and names each export once."""
    assert stytch_rbac.__all__ == sorted(stytch_rbac.__all__)
    assert len(set(stytch_rbac.__all__)) == len(stytch_rbac.__all__)


@pytest.mark.parametrize("name", stytch_rbac.__all__)
def test_every_name_in_all_is_importable(name: str) -> None:
    """`from stytch_rbac import <name>` works for every name in __all__."""
    namespace: dict[str, object] = {}
    exec(f"from stytch_rbac import {name}", namespace)
    assert namespace[name] is getattr(stytch_rbac, name)


@pytest.mark.parametrize("module_name", _REEXPORTED_MODULES)
def test_submodule_exports_are_reexported(module_name: str) -> None:
    """Every name a core module exports is exported from stytch_rbac, as the same object."""
    module = importlib.import_module(module_name)
    missing = sorted(set(module.__all__) - set(stytch_rbac.__all__))
    assert not missing, f"{module_name} exports {missing}, absent from stytch_rbac.__all__"
    for name in module.__all__:
        assert getattr(stytch_rbac, name) is getattr(module, name)


@pytest.mark.parametrize("name", stytch_rbac.__all__)
def test_every_public_class_and_function_has_a_docstring(name: str) -> None:
    """Every exported class or function carries its own docstring."""
    obj = getattr(stytch_rbac, name)
    if inspect.isclass(obj) or inspect.isroutine(obj):
        assert inspect.getdoc(obj), f"stytch_rbac.{name} has no docstring"


def test_version_is_a_string() -> None:
    """__version__ is exported and looks like a version."""
    assert isinstance(stytch_rbac.__version__, str)
    assert stytch_rbac.__version__[0].isdigit()


def test_import_is_cheap() -> None:
    """`import stytch_rbac` imports neither the stytch SDK nor a web framework nor the emulator."""
    heavy = ("stytch", "fastapi", "starlette", "stytch_rbac.emulator", "stytch_rbac.testing")
    code = (
        "import sys, stytch_rbac\n"
        f"heavy = {heavy!r}\n"
        "loaded = sorted(m for m in sys.modules if m in heavy or m.startswith('stytch.'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
