"""``stytch-rbac emulator``: serves a seeded emulator the SDK can use, stops cleanly."""

from __future__ import annotations

import json
import selectors
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stytch
from typer.testing import CliRunner

from stytch_rbac.cli._app import app

from .conftest import EXAMPLES


def _first_line(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """The first stdout line of ``proc``, or fail after ``timeout`` seconds."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            proc.kill()
            pytest.fail("the emulator command printed nothing")
    return proc.stdout.readline()


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "stytch_rbac", "emulator", "--port", "0", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(proc: subprocess.Popen[str], sig: signal.Signals) -> str:
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return err


def test_cli_serves_seeded_sessions_and_reloads_state(
    tmp_path: Path, make_client: Callable[[str, str, str], stytch.B2BClient]
) -> None:
    """The printed session works with the SDK; after a restart from --state it still does."""
    state = tmp_path / "state.json"
    args = [
        "--policy",
        str(EXAMPLES / "policy.json"),
        "--seed",
        str(EXAMPLES / "seed.json"),
        "--state",
        str(state),
    ]
    proc = _start(*args)
    info: dict[str, Any] = json.loads(_first_line(proc))
    try:
        client = make_client(info["project_id"], info["secret"], info["base_url"])
        first = info["sessions"][0]
        assert first["email_address"] == "ada@acme.test"
        who = client.sessions.authenticate(session_token=first["session_token"])
        assert who.member.member_id == first["member_id"]
        client.organizations.create(organization_name="Made over HTTP")
    finally:
        assert "Traceback" not in _stop(proc, signal.SIGINT)
    proc = _start("--state", str(state))
    again: dict[str, Any] = json.loads(_first_line(proc))
    try:
        assert again["project_id"] == info["project_id"]
        client = make_client(again["project_id"], again["secret"], again["base_url"])
        still = client.sessions.authenticate(session_token=first["session_token"])
        assert still.member.member_id == first["member_id"]
        slugs = {o.organization_slug for o in client.organizations.search().organizations}
        assert slugs == {"acme", "globex", "made-over-http"}
    finally:
        _stop(proc, signal.SIGTERM)


def test_cli_refuses_bad_input() -> None:
    """A missing policy file or a broken seed is a one-line error and exit code 2."""
    runner = CliRunner()
    missing = runner.invoke(app, ["emulator", "--policy", "no/such.json"])
    assert missing.exit_code == 2
    assert "policy file not found" in missing.output
    broken = runner.invoke(app, ["emulator", "--seed", str(EXAMPLES / "policy.json")])
    assert broken.exit_code == 2
    assert "organizations" in broken.output
