"""``generate --lang ts``: the TypeScript module, compiled with ``tsc`` against the real
``@stytch/vanilla-js`` type declarations.

``npm ci`` installs the pinned ``typescript`` and ``@stytch/vanilla-js`` from
tests/codegen/ts/package-lock.json (as tests/conformance/node does for the Node SDK).
Needs ``node`` and ``npm`` on PATH and the npm registry the first time; without them
the tests fail (they never skip).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from stytch_rbac import Policy
from stytch_rbac.cli._app import app
from stytch_rbac.codegen import check, default_command, render_typescript

ROOT = Path(__file__).resolve().parents[2]
TS_DIR = Path(__file__).resolve().parent / "ts"
EXAMPLE = ROOT / "examples" / "policy.json"
EXAMPLE_TS = ROOT / "examples" / "permissions.ts"
TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "noEmit": True,
        "target": "es2022",
        "module": "esnext",
        "moduleResolution": "bundler",
        "lib": ["es2022", "dom"],
        "skipLibCheck": False,
        "types": [],
    }
}
CLIENT = (
    "import type { PermissionsMap, createStytchB2BHeadlessClient }\n"
    '  from "@stytch/vanilla-js/b2b/headless";\n'
    "declare const stytch: ReturnType<typeof createStytchB2BHeadlessClient>;\n"
)
GOOD = (
    CLIENT
    + """import { ACTIONS, POLICY_SHA256, RESOURCES, ROLES, SCOPES } from "./permissions";
import { SCOPES_GRANTING, can, canSync } from "./permissions";
import type { Permissions, Resource, Role, Scope } from "./permissions";

export async function check(): Promise<boolean> {
  const all: PermissionsMap<Permissions> = await stytch.rbac.allPermissions<Permissions>();
  const edit: boolean = all.documents.edit;
  const resource: Resource = RESOURCES[0];
  const role: Role = ROLES[0];
  const scope: Scope = SCOPES[0];
  const actions: readonly Permissions["documents"][] = ACTIONS.documents;
  const granting: readonly Scope[] = SCOPES_GRANTING.documents.read;
  const allowed = await can(stytch, "documents", "edit");
  const search = canSync(stytch, "stytch.member", "search");
  return edit && allowed && search && POLICY_SHA256.length === 64 && !!resource && !!role
    && !!scope && actions.length > 0 && granting.length > 0;
}
"""
)
# Each line that must not compile, with the error tsc must give for it.
BAD = {
    'export const misspelt = can(stytch, "documents", "edti");': "TS2345",
    'export const otherResources = can(stytch, "billing", "edit");': "TS2345",
    'export const noSuchResource = can(stytch, "documentz", "edit");': "TS2345",
    "export const noSuchKey = (all: PermissionsMap<Permissions>) => all.documents.fly;": "TS2339",
    "export const noSuchGrant = SCOPES_GRANTING.documents.fly;": "TS2339",
}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not on PATH: the TypeScript tests need Node.js 18+ and npm")
    return path


@pytest.fixture(scope="module")
def tsc() -> str:
    """``tsc``, once ``npm ci`` has installed the locked packages into tests/codegen/ts."""
    npm = _tool("npm")
    _tool("node")
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--loglevel=error"],
        cwd=TS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return str(TS_DIR / "node_modules" / ".bin" / "tsc")


def _compile(tsc: str, folder: Path, files: dict[str, str]) -> tuple[int, list[str]]:
    """Write ``files`` into ``folder`` (next to the locked node_modules) and run tsc on them;
    the exit code and the error lines."""
    (folder / "node_modules").symlink_to(TS_DIR / "node_modules", target_is_directory=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    config = {**TSCONFIG, "files": sorted(n for n in files if n != "permissions.ts")}
    (folder / "tsconfig.json").write_text(json.dumps(config))
    done = subprocess.run(
        [tsc, "-p", str(folder), "--pretty", "false"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, [line for line in done.stdout.splitlines() if ": error TS" in line]


def test_the_module_compiles_against_the_stytch_frontend_sdk_types(
    tsc: str, tmp_path: Path
) -> None:
    """The generated module's ``Permissions`` fits ``allPermissions<Permissions>()`` of the real
    @stytch/vanilla-js declarations (skipLibCheck off), and ``can`` takes its B2B client."""
    module = render_typescript(Policy.from_file(EXAMPLE))
    code, errors = _compile(tsc, tmp_path, {"permissions.ts": module, "app.ts": GOOD})
    assert errors == []
    assert code == 0


def test_a_misspelt_action_does_not_compile(tsc: str, tmp_path: Path) -> None:
    """Each wrong line (a misspelt action, another resource's action, an unknown resource, an
    unknown key of allPermissions) is a tsc error on exactly that line."""
    module = render_typescript(Policy.from_file(EXAMPLE))
    head = (
        CLIENT
        + 'import { SCOPES_GRANTING, can } from "./permissions";\n'
        + 'import type { Permissions } from "./permissions";\n'
    )
    lines = list(BAD)
    code, errors = _compile(
        tsc, tmp_path, {"permissions.ts": module, "bad.ts": head + "\n".join(lines) + "\n"}
    )
    assert code != 0
    first = head.count("\n") + 1
    found = {
        int(m[1]): m[2]
        for m in (re.search(r"bad\.ts\((\d+),\d+\): error (TS\d+)", e) for e in errors)
        if m
    }
    assert found == {first + i: BAD[line] for i, line in enumerate(lines)}, errors


def test_odd_ids_and_descriptions_compile(tsc: str, tmp_path: Path) -> None:
    """Ids with quotes, backslashes, non-ASCII and dots, a description closing a comment, and a
    resource without actions render to a module tsc accepts, every id byte for byte."""
    odd = ['a"b', "back\\slash", "é-ü", "stytch.x.y", "*/", "new line\n"]
    policy = Policy.parse(
        {
            "resources": [
                {"resource_id": rid, "description": "ends */ here", "actions": odd} for rid in odd
            ]
            + [{"resource_id": "empty", "actions": []}],
            "roles": [{"role_id": r, "description": "*/"} for r in odd],
            "scopes": [{"scope": "read:*/"}],
        }
    )
    module = render_typescript(policy)
    check_ids = (
        'import { RESOURCES, ROLES } from "./permissions";\n'
        "export const ids: readonly string[] = [...RESOURCES, ...ROLES];\n"
    )
    code, errors = _compile(tsc, tmp_path, {"permissions.ts": module, "ids.ts": check_ids})
    assert errors == []
    assert code == 0
    literal_ids = re.findall(r'^  ("(?:[^"\\]|\\.)*"),$', module, flags=re.M)
    assert {json.loads(s) for s in literal_ids} >= set(odd)


@settings(max_examples=25)
@given(st.randoms())
def test_the_module_is_byte_stable_whatever_the_order(rng: random.Random) -> None:
    """Shuffling every list of the policy gives the same bytes, and the header carries the
    policy's sha256."""
    data = json.loads(EXAMPLE.read_text())
    for key in ("roles", "resources", "scopes"):
        rng.shuffle(data[key])
    for resource in data["resources"]:
        rng.shuffle(resource["actions"])
    shuffled, policy = Policy.parse(data), Policy.from_file(EXAMPLE)
    assert render_typescript(shuffled) == render_typescript(policy)
    assert f"// Policy sha256:{policy.sha256()}\n" in render_typescript(policy)


def test_generate_lang_ts_check_works_like_python(tmp_path: Path) -> None:
    """``generate --lang ts --check`` (and ``check FILE.ts``) exit 0 when current and 1 with a
    unified diff when the policy changed; a .ts --output implies --lang ts."""
    out = tmp_path / "permissions.ts"
    runner = CliRunner()
    wrote = runner.invoke(app, ["generate", "--policy", str(EXAMPLE), "-o", str(out)])
    assert wrote.exit_code == 0, wrote.output
    assert out.read_text().startswith("// Generated by stytch-rbac")
    current = runner.invoke(
        app, ["generate", "--lang", "ts", "--policy", str(EXAMPLE), "-o", str(out), "--check"]
    )
    assert current.exit_code == 0, current.output
    data = json.loads(EXAMPLE.read_text())
    data["resources"][-1]["actions"].append("fly")
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    stale = runner.invoke(
        app, ["generate", "--lang", "ts", "--policy", str(changed), "-o", str(out), "--check"]
    )
    assert stale.exit_code == 1
    assert '+  "webhooks": "create" | "delete" | "fly"' in stale.stdout
    assert runner.invoke(app, ["check", str(out), "--policy", str(changed)]).exit_code == 1
    assert runner.invoke(app, ["check", str(out), "--policy", str(EXAMPLE)]).exit_code == 0
    stub = runner.invoke(app, ["generate", "--lang", "ts", "--stub", "--policy", str(EXAMPLE)])
    assert stub.exit_code == 2


def test_example_typescript_module_is_current() -> None:
    """examples/permissions.ts is what generate --lang ts writes for examples/policy.json."""
    command = default_command(
        policy="examples/policy.json", output="examples/permissions.ts", lang="ts"
    )
    assert check(EXAMPLE_TS, Policy.from_file(EXAMPLE), command=command).current
