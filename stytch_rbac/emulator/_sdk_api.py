"""``/sdk/v1``: the API Stytch's frontend SDKs call from a browser, served by the emulator.

What differs from the backend API (facts from the ``@stytch/vanilla-js`` sources,
``packages/core`` and ``packages/web``):

* credentials are ``Authorization: Basic base64(public_token:X)`` where ``X`` is
  the member's session token once logged in, else the public token again;
* pages call from another origin with ``credentials: "include"``: CORS
  (:mod:`._cors`) for the project's allowed origins (:mod:`._public_tokens`),
  ``400 bad_domain_for_stytch_sdk`` without CORS headers for any other;
* a success is wrapped: ``{"data": {...}}``; an error is Stytch's usual error
  JSON, unwrapped;
* the telemetry endpoint ``/events`` carries no credentials.

The routes themselves are :mod:`._sdk_routes`. Injected faults (``emu.faults``)
apply by the routes' ``sdk.<name>``, answered with the CORS headers so a page
can see them; telemetry is never faulted.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.requests import Request
from starlette.responses import Response

from ._app import _FAULT_TYPES
from ._cors import cors_headers, preflight_headers
from ._errors import EmulatorError
from ._faults import Fault, Faults
from ._params import Params
from ._passwords import Passwords
from ._public_tokens import PublicTokens
from ._routing import Req, Route, Router
from ._sdk_routes import sdk_routes
from ._state import State

__all__ = ["SdkApi"]

JSON = dict[str, Any]
Enforcer = Callable[[State, Route, Req], None]

_log = logging.getLogger("stytch_rbac.emulator")


def _json(status: int, body: JSON, headers: Mapping[str, str]) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=status,
        media_type="application/json",
        headers=dict(headers),
    )


class SdkApi:
    """The ``/sdk/v1`` endpoint: origin check, public-token auth, envelope, routing."""

    def __init__(
        self,
        state: State,
        tokens: PublicTokens,
        backends: Sequence[Route],
        enforce: Enforcer,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.state = state
        self.tokens = tokens
        self.on_change = on_change
        self.passwords = Passwords()
        self.routes = sdk_routes(tokens, {r.name: r for r in backends}, enforce, self.passwords)
        self.router = Router(self.routes)
        #: The emulator's faults (set by ``Emulator``); telemetry (``sdk.events``) is never
        #: faulted, so its background batches cannot use up a ``times=N`` fault.
        self.faults: Faults | None = None

    async def _wait(self, request: Request, seconds: float | None) -> None:
        """Sleep ``seconds`` (``None``: until hangs are released) or until the page leaves."""
        await request.body()
        assert self.faults is not None
        generation = self.faults.generation
        deadline = None if seconds is None else anyio.current_time() + seconds
        while self.faults.generation == generation:
            left = 0.02 if deadline is None else min(0.02, deadline - anyio.current_time())
            if left <= 0 or await request.is_disconnected():
                return
            await anyio.sleep(left)

    async def _faulted(
        self, fault: Fault, request: Request, request_id: str, headers: dict[str, str]
    ) -> Response | None:
        """The answer of a terminal fault (``None`` for ``truncated``: cut the real one)."""
        if fault.kind == "fail":
            default = ("internal_server_error", "Injected failure.")
            if fault.status < 500:
                default = ("bad_request", "Injected failure.")
            error_type, message = _FAULT_TYPES.get(fault.status, default)
            exc = EmulatorError(
                fault.status, fault.error_type or error_type, message, injected=True
            )
            extra = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return _json(exc.status_code, exc.body(request_id), {**headers, **extra})
        if fault.kind == "hang":
            await self._wait(request, None)
            exc = EmulatorError(503, "server_unavailable", "Released hang.")
            return _json(503, exc.body(request_id), headers)
        if fault.kind == "garbage":
            body = b"<html><body>502 Bad Gateway</body></html>"
            return Response(body, fault.status, media_type="application/json", headers=headers)
        return None

    def _origin(self, request: Request) -> str | None:
        """The calling page's origin: the browser's ``Origin``, else the SDK's own header."""
        return request.headers.get("origin") or request.headers.get("x-sdk-parent-host")

    def _credentials(self, request: Request) -> tuple[bool, str | None]:
        """(a known public token was sent, the session token sent with it or ``None``)."""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False, None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False, None
        public_token, _, secret = decoded.partition(":")
        if not self.tokens.known(public_token):
            return False, None
        return True, None if secret in ("", public_token) else secret

    async def _params(self, request: Request, method: str, path: dict[str, str]) -> Params:
        if method in ("GET", "DELETE"):
            query = dict(parse_qsl(request.url.query, keep_blank_values=True))
            return Params({**query, **path}, from_query=True)
        raw = await request.body()
        if not raw.strip():
            return Params(dict(path))
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise EmulatorError(400, "bad_request", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            # The telemetry batches are JSON arrays; nothing else is.
            return Params(dict(path))
        return Params({**body, **path})

    async def handle(self, request: Request) -> Response:
        """Answer one request under ``/sdk/v1``."""
        request_id = f"request-id-test-{uuid.uuid4()}"
        origin = self._origin(request)
        allowed = self.tokens.origin_allowed(origin)
        headers = cors_headers(request.headers.get("origin"), allowed)

        def error(exc: EmulatorError) -> Response:
            return _json(exc.status_code, exc.body(request_id), headers)

        if not allowed:
            return error(
                EmulatorError(
                    400,
                    "bad_domain_for_stytch_sdk",
                    f"The origin {origin or '(none)'} is not an allowed origin of this project "
                    "(Emulator(allowed_origins=...) or stytch-rbac emulator --allow-origin).",
                )
            )
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=preflight_headers(origin or ""))
        raw = request.scope.get("raw_path") or request.scope["path"].encode()
        raw_path = raw.decode("latin-1").partition("?")[0]
        found = self.router.match(request.method, raw_path)
        if found is None:
            return error(
                EmulatorError(404, "route_not_found", f"No route for {request.method} {raw_path}.")
            )
        route, path = found
        with self.state.lock:
            self.state.requests[route.name] += 1
        fault: Fault | None = None
        if self.faults is not None and route.name != "sdk.events":
            delay, fault = self.faults.take(route.name)
            if delay:
                await self._wait(request, delay)
            if fault is not None:
                faulted = await self._faulted(fault, request, request_id, headers)
                if faulted is not None:
                    return faulted
        response = await self._serve(request, route, path, request_id, headers)
        if fault is not None:  # truncated: the real answer, cut in half
            body = bytes(response.body)
            return Response(
                body[: max(1, len(body) // 2)],
                fault.status,
                media_type="application/json",
                headers=headers,
            )
        return response

    async def _serve(
        self,
        request: Request,
        route: Route,
        path: dict[str, str],
        request_id: str,
        headers: dict[str, str],
    ) -> Response:
        def error(exc: EmulatorError) -> Response:
            return _json(exc.status_code, exc.body(request_id), headers)

        try:
            known, session_token = self._credentials(request)
            if route.name != "sdk.events" and not known:
                raise EmulatorError(
                    401, "unauthorized_credentials", "Unknown or missing public token."
                )
            if route.auth and session_token is None:
                raise EmulatorError(
                    401, "unauthorized_credentials", "This call needs a member session."
                )
            params = await self._params(request, route.method, path)
            req = Req(route.method, path, params, session_token=session_token)
            before = self.state.version
            result = route.handler(self.state, req)
            if self.on_change is not None and self.state.version != before:
                self.on_change()
        except EmulatorError as exc:
            return error(exc)
        except Exception:
            _log.exception("emulator: unexpected error in %s", route.name)
            return error(
                EmulatorError(500, "internal_server_error", "Unexpected error in the emulator.")
            )
        data = {"request_id": request_id, "status_code": 200, **result}
        return _json(200, {"data": data}, headers)
