"""Any valid policy renders to a module that imports, round-trips every id and passes the linters.

Hypothesis draws policies with awkward ids (dots, dashes, spaces, quotes, backslashes,
control characters, non-ASCII, keywords, leading digits, ``*``, ids that collide
after normalising, long ids) and awkward descriptions. mypy and ruff run once on a
batch of rendered modules and stubs (plus the golden ``expected.py`` files, which
``make typecheck`` does not see because their ``.pyi`` siblings shadow them).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mypy import api as mypy_api

from stytch_rbac import ActionEnum, Permission, Policy
from stytch_rbac.codegen import drift, render_module, render_stub
from stytch_rbac.codegen._names import assign

ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = Path(__file__).resolve().parent / "cases"

_CHARS = [
    *"abcdefghijklmnopqrstuvwxyz",
    *"ABCXYZ0123456789",
    *".-_:* '\"\\/",
    "\t",
    "\x07",
    "\u00e9",  # é: decomposes to e
    "\u00df",  # ß: no ASCII decomposition
    "\u0430",  # Cyrillic a: looks like a Latin a
    "\u6587",
    "\u2013",
    "\U0001f600",
    "e\u0301",  # e + combining acute
]
_SPECIAL_IDS = [
    "class",
    "import",
    "None",
    "True",
    "match",
    "stytch.member",
    "update.info.name",
    "update-info-name",
    "update_info_name",
    "*",
    "2fa",
    "apiKeys",
    "HTTPServer",
    "a_2",
    "a",
    "A",
]
ids = st.one_of(
    st.lists(st.sampled_from(_CHARS), min_size=1, max_size=20).map("".join),
    st.sampled_from(_SPECIAL_IDS),
    st.lists(st.sampled_from(_CHARS[:40]), min_size=30, max_size=130).map("".join),
).filter(lambda s: bool(s.strip()))
descriptions = st.one_of(
    st.just(""),
    st.lists(st.sampled_from([*_CHARS, "\n", " ", '"""', "\\"]), max_size=80).map("".join),
)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """A valid project policy with at least one resource."""
    resource_ids = draw(st.lists(ids, min_size=1, max_size=5, unique=True))
    resources = [
        {
            "resource_id": rid,
            "description": draw(descriptions),
            "actions": draw(st.lists(ids, max_size=6)),
        }
        for rid in resource_ids
    ]
    roles = [
        {"role_id": rid, "description": draw(descriptions), "permissions": []}
        for rid in draw(st.lists(ids, max_size=4, unique=True))
    ]
    # Scopes grant some actions (or "*") of some resources: the constants' ``scopes=``.
    grants = st.lists(
        st.sampled_from(resources).flatmap(
            lambda r: st.builds(
                lambda actions, rid=r["resource_id"]: {"resource_id": rid, "actions": actions},
                st.lists(st.sampled_from([*r["actions"], "*"]), min_size=1, max_size=3),
            )
        ),
        max_size=3,
    )
    scopes = [
        {"scope": sid, "description": draw(descriptions), "permissions": draw(grants)}
        for sid in draw(st.lists(ids, max_size=3, unique=True))
    ]
    return Policy.parse({"resources": resources, "roles": roles, "scopes": scopes})


def load(source: str, name: str = "generated_permissions") -> types.ModuleType:
    """Execute generated source as a fresh module (the way importing its file would)."""
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


def assert_round_trip(module: types.ModuleType, policy: Policy) -> None:
    """Every id of the policy is reachable under its documented name, byte for byte."""
    resource_names = assign(r.resource_id for r in policy.resources)
    compiled = policy.compile()
    assert {m.value for m in module.Resource} == set(resource_names)
    for resource in policy.resources:
        names = resource_names[resource.resource_id]
        member = getattr(module.Resource, names.upper)
        assert member.value == resource.resource_id
        action_enum = getattr(module, f"{names.pascal}Action")
        assert issubclass(action_enum, ActionEnum)
        assert action_enum.__resource__ == resource.resource_id
        action_names = assign(a for a in resource.actions if a != "*")
        assert {a.value for a in action_enum} == set(action_names)
        namespace = getattr(module.P, names.snake)
        for action_id, action in action_names.items():
            enum_member = getattr(action_enum, action.upper)
            assert enum_member.value == action_id
            expected = Permission(resource.resource_id, action_id)
            constant = getattr(namespace, action.snake)
            assert constant == expected
            assert constant.scopes == compiled.scopes_granting(resource.resource_id, action_id)
            assert all(isinstance(s, module.Scope) for s in constant.scopes)
            assert enum_member.permission == expected
            assert module.permission(member, enum_member) == expected
    role_ids = [r.role_id for r in policy.roles]
    scope_ids = [s.scope for s in policy.scopes]
    for enum, wanted in ((module.Role, role_ids), (module.Scope, scope_ids)):
        assert {m.value for m in enum} == set(wanted)
        for value, name in assign(wanted).items():
            assert getattr(enum, name.upper).value == value
    assert policy.sha256() == module.POLICY_SHA256
    assert not drift(module, policy)


def _reordered(policy: Policy) -> Policy:
    data: dict[str, Any] = policy.to_json()
    for key in ("roles", "resources", "scopes"):
        data[key].reverse()
    for resource in data["resources"]:
        resource["actions"].reverse()
    return Policy.parse(data)


@settings(max_examples=60, deadline=None)
@given(policies())
def test_random_policy_renders_imports_and_round_trips(policy: Policy) -> None:
    """Any valid policy renders deterministically to a module whose names map back to its ids."""
    source = render_module(policy)
    assert render_module(policy) == source
    assert render_module(_reordered(policy)) == source
    assert source.isascii()
    assert_round_trip(load(source), policy)
    stub = render_stub(policy)
    module_names = {n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}
    stub_names = {n.name for n in ast.parse(stub).body if isinstance(n, ast.ClassDef)}
    assert module_names == stub_names


def test_permission_rejects_a_foreign_action_at_run_time(example_policy: Policy) -> None:
    """permission() raises ValueError for an action of another resource (for untyped callers)."""
    module = load(render_module(example_policy))
    with pytest.raises(ValueError, match="is not an action of resource 'documents'"):
        module.permission(module.Resource.DOCUMENTS, module.ProjectsAction.READ)


def _run_ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--config", str(ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        check=False,
    )


def test_random_policies_pass_ruff_and_mypy_strict(tmp_path: Path) -> None:
    """Rendered modules and stubs of random policies (and the goldens) are lint- and mypy-clean."""
    rendered: list[Policy] = []

    @settings(
        max_examples=12,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(policies())
    def collect(policy: Policy) -> None:
        rendered.append(policy)

    collect()
    files: list[Path] = []
    for n, policy in enumerate(rendered):
        for suffix, text in ((".py", render_module(policy)), (".pyi", render_stub(policy))):
            path = tmp_path / f"generated_{n}{'_stub' if suffix == '.pyi' else ''}{suffix}"
            path.write_text(text, encoding="utf-8")
            files.append(path)
    for case in sorted(CASES_DIR.iterdir()):
        if (case / "expected.py").is_file():
            path = tmp_path / f"golden_{case.name}.py"
            path.write_bytes((case / "expected.py").read_bytes())
            files.append(path)
    names = [str(f) for f in files]

    fmt = _run_ruff("format", "--check", "--diff", *names)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    lint = _run_ruff("check", "--no-cache", *names)
    assert lint.returncode == 0, lint.stdout + lint.stderr

    stdout, stderr, status = mypy_api.run(
        [
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "--no-error-summary",
            *names,
        ]
    )
    assert status == 0, stdout + stderr
