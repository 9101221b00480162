"""Starlette (and any ASGI app) glue: session middleware, error responses, exception handlers.

.. code-block:: python

    from starlette.applications import Starlette
    from stytch_rbac.integrations.starlette import StytchSessionMiddleware, exception_handlers

    app = Starlette(routes=routes, exception_handlers=exception_handlers())
    app.add_middleware(StytchSessionMiddleware, rbac=rbac)

:class:`StytchSessionMiddleware` authenticates each request once, stores the
outcome on it (guards reuse it; :func:`principal_of` reads it) and hands a
refreshed session JWT back on the response. It never refuses a request
itself: public routes stay public, guarded ones answer 401/403/503 (the
table in :mod:`.responses`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from .._extras import raise_missing_extra

try:
    from starlette.requests import HTTPConnection, Request
    from starlette.responses import JSONResponse, Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError as exc:
    raise_missing_extra(
        exc,
        extra="fastapi",
        needed_by="stytch_rbac.integrations.starlette",
        modules={"starlette"},
    )

from ..errors import StytchRBACError
from ..principal import Principal
from .guard import CredentialConfig, authenticate_request, request_auth
from .responses import HTTP_ERRORS, error_body, error_headers, handback_headers, status_for

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..client import StytchRBAC

__all__ = [
    "StytchSessionMiddleware",
    "add_exception_handlers",
    "error_response",
    "exception_handlers",
    "principal_of",
]


class StytchSessionMiddleware:
    """ASGI middleware: authenticate once per request, store the outcome, hand back a fresh JWT.

    ``credentials`` says where the credential is read and how a refreshed
    JWT is handed back (see :class:`~stytch_rbac.integrations.guard.CredentialConfig`).
    """

    def __init__(
        self, app: ASGIApp, *, rbac: StytchRBAC, credentials: CredentialConfig | None = None
    ) -> None:
        self.app = app
        self.rbac = rbac
        self.credentials = credentials if credentials is not None else CredentialConfig()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the wrapped app with the request's authentication outcome in its scope."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        # A failure is stored on the request: guarded routes answer it, public ones ignore it.
        with contextlib.suppress(StytchRBACError):
            await authenticate_request(
                self.rbac, connection, self.credentials, handled_by_middleware=True
            )
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = request_auth(connection)
        config = self.credentials

        async def send_with_handback(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = handback_headers(record, config)
                if extra:
                    message = dict(message)
                    message["headers"] = [
                        *message.get("headers", ()),
                        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra),
                    ]
            await send(message)

        await self.app(scope, receive, send_with_handback)


def principal_of(request: HTTPConnection) -> Principal:
    """The request's :class:`Principal`, as authenticated by the middleware or a guard.

    Raises :class:`Unauthenticated` when the request is not authenticated and
    ``RuntimeError`` when nothing authenticated it (no middleware, no guard).
    """
    record = request_auth(request)
    if record is None:
        raise RuntimeError(
            "no authentication ran for this request: add StytchSessionMiddleware or a guard"
        )
    return record.unwrap()


def error_response(exc: StytchRBACError, request: HTTPConnection | None = None) -> JSONResponse:
    """The JSON response answering ``exc`` (status and headers from the table in
    :mod:`.responses`), credentials scrubbed.

    Raises ``exc`` again when it has no HTTP status (a server-side bug).
    """
    status = status_for(exc)
    if status is None:
        raise exc
    record = request_auth(request) if request is not None else None
    secrets = record.secrets() if record is not None else ()
    return JSONResponse(error_body(exc, secrets), status_code=status, headers=error_headers(exc))


async def _handle(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StytchRBACError):  # pragma: no cover - registered for ours only
        raise exc
    return error_response(exc, request)


ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]


def exception_handlers() -> Mapping[type[Exception], ExceptionHandler]:
    """Handlers answering the library's errors with JSON, for ``Starlette(exception_handlers=...)``.

    Use them where errors are raised outside a FastAPI dependency: ``@guard``
    on an endpoint, or ``await rbac.authorize(...)`` inside one.
    """
    return dict.fromkeys(HTTP_ERRORS, _handle)


def add_exception_handlers(app: Starlette) -> None:
    """Register :func:`exception_handlers` on an existing Starlette or FastAPI app."""
    for error, handler in exception_handlers().items():
        app.add_exception_handler(error, handler)
