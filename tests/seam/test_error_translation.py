"""Stytch's errors become ours in one place: every error type and SDK exception is mapped."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import pkgutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pydantic
import pytest

from stytch_rbac._stytch.errors import (
    ERROR_TYPES,
    ErrorContext,
    error_from_stytch,
    translate_errors,
)
from stytch_rbac._stytch.sdk import make_stytch_client
from stytch_rbac.emulator import Emulator
from stytch_rbac.errors import (
    Forbidden,
    PermissionDenied,
    StytchAPIError,
    StytchRBACError,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
)

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"

#: Every error_type named in the wire reference, section 5, with the class it must become.
REFERENCE_SECTION_5: dict[str, type[StytchRBACError]] = {
    "unauthorized_credentials": StytchAPIError,
    "session_authorization_error": PermissionDenied,
    "session_authorization_tenancy_error": TenancyError,
    "unauthorized_action": PermissionDenied,
    "cannot_update_trusted_metadata": Forbidden,
    "member_cannot_update_their_email_address": Forbidden,
    "session_not_found": Unauthenticated,
    "unable_to_parse_session_jwt": Unauthenticated,
    "jwt_invalid_audience": Unauthenticated,
    "jwt_invalid_issuer": Unauthenticated,
    "jwt_invalid_claims": Unauthenticated,
    "invalid_session_token": Unauthenticated,
    "too_many_session_arguments": StytchAPIError,
    "no_session_arguments": Unauthenticated,
    "no_session_revoke_arguments": StytchAPIError,
    "too_many_session_revoke_arguments": StytchAPIError,
    "invalid_session_duration_minutes": StytchAPIError,
    "member_not_found": StytchAPIError,
    "organization_not_found": StytchAPIError,
    "no_deleted_member_found_for_reactivation": StytchAPIError,
    "email_unverified_for_reactivation": StytchAPIError,
    "duplicate_member_email": StytchAPIError,
    "duplicate_member_external_id": StytchAPIError,
    "organization_slug_already_used": StytchAPIError,
    "organization_external_id_already_used": StytchAPIError,
    "user_already_invited": StytchAPIError,
    "cannot_assign_default_rbac_role_id": StytchAPIError,
    "invalid_rbac_role_id": StytchAPIError,
    "invalid_role": StytchAPIError,
    "active_scim_connection_exists": StytchAPIError,
    "saml_connection_not_found": StytchAPIError,
    "oidc_connection_not_found": StytchAPIError,
    "invalid_argument": StytchAPIError,
    "bad_request": StytchAPIError,
    "route_not_found": StytchAPIError,
    "organization_suspended": Forbidden,
    "use_https": StytchAPIError,
    "too_many_requests": StytchUnavailable,
    "internal_server_error": StytchUnavailable,
}

#: The HTTP status the reference gives (or infers) for each type.
STATUS = {
    "unauthorized_credentials": 401,
    "session_not_found": 404,
    "member_not_found": 404,
    "organization_not_found": 404,
    "saml_connection_not_found": 404,
    "oidc_connection_not_found": 404,
    "route_not_found": 404,
    "cannot_update_trusted_metadata": 401,
    "unable_to_parse_session_jwt": 401,
    "jwt_invalid_audience": 401,
    "jwt_invalid_issuer": 401,
    "jwt_invalid_claims": 401,
    "session_authorization_error": 403,
    "session_authorization_tenancy_error": 403,
    "unauthorized_action": 403,
    "organization_suspended": 403,
    "use_https": 403,
    "too_many_requests": 429,
    "internal_server_error": 500,
}


def body(error_type: str | None, status: int, **extra: Any) -> dict[str, Any]:
    """A Stytch error envelope."""
    return {
        "status_code": status,
        "request_id": "request-id-test-1",
        "error_type": error_type,
        "error_message": f"message for {error_type}",
        "error_url": "https://stytch.com/docs/api/errors",
        **extra,
    }


def test_every_reference_error_type_is_in_the_table() -> None:
    """The mapping table covers every error type of reference section 5 (and nothing unknown)."""
    missing = sorted(set(REFERENCE_SECTION_5) - set(ERROR_TYPES))
    assert not missing, f"unmapped Stytch error types: {missing}"
    assert set(ERROR_TYPES) == set(REFERENCE_SECTION_5)


@pytest.mark.parametrize(("error_type", "expected"), sorted(REFERENCE_SECTION_5.items()))
def test_error_type_maps_to_our_class(error_type: str, expected: type[StytchRBACError]) -> None:
    """Each error type becomes the right exception, keeping Stytch's type, message, request id."""
    status = STATUS.get(error_type, 400)
    context = ErrorContext("documents", "delete", "org-1", "member-1")
    err = error_from_stytch(status, body(error_type, status), context)
    assert type(err) is expected
    assert err.error_type == error_type
    assert err.error_message == f"message for {error_type}"
    assert err.request_id == "request-id-test-1"
    if isinstance(err, PermissionDenied):
        assert (err.resource, err.action, err.organization_id, err.member_id) == (
            "documents",
            "delete",
            "org-1",
            "member-1",
        )
    if isinstance(err, StytchAPIError):
        assert err.status_code == status


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [
        pytest.param(401, "brand_new_401", Unauthenticated, id="401"),
        pytest.param(404, "some_session_gone", Unauthenticated, id="404-session"),
        pytest.param(404, "widget_not_found", StytchAPIError, id="404-other"),
        pytest.param(403, "brand_new_403", Forbidden, id="403"),
        pytest.param(403, "new_tenancy_mismatch", TenancyError, id="403-tenancy"),
        pytest.param(429, None, StytchUnavailable, id="429"),
        pytest.param(503, "service_unavailable", StytchUnavailable, id="503"),
        pytest.param(400, None, StytchAPIError, id="400"),
    ],
)
def test_unknown_error_types_fall_back_on_the_status(
    status: int, error_type: str | None, expected: type[StytchRBACError]
) -> None:
    """A type not in the table is mapped by its HTTP status, never to success."""
    assert type(error_from_stytch(status, body(error_type, status))) is expected


def test_unusual_bodies() -> None:
    """OAuth-style keys are read; a non-object body falls back on the HTTP status."""
    oauth = {"error": "session_not_found", "error_description": "gone", "status_code": 404}
    err = error_from_stytch(404, oauth)
    assert isinstance(err, Unauthenticated)
    assert err.error_message == "gone"
    assert isinstance(error_from_stytch(502, None), StytchUnavailable)
    assert isinstance(error_from_stytch(418, ["x"]), StytchAPIError)  # type: ignore[arg-type]  # runtime check
    # The status in the body wins over the status line, as in the SDK.
    assert isinstance(error_from_stytch(200, body("x_y", 503)), StytchUnavailable)


# -- exceptions raised by the SDK itself, and by what it uses -----------------------------------


def _sdk_exception_classes() -> list[type[BaseException]]:
    """Every exception class defined anywhere in the installed stytch package."""
    import stytch

    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(stytch.__path__, "stytch."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("stytch"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[name] for name in sorted(found)]


#: Exceptions that never leave the SDK: ResponseError is raised and caught inside
#: ResponseBase.from_json to switch to the error path.
_INTERNAL = {"stytch.core.response_base.ResponseError"}


def _instance(cls: type[BaseException]) -> BaseException:
    """A realistic instance of an SDK exception class."""
    from stytch.b2b.models.sessions import AuthorizationCheck
    from stytch.consumer.models.sessions import AuthorizationCheck as ConsumerCheck
    from stytch.core.response_base import StytchError, StytchErrorDetails
    from stytch.shared import rbac_local

    if cls is StytchError:
        details = StytchErrorDetails(
            status_code=403,
            request_id="request-id-test-1",
            error_type="session_authorization_error",
            error_message="no",
        )
        return StytchError(details)
    if cls is rbac_local.TenancyError:
        return rbac_local.TenancyError("org-a", "org-b")
    if cls is rbac_local.RBACPermissionError:
        check = AuthorizationCheck(organization_id="org-a", resource_id="documents", action="x")
        return rbac_local.RBACPermissionError(check)
    if cls is rbac_local.RBACConsumerPermissionError:
        return rbac_local.RBACConsumerPermissionError(ConsumerCheck(resource_id="d", action="x"))
    raise AssertionError(f"no sample for {cls.__module__}.{cls.__qualname__}: add one and map it")


def test_every_sdk_exception_is_translated() -> None:
    """Each exception class the stytch SDK defines becomes a StytchRBACError (none unmapped)."""
    classes = [
        c for c in _sdk_exception_classes() if f"{c.__module__}.{c.__qualname__}" not in _INTERNAL
    ]
    assert len(classes) >= 4
    for cls in classes:
        with pytest.raises(StytchRBACError) as info, translate_errors(member_id="member-1"):
            raise _instance(cls)
        assert isinstance(info.value.__cause__, cls)


def test_sdk_local_rbac_errors_keep_their_details() -> None:
    """The SDK's local TenancyError / RBACPermissionError keep the organizations and permission."""
    from stytch.shared import rbac_local

    with pytest.raises(TenancyError) as tenancy, translate_errors():
        raise _instance(rbac_local.TenancyError)
    assert tenancy.value.member_organization_id == "org-a"
    assert tenancy.value.requested_organization_id == "org-b"
    with pytest.raises(PermissionDenied) as denied, translate_errors():
        raise _instance(rbac_local.RBACPermissionError)
    assert (denied.value.resource, denied.value.action) == ("documents", "x")
    assert denied.value.organization_id == "org-a"


@pytest.mark.parametrize(
    ("exc", "expected", "reason"),
    [
        pytest.param(jwt.DecodeError("x"), Unauthenticated, "malformed", id="decode"),
        pytest.param(jwt.ExpiredSignatureError("x"), Unauthenticated, "expired", id="expired"),
        pytest.param(jwt.InvalidAudienceError("x"), Unauthenticated, "forged", id="audience"),
        pytest.param(jwt.PyJWKClientError("no kid"), Unauthenticated, "forged", id="kid"),
        pytest.param(jwt.PyJWKClientConnectionError("x"), StytchUnavailable, None, id="jwks"),
        pytest.param(httpx.ConnectError("refused"), StytchUnavailable, None, id="connect"),
        pytest.param(httpx.ReadTimeout("slow"), StytchUnavailable, None, id="read-timeout"),
        pytest.param(TimeoutError(), StytchUnavailable, None, id="timeout"),
    ],
)
def test_jwt_and_transport_errors(
    exc: Exception, expected: type[StytchRBACError], reason: str | None
) -> None:
    """PyJWT errors the SDK lets through (reference 1.6) and transport failures are mapped."""
    with pytest.raises(expected) as info, translate_errors():
        raise exc
    if reason is not None:
        assert isinstance(info.value, Unauthenticated)
        assert info.value.reason == reason


def test_foreign_exceptions_pass_through() -> None:
    """Exceptions that are neither Stytch's nor transport failures are not swallowed or renamed."""
    with pytest.raises(KeyError), translate_errors():
        raise KeyError("ours")
    with pytest.raises(pydantic.ValidationError), translate_errors():
        pydantic.TypeAdapter(int).validate_python("not an int")
    denied = PermissionDenied("documents", "edit")
    with pytest.raises(PermissionDenied) as info, translate_errors():
        raise denied
    assert info.value is denied


# -- the real SDK against the emulator ---------------------------------------------------------


@pytest.fixture
def emu() -> Emulator:
    """An emulator with the example policy."""
    return Emulator(policy=EXAMPLE_POLICY)


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client reaching the emulator in process."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app)) as client:
        yield client


@pytest.mark.anyio
async def test_real_sdk_errors_from_the_emulator(emu: Emulator, http: httpx.AsyncClient) -> None:
    """403s, 404s and a revoked session, as Stytch answers them to the real SDK, map correctly."""
    from stytch.b2b.models.sessions import AuthorizationCheck

    org = emu.create_organization(name="Acme").organization_id
    other = emu.create_organization(name="Globex").organization_id
    member = emu.create_member(org, email_address="v@acme.test", roles=["viewer"])
    session = emu.create_session(member.member_id)
    sdk = make_stytch_client(emu.project_id, emu.secret, http, environment="http://emu.invalid")

    def check(organization_id: str, resource: str, action: str) -> AuthorizationCheck:
        # A plain dict: the SDK calls the deprecated .dict() on a model (a warning here).
        data = {"organization_id": organization_id, "resource_id": resource, "action": action}
        return data  # type: ignore[return-value]  # the SDK accepts the dict form at run time

    with (
        pytest.raises(PermissionDenied) as denied,
        translate_errors(resource="documents", action="delete", member_id=member.member_id),
    ):
        await sdk.sessions.authenticate_async(
            session_token=session.session_token,
            authorization_check=check(org, "documents", "delete"),
        )
    assert denied.value.error_type == "session_authorization_error"
    assert denied.value.resource == "documents"
    assert denied.value.request_id

    with pytest.raises(TenancyError) as tenancy, translate_errors(organization_id=other):
        await sdk.sessions.authenticate_async(
            session_token=session.session_token,
            authorization_check=check(other, "documents", "read"),
        )
    assert tenancy.value.error_type == "session_authorization_tenancy_error"

    with pytest.raises(StytchAPIError) as missing, translate_errors():
        await sdk.organizations.get_async("organization-test-nope")
    assert missing.value.status_code == 404
    assert missing.value.error_type == "organization_not_found"

    emu.revoke_session(session.member_session_id)
    with pytest.raises(Unauthenticated) as revoked, translate_errors():
        await sdk.sessions.authenticate_async(session_token=session.session_token)
    assert revoked.value.error_type == "session_not_found"
    assert session.session_token not in str(revoked.value) + repr(revoked.value)


@pytest.mark.anyio
async def test_wrong_secret_is_a_configuration_error(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    """Bad project credentials are StytchAPIError (not the user's 401) and never show the secret."""
    sdk = make_stytch_client(
        emu.project_id, "wrong-secret-123", http, environment="http://e.invalid"
    )
    with pytest.raises(StytchAPIError) as info, translate_errors():
        await sdk.rbac.policy_async()
    assert info.value.error_type == "unauthorized_credentials"
    assert info.value.status_code == 401
    assert "wrong-secret-123" not in str(info.value) + repr(info.value)


# -- every httpx exception, and what each exchange keeps of Stytch's answer ---------------------


def _httpx_exception_classes() -> list[type[Exception]]:
    """Every exception class httpx exports."""
    return sorted(
        (
            obj
            for name in httpx.__all__
            if isinstance(obj := getattr(httpx, name), type) and issubclass(obj, Exception)
        ),
        key=lambda cls: cls.__name__,
    )


def _httpx_instance(cls: type[Exception]) -> Exception:
    """An instance of an httpx exception class, made the way httpx makes it."""
    request = httpx.Request("GET", "https://test.stytch.com/v1/b2b/rbac/policy")
    if issubclass(cls, httpx.HTTPStatusError):
        response = httpx.Response(503, headers={"Retry-After": "4"}, request=request)
        return cls("503", request=request, response=response)
    if issubclass(cls, httpx.RequestError):
        return cls("failed", request=request)
    try:
        return cls("failed")
    except TypeError:  # StreamConsumed() and its siblings take no message
        return cls()


def test_every_httpx_exception_is_translated() -> None:
    """No httpx exception leaves the translator raw: failed exchanges are StytchUnavailable,
    an HTTPStatusError is read like any answer, and the rest (our bugs) the base class."""
    classes = _httpx_exception_classes()
    assert len(classes) >= 20
    for cls in classes:
        exc = _httpx_instance(cls)
        with pytest.raises(StytchRBACError) as info, translate_errors():
            raise exc
        assert info.value.__cause__ is exc
        if issubclass(cls, httpx.RequestError | httpx.HTTPStatusError):
            assert type(info.value) is StytchUnavailable, cls
        else:
            assert type(info.value) is StytchRBACError, cls
    with pytest.raises(StytchUnavailable) as status, translate_errors():
        raise _httpx_instance(httpx.HTTPStatusError)
    assert (status.value.stytch_status, status.value.retry_after) == (503, 4.0)


def test_a_success_status_is_never_an_error_answer() -> None:
    """An 'error' with a 2xx status (the SDK's fallback for a body it cannot parse) is a
    broken upstream, StytchUnavailable, never a StytchAPIError with status 200."""
    err = error_from_stytch(200, {})
    assert type(err) is StytchUnavailable
    assert err.stytch_status == 200


FaultSpec = tuple[str, dict[str, Any]]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fault", "expected", "status", "retry_after", "cause"),
    [
        pytest.param(
            ("fail", {"status": 429, "retry_after": 7}),
            StytchUnavailable,
            429,
            7.0,
            "StytchError",
            id="429-retry-after",
        ),
        pytest.param(
            ("fail", {"status": 503, "retry_after": 2.5}),
            StytchUnavailable,
            503,
            2.5,
            "StytchError",
            id="503-retry-after",
        ),
        pytest.param(
            ("fail", {"status": 503}), StytchUnavailable, 503, None, "StytchError", id="503"
        ),
        pytest.param(
            ("fail", {"status": 404, "error_type": "member_not_found"}),
            StytchAPIError,
            404,
            None,
            "StytchError",
            id="404",
        ),
        pytest.param(
            ("garbage", {"status": 503}), StytchUnavailable, 503, None, "StytchError", id="junk-503"
        ),
        pytest.param(
            ("garbage", {}), StytchUnavailable, 200, None, "ValidationError", id="junk-200"
        ),
        pytest.param(
            ("truncated", {}), StytchUnavailable, 200, None, "ValidationError", id="cut-200"
        ),
        pytest.param(("hang", {}), StytchUnavailable, None, None, "TimeoutError", id="timeout"),
    ],
)
@pytest.mark.parametrize("verb", ["GET", "DELETE"])
async def test_sdk_calls_keep_what_stytch_answered(
    emu: Emulator,
    http: httpx.AsyncClient,
    verb: str,
    fault: FaultSpec,
    expected: type[StytchRBACError],
    status: int | None,
    retry_after: float | None,
    cause: str,
) -> None:
    """Through the real SDK over the adapter, each fault becomes its class with Stytch's
    status, its Retry-After (which the SDK's StytchError does not carry) and the cause."""
    from stytch_rbac._stytch.http import RetryPolicy

    org = emu.create_organization(name="Acme").organization_id
    member = emu.create_member(org, email_address="v@acme.test", roles=["viewer"]).member_id
    sdk = make_stytch_client(
        emu.project_id,
        emu.secret,
        http,
        environment="http://emu.invalid",
        timeout=0.5,
        retry=RetryPolicy(attempts=1),
    )
    kind, options = fault
    endpoint = "organizations.members.get" if verb == "GET" else "organizations.members.delete"
    getattr(emu.faults, kind)(endpoint, times=1, **options)
    call = (
        sdk.organizations.members.get_async(org, member_id=member)
        if verb == "GET"
        else sdk.organizations.members.delete_async(org, member)
    )
    with pytest.raises(expected) as info, translate_errors(member_id="member-1"):
        await call
    assert type(info.value) is expected
    assert info.value.stytch_status == status
    assert info.value.retry_after == retry_after
    assert type(info.value.__cause__).__name__ == cause
    if expected is StytchAPIError:
        assert info.value.error_type == "member_not_found"
        assert info.value.request_id


@pytest.mark.anyio
async def test_retry_after_does_not_outlive_its_call(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    """The Retry-After noted for one call is not given to the next call's error."""
    org = emu.create_organization(name="Acme").organization_id
    sdk = make_stytch_client(emu.project_id, emu.secret, http, environment="http://emu.invalid")
    emu.faults.fail("organizations.members.delete", 429, times=1, retry_after=9)
    with pytest.raises(StytchUnavailable) as first, translate_errors():
        await sdk.organizations.members.delete_async(org, "member-test-nope")
    assert first.value.retry_after == 9.0
    with pytest.raises(StytchAPIError) as second, translate_errors():
        await sdk.organizations.members.delete_async(org, "member-test-nope")
    assert (second.value.stytch_status, second.value.retry_after) == (404, None)
    # Nor does a nested block's reach the enclosing block's error.
    emu.faults.fail("organizations.members.delete", 503, times=1, retry_after=9)

    async def nested() -> None:
        with contextlib.suppress(StytchUnavailable), translate_errors():
            await sdk.organizations.members.delete_async(org, "member-test-nope")
        await sdk.organizations.members.delete_async(org, "member-test-nope")

    with pytest.raises(StytchAPIError) as stale, translate_errors():
        await nested()
    assert stale.value.retry_after is None


@pytest.mark.anyio
async def test_connection_refused_through_the_sdk() -> None:
    """Nothing listening: the SDK's call is StytchUnavailable, httpx's ConnectError its cause."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with httpx.AsyncClient() as client:
        sdk = make_stytch_client(
            "project-test-1", "secret-1", client, environment=f"http://127.0.0.1:{port}"
        )
        with pytest.raises(StytchUnavailable) as info, translate_errors():
            await sdk.organizations.members.delete_async("org-1", "member-1")
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert info.value.stytch_status is None


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kind", "options", "status", "retry_after"),
    [
        pytest.param("fail", {"status": 429, "retry_after": 3}, 429, 3.0, id="429"),
        pytest.param("garbage", {}, 200, None, id="junk-200"),
    ],
)
async def test_seam_endpoints_keep_what_stytch_answered(
    emu: Emulator,
    http: httpx.AsyncClient,
    kind: str,
    options: dict[str, Any],
    status: int,
    retry_after: float | None,
) -> None:
    """The facade's own calls (policy fetch, sessions/authenticate) keep Stytch's status and
    Retry-After too."""
    from stytch_rbac._stytch import Connection, Credentials
    from stytch_rbac._stytch.endpoints import authenticate_session, fetch_policy
    from stytch_rbac._stytch.http import RetryPolicy

    conn = Connection(
        http,
        Credentials(emu.project_id, emu.secret, "http://emu.invalid"),
        retry=RetryPolicy(attempts=1),
    )
    getattr(emu.faults, kind)("rbac.policy", times=1, **options)
    with pytest.raises(StytchUnavailable) as policy:
        await fetch_policy(conn)
    getattr(emu.faults, kind)("sessions.authenticate", times=1, **options)
    with pytest.raises(StytchUnavailable) as session:
        await authenticate_session(conn, {"session_token": "x" * 44})
    for err in (policy.value, session.value):
        assert (err.stytch_status, err.retry_after) == (status, retry_after)
