"""Stytch's endpoints that the facade and the CLI call, as plain functions of a :class:`Connection`.

Each returns Stytch's decoded JSON object, or raises through the one translator
(:mod:`.errors`): an error status becomes the matching
:class:`~stytch_rbac.errors.StytchRBACError`, a body that is not a JSON object
becomes :class:`~stytch_rbac.errors.StytchUnavailable`. GETs (policy, org
policy, JWKS) are retried as :mod:`.http` describes; ``sessions/authenticate``
is sent once.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ..errors import StytchUnavailable
from ..observe.observer import STYTCH_REQUEST_ID
from .errors import error_from_response

if TYPE_CHECKING:
    import httpx

    from .http import RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "LIVE_API",
    "TEST_API",
    "Connection",
    "Credentials",
    "authenticate_session",
    "fetch_jwks",
    "fetch_org_policy",
    "fetch_policy",
    "fetch_policy_body",
    "open_connection",
    "resolve_base_url",
]

TEST_API: Final = "https://test.stytch.com"
LIVE_API: Final = "https://api.stytch.com"
#: Seconds: the bound on one exchange with Stytch, retries included (also ``http``'s).
DEFAULT_TIMEOUT: Final = 10.0


def resolve_base_url(project_id: str, base_url: str | None) -> str:
    """The API origin: Stytch test or live chosen by the project id (as the SDK does), or
    ``base_url`` (any http(s) URL, e.g. an emulator), without a trailing slash."""
    if base_url is None:
        return LIVE_API if project_id.startswith("project-live-") else TEST_API
    parsed = urllib.parse.urlsplit(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
    return base_url.rstrip("/")


@dataclass(frozen=True, slots=True)
class Credentials:
    """A project's id and secret and the API origin they are used against (secret not in repr)."""

    project_id: str
    secret: str = field(repr=False)
    base_url: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Credentials:
        """From ``STYTCH_PROJECT_ID``, ``STYTCH_SECRET`` and optional ``STYTCH_BASE_URL``.

        Raises ValueError naming what is missing or wrong.
        """
        source = os.environ if env is None else env
        missing = [k for k in ("STYTCH_PROJECT_ID", "STYTCH_SECRET") if not source.get(k)]
        if missing:
            raise ValueError(f"environment variable(s) not set: {', '.join(missing)}")
        project_id = source["STYTCH_PROJECT_ID"]
        try:
            base_url = resolve_base_url(project_id, source.get("STYTCH_BASE_URL") or None)
        except ValueError as exc:
            raise ValueError(f"STYTCH_BASE_URL: {exc}") from None
        return cls(project_id, source["STYTCH_SECRET"], base_url)


@dataclass(frozen=True, slots=True)
class Connection:
    """Everything a request to Stytch needs: the pooled client, where, who, how long."""

    http: httpx.AsyncClient
    credentials: Credentials
    timeout: float = DEFAULT_TIMEOUT
    retry: RetryPolicy | None = None
    _auth: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def auth(self) -> httpx.Auth:
        """HTTP basic auth with the project's id and secret, as an ``httpx.Auth`` (made once)
        whose repr shows neither: what frames hold, never a tuple with the secret in clear."""
        auth = self._auth
        if auth is None:
            from .http import basic_auth

            auth = basic_auth(self.credentials.project_id, self.credentials.secret)
            object.__setattr__(self, "_auth", auth)
        return auth  # type: ignore[no-any-return]  # an httpx.Auth, typed Any for the lazy import

    def url(self, path: str) -> str:
        """The absolute URL of an API path."""
        return self.credentials.base_url + path


@asynccontextmanager
async def open_connection(
    credentials: Credentials,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109  (each request's bound, given to httpx)
) -> AsyncIterator[Connection]:
    """A :class:`Connection` over a new pooled client, closed on exit (for one-off callers)."""
    from .http import make_http_client

    async with make_http_client(timeout=timeout) as http:
        yield Connection(http, credentials, timeout)


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    if not 200 <= response.status_code < 300:
        # Only a 2xx is a success: a 3xx carrying a policy or a member session is refused.
        raise error_from_response(response)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise StytchUnavailable(
            f"Stytch answered {what} with a body that is not a JSON object",
            stytch_status=response.status_code,
        )
    _note_request_id(body)
    return body


def _note_request_id(body: Mapping[str, Any]) -> None:
    """Stytch's ``request_id`` of this answer, for the span around the call (if any)."""
    request_id = body.get("request_id")
    STYTCH_REQUEST_ID.set(request_id if isinstance(request_id, str) else None)


async def _get(
    conn: Connection, path: str, *, what: str, auth: bool = True, **params: str
) -> dict[str, Any]:
    from .http import DEFAULT_RETRY, get_with_retries

    response = await get_with_retries(
        conn.http,
        conn.url(path),
        params=params or None,
        auth=conn.auth if auth else None,
        timeout=conn.timeout,
        retry=conn.retry or DEFAULT_RETRY,
    )
    return _json_object(response, what)


async def fetch_policy(conn: Connection) -> dict[str, Any]:
    """``GET /v1/b2b/rbac/policy``: the project's RBAC policy response."""
    return await _get(conn, "/v1/b2b/rbac/policy", what="the RBAC policy")


async def fetch_policy_body(conn: Connection) -> bytes:
    """``GET /v1/b2b/rbac/policy``'s body, not decoded: the facade decodes a policy off the
    event loop (a large one takes longer than any request may wait). Only a 2xx answer is
    a body; any other status raises as :func:`fetch_policy` does."""
    from .http import DEFAULT_RETRY, get_with_retries

    response = await get_with_retries(
        conn.http,
        conn.url("/v1/b2b/rbac/policy"),
        params=None,
        auth=conn.auth,
        timeout=conn.timeout,
        retry=conn.retry or DEFAULT_RETRY,
    )
    if not response.is_success:
        raise error_from_response(response)
    body = response.content
    # Stytch's request_id for the span around this call, read off the head of the body
    # (Stytch sends it first) without decoding a policy that may be megabytes long.
    found = _REQUEST_ID.search(body, 0, 512)
    STYTCH_REQUEST_ID.set(found.group(1).decode("ascii") if found else None)
    return body


_REQUEST_ID: Final = re.compile(rb'"request_id"\s*:\s*"([A-Za-z0-9_.:-]{1,200})"')


async def fetch_org_policy(conn: Connection, organization_id: str) -> dict[str, Any]:
    """``GET /v1/b2b/rbac/organizations/{organization_id}``: that organization's custom roles."""
    return await _get(
        conn,
        "/v1/b2b/rbac/organizations/" + urllib.parse.quote(organization_id, safe=""),
        what=f"the org policy of {organization_id}",
        organization_id=organization_id,
    )


async def fetch_member(conn: Connection, organization_id: str, member_id: str) -> dict[str, Any]:
    """``GET /v1/b2b/organizations/{organization_id}/member?member_id=...``: one member, with
    its current roles (``member.roles``). Idempotent, so retried like the policy."""
    return await _get(
        conn,
        "/v1/b2b/organizations/" + urllib.parse.quote(organization_id, safe="") + "/member",
        what=f"member {member_id}",
        organization_id=organization_id,
        member_id=member_id,
    )


async def fetch_jwks(conn: Connection) -> dict[str, Any]:
    """``GET /v1/b2b/sessions/jwks/{project_id}``: the project's signing keys.

    Sent without credentials: the JWKS is public (the SDK's own JWKS client sends none).
    """
    project_id = conn.credentials.project_id
    return await _get(
        conn,
        "/v1/b2b/sessions/jwks/" + urllib.parse.quote(project_id, safe=""),
        what="the JWKS",
        auth=False,
    )


async def authenticate_session(
    conn: Connection,
    body: Mapping[str, str],
    timeout: float | None = None,  # noqa: ASYNC109  (given to send_once, like conn.timeout)
) -> dict[str, Any]:
    """``POST /v1/b2b/sessions/authenticate`` once (never retried) with a session JWT or token,
    within ``timeout`` seconds (default: the connection's)."""
    from .http import send_once

    response = await send_once(
        conn.http,
        "POST",
        conn.url("/v1/b2b/sessions/authenticate"),
        json_body=dict(body),
        auth=conn.auth,
        timeout=conn.timeout if timeout is None else timeout,
    )
    return _json_object(response, "sessions/authenticate")
