"""The emulator as a server facing hostile or careless clients (issue 14, item 12).

Every bad request gets Stytch's JSON error envelope with a 4xx status, never a 500,
a plain-text page or a poisoned state: deeply nested or non-finite JSON, oversized
bodies (refused while they are read), unknown seeding fields, impossible clock moves,
ids holding a newline, and unexpected errors inside the app.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conformance.description import DESCRIPTION
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

from stytch_rbac.emulator import Emulator, EmulatorError, SeedError
from stytch_rbac.emulator._body import MAX_JSON_DEPTH, parse_json
from stytch_rbac.emulator._fields import MEMBER_CREATE_FIELDS, ORGANIZATION_CREATE_FIELDS


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client with the emulator's credentials."""
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", auth=(emu.project_id, emu.secret)
    ) as client:
        yield client


def _envelope(response: httpx.Response, status: int, error_type: str) -> dict[str, Any]:
    """The response's Stytch error envelope, checked for ``status`` and ``error_type``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["status_code"] == status
    assert body["error_type"] == error_type, body
    assert body["request_id"].startswith("request-id-test-")
    assert body["error_url"].endswith(f"/{status}#{error_type}")
    return body


def _nested(depth: int) -> str:
    """A JSON object ``depth`` levels deep: ``{"a":{"a":...1...}}``."""
    return '{"a":' * depth + "1" + "}" * depth


# -- nested and non-finite JSON --------------------------------------------------------------


@pytest.mark.anyio
async def test_deeply_nested_json_body_is_a_400_envelope(
    http: httpx.AsyncClient, emu: Emulator
) -> None:
    """5,000 levels of nesting (which made json.loads raise RecursionError) are refused."""
    body = '{"organization_name":"Deep","trusted_metadata":' + _nested(5000) + "}"
    response = await http.post(
        "/v1/b2b/organizations", content=body, headers={"content-type": "application/json"}
    )
    answer = _envelope(response, 400, "bad_request")
    assert f"deeper than {MAX_JSON_DEPTH}" in answer["error_message"]
    arrays = await http.post("/_emulator/seed", content="[" * 100_000 + "]" * 100_000)
    _envelope(arrays, 400, "bad_request")
    assert emu.requests["organizations.create"] == 1
    assert emu.organizations() == []


@pytest.mark.anyio
async def test_nesting_up_to_the_bound_is_accepted(http: httpx.AsyncClient, emu: Emulator) -> None:
    """Metadata nested to the bound (the body itself is one level) is stored as sent."""
    metadata = _nested(MAX_JSON_DEPTH - 1)
    body = '{"organization_name":"Nested","trusted_metadata":' + metadata + "}"
    response = await http.post(
        "/v1/b2b/organizations", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    org_id = response.json()["organization"]["organization_id"]
    assert emu.get_organization(org_id).json["trusted_metadata"] == json.loads(metadata)


@pytest.mark.anyio
@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
async def test_non_finite_numbers_are_not_json(
    http: httpx.AsyncClient, emu: Emulator, number: str
) -> None:
    """NaN, Infinity and numbers that overflow a float are refused wherever they appear."""
    before = emu.clock.time()
    advance = await http.post(
        "/_emulator/time/advance",
        content=f'{{"seconds": {number}}}',
        headers={"content-type": "application/json"},
    )
    assert "not valid JSON" in _envelope(advance, 400, "bad_request")["error_message"]
    fault = await http.post(
        "/_emulator/faults",
        content=f'{{"kind": "latency", "endpoint": "rbac.policy", "seconds": {number}}}',
    )
    _envelope(fault, 400, "bad_request")
    assert not emu.faults.active
    assert before <= emu.clock.time() < before + 60
    assert math.isfinite(emu.clock.time())


_JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
_JSON_VALUES = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=80,
)


def _depth(value: Any) -> int:
    """Containers on the deepest path of ``value`` (a scalar is 0 deep)."""
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@settings(max_examples=200, deadline=None)
@given(value=_JSON_VALUES, wrap=st.integers(min_value=0, max_value=2 * MAX_JSON_DEPTH))
def test_parse_json_accepts_exactly_the_values_within_the_bound(value: Any, wrap: int) -> None:
    """Any JSON value is parsed back as written iff it nests no deeper than the bound."""
    for _ in range(wrap):
        value = [value]
    raw = json.dumps(value).encode()
    if _depth(value) <= MAX_JSON_DEPTH:
        assert parse_json(raw) == value
    else:
        with pytest.raises(EmulatorError) as info:
            parse_json(raw)
        assert (info.value.status_code, info.value.error_type) == (400, "bad_request")


# -- request size ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_body_over_the_limit_is_a_413_and_stores_nothing(
    http: httpx.AsyncClient, emu: Emulator
) -> None:
    """A 20 MB organization (it used to be stored) is refused with a 413 envelope."""
    body = {"organization_name": "Big", "trusted_metadata": {"blob": "x" * 20_000_000}}
    response = await http.post("/v1/b2b/organizations", json=body)
    answer = _envelope(response, 413, "bad_request")
    assert "1048576 bytes" in answer["error_message"]
    assert emu.organizations() == []
    small = await http.post("/v1/b2b/organizations", json={"organization_name": "Small"})
    assert small.status_code == 200


async def _call(
    app: Any, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[str, Any], int]:
    """POST ``chunks`` to ``app`` over raw ASGI: status, JSON body, chunks the app read."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        if read > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/b2b/organizations",
        "raw_path": b"/v1/b2b/organizations",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("emulator", 80),
    }
    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body), read


@pytest.mark.anyio
async def test_the_limit_is_enforced_while_the_body_is_read(emu: Emulator) -> None:
    """A streamed 20 MB body is cut off after the limit; a declared one is never read."""
    chunk = b" " * 65_536
    chunks = [b'{"organization_name": "Streamed", "x": "'] + [chunk] * 320 + [b'"}']
    token = base64.b64encode(f"{emu.project_id}:{emu.secret}".encode())
    auth = [(b"authorization", b"Basic " + token)]
    status, body, read = await _call(emu.app, chunks, auth)
    assert (status, body["error_type"]) == (413, "bad_request")
    assert read <= 1_048_576 // 65_536 + 2  # stopped at the limit, not after 20 MB
    declared = [*auth, (b"content-length", b"20000000")]
    status, body, read = await _call(emu.app, chunks, declared)
    assert (status, body["status_code"], read) == (413, 413, 0)
    assert emu.organizations() == []


@pytest.mark.anyio
async def test_the_limit_is_configurable(emu: Emulator) -> None:
    """``max_request_bytes`` moves the bound; a body of exactly the limit is accepted."""
    small = Emulator(max_request_bytes=100)
    body = json.dumps({"organization_name": "x" * 60}).encode()
    padded = body[:-1] + b" " * (100 - len(body)) + b"}"
    assert len(padded) == 100
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=small.app),
        base_url="http://emulator",
        auth=(small.project_id, small.secret),
    ) as client:
        assert (await client.post("/v1/b2b/organizations", content=padded)).status_code == 200
        over = await client.post("/v1/b2b/organizations", content=padded + b" ")
        assert "100 bytes" in _envelope(over, 413, "bad_request")["error_message"]
    with pytest.raises(ValueError, match="max_request_bytes"):
        Emulator(max_request_bytes=0)


def test_an_oversized_body_gets_its_413_over_real_http(emu: Emulator, base_url: str) -> None:
    """Over a real socket the client reads the 413 envelope (uvicorn drains the rest)."""
    with httpx.Client(base_url=base_url, auth=(emu.project_id, emu.secret)) as client:
        big = client.post("/v1/b2b/organizations", content=b"{" + b" " * 3_000_000 + b"}")
        _envelope(big, 413, "bad_request")
        again = client.post("/v1/b2b/organizations", json={"organization_name": "After"})
        assert again.status_code == 200
    assert [o.organization_name for o in emu.organizations()] == ["After"]


# -- seeding fields --------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("key", ["name", "slug", "self", "bogus", "sso_default_connection_id"])
async def test_unknown_organization_fields_are_a_400_naming_them(
    http: httpx.AsyncClient, emu: Emulator, key: str
) -> None:
    """A key organizations.create does not take (it was a TypeError, 500) names itself."""
    response = await http.post(
        "/_emulator/organizations", json={"organization_name": "Acme", key: "x"}
    )
    assert repr(key) in _envelope(response, 400, "invalid_argument")["error_message"]
    assert emu.organizations() == []


@pytest.mark.anyio
@pytest.mark.parametrize("key", ["self", "bogus", "organization", "member_name"])
async def test_unknown_member_fields_are_a_400_naming_them(
    http: httpx.AsyncClient, emu: Emulator, key: str
) -> None:
    """Same for /_emulator/members."""
    org = emu.create_organization("Acme", slug="acme")
    body = {"organization_id": org.organization_id, "email_address": "a@acme.test", key: 1}
    response = await http.post("/_emulator/members", json=body)
    assert repr(key) in _envelope(response, 400, "invalid_argument")["error_message"]
    assert emu.members() == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("organization_id", 5),
        ("member_id", ["m"]),
        ("status", "asleep"),
        ("status", 5),
        ("email_address_verified", "yes"),
        ("mfa_phone_number_verified", 1),
        ("member_password_id", 7),
        ("totp_registration_id", False),
    ],
)
async def test_seed_only_member_fields_are_type_checked(
    http: httpx.AsyncClient, emu: Emulator, field: str, value: Any
) -> None:
    """The fields only seeding accepts are checked like Stytch's own (they were stored as sent)."""
    org = emu.create_organization("Acme", slug="acme")
    body = {"organization_id": org.organization_id, "email_address": "a@acme.test", field: value}
    if field == "organization_id":
        body = {"organization_name": "Other", field: value}
        response = await http.post("/_emulator/organizations", json=body)
    else:
        response = await http.post("/_emulator/members", json=body)
    assert field in _envelope(response, 400, "invalid_argument")["error_message"]
    assert emu.members() == []


def test_python_api_and_seed_files_refuse_unknown_fields(emu: Emulator) -> None:
    """The same check covers create_organization / create_member and seed files."""
    with pytest.raises(EmulatorError, match="'colour'") as info:
        emu.create_organization("Acme", colour="blue")
    assert info.value.error_type == "invalid_argument"
    org = emu.create_organization("Acme", slug="acme")
    with pytest.raises(EmulatorError, match="'nickname'"):
        emu.create_member(org.organization_id, "a@acme.test", nickname="A")
    seed = {"organizations": [{"organization_name": "Globex", "name": "G"}]}
    with pytest.raises(SeedError, match=r"organizations\[0\]: .*'name'"):
        emu.load_seed(seed)
    member = {"email_address": "a@i.test", "self": 1}
    member_seed = {"organizations": [{"organization_name": "Initech", "members": [member]}]}
    with pytest.raises(SeedError, match=r"organizations\[0\]\.members\[0\]: .*'self'"):
        emu.load_seed(member_seed)


def test_accepted_fields_are_stytchs_create_fields_plus_the_seeding_ones() -> None:
    """The accepted names are those of Stytch's two create bodies (the OpenAPI), plus ids and
    seed-only member fields: nothing else slips through, nothing documented is refused."""
    spec = yaml.safe_load(DESCRIPTION.read_text())
    schemas = spec["components"]["schemas"]

    def body(path: str) -> set[str]:
        schema = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        schema = schema["schema"]
        if "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return set(schema["properties"])

    assert body("/v1/b2b/organizations") | {"organization_id"} == ORGANIZATION_CREATE_FIELDS
    seed_only = {
        "organization_id",
        "member_id",
        "status",
        "email_address_verified",
        "mfa_phone_number_verified",
        "member_password_id",
        "totp_registration_id",
    }
    members = body("/v1/b2b/organizations/{organization_id}/members")
    assert members | seed_only == MEMBER_CREATE_FIELDS


# -- the clock -------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("seconds", [-1, -0.5, 1e300, 10**12, "60", True, None, [1]])
async def test_impossible_time_moves_are_a_400_and_leave_the_clock(
    http: httpx.AsyncClient, emu: Emulator, seconds: object
) -> None:
    """Backwards, past year 9999, or not a number: refused; the clock stays usable."""
    before = emu.clock.time()
    response = await http.post("/_emulator/time/advance", json={"seconds": seconds})
    assert "seconds" in _envelope(response, 400, "invalid_argument")["error_message"]
    assert before <= emu.clock.time() < before + 60
    org = await http.post("/v1/b2b/organizations", json={"organization_name": "Still works"})
    assert org.status_code == 200


@pytest.mark.parametrize("seconds", [math.nan, math.inf, -math.inf, -1.0, 1e300])
def test_advance_time_refuses_what_no_clock_can_show(emu: Emulator, seconds: float) -> None:
    """The Python API refuses the same values with a ValueError naming them."""
    before = emu.clock.time()
    with pytest.raises(ValueError, match="seconds"):
        emu.advance_time(seconds)
    assert before <= emu.clock.time() < before + 60


def test_a_snapshot_keeps_the_clock_offset(tmp_path: Path) -> None:
    """Time moved forward before a save is still moved after a restore (it was lost)."""
    emu = Emulator()
    emu.advance_time(86_400)
    session_org = emu.create_organization("Acme", slug="acme")
    member = emu.create_member(session_org.organization_id, "a@acme.test")
    session = emu.create_session(member.member_id, duration_minutes=60)
    path = tmp_path / "state.json"
    emu.save_state(path)
    restored = Emulator.from_state(path)
    assert restored.clock.time() >= emu.clock.time() - 1
    assert restored.clock.time() - emu.clock.time() < 60
    restored.session_jwt(session.member_session_id)  # still live on the restored clock
    restored.advance_time(3_601)
    with pytest.raises(EmulatorError, match="session_not_found"):
        restored.session_jwt(session.member_session_id)


def test_persisting_saves_time_moves(tmp_path: Path) -> None:
    """With persist_to, advancing the clock is a change like any other: it is saved."""
    emu = Emulator()
    path = tmp_path / "state.json"
    emu.persist_to(path)
    emu.advance_time(3_600)
    assert Emulator.from_state(path).clock.time() >= emu.clock.time() - 1


# -- paths and the app's own errors ----------------------------------------------------------


@pytest.mark.anyio
async def test_an_id_holding_a_newline_gets_a_stytch_envelope(http: httpx.AsyncClient) -> None:
    """``%0A`` in a path (Starlette's router answered a plain-text 404) reaches the emulator."""
    org = await http.get("/v1/b2b/organizations/abc%0Adef")
    assert "could not be found" in _envelope(org, 404, "organization_not_found")["error_message"]
    nowhere = await http.get("/v1/b2b/organ%0Aizations/abc")
    _envelope(nowhere, 404, "route_not_found")


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "CONNECT"])
async def test_any_method_gets_a_stytch_envelope(http: httpx.AsyncClient, method: str) -> None:
    """A method the emulator never serves (Starlette answered a plain-text 405) is a
    ``route_not_found`` envelope, as for any route the emulator does not have."""
    response = await http.request(method, "/v1/b2b/organizations")
    _envelope(response, 404, "route_not_found")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("error", "status", "error_type"),
    [
        (RuntimeError("a bug in the emulator"), 500, "internal_server_error"),
        (HTTPException(405), 405, "method_not_allowed"),
        (HTTPException(400, "a form that does not parse"), 400, "bad_request"),
        (HTTPException(413), 413, "bad_request"),
        (HTTPException(503), 500, "internal_server_error"),
    ],
    ids=["bug", "405", "400", "413", "503"],
)
async def test_an_error_outside_the_handlers_is_an_envelope(
    emu: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    status: int,
    error_type: str,
) -> None:
    """A bug outside the route handlers (here: while the body is read), or an error Starlette
    raises itself, answers Stytch's envelope, not Starlette's plain-text page; a bug is logged."""
    monkeypatch.setattr(Request, "stream", lambda self: _raising_stream(error))
    transport = httpx.ASGITransport(app=emu.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        response = await client.post("/v1/b2b/organizations", json={"organization_name": "A"})
    _envelope(response, status, error_type)
    assert ("a bug in the emulator" in caplog.text) == isinstance(error, RuntimeError)


@pytest.mark.anyio
async def test_a_client_gone_mid_body_gets_no_envelope(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that disconnects while sending is not an emulator error: nothing is logged."""
    monkeypatch.setattr(Request, "stream", lambda self: _raising_stream(ClientDisconnect()))
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        response = await client.post("/v1/b2b/organizations", json={"organization_name": "A"})
    assert (response.status_code, response.content) == (499, b"")
    assert caplog.text == ""


async def _raising_stream(error: Exception) -> AsyncIterator[bytes]:
    raise error
    yield b""  # pragma: no cover - makes this an async generator
