"""``stytch-rbac emulator``: serves a seeded emulator the SDK can use, stops cleanly."""

from __future__ import annotations

import base64
import json
import selectors
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
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


def _start(*args: str, as_json: bool = True) -> subprocess.Popen[str]:
    json_flag = ["--json"] if as_json else []
    return subprocess.Popen(
        [sys.executable, "-m", "stytch_rbac", "emulator", "--port", "0", *json_flag, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _text_until(proc: subprocess.Popen[str], last: str) -> list[str]:
    """The text-mode lines up to ``last`` (the first line is waited for with a timeout)."""
    lines = [_first_line(proc)]
    assert proc.stdout is not None
    while lines[-1].rstrip("\n") != last:
        line = proc.stdout.readline()
        assert line, "the emulator command stopped before printing: " + last
        lines.append(line)
    return [line.rstrip("\n") for line in lines]


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


def test_cli_prints_export_lines_a_shell_can_paste(
    make_client: Callable[[str, str, str], stytch.B2BClient],
) -> None:
    """The text output ends with ``export`` lines; evaluated by bash they give the
    credentials, each organization's id and each member's live JWT and token, by name."""
    proc = _start(
        "--policy",
        str(EXAMPLES / "policy.json"),
        "--seed",
        str(EXAMPLES / "seed.json"),
        as_json=False,
    )
    try:
        lines = _text_until(proc, "Press Ctrl-C to stop.")
        exports = "\n".join(line for line in lines if line.startswith("export "))
        shell = subprocess.run(
            ["bash", "-c", 'eval "$PASTED" && env -0'],
            env={"PATH": "/usr/bin:/bin", "PASTED": exports},
            capture_output=True,
            text=True,
            check=True,
        )
        env = dict(item.split("=", 1) for item in shell.stdout.split("\0") if item)
        assert env["STYTCH_BASE_URL"] in lines[0]
        client = make_client(env["STYTCH_PROJECT_ID"], env["STYTCH_SECRET"], env["STYTCH_BASE_URL"])
        eddie = client.sessions.authenticate(session_token=env["ACME_EDDIE_TOKEN"])
        assert eddie.member.email_address == "eddie@acme.test"
        assert eddie.organization.organization_id == env["ACME_ID"]
        assert "editor" in eddie.member_session.roles
        gina = client.sessions.authenticate_jwt(session_jwt=env["GLOBEX_GINA_JWT"])
        assert gina.member_session.organization_id == env["GLOBEX_ID"] != env["ACME_ID"]
        names = {name for name in env if name.startswith(("ACME_", "GLOBEX_"))}
        assert len(names) == 2 + 2 * 7  # two organizations, seven members
    finally:
        _stop(proc, signal.SIGINT)


def test_cli_json_has_the_same_variables() -> None:
    """``--json`` carries the export lines' variables as ``env``, for scripts."""
    proc = _start("--policy", str(EXAMPLES / "policy.json"), "--seed", str(EXAMPLES / "seed.json"))
    try:
        info: dict[str, Any] = json.loads(_first_line(proc))
    finally:
        _stop(proc, signal.SIGTERM)
    env = info["env"]
    assert env["STYTCH_BASE_URL"] == info["base_url"]
    assert env["STYTCH_SECRET"] == info["secret"]
    ada = info["sessions"][0]
    assert env["ACME_ID"] == ada["organization_id"]
    assert env["ACME_ADA_JWT"] == ada["session_jwt"]
    assert env["ACME_ADA_TOKEN"] == ada["session_token"]
    assert env["STYTCH_MANAGEMENT_URL"] == info["base_url"]
    assert env["STYTCH_WORKSPACE_KEY_ID"].startswith("workspace-key-test-")
    assert env["STYTCH_WORKSPACE_KEY_SECRET"] != env["STYTCH_SECRET"]


def test_cli_prints_the_public_token_and_allowed_origins() -> None:
    """The frontend SDK's settings: the public token (also as ``STYTCH_PUBLIC_TOKEN``) and
    the page origins, ``--allow-origin`` added; the served bootstrap answers that token."""
    proc = _start(
        "--policy", str(EXAMPLES / "policy.json"), "--allow-origin", "http://app.test:8080"
    )
    try:
        info: dict[str, Any] = json.loads(_first_line(proc))
        token = info["public_token"]
        assert token.startswith("public-token-test-")
        assert info["env"]["STYTCH_PUBLIC_TOKEN"] == token
        assert list(info["env"])[:5] == [
            "STYTCH_PROJECT_ID",
            "STYTCH_SECRET",
            "STYTCH_BASE_URL",
            "STYTCH_PROJECT_DOMAIN",
            "STYTCH_PUBLIC_TOKEN",
        ]
        assert info["allowed_origins"] == [
            "http://localhost:*",
            "http://127.0.0.1:*",
            "http://app.test:8080",
        ]
        basic = base64.b64encode(f"{token}:{token}".encode()).decode()
        response = httpx.get(
            f"{info['base_url']}/sdk/v1/projects/bootstrap/{token}",
            headers={"Origin": "http://app.test:8080", "Authorization": f"Basic {basic}"},
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "http://app.test:8080"
        roles = {r["role_id"] for r in response.json()["data"]["rbac_policy"]["roles"]}
        assert {"editor", "viewer", "stytch_admin"} <= roles
    finally:
        _stop(proc, signal.SIGTERM)


def test_cli_refuses_a_bad_allowed_origin() -> None:
    """``--allow-origin`` that is not an origin is a one-line error, exit code 2."""
    result = CliRunner().invoke(app, ["emulator", "--allow-origin", "app.test:8080"])
    assert result.exit_code == 2
    assert "allowed origin 'app.test:8080'" in result.output


def test_cli_project_domain_reaches_from_env_and_its_tokens_verify() -> None:
    """``--project-domain`` names the issuer of the emulator's Connected-App tokens, and
    the printed ``STYTCH_PROJECT_DOMAIN`` is what ``StytchRBAC.from_env`` reads: a token
    minted over HTTP for a seeded member verifies with nothing else configured."""
    import anyio

    from stytch_rbac import AgentPrincipal, StytchRBAC

    proc = _start(
        "--policy",
        str(EXAMPLES / "policy.json"),
        "--seed",
        str(EXAMPLES / "seed.json"),
        "--project-domain",
        "auth.acme.test",
    )
    try:
        info: dict[str, Any] = json.loads(_first_line(proc))
        env: dict[str, str] = info["env"]
        assert env["STYTCH_PROJECT_DOMAIN"] == "auth.acme.test"
        assert list(env)[:4] == [
            "STYTCH_PROJECT_ID",
            "STYTCH_SECRET",
            "STYTCH_BASE_URL",
            "STYTCH_PROJECT_DOMAIN",
        ]
        ada = info["sessions"][0]
        auth = (info["project_id"], info["secret"])
        with httpx.Client(base_url=info["base_url"], auth=auth) as http:
            app_ = http.post(
                "/v1/connected_apps/clients",
                json={"client_type": "third_party", "client_name": "Agent"},
            ).json()["connected_app"]
            minted = http.post(
                "/_emulator/connected_apps/tokens",
                json={
                    "member_id": ada["member_id"],
                    "client_id": app_["client_id"],
                    "scopes": ["openid"],
                },
            )
            assert minted.status_code == 200, minted.text
            token = minted.json()["access_token"]

        async def verify() -> object:
            async with StytchRBAC.from_env(env) as rbac:
                assert rbac.project_domain == "auth.acme.test"
                return await rbac.authenticate_access_token(token)

        agent = anyio.run(verify)
        assert isinstance(agent, AgentPrincipal)
        assert (agent.member_id, agent.client_id) == (ada["member_id"], app_["client_id"])
    finally:
        _stop(proc, signal.SIGTERM)


def test_cli_project_domain_must_match_the_snapshot(tmp_path: Path) -> None:
    """A snapshot's tokens were issued by its project domain: another one is refused."""
    state = tmp_path / "state.json"
    proc = _start("--state", str(state), "--project-domain", "one.acme.test")
    try:
        assert json.loads(_first_line(proc))["env"]["STYTCH_PROJECT_DOMAIN"] == "one.acme.test"
    finally:
        _stop(proc, signal.SIGTERM)
    result = CliRunner().invoke(
        app, ["emulator", "--state", str(state), "--project-domain", "two.acme.test"]
    )
    assert result.exit_code != 0
    assert "differs from the snapshot's (one.acme.test)" in result.output
