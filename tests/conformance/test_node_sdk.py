"""The official Stytch Node SDK (npm ``stytch`` 14.x) as a second client of the emulator.

``npm ci`` installs the SDK from tests/conformance/node/package-lock.json, then
``conformance.js`` runs its checks against an emulator served here on 127.0.0.1 and
prints its results as JSON. Every response it gets is also checked against Stytch's
OpenAPI description. Needs ``node`` and ``npm`` on PATH and the npm registry the first
time; without them the test fails (it never skips).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from stytch_rbac.emulator import Emulator

from .recorder import recording

NODE_DIR = Path(__file__).resolve().parent / "node"
POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
CHECKS = {
    "rbac.policy",
    "sessions.authenticate without authorization_check",
    "sessions.authenticate with authorization_check (allowed)",
    "sessions.authenticate with authorization_check (denied)",
    "sessions.authenticate with authorization_check (other organization)",
    "sessions.authenticateJwtLocal",
    "sessions.authenticateJwtLocal with authorization_check",
    "organizations",
    "members with the member-session option",
    "invites",
    "sso",
    "scim",
    "sessions.revoke",
}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not on PATH: the Node SDK conformance test needs Node.js 18+ and npm"
        )
    return path


@pytest.fixture(scope="module")
def node_sdk() -> str:
    """``node``, once ``npm ci`` has installed the locked SDK into tests/conformance/node."""
    node, npm = _tool("node"), _tool("npm")
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--loglevel=error"],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return node


def test_node_sdk_runs_against_the_emulator(node_sdk: str) -> None:
    """Every check of conformance.js passes with the official Node SDK, and every response
    the emulator sent it fits Stytch's OpenAPI description."""
    emu = Emulator(policy=POLICY)
    acme = emu.create_organization("Acme", slug="acme").organization_id
    globex = emu.create_organization("Globex", slug="globex").organization_id
    people = {
        "admin": (acme, "admin@acme.test", ["stytch_admin"]),
        "editor": (acme, "editor@acme.test", ["editor"]),
        "viewer": (acme, "viewer@acme.test", ["viewer"]),
        "outsider": (globex, "boss@globex.test", ["stytch_admin"]),
    }
    members = {}
    for who, (org, email, roles) in people.items():
        member = emu.create_member(org, email, roles=roles)
        session = emu.create_session(member.member_id)
        members[who] = {
            "member_id": member.member_id,
            "member_session_id": session.member_session_id,
            "session_token": session.session_token,
            "session_jwt": session.session_jwt,
        }
    with recording(emu) as log, emu.serve_in_thread() as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        run_input = {
            "base_url": base_url,
            "project_id": emu.project_id,
            "secret": emu.secret,
            "acme": acme,
            "globex": globex,
            "members": members,
        }
        done = subprocess.run(
            [node_sdk, "conformance.js"],
            cwd=NODE_DIR,
            env={**os.environ, "CONFORMANCE_INPUT": json.dumps(run_input)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    lines = done.stdout.strip().splitlines()
    assert len(lines) >= 2, f"no results from conformance.js:\n{done.stdout}\n{done.stderr}"
    report = json.loads(lines[-2])
    failures = [f"{r['name']}: {r['error']}" for r in report["results"] if not r["ok"]]
    assert not failures, "Node SDK checks failed:\n" + "\n\n".join(failures)
    assert {r["name"] for r in report["results"]} == CHECKS
    assert lines[-1] == f"{len(CHECKS)} passed, 0 failed"
    assert report["sdk"].startswith("14.")
    assert done.returncode == 0, done.stderr
    assert emu.requests["sessions.jwks"] >= 1  # authenticateJwtLocal fetched the keys
    problems = log.problems()
    assert not problems, "responses outside Stytch's description:\n" + "\n".join(problems)
