"""The framework-free guard: credential extraction, tenancy resolution, ``check()``, ``any_of``,
the decorator form and one authentication per request, with no web framework involved."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from stytch_rbac import (
    ActionEnum,
    CompiledPolicy,
    Permission,
    PermissionDenied,
    Policy,
    Principal,
    StytchRBAC,
    TenancyError,
    Unauthenticated,
    UnknownPermission,
)
from stytch_rbac.emulator import Emulator
from stytch_rbac.integrations.guard import (
    SCOPE_KEY,
    CredentialConfig,
    Credentials,
    Guard,
    OrganizationSource,
    RequestAuth,
    RequestLike,
    authenticate_request,
    extract_credentials,
    header,
    path,
    query,
    request_auth,
)
from stytch_rbac.testing import MemberFactory, SeededMember

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
pytestmark = pytest.mark.stytch_policy(POLICY)

EDIT = Permission("documents", "edit")
DELETE = Permission("documents", "delete")
BILLING_READ = Permission("billing", "read")
JWT = "aaaa.bbbb.cccc"


class _CaseInsensitive(dict[str, str]):
    """Headers looked up case-insensitively, as Starlette's are."""

    def __init__(self, items: Mapping[str, str]) -> None:
        super().__init__({k.lower(): v for k, v in items.items()})

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass
class PlainRequest:
    """A request without any web framework, satisfying ``RequestLike``."""

    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    path_params: Mapping[str, Any] = field(default_factory=dict)
    query_params: Mapping[str, str] = field(default_factory=dict)
    scope: MutableMapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = _CaseInsensitive(self.headers)


# -- credential extraction -------------------------------------------------------------------


def test_bearer_header_is_a_session_jwt() -> None:
    """``Authorization: Bearer <jwt>`` yields the JWT, from the header, scheme case-insensitive."""
    found = extract_credentials({"authorization": f"bearer  {JWT} "}, {})
    assert (found.session_jwt, found.session_token, found.source) == (JWT, None, "header")


def test_bearer_can_be_configured_as_session_token() -> None:
    """With ``bearer="session_token"`` the bearer value is taken as an opaque session token."""
    found = extract_credentials(
        {"authorization": "Bearer tok"}, {}, CredentialConfig(bearer="session_token")
    )
    assert (found.session_jwt, found.session_token) == (None, "tok")


def test_header_wins_over_cookies() -> None:
    """When both are present the Authorization header is used, not the cookies."""
    found = extract_credentials(
        {"authorization": f"Bearer {JWT}"}, {"stytch_session_jwt": "other.jwt.x"}
    )
    assert found.session_jwt == JWT


def test_both_stytch_cookies_are_read() -> None:
    """The two cookies Stytch's frontend SDKs set are both picked up."""
    found = extract_credentials({}, {"stytch_session_jwt": JWT, "stytch_session": "tok"})
    assert (found.session_jwt, found.session_token, found.source) == (JWT, "tok", "cookie")


def test_non_bearer_authorization_is_ignored() -> None:
    """A Basic Authorization header is not ours: the cookie is used, else nothing is found."""
    assert extract_credentials({"authorization": "Basic eDp5"}, {"stytch_session": "t"}).source == (
        "cookie"
    )
    with pytest.raises(Unauthenticated) as caught:
        extract_credentials({"authorization": "Basic eDp5"}, {})
    assert caught.value.reason == "missing"


@pytest.mark.parametrize(
    ("headers", "cookies"),
    [
        pytest.param({"authorization": "Bearer"}, {}, id="empty-bearer"),
        pytest.param({"authorization": "Bearer a b"}, {}, id="space-inside"),
        pytest.param({"authorization": "Bearer " + "a" * 20_000}, {}, id="oversized"),
        pytest.param({}, {"stytch_session_jwt": " "}, id="blank-cookie"),
        pytest.param({}, {"stytch_session": "a\tb"}, id="tab-in-cookie"),
    ],
)
def test_malformed_credentials_are_refused(
    headers: dict[str, str], cookies: dict[str, str]
) -> None:
    """Blank, oversized or whitespace-laden credentials are ``malformed``, never passed on."""
    with pytest.raises(Unauthenticated) as caught:
        extract_credentials(headers, cookies)
    assert caught.value.reason == "malformed"


def test_missing_names_the_sources_and_no_secret() -> None:
    """With nothing presented the error is ``missing`` and lists the configured sources."""
    with pytest.raises(Unauthenticated) as caught:
        extract_credentials({}, {"unrelated": "x"})
    assert caught.value.reason == "missing"
    assert "stytch_session_jwt" in str(caught.value)
    assert "Authorization" in str(caught.value)


def test_disabled_sources_are_not_read() -> None:
    """A source set to None is not read even when the request carries it."""
    config = CredentialConfig(bearer=None, token_cookie=None)
    with pytest.raises(Unauthenticated):
        extract_credentials({"authorization": f"Bearer {JWT}"}, {"stytch_session": "t"}, config)


def test_config_must_read_something_and_know_its_handback() -> None:
    """A config reading no source, or an unknown hand-back mode, is refused at construction."""
    with pytest.raises(ValueError, match="reads no credential"):
        CredentialConfig(bearer=None, jwt_cookie=None, token_cookie=None)
    with pytest.raises(ValueError, match="handback"):
        CredentialConfig(handback="smoke-signal")  # type: ignore[arg-type]  # the point of the test
    with pytest.raises(ValueError, match="header name"):
        CredentialConfig(handback_header=" ")


def test_credentials_repr_hides_secrets() -> None:
    """``repr(Credentials)`` names the kinds of credential, never their values."""
    text = repr(Credentials(session_jwt=JWT, session_token="secret-token", source="cookie"))
    assert JWT not in text
    assert "secret-token" not in text
    assert "session_jwt+session_token" in text


# -- tenancy sources -------------------------------------------------------------------------


def test_organization_sources_resolve() -> None:
    """path(), header() and query() read their parameter exactly as the handler gets it
    (never stripped); empty or absent reads as None."""
    request = PlainRequest(
        headers={"X-Org-Id": " org-h "},
        path_params={"organization_id": "org-p", "n": 7},
        query_params={"org": "org-q", "blank": ""},
    )
    assert path("organization_id").resolve(request) == "org-p"
    assert header("x-org-id").resolve(request) == " org-h "
    assert query("org").resolve(request) == "org-q"
    assert query("blank").resolve(request) is None
    assert header("X-Other").resolve(request) is None
    # A path convertor turning the id into something else than str is a programming error.
    with pytest.raises(TypeError, match="'n' is a int, not str"):
        path("n").resolve(request)


def test_path_parameter_the_route_lacks_is_a_programming_error() -> None:
    """Reading a path parameter the route does not define raises LookupError naming it."""
    with pytest.raises(LookupError, match="'org'"):
        path("org").resolve(PlainRequest())


def test_organization_source_needs_a_name() -> None:
    """An empty parameter name is refused."""
    with pytest.raises(ValueError, match="non-empty"):
        OrganizationSource("header", "")


# -- building guards -------------------------------------------------------------------------


class DocumentsAction(ActionEnum):
    """A generated-style action enum."""

    __resource__ = "documents"
    EDIT = "edit"


@pytest.fixture
def rbac(stytch_emulator: Emulator) -> StytchRBAC:
    """A facade that is never opened: guards are built without any I/O."""
    return StytchRBAC(stytch_emulator.project_id, stytch_emulator.secret, base_url="http://x")


def test_guard_accepts_permissions_enums_and_strings(rbac: StytchRBAC) -> None:
    """Permission objects, action enum members and 'resource:action' strings are equivalent."""
    guard = rbac.require(EDIT, DocumentsAction.EDIT, "documents:edit")
    assert guard.permissions == (EDIT, EDIT, EDIT)
    assert repr(guard) == "Guard(documents:edit, documents:edit, documents:edit)"


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        pytest.param((42,), {}, TypeError, id="not-a-permission"),
        pytest.param(("documents",), {}, ValueError, id="no-action"),
        pytest.param((), {"any_of": True}, ValueError, id="any-of-nothing"),
        pytest.param((EDIT,), {"organization_id": 3}, TypeError, id="org-of-wrong-type"),
        pytest.param((EDIT,), {"organization_id": "  "}, ValueError, id="blank-org"),
    ],
)
def test_bad_guards_are_refused_when_built(
    rbac: StytchRBAC, args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """A guard that could never decide correctly fails at construction, not at request time."""
    with pytest.raises(error):
        Guard(rbac, args, **kwargs)


# -- deciding --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_check_allows_and_denies(stytch_rbac: StytchRBAC, member: MemberFactory) -> None:
    """check() returns the principal when allowed and raises PermissionDenied otherwise."""
    editor = member(roles=["editor"])
    assert await stytch_rbac.require(EDIT).check(editor.principal) is editor.principal
    with pytest.raises(PermissionDenied) as caught:
        await stytch_rbac.require(EDIT, DELETE).check(editor.principal)
    assert (caught.value.resource, caught.value.action) == ("documents", "delete")
    assert caught.value.member_id == editor.member_id


@pytest.mark.anyio
async def test_any_of(stytch_rbac: StytchRBAC, member: MemberFactory) -> None:
    """any_of=True allows when one permission is held and reports the first one when none is."""
    guard = stytch_rbac.require(BILLING_READ, EDIT, any_of=True)
    await guard.check(member(roles=["editor"]).principal)
    await guard.check(member(roles=["billing_admin"]).principal)
    with pytest.raises(PermissionDenied) as caught:
        await guard.check(member(roles=["viewer"]).principal)
    assert (caught.value.resource, caught.value.action) == ("billing", "read")


@pytest.mark.anyio
async def test_tenancy_beats_roles(stytch_rbac: StytchRBAC, member: MemberFactory) -> None:
    """An owner of another organization is refused with TenancyError, whatever its roles."""
    acme = member.organization("Acme").organization_id
    outsider = member(roles=["owner"], organization="Globex")
    with pytest.raises(TenancyError) as caught:
        await stytch_rbac.require(EDIT, organization_id=acme).check(outsider.principal)
    assert caught.value.requested_organization_id == acme
    assert caught.value.member_organization_id == outsider.organization_id
    with pytest.raises(TenancyError):
        await stytch_rbac.require(organization_id=acme).check(outsider.principal)
    with pytest.raises(TenancyError):
        await stytch_rbac.require(EDIT).check(outsider.principal, organization_id=acme)


@pytest.mark.anyio
async def test_request_tenancy_in_check(stytch_rbac: StytchRBAC, member: MemberFactory) -> None:
    """A guard reading the organization from the request uses check(request=...) or refuses."""
    editor = member(roles=["editor"])
    guard = stytch_rbac.require(EDIT, organization_id=header("X-Org-Id"))
    own = PlainRequest(headers={"X-Org-Id": editor.organization_id})
    assert await guard.check(editor.principal, request=own) is editor.principal
    with pytest.raises(TenancyError):
        await guard.check(editor.principal, request=PlainRequest())
    with pytest.raises(TypeError, match="request="):
        await guard.check(editor.principal)


@pytest.mark.anyio
async def test_callable_tenancy(stytch_rbac: StytchRBAC, member: MemberFactory) -> None:
    """Sync and async callables of the request name the organization; a non-str is an error."""
    editor = member(roles=["editor"])
    request = PlainRequest(query_params={"org": editor.organization_id})

    def sync_org(r: RequestLike) -> str | None:
        return r.query_params.get("org")

    async def async_org(r: RequestLike) -> str | None:
        return r.query_params.get("org")

    def nothing(r: RequestLike) -> str | None:
        return None

    def wrong(r: RequestLike) -> Any:
        return 42

    for spec in (sync_org, async_org):
        await stytch_rbac.require(EDIT, organization_id=spec).check(
            editor.principal, request=request
        )
    with pytest.raises(TenancyError):
        await stytch_rbac.require(EDIT, organization_id=nothing).check(
            editor.principal, request=request
        )
    with pytest.raises(TypeError, match="int"):
        await stytch_rbac.require(EDIT, organization_id=wrong).check(
            editor.principal, request=request
        )


@pytest.mark.anyio
async def test_unknown_permission_is_an_error_not_a_denial(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """A typo in a guarded permission raises UnknownPermission (strict mode), never allows."""
    with pytest.raises(UnknownPermission):
        await stytch_rbac.require("documents:fly").check(member(roles=["owner"]).principal)


def _policy_lookups(rbac: StytchRBAC) -> tuple[int, int]:
    """How many times the project policy and the org policies were read from their caches."""
    info = rbac.cache_info()
    project, org = info["policy"], info["org_policies"]
    return (
        project.hits + project.stale_hits + project.misses,
        org.hits + org.stale_hits + org.misses,
    )


@pytest.mark.anyio
@pytest.mark.parametrize("any_of", [False, True], ids=["all-of", "any-of"])
async def test_several_permissions_are_decided_on_one_policy_lookup(
    stytch_rbac: StytchRBAC, member: MemberFactory, any_of: bool
) -> None:
    """A guard requiring several permissions reads the policy once per check, not once each
    (and no org policy: the editor holds only project roles)."""
    editor = member(roles=["editor"])
    if any_of:  # only the last one is held: every permission is decided
        guard = stytch_rbac.require(BILLING_READ, DELETE, EDIT, any_of=True)
    else:
        guard = stytch_rbac.require(EDIT, "documents:read", "projects:update")
    await guard.check(editor.principal)  # warms the caches
    before = _policy_lookups(stytch_rbac)
    assert await guard.check(editor.principal) is editor.principal
    assert _policy_lookups(stytch_rbac) == (before[0] + 1, before[1])


@pytest.mark.anyio
async def test_all_of_stops_at_the_first_missing_permission(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """All-of names the first missing permission and does not judge the ones after it."""
    editor = member(roles=["editor"])
    guard = stytch_rbac.require(EDIT, DELETE, "documents:fly")
    with pytest.raises(PermissionDenied) as caught:
        await guard.check(editor.principal)
    assert (caught.value.resource, caught.value.action) == ("documents", "delete")
    assert (caught.value.organization_id, caught.value.member_id) == (
        editor.organization_id,
        editor.member_id,
    )
    with pytest.raises(UnknownPermission):  # any-of judges every permission until one is held
        await stytch_rbac.require(DELETE, "documents:fly", any_of=True).check(editor.principal)


@dataclass
class LocalPolicyAuthorizer:
    """An Authorizer of its own: Stytch's authentication, decisions from a local policy file."""

    rbac: StytchRBAC
    compiled: CompiledPolicy
    asked: list[str | None] = field(default_factory=list)

    async def authenticate(
        self, *, session_jwt: str | None = None, session_token: str | None = None
    ) -> Principal:
        return await self.rbac.authenticate(session_jwt=session_jwt, session_token=session_token)

    async def policy(self, organization_id: str | None = None) -> CompiledPolicy:
        self.asked.append(organization_id)
        return self.compiled


@pytest.mark.anyio
async def test_a_guard_decides_with_any_authorizer(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """Guard needs only authenticate() and policy(): an Authorizer that is not StytchRBAC works,
    asked once per request for the member's own organization's policy."""
    authorizer = LocalPolicyAuthorizer(stytch_rbac, Policy.parse(POLICY).compile())
    editor = member(roles=["editor"])
    guard = Guard(authorizer, [EDIT, "documents:read"])
    request = PlainRequest(headers=editor.headers)
    principal = await guard.authorize_request(request)
    assert isinstance(principal, Principal)
    assert principal.member_id == editor.member_id
    assert authorizer.asked == [editor.organization_id]
    with pytest.raises(PermissionDenied):
        await Guard(authorizer, [EDIT, DELETE]).check(principal)


@pytest.mark.anyio
async def test_check_takes_a_principal(stytch_rbac: StytchRBAC) -> None:
    """Anything but a Principal is refused by check()."""
    with pytest.raises(TypeError, match="Principal"):
        await stytch_rbac.require(EDIT).check("member-1")  # type: ignore[call-overload]  # the point


# -- the decorator form ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_decorator_on_a_function_taking_a_principal(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """@guard checks the ``principal`` argument (positional or keyword) before the body runs."""
    ran: list[str] = []

    @stytch_rbac.require(DELETE)
    async def delete_document(principal: Principal, document_id: str) -> str:
        ran.append(document_id)
        return document_id

    owner, editor = member(roles=["owner"]), member(roles=["editor"])
    assert await delete_document(owner.principal, "d1") == "d1"
    assert await delete_document(document_id="d2", principal=owner.principal) == "d2"
    with pytest.raises(PermissionDenied):
        await delete_document(editor.principal, "d3")
    assert ran == ["d1", "d2"]
    assert delete_document.__name__ == "delete_document"


@pytest.mark.anyio
async def test_decorator_refuses_a_missing_or_wrong_principal(stytch_rbac: StytchRBAC) -> None:
    """A None principal is unauthenticated; something else is a TypeError; the body never runs."""

    @stytch_rbac.require(EDIT)
    async def edit(principal: Principal | None = None) -> None:
        raise AssertionError("must not run")

    with pytest.raises(Unauthenticated):
        await edit()
    with pytest.raises(TypeError, match="Principal"):
        await edit("member-1")  # type: ignore[arg-type]  # the point of the test


@pytest.mark.anyio
async def test_decorator_on_a_function_taking_a_request(
    stytch_rbac: StytchRBAC, member: MemberFactory
) -> None:
    """@guard on a request handler authenticates the request and stores the Principal on it."""

    @stytch_rbac.require(EDIT)
    async def handler(request: PlainRequest) -> str:
        record = request_auth(request)
        assert record is not None
        assert record.principal is not None
        return record.principal.member_id

    editor, viewer = member(roles=["editor"]), member(roles=["viewer"])
    assert await handler(PlainRequest(cookies=editor.cookies)) == editor.member_id
    with pytest.raises(PermissionDenied):
        await handler(PlainRequest(headers=viewer.headers))
    with pytest.raises(Unauthenticated):
        await handler(PlainRequest())


def test_decorator_needs_an_async_function_with_principal_or_request(rbac: StytchRBAC) -> None:
    """Decorating a sync function, or one with nothing to check, fails at decoration time."""
    guard = rbac.require(EDIT)

    def sync(principal: Principal) -> None:
        return None

    async def nothing_to_check(document_id: str) -> None:
        return None

    with pytest.raises(TypeError, match="async"):
        guard(sync)  # type: ignore[arg-type]  # the point of the test
    with pytest.raises(TypeError, match="'principal', 'request' or 'websocket'"):
        guard(nothing_to_check)


# -- one authentication per request ----------------------------------------------------------


@pytest.mark.anyio
async def test_authentication_runs_once_per_request(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """Several guards on one request reuse the stored outcome: one Stytch call for a token."""
    viewer: SeededMember = member(roles=["viewer"])
    request = PlainRequest(cookies={"stytch_session": viewer.session_token})
    before = stytch_emulator.requests["sessions.authenticate"]
    first = await stytch_rbac.require("documents:read").authorize_request(request)
    second = await stytch_rbac.require().authorize_request(request)
    assert first is second
    assert stytch_emulator.requests["sessions.authenticate"] == before + 1
    assert isinstance(request.scope[SCOPE_KEY].principal, Principal)


@pytest.mark.anyio
async def test_failed_authentication_is_remembered_too(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """A refused credential is refused again for the same request without asking Stytch twice."""
    viewer = member(roles=["viewer"])
    stytch_emulator.revoke_session(session_token=viewer.session_token)
    request = PlainRequest(cookies={"stytch_session": viewer.session_token})
    before = stytch_emulator.requests["sessions.authenticate"]
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await authenticate_request(stytch_rbac, request)
    assert stytch_emulator.requests["sessions.authenticate"] == before + 1
    record = request_auth(request)
    assert record is not None
    assert viewer.session_token in record.secrets()
    assert viewer.session_token not in repr(record)


@pytest.mark.anyio
async def test_request_auth_unwrap(stytch_rbac: StytchRBAC, member: MemberFactory) -> None:
    """unwrap() gives the stored principal, raises the stored error, and denies an empty record."""
    viewer = member(roles=["viewer"])
    request = PlainRequest(cookies=viewer.cookies)
    principal = await authenticate_request(stytch_rbac, request)
    record = request_auth(request)
    assert record is not None
    assert record.unwrap() is principal
    refused = RequestAuth(error=Unauthenticated("revoked"))
    with pytest.raises(Unauthenticated) as caught:
        refused.unwrap()
    assert caught.value is refused.error
    with pytest.raises(Unauthenticated) as caught:
        RequestAuth().unwrap()
    assert caught.value.reason == "missing"


@pytest.mark.anyio
async def test_jwt_preferred_over_token_when_both_cookies(
    stytch_rbac: StytchRBAC, stytch_emulator: Emulator, member: MemberFactory
) -> None:
    """With both cookies the JWT is verified locally: Stytch is not called."""
    viewer = member(roles=["viewer"])
    before = stytch_emulator.requests["sessions.authenticate"]
    principal = await authenticate_request(stytch_rbac, PlainRequest(cookies=viewer.cookies))
    assert principal.member_id == viewer.member_id
    assert stytch_emulator.requests["sessions.authenticate"] == before


def test_documented_guards_path_reexports_the_guard_core() -> None:
    """`from stytch_rbac.guards import ...` (the documented path) gives the guard core's own
    objects, every one of them."""
    import stytch_rbac.guards as documented
    import stytch_rbac.integrations.guard as core

    assert documented.__all__
    for name in documented.__all__:
        assert getattr(documented, name) is getattr(core, name), name
