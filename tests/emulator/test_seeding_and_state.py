"""Seeding over HTTP (/_emulator/), seed files, state snapshots and the Python API's records."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import stytch

from stytch_rbac.emulator import Emulator, EmulatorError, SeedError

from .conftest import EXAMPLES, Seeded


def test_http_seeding_api(emu: Emulator, base_url: str) -> None:
    """Organizations, members, sessions, policy, faults and time are all reachable over HTTP."""
    with httpx.Client(base_url=base_url, auth=(emu.project_id, emu.secret)) as http:
        org = http.post(
            "/_emulator/organizations",
            json={"organization_name": "Hooli", "organization_slug": "hooli"},
        )
        org_id = org.json()["organization"]["organization_id"]
        member = http.post(
            "/_emulator/members",
            json={"organization_id": org_id, "email_address": "g@hooli.test", "roles": ["editor"]},
        )
        assert member.status_code == 200, member.text
        session = http.post(
            "/_emulator/sessions", json={"member_id": member.json()["member_id"]}
        ).json()
        assert session["roles"] == ["stytch_member", "editor"]
        authed = http.post(
            "/v1/b2b/sessions/authenticate", json={"session_jwt": session["session_jwt"]}
        )
        assert authed.json()["member"]["email_address"] == "g@hooli.test"
        seeded = http.post("/_emulator/seed", json=json.loads((EXAMPLES / "seed.json").read_text()))
        assert [o["organization"]["organization_slug"] for o in seeded.json()["organizations"]] == [
            "acme",
            "globex",
        ]
        kid = http.post("/_emulator/keys/rotate", json={"grace_seconds": 10}).json()["kid"]
        assert emu.kid == kid
        assert (
            http.post(
                "/_emulator/faults",
                json={"kind": "fail", "endpoint": "rbac.policy", "status": 503, "times": 1},
            ).status_code
            == 200
        )
        assert http.get("/v1/b2b/rbac/policy").status_code == 503
        assert http.get("/_emulator/requests").json()["requests"]["rbac.policy"] == 1
        before = emu.clock.time()
        http.post("/_emulator/time/advance", json={"seconds": 60})
        assert emu.clock.time() >= before + 60
        assert http.put("/_emulator/policy", json={"policy": {"roles": []}}).status_code == 200
        assert emu.policy.roles == ()
        bad = http.post("/_emulator/members", json={"organization_id": org_id})
        assert bad.json()["error_type"] == "invalid_argument"
        assert http.get("/_emulator/outbox").json()["outbox"] == []
    with httpx.Client(base_url=base_url) as anonymous:
        assert anonymous.get("/_emulator/requests").status_code == 401


def test_example_seed_file(emu: Emulator) -> None:
    """examples/seed.json creates two organizations with admin, editor and viewer members."""
    created = emu.load_seed(EXAMPLES / "seed.json")
    assert [o.organization_slug for o, _ in created] == ["acme", "globex"]
    acme_roles = {m.email_address: m.roles for m in created[0][1]}
    assert "stytch_admin" in acme_roles["ada@acme.test"]
    assert "editor" in acme_roles["eddie@acme.test"]
    assert "viewer" in acme_roles["vera@acme.test"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param({}, "'organizations' list", id="no-organizations"),
        pytest.param(
            {"organizations": [{}]}, r"organizations\[0\] needs an organization_name", id="no-name"
        ),
        pytest.param(
            {"organizations": [{"organization_name": "A", "members": [{}]}]},
            r"organizations\[0\].members\[0\] needs an email_address",
            id="no-email",
        ),
        pytest.param(
            {
                "organizations": [
                    {
                        "organization_name": "A",
                        "members": [{"email_address": "a@a.test", "roles": ["nope"]}],
                    }
                ]
            },
            "Unknown role id 'nope'",
            id="unknown-role",
        ),
    ],
)
def test_bad_seeds_name_the_entry(emu: Emulator, document: dict[str, object], message: str) -> None:
    """A seed that cannot be applied raises SeedError pointing at the bad entry."""
    with pytest.raises(SeedError, match=message):
        emu.load_seed(document)


def test_state_round_trip(tmp_path: Path, seeded: Seeded) -> None:
    """A restored emulator has the same project, records, sessions and signing key."""
    path = tmp_path / "state.json"
    seeded.emu.set_org_policy(
        seeded.acme.organization_id,
        {"roles": [{"role_id": "r", "description": "", "permissions": []}]},
    )
    seeded.emu.save_state(path)
    restored = Emulator.from_state(path)
    assert (restored.project_id, restored.secret) == (seeded.emu.project_id, seeded.emu.secret)
    assert restored.kid == seeded.emu.kid
    assert restored.get_member(seeded.editor.member_id).roles == seeded.editor.roles
    assert restored.get_organization("acme").json["custom_roles"][0]["role_id"] == "r"
    again = restored.create_member(seeded.acme.organization_id, "new@acme.test")
    assert again.member_id not in {m.member_id for m in seeded.emu.members()}
    assert restored.session_jwt(seeded.editor_session.member_session_id)
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_persist_saves_before_acknowledging(
    tmp_path: Path,
    emu: Emulator,
    base_url: str,
    make_client: Callable[[str, str, str], stytch.B2BClient],
) -> None:
    """With persist_to, an HTTP write is on disk by the time the client sees the answer."""
    path = tmp_path / "state.json"
    emu.persist_to(path)
    client = make_client(emu.project_id, emu.secret, base_url)
    org = client.organizations.create(organization_name="Durable").organization
    saved = json.loads(path.read_text())
    assert org.organization_id in {o["data"]["organization_id"] for o in saved["organizations"]}
    emu.persist_to(None)
    client.organizations.create(organization_name="Not saved")
    assert len(json.loads(path.read_text())["organizations"]) == 1


def test_records_hide_tokens_and_errors_are_typed(seeded: Seeded) -> None:
    """Session records never show a token in repr; Python API errors carry Stytch's fields."""
    text = repr(seeded.editor_session)
    assert seeded.editor_session.session_token not in text
    assert seeded.editor_session.session_jwt not in text
    with pytest.raises(EmulatorError) as info:
        seeded.emu.create_member(seeded.acme.organization_id, "editor@acme.test")
    assert (info.value.status_code, info.value.error_type) == (400, "duplicate_member_email")
    with pytest.raises(EmulatorError) as missing:
        seeded.emu.create_session("member-test-missing")
    assert missing.value.error_type == "member_not_found"
    with pytest.raises(EmulatorError) as duration:
        seeded.emu.create_session(seeded.editor.member_id, duration_minutes=1)
    assert duration.value.error_type == "invalid_session_duration_minutes"


def test_default_policy_has_stytch_roles_only() -> None:
    """Emulator() without a policy serves Stytch's default resources and two roles."""
    emu = Emulator()
    assert {r.role_id for r in emu.policy.roles} == {"stytch_member", "stytch_admin"}
    assert "stytch.member" in {r.resource_id for r in emu.policy.resources}
    assert emu.project_id.startswith("project-test-")


def test_default_policy_describes_roles_and_resources_as_stytch_does() -> None:
    """The default roles and resources carry the descriptions Stytch's own mock policy shows."""
    policy = Emulator().policy
    roles = {r.role_id: r.description for r in policy.roles}
    assert roles["stytch_member"] == (
        "Granted to all Members upon creation; grants permissions already implicitly granted "
        "to logged in Members via the SDK. Cannot be deleted."
    )
    assert roles["stytch_admin"] == (
        "Granted to Members who create an organization through the Stytch discovery flow. "
        "Admins will also have the stytch_member role. Cannot be deleted."
    )
    resources = {r.resource_id: r.description for r in policy.resources}
    assert resources["stytch.organization"] == "Builtin resource for Stytch organization objects"
    assert resources["stytch.member"] == "Builtin resource for Stytch member objects"
    assert resources["stytch.self"] == "Builtin resource for the logged-in Stytch member object"
    assert resources["stytch.sso"] == "Builtin resource for Stytch SSO Connection objects"
    assert resources["stytch.scim"] == "Builtin resource for Stytch SCIM Connection objects"
    assert all(resources.values())
