"""The emulator against Stytch's OpenAPI description (tests/conformance/openapi/).

- every route the emulator serves is an operation of the description;
- a request carrying only what the description requires is accepted (200), except
  where the description's own text asks for one of several optional fields;
- every response sent here (and in tests/emulator/, through its ``emu`` fixture)
  fits the documented schema, checked by ``recorder.py``;
- the operations the emulator does not serve are listed in docs/emulator.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from stytch_rbac.emulator import Emulator
from stytch_rbac.emulator._emulator import ROUTES

from .description import Description, Operation, description
from .recorder import UNDESCRIBED_ROUTES, ResponseLog, recording

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "emulator.md"
OIDC = {
    "issuer": "https://idp.test",
    "client_id": "client",
    "client_secret": "secret",
    "authorization_url": "https://idp.test/authorize",
    "token_url": "https://idp.test/token",
    "userinfo_url": "https://idp.test/userinfo",
    "jwks_url": "https://idp.test/jwks",
}
CERT = "-----BEGIN CERTIFICATE-----\nY29uZm9ybWFuY2U=\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nY29uZm9ybWFuY2U=\n-----END PRIVATE KEY-----\n"

# Operations whose description requires none of several optional fields in the schema
# but says in its text that one of them must be sent (quoted). The request with only the
# schema's required fields must be refused with a 400, and accepted with the first field.
ONE_OF: dict[str, tuple[str, str]] = {
    "sessions.authenticate": (
        "session_token",
        "This endpoint requires either a `session_jwt` or `session_token`",
    ),
    "sessions.revoke": (
        "member_session_id",
        "pass either the `member_session_id`, `session_token`, or `session_jwt`",
    ),
    "organizations.members.get": ("member_id", "Get a Member by `member_id` or `email_address`."),
    "organizations.members.unlink_retired_email": (
        "email_address",
        "identified in the request body by either its `email_id`, its `email_address`",
    ),
}

# Minimal requests the emulator still refuses, each with the issue that fixes it. The
# test asserts they are still refused, so fixing one fails it until the entry goes.
PENDING: dict[str, str] = {}


def _served() -> list[Any]:
    return [r for r in ROUTES if not r.name.startswith(("_emulator", *UNDESCRIBED_ROUTES))]


def _shape(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", template)


def test_every_emulator_route_is_an_operation_of_the_description() -> None:
    """Each Stytch route the emulator serves exists in the description with the same method,
    path and path-parameter names."""
    spec = description()
    by_shape = {(op.method, _shape(op.path)): op for op in spec}
    missing = [
        f"{r.method} {r.pattern}"
        for r in _served()
        if (r.method, _shape(r.pattern)) not in by_shape
    ]
    assert not missing, f"routes Stytch does not describe: {missing}"
    renamed = [
        f"{r.method} {r.pattern} (Stytch: {by_shape[(r.method, _shape(r.pattern))].path})"
        for r in _served()
        if by_shape[(r.method, _shape(r.pattern))].path != r.pattern
    ]
    assert not renamed, f"path parameters named unlike Stytch's: {renamed}"


def _unserved(spec: Description) -> list[Operation]:
    served = {(r.method, _shape(r.pattern)) for r in _served()}
    return sorted(
        (op for op in spec if (op.method, _shape(op.path)) not in served),
        key=lambda o: (o.path, o.method),
    )


def test_operations_the_emulator_lacks_are_listed_in_the_docs() -> None:
    """docs/emulator.md lists exactly the description's operations the emulator does not
    serve, one `METHOD path` per line of its "Not served" list."""
    text = DOCS.read_text()
    section = text.split("<!-- unserved-operations:start -->", 1)[1]
    section = section.split("<!-- unserved-operations:end -->", 1)[0]
    listed = set(re.findall(r"`((?:GET|POST|PUT|DELETE|PATCH) /[^`]+)`", section))
    expected = {f"{op.method} {op.path}" for op in _unserved(description())}
    assert listed == expected, (
        f"missing from the docs: {sorted(expected - listed)}; "
        f"listed but served (or unknown): {sorted(listed - expected)}"
    )


# -- minimal requests ---------------------------------------------------------------


@dataclass
class World:
    """Records for every route to act on, keyed by the description's parameter names."""

    emu: Emulator
    base_url: str
    log: ResponseLog
    ids: dict[str, dict[str, str]]
    values: dict[str, Any]
    emails: dict[str, str]

    def values_for(self, name: str) -> dict[str, Any]:
        """Body and query values for route ``name``."""
        values = dict(self.values)
        values["email_address"] = self.emails.get(name, values["email_address"])
        return values

    def send(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> requests.Response:
        """One request with the project's Basic credentials."""
        return requests.request(
            method,
            self.base_url + path,
            params=query,
            json=body,
            auth=(self.emu.project_id, self.emu.secret),
            timeout=10,
        )

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A setup request that must succeed; its JSON body."""
        response = self.send(method, path, body=body)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data


@pytest.fixture
def world() -> Iterator[World]:
    """An emulator over HTTP with one record for each route to act on (a member with a
    password, TOTP, phone and retired email; a deleted member to reactivate; a connected
    app; SAML, OIDC, external and SCIM connections...)."""
    emu = Emulator()
    with recording(emu) as log, emu.serve_in_thread() as base_url:
        w = World(emu, base_url, log, {}, {}, {})
        acme = emu.create_organization("Acme", slug="acme", organization_external_id="acme-x")
        org = acme.organization_id
        other = emu.create_organization("Globex", slug="globex").organization_id
        doomed_org = emu.create_organization("Doomed", slug="doomed").organization_id
        ada = emu.create_member(
            org,
            "ada@acme.test",
            roles=["stytch_admin"],
            member_password_id=True,
            totp_registration_id=True,
            mfa_phone_number="+15555550123",
            external_id="ada-x",
        )
        gone = emu.create_member(org, "gone@acme.test", email_address_verified=True)
        doomed = emu.create_member(org, "doomed@acme.test")
        emu.create_member(other, "pat@globex.test", member_password_id=True)
        w.ok("DELETE", f"/v1/b2b/organizations/{org}/members/{gone.member_id}")
        w.ok(
            "PUT",
            f"/v1/b2b/organizations/{org}/members/{doomed.member_id}",
            {"email_address": "doomed2@acme.test"},
        )
        session = emu.create_session(ada.member_id)
        spare = emu.create_session(ada.member_id)
        app = emu.create_connected_app("Reports").client_id
        emu.grant_connected_app(ada.member_id, app, ["openid"])
        saml = w.ok("POST", f"/v1/b2b/sso/saml/{org}", {"display_name": "SAML"})["connection"]
        saml = w.ok(
            "PUT",
            f"/v1/b2b/sso/saml/{org}/connections/{saml['connection_id']}",
            {"x509_certificate": CERT, "saml_encryption_private_key": KEY},
        )["connection"]
        oidc = w.ok("POST", f"/v1/b2b/sso/oidc/{org}", {"display_name": "OIDC"})["connection"]
        w.ok("PUT", f"/v1/b2b/sso/oidc/{org}/connections/{oidc['connection_id']}", OIDC)
        source = w.ok("POST", f"/v1/b2b/sso/oidc/{other}", {})["connection"]
        external = w.ok(
            "POST",
            f"/v1/b2b/sso/external/{org}",
            {
                "external_organization_id": other,
                "external_connection_id": source["connection_id"],
            },
        )["connection"]
        doomed_sso = w.ok("POST", f"/v1/b2b/sso/oidc/{org}", {})["connection"]
        scim = w.ok("POST", f"/v1/b2b/scim/{other}/connection", {})["connection"]
        base = {
            "project_id": emu.project_id,
            "organization_id": org,
            "member_id": ada.member_id,
            "connected_app_id": app,
            "member_password_id": ada.json["member_password_id"],
            "connection_id": saml["connection_id"],
            "certificate_id": saml["verification_certificates"][0]["certificate_id"],
            "private_key_id": saml["encryption_private_keys"][0]["private_key_id"],
        }
        w.ids = {
            "*": base,
            "organizations.delete": {"organization_id": doomed_org},
            "organizations.members.delete": {"member_id": doomed.member_id},
            "organizations.members.reactivate": {"member_id": gone.member_id},
            "organizations.members.unlink_retired_email": {"member_id": doomed.member_id},
            "sso.delete_connection": {"connection_id": doomed_sso["connection_id"]},
            "sso.oidc.update_connection": {"connection_id": oidc["connection_id"]},
            "sso.external.update_connection": {"connection_id": external["connection_id"]},
            "scim.": {"organization_id": other, "connection_id": scim["connection_id"]},
        }
        w.values = {
            "org_policy": {"roles": []},
            "organization_name": "Minimal",
            "organization_ids": [org],
            "organization_id": org,
            "email_address": "someone@acme.test",
            "metadata_url": "https://idp.test/metadata",
            "external_organization_id": other,
            "external_connection_id": source["connection_id"],
            "session_token": session.session_token,
            "member_session_id": spare.member_session_id,
            "member_id": ada.member_id,
        }
        w.emails = {  # distinct addresses where one would collide
            "organizations.members.unlink_retired_email": "doomed@acme.test",
            "passwords.email.require_reset": "pat@globex.test",
            "organizations.members.get": "ada@acme.test",
            "organizations.members.start_email_update": "changed@acme.test",
            "magic_links.email.invite": "invitee@acme.test",
        }
        yield w


# The order requests are sent in: deletions and rotations last, after what they undo.
ORDER = [
    "rbac.policy",
    "rbac.org_policy",
    "rbac.organizations.set_org_policy",
    "sessions.authenticate",
    "sessions.get",
    "sessions.jwks",
    "organizations.create",
    "organizations.search",
    "organizations.get",
    "organizations.update",
    "organizations.metrics",
    "organizations.connected_apps",
    "organizations.get_connected_app",
    "organizations.members.create",
    "organizations.members.get",
    "organizations.members.dangerously_get",
    "organizations.members.search",
    "organizations.members.update",
    "organizations.members.reactivate",
    "organizations.members.unlink_retired_email",
    "organizations.members.start_email_update",
    "organizations.members.get_connected_apps",
    "organizations.members.connected_apps.revoke",
    "organizations.members.delete_mfa_phone_number",
    "organizations.members.delete_totp",
    "organizations.members.delete_password",
    "organizations.members.delete_external_id",
    "organizations.members.delete",
    "organizations.delete_external_id",
    "organizations.delete",
    "magic_links.email.invite",
    "passwords.email.require_reset",
    "sso.get_connections",
    "sso.saml.create_connection",
    "sso.saml.update_connection",
    "sso.saml.delete_verification_certificate",
    "sso.saml.delete_encryption_private_key",
    "sso.saml.update_by_url",
    "sso.oidc.create_connection",
    "sso.oidc.update_connection",
    "sso.external.create_connection",
    "sso.external.update_connection",
    "sso.delete_connection",
    "scim.connection.get",
    "scim.connection.update",
    "scim.connection.get_groups",
    "scim.connection.rotate_start",
    "scim.connection.rotate_complete",
    "scim.connection.rotate_start",
    "scim.connection.rotate_cancel",
    "scim.connection.delete",
    "scim.connection.create",
    "sessions.revoke",
]


def _minimal(world: World, spec: Description, name: str, op: Operation) -> dict[str, Any]:
    """The path, query and body of a request with only what ``op`` requires."""
    ids = dict(world.ids["*"])
    for key, override in world.ids.items():
        if name == key or (key.endswith(".") and name.startswith(key)):
            ids.update(override)
    path = op.path
    for param in op.parameters("path"):
        path = path.replace("{" + param["name"] + "}", ids[param["name"]])
    values = world.values_for(name)
    query = {p["name"]: ids[p["name"]] for p in op.parameters("query") if p.get("required")}
    body: dict[str, Any] | None = None
    schema = op.request_schema()
    if schema is not None:
        required = spec.resolve(schema).get("required", [])
        missing = [k for k in required if k not in values]
        assert not missing, f"{name}: give the test a value for {missing}"
        body = {key: values[key] for key in required}
    return {"path": path, "query": query, "body": body}


def test_requests_with_only_the_required_fields_are_accepted(world: World) -> None:
    """For every served route, a request holding only the description's required fields
    (and path parameters) is answered 200; where the description's text asks for one of
    several optional fields, the bare request is a 400 and adding that field makes it 200."""
    spec = description()
    routes = {r.name: r for r in _served()}
    assert set(ORDER) == set(routes), "ORDER must name every served route"
    refused: list[str] = []
    for name in ORDER:
        route = routes[name]
        op = next(
            o for o in spec if o.method == route.method and _shape(o.path) == _shape(route.pattern)
        )
        request = _minimal(world, spec, name, op)
        response = world.send(
            route.method, request["path"], query=request["query"], body=request["body"]
        )
        if name in ONE_OF:
            field_name, quote = ONE_OF[name]
            assert quote in str(op.spec.get("description", "")), f"{name}: the quoted rule moved"
            assert response.status_code == 400, f"{name}: {response.text}"
            extra = {field_name: world.values_for(name)[field_name]}
            if route.method == "GET":
                request["query"] = {**request["query"], **extra}
            else:
                request["body"] = {**(request["body"] or {}), **extra}
            response = world.send(
                route.method, request["path"], query=request["query"], body=request["body"]
            )
        if name in PENDING:
            assert response.status_code == 400, f"{name} is fixed: drop it from PENDING"
            continue
        if response.status_code != 200:
            refused.append(
                f"{route.method} {request['path']} -> {response.status_code} {response.text}"
            )
    assert not refused, "minimal requests refused:\n" + "\n".join(refused)
    problems = world.log.problems()
    assert not problems, "responses outside Stytch's description:\n" + "\n".join(problems)


def test_the_recorder_rejects_a_body_outside_the_description(world: World) -> None:
    """The response check is not vacuous: an organization missing required fields, a field
    of the wrong type or an undocumented field is reported."""
    from .recorder import Exchange

    org = world.ids["*"]["organization_id"]
    bad = b'{"status_code": 200, "request_id": "r", "organization": {"organization_id": 5}, "x": 1}'
    world.log.exchanges.append(Exchange("GET", f"/v1/b2b/organizations/{org}", 200, bad))
    problems = "\n".join(world.log.problems())
    assert "'organization_name' is a required property" in problems
    assert "5 is not of type 'string'" in problems
    assert "'x' was unexpected" in problems
