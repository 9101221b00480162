"""Transport: GET retries with backoff and Retry-After, one deadline, POST sent once, SDK adapter.

httpx.MockTransport stands in for the network here because these tests are about
transport-level behaviour (retries, waits, verbs, headers); everything above the
transport is tested against the emulator in test_client.py.
"""

from __future__ import annotations

import base64
import email.utils
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import pytest

from stytch_rbac._stytch.errors import translate_errors
from stytch_rbac._stytch.http import (
    RetryPolicy,
    get_with_retries,
    make_http_client,
    parse_retry_after,
    send_once,
)
from stytch_rbac._stytch.sdk import make_stytch_client
from stytch_rbac.errors import StytchUnavailable

if TYPE_CHECKING:
    from stytch import B2BClient

URL = "http://stytch.invalid/v1/b2b/rbac/policy"

Handler = Callable[[httpx.Request], Any]


class Script:
    """Answers requests from a list of responses/exceptions, recording each request."""

    def __init__(self, *answers: httpx.Response | Exception | None) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if answer is None:  # hang
            await anyio.sleep(3600)
            raise AssertionError("unreachable")
        if isinstance(answer, Exception):
            raise answer
        return answer


def ok(body: Any = None) -> httpx.Response:
    """A 200 JSON response."""
    return httpx.Response(200, json=body if body is not None else {"ok": True})


def status(code: int, **headers: str) -> httpx.Response:
    """An error response in Stytch's envelope."""
    body = {"status_code": code, "request_id": "req-1", "error_type": "x", "error_message": "m"}
    return httpx.Response(code, json=body, headers=headers)


class Sleeps:
    """Records the waits get_with_retries asks for, without waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def run_get(
    script: Script, sleeps: Sleeps | None = None, **kw: Any
) -> tuple[httpx.Response, Sleeps]:
    """GET URL over ``script`` with deterministic full-jitter (rand=1.0)."""
    sleeps = sleeps or Sleeps()
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
        options: dict[str, Any] = {"rand": lambda: 1.0, "sleep": sleeps}
        options.update(kw)
        response = await get_with_retries(client, URL, **options)
    return response, sleeps


@pytest.mark.anyio
@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 504])
async def test_transient_statuses_are_retried_with_exponential_backoff(code: int) -> None:
    """Retryable statuses are retried with backoff doubling from 0.1 s, then succeed."""
    script = Script(status(code), status(code), ok())
    response, sleeps = await run_get(script)
    assert response.status_code == 200
    assert len(script.requests) == 3
    assert sleeps.waits == [pytest.approx(0.1), pytest.approx(0.2)]


@pytest.mark.anyio
async def test_connection_errors_are_retried() -> None:
    """Connect errors and read timeouts are retried like 5xx."""
    script = Script(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok())
    response, _ = await run_get(script)
    assert response.status_code == 200
    assert len(script.requests) == 3


@pytest.mark.anyio
@pytest.mark.parametrize("code", [400, 401, 403, 404])
async def test_client_errors_are_not_retried(code: int) -> None:
    """4xx answers other than 408/429 are returned at once."""
    script = Script(status(code))
    response, sleeps = await run_get(script)
    assert response.status_code == code
    assert len(script.requests) == 1
    assert sleeps.waits == []


@pytest.mark.anyio
async def test_retry_after_seconds_is_honoured() -> None:
    """A 429 with Retry-After: 2 waits 2 s (more than the backoff) before retrying."""
    script = Script(status(429, **{"Retry-After": "2"}), ok())
    response, sleeps = await run_get(script, timeout=10)
    assert response.status_code == 200
    assert sleeps.waits == [2.0]


@pytest.mark.anyio
async def test_retry_after_beyond_the_deadline_returns_the_answer() -> None:
    """When Retry-After would end past the deadline, the 429 is returned without waiting."""
    script = Script(status(429, **{"Retry-After": "30"}), ok())
    response, sleeps = await run_get(script, timeout=5)
    assert response.status_code == 429
    assert sleeps.waits == []
    assert len(script.requests) == 1


@pytest.mark.anyio
async def test_exhausted_retries_return_the_last_answer() -> None:
    """After `attempts` tries the last error response is returned for the caller to map."""
    script = Script(status(503))
    response, sleeps = await run_get(script, retry=RetryPolicy(attempts=4))
    assert response.status_code == 503
    assert len(script.requests) == 4
    assert len(sleeps.waits) == 3


@pytest.mark.anyio
async def test_exhausted_connection_retries_raise_unavailable() -> None:
    """Persistent connection failures raise StytchUnavailable naming the URL (no query string)."""
    script = Script(httpx.ConnectError("refused"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
        with pytest.raises(StytchUnavailable, match="unreachable") as info:
            await get_with_retries(
                client, URL, params={"organization_id": "org-1"}, sleep=Sleeps(), rand=lambda: 0
            )
    assert "stytch.invalid/v1/b2b/rbac/policy" in str(info.value)
    assert "org-1" not in str(info.value)
    assert len(script.requests) == 3


@pytest.mark.anyio
async def test_hanging_server_fails_within_the_deadline() -> None:
    """A server that never answers makes the GET fail once the overall timeout is spent."""
    script = Script(None)
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
        with anyio.fail_after(5), pytest.raises(StytchUnavailable, match="did not answer"):
            await get_with_retries(client, URL, timeout=0.2)
    assert len(script.requests) == 1


@pytest.mark.anyio
async def test_get_sends_auth_and_stringified_params() -> None:
    """Basic auth and query parameters (booleans as the SDK's sync client sends them) go out."""
    script = Script(ok())
    await run_get(
        script, auth=("project-1", "s3cret"), params={"a": "x", "flag": True, "none": None}
    )
    request = script.requests[0]
    expected = "Basic " + base64.b64encode(b"project-1:s3cret").decode()
    assert request.headers["Authorization"] == expected
    assert dict(request.url.params) == {"a": "x", "flag": "True"}


@pytest.mark.anyio
@pytest.mark.parametrize("failure", [status(503), httpx.ConnectError("refused")])
async def test_state_changing_calls_are_sent_once(failure: httpx.Response | Exception) -> None:
    """POST is never retried: a 503 is returned, a connection error raised, after one attempt."""
    script = Script(failure, ok())
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
        if isinstance(failure, Exception):
            with pytest.raises(StytchUnavailable):
                await send_once(client, "POST", URL, json_body={"x": 1})
        else:
            response = await send_once(client, "POST", URL, json_body={"x": 1})
            assert response.status_code == 503
    assert len(script.requests) == 1


@pytest.mark.anyio
async def test_state_changing_timeout_says_it_was_not_retried() -> None:
    """A POST that times out raises StytchUnavailable warning the call may have taken effect."""
    script = Script(None)
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
        with pytest.raises(StytchUnavailable, match="not retried"):
            await send_once(client, "POST", URL, json_body={}, timeout=0.1)


def test_parse_retry_after() -> None:
    """Retry-After is read as delta-seconds or an HTTP date; junk is ignored."""
    now = 1_800_000_000.0
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after("0.5", now) == 0.5
    assert parse_retry_after(email.utils.formatdate(now + 7, usegmt=True), now) == 7.0
    assert parse_retry_after(email.utils.formatdate(now - 7, usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("nan", now) is None
    assert parse_retry_after(None, now) is None


def test_retry_policy_uses_full_jitter_and_validates() -> None:
    """Backoff is capped and jittered in [0, ceiling]; Retry-After sets a floor."""
    policy = RetryPolicy(attempts=5, backoff=0.5, max_backoff=1.5)
    assert policy.delay(0, None, lambda: 1.0) == 0.5
    assert policy.delay(3, None, lambda: 1.0) == 1.5
    assert policy.delay(3, None, lambda: 0.0) == 0.0
    assert policy.delay(0, 4.0, lambda: 1.0) == 4.0
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="backoff"):
        RetryPolicy(backoff=-1)


@pytest.mark.anyio
async def test_http_client_defaults() -> None:
    """The pooled client has the configured timeout and does not follow redirects."""
    async with make_http_client(timeout=3) as client:
        assert client.timeout.connect == 3
        assert client.timeout.read == 3
        assert not client.follow_redirects


# -- the SDK adapter, driven by the real stytch SDK --------------------------------------------


def _sdk_client(script: Script) -> tuple[B2BClient, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(script))
    client = make_stytch_client(
        "project-test-1",
        "s3cret",
        http,
        environment="http://stytch.invalid",
        retry=RetryPolicy(backoff=0),
    )
    return client, http


def _envelope(**fields: Any) -> dict[str, Any]:
    return {"status_code": 200, "request_id": "req-1", **fields}


@pytest.mark.anyio
async def test_sdk_get_runs_over_httpx_with_retries() -> None:
    """The SDK's async GET goes through our client with Basic auth, its headers, and retries."""
    body = _envelope(org_policy={"roles": []})
    script = Script(status(503), httpx.Response(200, json=body))
    client, http = _sdk_client(script)
    async with http:
        response = await client.rbac.organizations.get_org_policy_async("org 1")
    assert response.org_policy.roles == []
    assert len(script.requests) == 2
    request = script.requests[-1]
    assert request.url.raw_path.split(b"?")[0] == b"/v1/b2b/rbac/organizations/org%201"
    assert request.url.params["organization_id"] == "org 1"
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.headers["User-Agent"].startswith("Stytch Python")


@pytest.mark.anyio
async def test_sdk_post_is_sent_once_with_json_and_member_headers() -> None:
    """SDK POSTs carry a JSON body and member-session headers, and a 503 is not retried."""
    from stytch.b2b.models.sessions import RevokeRequestOptions
    from stytch.shared.method_options import Authorization

    script = Script(status(503))
    client, http = _sdk_client(script)
    options = RevokeRequestOptions(authorization=Authorization(session_jwt="jwt-value"))
    async with http:
        with pytest.raises(StytchUnavailable), translate_errors():
            await client.sessions.revoke_async(member_id="member-1", method_options=options)
    assert len(script.requests) == 1
    request = script.requests[0]
    assert request.method == "POST"
    assert json.loads(request.content) == {"member_id": "member-1"}
    assert request.headers["X-Stytch-Member-SessionJWT"] == "jwt-value"


@pytest.mark.anyio
async def test_sdk_put_and_delete() -> None:
    """PUT sends a JSON body; DELETE sends none."""
    org = {"organization_id": "org-1"}
    script = Script(httpx.Response(200, json=_envelope(**org)))
    client, http = _sdk_client(script)
    async with http:
        with pytest.raises(StytchUnavailable, match="does not parse"), translate_errors():
            # A 200 body missing required fields: the SDK's model rejects it; we map that.
            await client.organizations.update_async("org-1", organization_name="New")
        await client.organizations.delete_async("org-1")
    put, delete = script.requests
    assert put.method == "PUT"
    assert json.loads(put.content)["organization_name"] == "New"
    assert delete.method == "DELETE"
    assert delete.content == b""


@pytest.mark.anyio
async def test_sdk_sees_non_json_bodies_as_unknown_errors() -> None:
    """A non-JSON error body reaches the SDK as {} (its own fallback), mapped by status."""
    script = Script(httpx.Response(502, text="<html>bad gateway</html>"))
    client, http = _sdk_client(script)
    async with http:
        with pytest.raises(StytchUnavailable), translate_errors():
            await client.organizations.delete_async("org-1")


@pytest.mark.anyio
async def test_sdk_session_is_never_closed_by_the_sdk() -> None:
    """The SDK treats the adapter as external: closing the SDK leaves our httpx client open."""
    script = Script(ok())
    client, http = _sdk_client(script)
    async with http:
        await client.close()
        assert not http.is_closed
        assert not client.async_client._session.closed
