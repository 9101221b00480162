"""The Starlette ASGI app: Basic auth, fault injection, routing, Stytch's JSON envelopes."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.routing import Route as StarletteRoute

from ._errors import EmulatorError, bad_request
from ._faults import Fault, Faults
from ._params import Params
from ._routing import Req, Route, Router
from ._state import State

__all__ = ["Enforcer", "build_app"]

JSON = dict[str, Any]
Enforcer = Callable[[State, Route, Req], None]

_log = logging.getLogger("stytch_rbac.emulator")

_FAULT_TYPES = {
    429: ("too_many_requests", "Too many requests have been made."),
    500: (
        "internal_server_error",
        "Oops, something seems to have gone wrong, please reach out to support@stytch.com to let "
        "us know what went wrong.",
    ),
    # Stytch's list has one type for an unavailable server, whatever the gateway says.
    502: ("server_unavailable", "Bad gateway."),
    503: ("server_unavailable", "The service is temporarily unavailable."),
    504: ("server_unavailable", "Gateway timeout."),
}
_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


def _json_response(status: int, body: JSON, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _error(exc: EmulatorError, request_id: str, headers: dict[str, str] | None = None) -> Response:
    return _json_response(exc.status_code, exc.body(request_id), headers)


class _Dispatcher:
    """The single Starlette endpoint: everything Stytch-specific happens here."""

    def __init__(
        self,
        state: State,
        faults: Faults,
        router: Router,
        enforce: Enforcer | None,
        on_change: Callable[[], None] | None,
    ) -> None:
        self.state = state
        self.faults = faults
        self.router = router
        self.enforce = enforce
        self.on_change = on_change
        self._unauthorized = EmulatorError(
            401, "unauthorized_credentials", "Unauthorized credentials."
        )

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        return hmac.compare_digest(
            user.encode(), self.state.project_id.encode()
        ) & hmac.compare_digest(password.encode(), self.state.secret.encode())

    async def _params(self, request: Request, route: Route, path: dict[str, str]) -> Params:
        if route.method in ("GET", "DELETE"):
            query = dict(parse_qsl(request.url.query, keep_blank_values=True))
            return Params({**query, **path}, from_query=True)
        raw = await request.body()
        if not raw.strip():
            return Params(dict(path))
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise bad_request("The request body is not valid JSON.", "bad_request") from None
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.", "bad_request")
        return Params({**body, **path})

    async def _wait(self, request: Request, seconds: float | None) -> None:
        """Sleep ``seconds`` (``None``: forever), or until the client leaves or hangs end."""
        # Read the whole request first (Starlette keeps it for the handler): an in-process
        # client (httpx.ASGITransport) must not be left with a half-read request stream
        # when the wait ends early, which trio reports as an unfinished async generator.
        await request.body()
        generation = self.faults.generation
        deadline = None if seconds is None else anyio.current_time() + seconds
        while self.faults.generation == generation:
            left = 0.02 if deadline is None else min(0.02, deadline - anyio.current_time())
            if left <= 0 or await request.is_disconnected():
                return
            await anyio.sleep(left)

    async def _answer_fault(
        self, fault: Fault, request: Request, request_id: str, route: Route, path: dict[str, str]
    ) -> Response:
        if fault.kind == "fail":
            error_type, message = _FAULT_TYPES.get(
                fault.status,
                ("internal_server_error", "Injected failure.")
                if fault.status >= 500
                else ("bad_request", "Injected failure."),
            )
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            exc = EmulatorError(
                fault.status, fault.error_type or error_type, message, injected=True
            )
            return _error(exc, request_id, headers)
        if fault.kind == "hang":
            await self._wait(request, None)
            return _error(EmulatorError(503, "server_unavailable", "Released hang."), request_id)
        if fault.kind == "garbage":
            return Response(
                b"<html><body>502 Bad Gateway</body></html>",
                fault.status,
                media_type="application/json",
            )
        real = await self._serve(request, request_id, route, path)
        if fault.kind == "redirect":
            body = bytes(real.body) if fault.body is None else json.dumps(fault.body).encode()
            return Response(
                body, fault.status, headers={"Location": "/"}, media_type="application/json"
            )
        return Response(
            bytes(real.body)[: max(1, len(real.body) // 2)],
            fault.status,
            media_type="application/json",
        )

    async def _serve(
        self, request: Request, request_id: str, route: Route, path: dict[str, str]
    ) -> Response:
        if route.auth and not self._authorized(request):
            return _error(self._unauthorized, request_id)
        try:
            params = await self._params(request, route, path)
            req = Req(
                route.method,
                path,
                params,
                session_token=request.headers.get("x-stytch-member-session"),
                session_jwt=request.headers.get("x-stytch-member-sessionjwt"),
            )
            if self.enforce is not None:
                self.enforce(self.state, route, req)
            before = self.state.version
            result = route.handler(self.state, req)
            if self.on_change is not None and self.state.version != before:
                self.on_change()
        except EmulatorError as exc:
            return _error(exc, request_id)
        except Exception:
            _log.exception("emulator: unexpected error in %s", route.name)
            return _error(EmulatorError(500, *_FAULT_TYPES[500]), request_id)
        return _json_response(200, {"status_code": 200, "request_id": request_id, **result})

    async def handle(self, request: Request) -> Response:
        """Answer one request."""
        request_id = f"request-id-test-{uuid.uuid4()}"
        raw = request.scope.get("raw_path") or request.scope["path"].encode()
        raw_path = raw.decode("latin-1").partition("?")[0]
        found = self.router.match(request.method, raw_path)
        if found is None:
            exc = EmulatorError(
                404, "route_not_found", f"No route for {request.method} {raw_path}."
            )
            return _error(exc, request_id)
        route, path = found
        with self.state.lock:
            self.state.requests[route.name] += 1
        delay, fault = self.faults.take(route.name)
        if delay:
            await self._wait(request, delay)
        if fault is not None:
            return await self._answer_fault(fault, request, request_id, route, path)
        return await self._serve(request, request_id, route, path)


def build_app(
    state: State,
    faults: Faults,
    routes: Sequence[Route],
    *,
    enforce: Enforcer | None = None,
    on_change: Callable[[], None] | None = None,
    mounts: Sequence[BaseRoute] = (),
) -> Starlette:
    """The ASGI app serving ``routes`` over ``state``; ``mounts`` (other API families with
    their own dispatchers: the Management API, the frontend SDK's ``/sdk/v1``) are matched
    first."""
    dispatcher = _Dispatcher(state, faults, Router(routes), enforce, on_change)
    catch_all = StarletteRoute("/{path:path}", dispatcher.handle, methods=_METHODS)
    return Starlette(routes=[*mounts, catch_all])
