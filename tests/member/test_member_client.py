"""MemberClient mirrors every stytch.B2BClient method that takes method_options, and acts
as a member end to end: pre-flight refusals, Stytch's own refusals, which credential is sent.

The SDK is walked here independently of the generator: a method the installed SDK
gains, loses or changes makes these tests fail until the wrappers are regenerated.
The end-to-end tests run on the pytest plugin's fixtures, over real HTTP.
"""

from __future__ import annotations

import importlib.util
import inspect
import subprocess
import sys
import types
import typing
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import stytch
import stytch.version
from stytch.b2b.models.magic_links_email import InviteResponse
from stytch.b2b.models.organizations_members import DeleteResponse, UpdateResponse
from stytch.core.response_base import StytchError

from stytch_rbac import (
    Forbidden,
    PermissionDenied,
    StytchAPIError,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
)
from stytch_rbac.client import StytchRBAC
from stytch_rbac.emulator import Emulator
from stytch_rbac.member import MemberClient
from stytch_rbac.member._generated_api import MemberAPI
from stytch_rbac.policy import builtin_calls
from stytch_rbac.principal import Principal
from stytch_rbac.testing import MemberFactory, SeededMember

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    """scripts/gen_member_api.py, imported by path (it is a script, not a package module)."""
    name = "_gen_member_api_under_test"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "gen_member_api.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _sdk_methods(client: Any) -> dict[str, tuple[type, Callable[..., Any]]]:
    """dotted path -> (owner class, sync function) for every public method taking method_options."""
    found: dict[str, tuple[type, Callable[..., Any]]] = {}
    seen: set[int] = set()

    def visit(obj: Any, path: str) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        for name, value in vars(obj).items():
            if type(value).__module__.startswith("stytch."):
                visit(value, f"{path}{name}.")
        for name, function in inspect.getmembers(type(obj), inspect.isfunction):
            if name.startswith("_") or name.endswith("_async"):
                continue
            if "method_options" in inspect.signature(function).parameters:
                found[path + name] = (type(obj), function)

    visit(client, "")
    return found


def _wrapped(cls: type = MemberAPI, path: str = "") -> Iterator[tuple[str, Callable[..., Any]]]:
    """(dotted path, wrapper function) for every public method of the MemberClient tree."""
    for name, hint in typing.get_type_hints(cls).items():
        if isinstance(hint, type) and not name.startswith("_"):
            yield from _wrapped(hint, f"{path}{name}.")
    for name, function in inspect.getmembers(cls, inspect.isfunction):
        if not name.startswith("_"):
            yield path + name, function


def _norm(hint: Any) -> Any:
    """A comparable form of an annotation: typing.List[x] == list[x], Optional[x] == x | None."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return ("union", frozenset(_norm(a) for a in typing.get_args(hint)))
    if origin is not None:
        return (origin, tuple(_norm(a) for a in typing.get_args(hint)))
    return hint


def _signature_problems(
    dotted: str, sdk: Callable[..., Any], wrapper: Callable[..., Any]
) -> list[str]:
    """Every difference between the SDK method (minus method_options) and its wrapper."""
    problems = []
    sdk_hints, wrapper_hints = typing.get_type_hints(sdk), typing.get_type_hints(wrapper)
    expected = [p for p in inspect.signature(sdk).parameters.values() if p.name != "method_options"]
    actual = list(inspect.signature(wrapper).parameters.values())
    if [p.name for p in expected] != [p.name for p in actual]:
        return [f"{dotted}: parameters {[p.name for p in actual]} != {[p.name for p in expected]}"]
    for want, got in zip(expected, actual, strict=True):
        if want.kind != got.kind or want.default != got.default:
            problems.append(f"{dotted}({want.name}): kind/default {got} != {want}")
        if want.name != "self" and _norm(sdk_hints[want.name]) != _norm(wrapper_hints[got.name]):
            problems.append(
                f"{dotted}({want.name}): {wrapper_hints[got.name]} != {sdk_hints[want.name]}"
            )
    if _norm(sdk_hints["return"]) != _norm(wrapper_hints["return"]):
        problems.append(f"{dotted}: returns {wrapper_hints['return']} != {sdk_hints['return']}")
    if not inspect.iscoroutinefunction(wrapper):
        problems.append(f"{dotted}: wrapper is not a coroutine function")
    return problems


def _coverage_problems(client: Any) -> list[str]:
    sdk = _sdk_methods(client)
    wrapped = dict(_wrapped())
    problems = [
        f"{d}: takes method_options but is not wrapped" for d in sorted(sdk.keys() - wrapped.keys())
    ]
    problems += [
        f"{d}: wrapped but the SDK has no such method_options method"
        for d in sorted(wrapped.keys() - sdk.keys())
    ]
    for dotted in sorted(sdk.keys() & wrapped.keys()):
        problems += _signature_problems(dotted, sdk[dotted][1], wrapped[dotted])
    return problems


@pytest.fixture
def sdk_client() -> Any:
    """A B2BClient for introspection only: it never opens a session or sends a request."""
    with warnings.catch_warnings():
        # aiohttp >= 3.12 deprecates the BasicAuth the SDK builds; not ours to fix.
        warnings.filterwarnings("ignore", "BasicAuth is deprecated", DeprecationWarning)
        return stytch.B2BClient(
            "project-test-introspect", "secret", environment="http://127.0.0.1:9"
        )


def test_every_method_options_method_is_wrapped_with_the_same_signature(sdk_client: Any) -> None:
    """Each SDK method taking method_options has an awaitable wrapper with identical parameters."""
    assert _coverage_problems(sdk_client) == []
    assert len(_sdk_methods(sdk_client)) == 40, stytch.version.__version__


def test_a_new_sdk_method_is_reported_as_unwrapped(
    sdk_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The coverage check fails when the SDK gains a method_options method MemberClient lacks."""
    from stytch.b2b.api.sso import SSO

    def frobnicate(self: Any, organization_id: str, method_options: Any = None) -> Any:
        """A method a future SDK might add."""

    monkeypatch.setattr(SSO, "frobnicate", frobnicate, raising=False)
    assert _coverage_problems(sdk_client) == [
        "sso.frobnicate: takes method_options but is not wrapped"
    ]


def test_a_changed_sdk_signature_is_reported(
    sdk_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The coverage check fails when an SDK method's parameters change under its wrapper."""
    from stytch.b2b.api.organizations_members import Members

    def delete(self: Any, organization_id: str, member_id: int, method_options: Any = None) -> Any:
        """members.delete with a changed parameter type."""

    monkeypatch.setattr(Members, "delete", delete)
    problems = _coverage_problems(sdk_client)
    assert len(problems) == 2
    assert problems[0].startswith("organizations.members.delete(member_id):")


def test_async_twins_take_the_same_parameters(sdk_client: Any) -> None:
    """The *_async method awaited by each wrapper has the sync method's names, kinds, defaults."""
    for dotted, (owner, function) in _sdk_methods(sdk_client).items():
        twin = getattr(owner, function.__name__ + "_async")
        sync = [
            (p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()
        ]
        both = [(p.name, p.kind, p.default) for p in inspect.signature(twin).parameters.values()]
        assert sync == both, dotted


def test_builtin_calls_table_covers_exactly_the_wrapped_methods(sdk_client: Any) -> None:
    """builtin_calls.BUILTIN_METHODS, the pre-flight's table, names exactly the wrapped methods."""
    assert set(_sdk_methods(sdk_client)) == builtin_calls.BUILTIN_METHODS
    assert {d for d, _ in _wrapped()} == builtin_calls.BUILTIN_METHODS


def test_generated_module_is_not_stale() -> None:
    """member/_generated_api.py is byte-identical to what the generator writes for this SDK."""
    generated = ROOT / "stytch_rbac" / "member" / "_generated_api.py"
    assert _generator().render_module() == generated.read_text(), (
        "stale: run `python scripts/gen_member_api.py`"
    )


def test_docs_table_is_not_stale() -> None:
    """docs/member-calls.md holds the generated table of wrapped methods and permissions."""
    gen = _generator()
    doc = (ROOT / "docs" / "member-calls.md").read_text()
    assert gen.render_docs_table() in doc, "stale: run `python scripts/gen_member_api.py`"


def test_generator_check_mode_reports_staleness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`gen_member_api.py --check` exits 0 when fresh, 1 with a diff when the module differs."""
    gen = _generator()
    assert gen.main(["--check"]) == 0
    stale = tmp_path / "_generated_api.py"
    stale.write_text(
        gen.MODULE_PATH.read_text().replace("async def delete(", "async def remove(", 1)
    )
    monkeypatch.setattr(gen, "MODULE_PATH", stale)
    assert gen.main(["--check"]) == 1
    assert "-    async def remove(" in capsys.readouterr().out


def test_generated_header_names_the_sdk_version() -> None:
    """The generated module says which stytch version it mirrors and how many methods it wraps."""
    text = (ROOT / "stytch_rbac" / "member" / "_generated_api.py").read_text()
    assert f"from stytch {stytch.version.__version__}." in text.splitlines()[0]
    assert f"{len(builtin_calls.BUILTIN_METHODS)} methods" in text


# --- end to end over real HTTP against the emulator -------------------------------------

_SCENARIO_RESOURCES = {
    "stytch.organization": ["update.info.name", "update.settings.mfa-policy", "delete"],
    "stytch.member": ["create", "delete", "update.info.name", "search"],
    "stytch.self": ["update.info.name", "delete"],
}


def _role(role_id: str, grants: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "role_id": role_id,
        "description": "",
        "permissions": [{"resource_id": r, "actions": a} for r, a in grants.items()],
    }


#: Small and literal: each role holds exactly what its name says.
SCENARIO_POLICY: dict[str, Any] = {
    "resources": [
        {"resource_id": r, "description": "", "actions": a} for r, a in _SCENARIO_RESOURCES.items()
    ],
    "roles": [
        _role("stytch_member", {"stytch.self": ["update.info.name"]}),
        _role("stytch_admin", {r: ["*"] for r in _SCENARIO_RESOURCES if r != "stytch.self"}),
        _role("org_namer", {"stytch.organization": ["update.info.name"]}),
        _role(
            "org_settings",
            {"stytch.organization": ["update.info.name", "update.settings.mfa-policy"]},
        ),
        _role("inviter", {"stytch.member": ["create"]}),
    ],
    "scopes": [],
}


#: The end-to-end tests below run on the plugin's fixtures: this policy, over real HTTP.
pytestmark = [pytest.mark.stytch_policy(SCENARIO_POLICY), pytest.mark.stytch_http]


@dataclass
class Cast:
    """Who is who: Acme's admin and plain member, and an admin of Globex."""

    org: str
    admin: SeededMember
    plain: SeededMember
    outsider: SeededMember


@pytest.fixture
def cast(member: MemberFactory) -> Cast:
    """Seed the cast in the test's ``stytch_emulator`` with the plugin's ``member`` factory."""
    return Cast(
        org=member.organization("Acme").organization_id,
        admin=member(["stytch_admin"]),
        plain=member(),
        outsider=member(["stytch_admin"], organization="Globex"),
    )


@pytest.fixture
def sent(stytch_rbac: StytchRBAC) -> list[dict[str, str]]:
    """The ``x-stytch-*`` headers of each request ``stytch_rbac`` sends, in order (an httpx
    event hook: the plugin does not record what the facade sends)."""
    headers: list[dict[str, str]] = []

    async def record(request: httpx.Request) -> None:
        headers.append({k: v for k, v in request.headers.items() if k.startswith("x-stytch")})

    stytch_rbac.http.event_hooks["request"].append(record)
    return headers


def last_member_headers(sent: list[dict[str, str]]) -> dict[str, str]:
    """The member-session headers of the last request that carried any."""
    return [h for h in sent if h][-1]


async def authenticated(rbac: StytchRBAC, who: SeededMember) -> Principal:
    """``who``'s Principal as an app gets it, from the session JWT alone (the plugin's
    ``SeededMember.principal`` also holds the session token, which changes what is sent)."""
    return await rbac.authenticate(session_jwt=who.session_jwt)


async def acting_as(rbac: StytchRBAC, who: SeededMember, *, preflight: bool = True) -> MemberClient:
    """A MemberClient acting as ``who``."""
    return rbac.as_member(await authenticated(rbac, who), preflight=preflight)


@pytest.mark.anyio
async def test_admin_deletes_a_member(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """A stytch_admin deletes another member: the SDK's DeleteResponse comes back."""
    member = await acting_as(stytch_rbac, cast.admin)
    result = await member.organizations.members.delete(
        organization_id=cast.org, member_id=cast.plain.member_id
    )
    assert isinstance(result, DeleteResponse)
    assert result.member_id == cast.plain.member_id
    assert stytch_emulator.get_member(cast.plain.member_id).json["status"] == "deleted"


@pytest.mark.anyio
async def test_plain_member_delete_is_refused_before_the_network(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """A member without stytch.member delete is refused locally; no request reaches Stytch."""
    member = await acting_as(stytch_rbac, cast.plain)
    with pytest.raises(PermissionDenied) as denied:
        await member.organizations.members.delete(cast.org, cast.admin.member_id)
    assert (denied.value.resource, denied.value.action) == ("stytch.member", "delete")
    assert denied.value.member_id == cast.plain.member_id
    assert denied.value.error_type == "session_authorization_error"
    assert denied.value.request_id is None
    assert stytch_emulator.requests["organizations.members.delete"] == 0
    assert stytch_emulator.get_member(cast.admin.member_id).json["status"] == "active"


@pytest.mark.anyio
async def test_plain_member_delete_is_refused_by_stytch_without_preflight(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """With preflight=False the emulator's 403 becomes PermissionDenied with Stytch's fields."""
    member = await acting_as(stytch_rbac, cast.plain, preflight=False)
    with pytest.raises(PermissionDenied) as denied:
        await member.organizations.members.delete(cast.org, cast.admin.member_id)
    assert stytch_emulator.requests["organizations.members.delete"] == 1
    assert denied.value.error_type == "session_authorization_error"
    assert denied.value.error_message
    assert denied.value.request_id
    assert isinstance(denied.value.__cause__, StytchError)
    assert (denied.value.resource, denied.value.action) == ("stytch.member", "delete")
    assert stytch_emulator.get_member(cast.admin.member_id).json["status"] == "active"


@pytest.mark.anyio
async def test_member_renames_themselves_through_stytch_self(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """stytch.self update.info.name lets a member rename themselves but nobody else."""
    member = await acting_as(stytch_rbac, cast.plain)
    result = await member.organizations.members.update(
        cast.org, cast.plain.member_id, name="Renamed"
    )
    assert isinstance(result, UpdateResponse)
    assert result.member.name == "Renamed"
    with pytest.raises(PermissionDenied) as denied:
        await member.organizations.members.update(cast.org, cast.admin.member_id, name="Nope")
    assert (denied.value.resource, denied.value.action) == ("stytch.member", "update.info.name")
    assert stytch_emulator.requests["organizations.members.update"] == 1


@pytest.mark.anyio
@pytest.mark.parametrize("preflight", [True, False], ids=["preflight", "stytch"])
async def test_org_update_needs_one_action_per_field(
    stytch_emulator: Emulator,
    stytch_rbac: StytchRBAC,
    cast: Cast,
    member: MemberFactory,
    preflight: bool,
) -> None:
    """Changing name and MFA policy needs both actions: one is not enough, both are."""
    seeded_namer = member(["org_namer"])
    seeded_settings = member(["org_settings"])
    namer = await acting_as(stytch_rbac, seeded_namer, preflight=preflight)
    with pytest.raises(PermissionDenied) as denied:
        await namer.organizations.update(
            cast.org, organization_name="Acme 2", mfa_policy="REQUIRED_FOR_ALL"
        )
    assert denied.value.resource == "stytch.organization"
    if preflight:
        assert denied.value.action == "update.settings.mfa-policy"
    assert stytch_emulator.requests["organizations.update"] == (0 if preflight else 1)
    renamed = await namer.organizations.update(cast.org, organization_name="Acme 1")
    assert renamed.organization.organization_name == "Acme 1"
    settings = await acting_as(stytch_rbac, seeded_settings, preflight=preflight)
    result = await settings.organizations.update(
        cast.org, organization_name="Acme 2", mfa_policy="REQUIRED_FOR_ALL"
    )
    assert result.organization.organization_name == "Acme 2"
    assert result.organization.mfa_policy == "REQUIRED_FOR_ALL"


@pytest.mark.anyio
async def test_invite_needs_member_create(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, member: MemberFactory
) -> None:
    """magic_links.email.invite works for a member with stytch.member create, not without."""
    seeded_inviter = member(["inviter"])
    with pytest.raises(PermissionDenied):
        await (await acting_as(stytch_rbac, cast.plain)).magic_links.email.invite(
            cast.org, "new@acme.test"
        )
    inviter = await acting_as(stytch_rbac, seeded_inviter)
    result = await inviter.magic_links.email.invite(cast.org, "new@acme.test", name="New")
    assert isinstance(result, InviteResponse)
    assert result.member.status == "invited"
    assert result.member.email_address == "new@acme.test"
    assert stytch_emulator.requests["magic_links.email.invite"] == 1


@pytest.mark.anyio
@pytest.mark.parametrize("preflight", [True, False], ids=["preflight", "stytch"])
async def test_cross_tenant_call_is_a_tenancy_error(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, preflight: bool
) -> None:
    """An admin of another organization cannot act in this one, even holding the permission."""
    outsider = await acting_as(stytch_rbac, cast.outsider, preflight=preflight)
    with pytest.raises(TenancyError) as refused:
        await outsider.organizations.members.delete(cast.org, cast.plain.member_id)
    assert refused.value.error_type == "session_authorization_tenancy_error"
    assert refused.value.member_id == cast.outsider.member_id
    assert stytch_emulator.requests["organizations.members.delete"] == (0 if preflight else 1)
    assert (refused.value.request_id is None) is preflight
    assert stytch_emulator.get_member(cast.plain.member_id).json["status"] == "active"


@pytest.mark.anyio
@pytest.mark.parametrize("preflight", [True, False], ids=["preflight", "stytch"])
async def test_fields_a_member_session_may_never_send_are_forbidden(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, preflight: bool
) -> None:
    """trusted_metadata, or one's own email via update, is Forbidden even to an admin."""
    admin = await acting_as(stytch_rbac, cast.admin, preflight=preflight)
    with pytest.raises(Forbidden) as metadata:
        await admin.organizations.members.update(
            cast.org, cast.plain.member_id, trusted_metadata={"tier": "gold"}
        )
    assert metadata.value.error_type == "cannot_update_trusted_metadata"
    with pytest.raises(Forbidden) as own_email:
        await admin.organizations.members.update(
            cast.org, cast.admin.member_id, email_address="new@acme.test"
        )
    assert own_email.value.error_type == "member_cannot_update_their_email_address"
    assert not isinstance(metadata.value, PermissionDenied | TenancyError)
    assert stytch_emulator.requests["organizations.members.update"] == (0 if preflight else 2)
    assert (
        stytch_emulator.get_member(cast.admin.member_id).email_address == cast.admin.email_address
    )


@pytest.mark.anyio
async def test_organization_slug_counts_as_the_members_own_organization(
    stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """The pre-flight reads the member's own organization slug as its id, as Stytch does."""
    member = await acting_as(stytch_rbac, cast.admin)
    result = await member.organizations.members.delete("acme", cast.plain.member_id)
    assert result.member_id == cast.plain.member_id


@pytest.mark.anyio
async def test_other_stytch_errors_are_translated(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """A 404 from Stytch is a StytchAPIError and a 500 StytchUnavailable, each keeping Stytch's
    status, error type and request id, with the SDK's StytchError as the cause."""
    member = await acting_as(stytch_rbac, cast.admin)
    with pytest.raises(StytchAPIError) as raised:
        await member.organizations.members.delete(cast.org, "member-test-does-not-exist")
    assert raised.value.stytch_status == 404
    assert raised.value.error_type == "member_not_found"
    assert raised.value.request_id
    assert isinstance(raised.value.__cause__, StytchError)
    stytch_emulator.faults.fail("organizations.update", status=500, times=1)
    with pytest.raises(StytchUnavailable) as failed:
        await member.organizations.update(cast.org, organization_name="X")
    assert failed.value.stytch_status == 500
    assert isinstance(failed.value.__cause__, StytchError)


@pytest.mark.anyio
async def test_revoked_session_is_unauthenticated(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """A session revoked since it was authenticated: Stytch's refusal becomes Unauthenticated."""
    member = stytch_rbac.as_member(session_token=cast.admin.session_token, preflight=False)
    stytch_emulator.revoke_session(cast.admin.session_id)
    with pytest.raises(Unauthenticated) as refused:
        await member.organizations.update(cast.org, organization_name="X")
    assert refused.value.error_type
    assert refused.value.request_id


# --- which credential is sent ------------------------------------------------------------


@pytest.mark.anyio
async def test_fresh_jwt_is_sent_as_the_jwt_header(
    stytch_rbac: StytchRBAC, cast: Cast, sent: list[dict[str, str]]
) -> None:
    """A principal with a fresh session JWT sends it, and no session token."""
    principal = await authenticated(stytch_rbac, cast.admin)
    await stytch_rbac.as_member(principal).organizations.update(cast.org, organization_name="X")
    jwt = cast.admin.session_jwt
    assert last_member_headers(sent) == {"x-stytch-member-sessionjwt": jwt}


@pytest.mark.anyio
async def test_stale_jwt_falls_back_to_the_session_token(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, sent: list[dict[str, str]]
) -> None:
    """Once the JWT is about to expire, a principal holding the token sends the token instead."""
    principal = await stytch_rbac.authenticate(session_token=cast.admin.session_token)
    assert principal.session_jwt
    member = stytch_rbac.as_member(principal)
    await member.organizations.update(cast.org, organization_name="X")
    assert set(last_member_headers(sent)) == {"x-stytch-member-sessionjwt"}
    stytch_emulator.advance_time(300)
    await member.organizations.update(cast.org, organization_name="Y")
    token = cast.admin.session_token
    assert last_member_headers(sent) == {"x-stytch-member-session": token}


@pytest.mark.anyio
async def test_stale_jwt_without_token_is_refreshed_once(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, sent: list[dict[str, str]]
) -> None:
    """A principal holding only an expired JWT gets a fresh one from Stytch, then reuses it."""
    original = cast.admin.session_jwt
    member = stytch_rbac.as_member(await authenticated(stytch_rbac, cast.admin))
    stytch_emulator.advance_time(600)
    await member.organizations.update(cast.org, organization_name="X")
    await member.organizations.update(cast.org, organization_name="Y")
    assert stytch_emulator.requests["sessions.authenticate"] == 1
    jwts = [h["x-stytch-member-sessionjwt"] for h in sent if h]
    assert len(jwts) == 2
    assert jwts[0] == jwts[1] != original
    assert (await member.principal()).session_jwt == jwts[0]


@pytest.mark.anyio
async def test_bare_token_without_preflight_is_sent_as_is(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast, sent: list[dict[str, str]]
) -> None:
    """as_member(session_token=..., preflight=False) authenticates nothing and sends the token."""
    token = cast.admin.session_token
    member = stytch_rbac.as_member(session_token=token, preflight=False)
    await member.organizations.update(cast.org, organization_name="X")
    assert last_member_headers(sent) == {"x-stytch-member-session": token}
    assert stytch_emulator.requests["sessions.authenticate"] == 0


@pytest.mark.anyio
async def test_bare_jwt_with_preflight_is_authenticated_once(
    stytch_emulator: Emulator, stytch_rbac: StytchRBAC, cast: Cast
) -> None:
    """as_member(session_jwt=...) authenticates the JWT on first use (for the pre-flight) only."""
    member = stytch_rbac.as_member(session_jwt=cast.plain.session_jwt)
    assert "unauthenticated" in repr(member)
    with pytest.raises(PermissionDenied):
        await member.organizations.members.delete(cast.org, cast.admin.member_id)
    await member.organizations.members.update(cast.org, cast.plain.member_id, name="Me")
    assert (await member.principal()).member_id == cast.plain.member_id
    assert cast.plain.member_id in repr(member)
    assert stytch_emulator.requests["organizations.members.update"] == 1


# --- construction -------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="none"),
        pytest.param({"session_jwt": "a", "session_token": "b"}, id="jwt-and-token"),
        pytest.param({"session_token": ""}, id="empty-token"),
        pytest.param({"session_jwt": 123}, id="not-a-string"),
    ],
)
async def test_as_member_needs_exactly_one_credential(kwargs: dict[str, Any]) -> None:
    """as_member refuses no credential, two credentials, or a credential that is not a string."""
    async with StytchRBAC("project-test-x", "secret-x", base_url="http://127.0.0.1:9") as rbac:
        with pytest.raises(TypeError, match=r"session_|exactly one"):
            rbac.as_member(**kwargs)


@pytest.mark.anyio
async def test_repr_shows_no_credential(stytch_rbac: StytchRBAC, cast: Cast) -> None:
    """Neither the MemberClient's repr nor its principal's shows a session JWT or token."""
    member = await acting_as(stytch_rbac, cast.admin)
    session = cast.admin
    for text in (repr(member), str(member), repr(await member.principal())):
        assert session.session_jwt not in text
        assert session.session_token not in text
    bare = stytch_rbac.as_member(session_token=session.session_token)
    assert session.session_token not in repr(bare)


def test_importing_the_package_does_not_import_member_or_the_sdk() -> None:
    """import stytch_rbac (facade included) loads neither stytch_rbac.member nor stytch;
    as_member does."""
    code = (
        "import sys, stytch_rbac, stytch_rbac.client as c\n"
        "assert 'stytch' not in sys.modules and 'stytch_rbac.member' not in sys.modules\n"
        "rbac = c.StytchRBAC('project-test-x', 'secret-x', base_url='http://127.0.0.1:9')\n"
        "rbac.as_member(session_token='t', preflight=False)\n"
        "assert 'stytch' in sys.modules and 'stytch_rbac.member' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, timeout=60)
