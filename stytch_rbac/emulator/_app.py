"""The Starlette ASGI app: Basic auth, fault injection, routing, Stytch's JSON envelopes.

Every request reaches the one dispatcher, whatever its method or path (a path
holding ``%0A`` included), and every answer is Stytch's JSON: Starlette's own
plain-text 404, 405 and 500 pages are never sent.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl

import anyio
from starlette.applications import Starlette
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound, request_response
from starlette.types import Receive, Scope, Send

from ._body import DEFAULT_MAX_REQUEST_BYTES, parse_json, read_body
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
#: Stytch's types for the statuses Starlette itself may raise (``HTTPException``).
_HTTP_TYPES: Final = {
    400: "bad_request",
    404: "route_not_found",
    405: "method_not_allowed",
    413: "bad_request",
}


def _is_form(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").partition(";")[0]
    return media_type.strip().lower() == "application/x-www-form-urlencoded"


def _parse_form(raw: bytes) -> dict[str, str]:
    """A form body's fields; a repeated field is refused rather than silently collapsed."""
    try:
        pairs = parse_qsl(raw.decode(), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise bad_request("The request body is not a valid form.", "bad_request") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise bad_request("A form field is repeated.", "bad_request")
    return fields


def _json_response(status: int, body: JSON, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _error(exc: EmulatorError, request_id: str, headers: dict[str, str] | None = None) -> Response:
    return _json_response(exc.status_code, exc.body(request_id), headers)


def _new_request_id() -> str:
    return f"request-id-test-{uuid.uuid4()}"


def _internal_error() -> EmulatorError:
    return EmulatorError(500, *_FAULT_TYPES[500])


def _from_http_exception(exc: HTTPException) -> EmulatorError:
    """Stytch's envelope for an error Starlette raised (a status it chose, a Stytch type)."""
    status = exc.status_code
    if status >= 500:
        return _internal_error()
    return EmulatorError(status, _HTTP_TYPES.get(status, "bad_request"), str(exc.detail))


async def _server_error(request: Request, exc: Exception) -> Response:
    """The last resort (Starlette's ``ServerErrorMiddleware``): a 500 envelope."""
    return _error(_internal_error(), _new_request_id())


class _EveryRequest(BaseRoute):
    """A route matching every HTTP request, whatever its method and path.

    Starlette's ``{path:path}`` pattern does not match a path holding a newline
    (``%0A``), and a route lists its methods: both gave plain-text pages.
    """

    def __init__(self, endpoint: Callable[[Request], Any]) -> None:
        self._app = request_response(endpoint)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """A full match for every HTTP request (and nothing else)."""
        return (Match.FULL, {}) if scope["type"] == "http" else (Match.NONE, {})

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """No route has a name to build a URL from."""
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer with the dispatcher."""
        await self._app(scope, receive, send)


class _Dispatcher:
    """The single Starlette endpoint: everything Stytch-specific happens here."""

    def __init__(
        self,
        state: State,
        faults: Faults,
        router: Router,
        enforce: Enforcer | None,
        on_change: Callable[[], None] | None,
        max_request_bytes: int,
    ) -> None:
        self.max_request_bytes = max_request_bytes
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

    def _params(self, request: Request, raw: bytes, route: Route, path: dict[str, str]) -> Params:
        if route.method in ("GET", "DELETE"):
            query = dict(parse_qsl(request.url.query, keep_blank_values=True))
            return Params({**query, **path}, from_query=True)
        if not raw.strip():
            return Params(dict(path))
        if route.form and _is_form(request):
            return Params({**_parse_form(raw), **path}, from_query=True)
        body = parse_json(raw)
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.", "bad_request")
        return Params({**body, **path})

    async def _wait(self, request: Request, seconds: float | None) -> None:
        """Sleep ``seconds`` (``None``: forever), or until the client leaves or hangs end."""
        # The body was read before (handle): an in-process client (httpx.ASGITransport)
        # must not be left with a half-read request stream when the wait ends early,
        # which trio reports as an unfinished async generator.
        generation = self.faults.generation
        deadline = None if seconds is None else anyio.current_time() + seconds
        while self.faults.generation == generation:
            left = 0.02 if deadline is None else min(0.02, deadline - anyio.current_time())
            if left <= 0 or await request.is_disconnected():
                return
            await anyio.sleep(left)

    async def _answer_fault(
        self,
        fault: Fault,
        request: Request,
        raw: bytes,
        request_id: str,
        route: Route,
        path: dict[str, str],
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
        real = self._serve(request, raw, request_id, route, path)
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

    def _serve(
        self, request: Request, raw: bytes, request_id: str, route: Route, path: dict[str, str]
    ) -> Response:
        if route.auth and not self._authorized(request):
            return _error(self._unauthorized, request_id)
        try:
            params = self._params(request, raw, route, path)
            req = Req(
                route.method,
                path,
                params,
                session_token=request.headers.get("x-stytch-member-session"),
                session_jwt=request.headers.get("x-stytch-member-sessionjwt"),
                base_url=str(request.base_url),
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
            return _error(_internal_error(), request_id)
        return _json_response(200, {"status_code": 200, "request_id": request_id, **result})

    async def handle(self, request: Request) -> Response:
        """Answer one request; whatever goes wrong, the answer is Stytch's envelope."""
        request_id = _new_request_id()
        try:
            return await self._handle(request, request_id)
        except EmulatorError as exc:
            return _error(exc, request_id)
        except HTTPException as exc:
            return _error(_from_http_exception(exc), request_id)
        except ClientDisconnect:
            return Response(status_code=499)  # nobody is left to read it
        except Exception:
            _log.exception("emulator: unexpected error answering %s", request.method)
            return _error(_internal_error(), request_id)

    async def _handle(self, request: Request, request_id: str) -> Response:
        raw_path_bytes = request.scope.get("raw_path") or request.scope["path"].encode()
        raw_path = raw_path_bytes.decode("latin-1").partition("?")[0]
        found = self.router.match(request.method, raw_path)
        if found is None:
            raise EmulatorError(
                404, "route_not_found", f"No route for {request.method} {raw_path!r}."
            )
        route, path = found
        with self.state.lock:
            self.state.requests[route.name] += 1
        # Read (within the size bound) before anything else: faults and handlers share it.
        raw = await read_body(request, self.max_request_bytes)
        delay, fault = self.faults.take(route.name)
        if delay:
            await self._wait(request, delay)
        if fault is not None:
            return await self._answer_fault(fault, request, raw, request_id, route, path)
        return self._serve(request, raw, request_id, route, path)


def build_app(
    state: State,
    faults: Faults,
    routes: Sequence[Route],
    *,
    enforce: Enforcer | None = None,
    on_change: Callable[[], None] | None = None,
    mounts: Sequence[BaseRoute] = (),
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> Starlette:
    """The ASGI app serving ``routes`` over ``state``; ``mounts`` (other API families with
    their own dispatchers: the Management API, the frontend SDK's ``/sdk/v1``) are matched
    first."""
    dispatcher = _Dispatcher(state, faults, Router(routes), enforce, on_change, max_request_bytes)
    return Starlette(
        routes=[*mounts, _EveryRequest(dispatcher.handle)],
        exception_handlers={Exception: _server_error},
    )
