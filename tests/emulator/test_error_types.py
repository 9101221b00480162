"""Every error type the emulator can answer is one of Stytch's own.

Stytch's list is the ``StytchAPIErrorType`` union of its frontend SDK, copied as
names into ``data/stytch_api_error_types.txt`` (its header names the source).
The emulator's :data:`ERROR_TYPES` must be a subset of it; ``EmulatorError``
refuses any type outside ``ERROR_TYPES``, and every literal type in the
emulator's source is in ``ERROR_TYPES``, so no path can answer another name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from stytch_rbac.emulator import EmulatorError
from stytch_rbac.emulator._app import _FAULT_TYPES
from stytch_rbac.emulator._errors import ERROR_TYPES

PACKAGE = Path(__file__).resolve().parents[2] / "stytch_rbac"
STYTCH_LIST = Path(__file__).resolve().parent / "data" / "stytch_api_error_types.txt"

#: Types the emulator still answers that are not Stytch's (none: keep it that way).
PENDING_REPLACEMENT: frozenset[str] = frozenset()

#: Callables taking an error type, and the position of that argument.
_TYPE_ARGUMENT = {
    "EmulatorError": 1,
    "bad_request": 1,
    "not_found": 0,
    "Refusal": 1,
    "_saml_delete_item": 2,
}


def stytch_error_types() -> frozenset[str]:
    """Stytch's error types, from the data file."""
    lines = STYTCH_LIST.read_text().splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def literal_error_types() -> dict[str, str]:
    """Every literal error type in the emulator's and builtin_calls' source, with where it is."""
    sources = [
        *sorted((PACKAGE / "emulator").glob("*.py")),
        PACKAGE / "policy" / "builtin_calls.py",
    ]
    found: dict[str, str] = {}
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in _TYPE_ARGUMENT:
                continue
            where = f"{path.name}:{node.lineno}"
            arg = next((k.value for k in node.keywords if k.arg == "error_type"), None)
            if arg is None and len(node.args) > _TYPE_ARGUMENT[name]:
                arg = node.args[_TYPE_ARGUMENT[name]]
            if arg is None and name == "bad_request":
                found.setdefault("invalid_argument", where)
            elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.setdefault(arg.value, where)
    return found


def test_stytch_list_holds_every_name_once() -> None:
    """The copied list has the 803 names of StytchAPIErrorType, each once."""
    lines = [line for line in STYTCH_LIST.read_text().splitlines() if not line.startswith("#")]
    assert len(lines) == len(set(lines)) == 803


def test_every_error_type_the_emulator_answers_is_stytchs() -> None:
    """ERROR_TYPES, the faults' default types included, are all in Stytch's list."""
    answered = ERROR_TYPES | {error_type for error_type, _ in _FAULT_TYPES.values()}
    not_stytchs = sorted(answered - stytch_error_types() - PENDING_REPLACEMENT)
    assert not not_stytchs, f"not Stytch error types: {not_stytchs}"


def test_every_literal_error_type_in_the_source_is_registered() -> None:
    """Each error type written in the emulator's source is in ERROR_TYPES."""
    found = literal_error_types()
    assert len(found) > 40, "the scan found too few error types to be looking in the right place"
    unknown = {t: where for t, where in found.items() if t not in ERROR_TYPES}
    assert not unknown, f"error types outside ERROR_TYPES: {unknown}"


def test_an_unregistered_error_type_is_refused() -> None:
    """EmulatorError refuses a made-up type; an injected fault may carry one."""
    with pytest.raises(ValueError, match="not an error type"):
        EmulatorError(400, "made_up_error", "no")
    injected = EmulatorError(418, "made_up_error", "asked for", injected=True)
    assert injected.body("request-id")["error_type"] == "made_up_error"
