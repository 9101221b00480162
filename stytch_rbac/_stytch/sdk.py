"""The adapter the unmodified stytch SDK runs over, so its ``*_async`` calls use our httpx client.

:class:`SDKSession` quacks like the ``aiohttp.ClientSession`` the stytch SDK's
``AsyncClient`` expects, so ``stytch.B2BClient(..., async_session=SDKSession(http))``
runs every ``*_async`` method over the pooled httpx client: no aiohttp session
is opened, and the SDK works on trio too. Only GETs are retried; POST, PUT and
DELETE are sent exactly once.

Each response is noted for the enclosing ``translate_errors`` block
(:func:`~.errors.note_response`): the ``StytchError`` the SDK raises carries no
headers, so that is how Stytch's ``Retry-After`` reaches ``StytchUnavailable``.
A body that is not a JSON object reads as ``{}`` to the SDK (as a non-JSON body
does), so the SDK raises its own ``StytchError`` for an error status and a
pydantic error (translated as unparsable) for a success, never a ``TypeError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import error_from_response, note_response
from .http import (
    DEFAULT_RETRY,
    DEFAULT_TIMEOUT,
    RetryPolicy,
    basic_auth,
    get_with_retries,
    send_once,
)

if TYPE_CHECKING:
    import httpx
    from stytch import B2BClient

__all__ = ["SDKResponse", "SDKSession", "make_stytch_client"]


class _Content:
    """The ``resp.content`` of aiohttp, reduced to what the SDK reads (``await read()``)."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def read(self) -> bytes:
        """The whole response body."""
        return self._body


class SDKResponse:
    """What the stytch SDK reads from an aiohttp response: ``status``, ``json()``, ``content``.

    Made only from a 2xx or an error status (>= 400): the SDK takes anything below 400 for a
    success, so a 1xx or 3xx answer raises our :class:`~stytch_rbac.errors.StytchAPIError`
    here instead of reaching it.
    """

    __slots__ = ("content", "headers", "status")

    def __init__(self, response: httpx.Response) -> None:
        if response.status_code < 200 or 300 <= response.status_code < 400:
            raise error_from_response(response)
        self.status = response.status_code
        self.headers = response.headers
        self.content = _Content(response.content)

    async def json(self) -> dict[str, Any]:
        """The body parsed as a JSON object (ValueError for a non-JSON body, like aiohttp,
        and for JSON that is not an object: the SDK then reads the body as ``{}``)."""
        body = json.loads(await self.content.read())
        if not isinstance(body, dict):
            raise ValueError(f"the body is a JSON {type(body).__name__}, not an object")
        return body

    def __repr__(self) -> str:
        return f"<SDKResponse status={self.status}>"


def _auth(auth: Any) -> httpx.Auth | None:
    """``aiohttp.BasicAuth`` (a (login, password, encoding) named tuple, whose repr shows the
    password) to an ``httpx.Auth`` (whose repr does not). Each method rebinds its ``auth``
    parameter to this at once, so no frame of a failing call holds the secret in clear."""
    if auth is None:
        return None
    login = getattr(auth, "login", None)
    password = getattr(auth, "password", None)
    if isinstance(login, str) and isinstance(password, str):
        return basic_auth(login, password)
    raise TypeError(f"unsupported auth object {type(auth).__name__}")


class SDKSession:
    """An aiohttp-like session over our ``httpx.AsyncClient``, for ``stytch.B2BClient``.

    Pass it as ``async_session``; the SDK then never opens aiohttp and never
    closes this session (it treats it as external). GETs are retried like our
    own; other verbs are sent once.
    """

    __slots__ = ("_client", "_retry", "_timeout")

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self._client = client
        self._timeout = timeout
        self._retry = retry

    def __repr__(self) -> str:
        return f"<SDKSession over {self._client!r}>"

    @property
    def closed(self) -> bool:
        """Whether the underlying httpx client is closed."""
        return self._client.is_closed

    async def close(self) -> None:
        """No-op: the httpx client belongs to its creator, who closes it."""

    async def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
    ) -> SDKResponse:
        """GET with retries."""
        auth = _auth(auth)
        response = await get_with_retries(
            self._client,
            url,
            params=params,
            headers=headers,
            auth=auth,
            timeout=self._timeout,
            retry=self._retry,
        )
        await response.aread()
        note_response(response)
        return SDKResponse(response)

    async def _send(
        self,
        method: str,
        url: str,
        json_body: Any,
        form: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        auth: Any,
    ) -> SDKResponse:
        response = await send_once(
            self._client,
            method,
            url,
            json_body=json_body,
            form=form,
            headers=headers,
            auth=auth,
            timeout=self._timeout,
        )
        note_response(response)
        return SDKResponse(response)

    async def post(
        self,
        url: str,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
    ) -> SDKResponse:
        """POST once (JSON body, or a form with ``data=``)."""
        auth = _auth(auth)
        return await self._send("POST", url, json, data, headers, auth)

    async def put(
        self,
        url: str,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
    ) -> SDKResponse:
        """PUT once."""
        auth = _auth(auth)
        return await self._send("PUT", url, json, None, headers, auth)

    async def delete(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
    ) -> SDKResponse:
        """DELETE once."""
        auth = _auth(auth)
        return await self._send("DELETE", url, None, None, headers, auth)


def make_stytch_client(
    project_id: str,
    secret: str,
    http: httpx.AsyncClient,
    *,
    environment: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> B2BClient:
    """A ``stytch.B2BClient`` whose ``*_async`` methods run over ``http`` (imports the SDK).

    ``environment`` is the SDK's: None (test/live by project id), ``"test"``,
    ``"live"`` or a base URL used verbatim (an emulator).
    """
    import warnings

    import stytch

    session = SDKSession(http, timeout=timeout, retry=retry)
    with warnings.catch_warnings():
        # aiohttp >= 3.12 deprecates the BasicAuth the SDK builds; it is never sent
        # through aiohttp here (SDKSession hands httpx a plain (login, password) tuple).
        warnings.filterwarnings("ignore", "BasicAuth is deprecated", DeprecationWarning)
        return stytch.B2BClient(
            project_id,
            secret,
            environment=environment,
            suppress_warnings=True,
            async_session=session,  # type: ignore[arg-type]  # aiohttp-compatible adapter
        )
