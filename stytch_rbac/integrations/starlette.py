"""Starlette (and any ASGI app) glue: lifespan, session middleware, errors, authentication.

.. code-block:: python

    from starlette.applications import Starlette
    from stytch_rbac.integrations.starlette import (
        StytchSessionMiddleware, exception_handlers, lifespan,
    )

    app = Starlette(routes=routes, exception_handlers=exception_handlers(),
                    lifespan=lifespan(rbac))
    app.add_middleware(StytchSessionMiddleware, rbac=rbac)

:func:`lifespan` opens ``rbac`` for the life of the app (and again for the
next run: a closed ``StytchRBAC`` re-opens) and checks the permissions of every
guard on the app's routes against the policy before the app serves
(:func:`verify_routes`).

:class:`StytchSessionMiddleware` authenticates each request once, stores the
outcome on it (guards reading the same credential with the same ``StytchRBAC``
reuse it; :func:`principal_of` reads it) and hands a refreshed session JWT back
on the response. A session cookie on an unsafe request from another origin is
not authenticated but recorded as a :class:`~stytch_rbac.CrossSiteRequest`
(CSRF protection, :mod:`.csrf`). It never refuses a request itself: public
routes stay public, guarded ones answer 401/403/503 (the table in
:mod:`.responses`).

WebSocket routes: ``@guard`` on a ``websocket`` endpoint authenticates the
handshake; with :func:`exception_handlers` installed a refusal closes the
socket before it is accepted, with code 1008 (1013 when Stytch is unavailable).

Starlette's own authentication: :class:`StytchAuthBackend` (or
:func:`authentication_middleware`, which also answers its errors) fills
``request.user`` (a :class:`StytchUser`) and ``request.auth.scopes``
(``"authenticated"`` and every ``"resource:action"`` the member is granted), so
``@requires("documents:edit")`` works. A request without a credential is
anonymous; a presented credential that is refused is a 401.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Final

from .._extras import raise_missing_extra

try:
    from starlette.authentication import (
        AuthCredentials,
        AuthenticationBackend,
        AuthenticationError,
        BaseUser,
    )
    from starlette.middleware import Middleware
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.requests import HTTPConnection, Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import BaseRoute, Route, WebSocketRoute
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
    from starlette.websockets import WebSocket, WebSocketState
except ImportError as exc:
    raise_missing_extra(
        exc,
        extra="fastapi",
        needed_by="stytch_rbac.integrations.starlette",
        modules={"starlette"},
    )

from ..errors import StytchRBACError, Unauthenticated
from ..principal import Principal
from .guard import (
    CredentialConfig,
    Guard,
    authenticate_request,
    guards_of,
    policy_for,
    request_auth,
    verify_guards,
)
from .responses import (
    HTTP_ERRORS,
    PROBLEM_JSON,
    error_body,
    error_headers,
    handback_headers,
    problem_body,
    status_for,
    websocket_close_code,
    websocket_close_reason,
)

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..client import StytchRBAC
    from ..policy import CompiledPolicy

__all__ = [
    "StytchAuthBackend",
    "StytchAuthenticationError",
    "StytchSessionMiddleware",
    "StytchUser",
    "add_exception_handlers",
    "authentication_middleware",
    "close_websocket",
    "error_response",
    "exception_handlers",
    "guarded_routes",
    "lifespan",
    "on_auth_error",
    "principal_of",
    "verify_routes",
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
        self.credentials: CredentialConfig = (
            credentials if credentials is not None else CredentialConfig()
        )

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
    """The request's :class:`Principal`, as authenticated by the guard that ran last (the
    principal it approved) or else the middleware.

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
    problem = problem_body(exc, secrets)
    if problem is not None:  # a guard with explain=True: RFC 9457 problem details
        return JSONResponse(
            problem, status_code=status, headers=error_headers(exc), media_type=PROBLEM_JSON
        )
    return JSONResponse(error_body(exc, secrets), status_code=status, headers=error_headers(exc))


async def close_websocket(websocket: WebSocket, exc: StytchRBACError) -> None:
    """Refuse (or end) ``websocket`` for ``exc``: close code from the table in
    :mod:`.responses`; before accepting, the handshake is refused.

    Raises ``exc`` again when it has no HTTP status (a server-side bug).
    """
    code = websocket_close_code(exc)
    if code is None:
        raise exc
    if _challenged(exc) and _can_deny(websocket):
        # An access token's refusal carries a challenge (scopes, metadata URL) that a close
        # code cannot: answer the handshake with the HTTP response instead, where the server
        # supports the ASGI WebSocket Denial Response extension.
        await websocket.send_denial_response(error_response(exc, websocket))
        return
    if websocket.application_state != WebSocketState.DISCONNECTED:
        await websocket.close(code=code, reason=websocket_close_reason(exc))


def _challenged(exc: StytchRBACError) -> bool:
    """A refusal a guard accepting access tokens made: it names scopes or a metadata URL."""
    return getattr(exc, "scopes", None) is not None or (
        getattr(exc, "resource_metadata", None) is not None
    )


def _can_deny(websocket: WebSocket) -> bool:
    extensions = websocket.scope.get("extensions") or {}
    return (
        "websocket.http.response" in extensions
        and websocket.application_state == WebSocketState.CONNECTING
    )


async def _handle(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StytchRBACError):  # pragma: no cover - registered for ours only
        raise exc
    connection: HTTPConnection = request
    if isinstance(connection, WebSocket):
        # Starlette hands a WebSocket's errors to the same handlers, with the WebSocket
        # (and ignores what they return).
        await close_websocket(connection, exc)
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


# -- lifespan and the start-up check --------------------------------------------------------------


def _where(route: object, path: str) -> str:
    """How a start-up error names a route: ``"GET /documents"``, ``"WebSocket /ws"``."""
    if isinstance(route, WebSocketRoute):
        return f"WebSocket {path}"
    methods = sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"})
    return f"{' '.join(methods) or 'ANY'} {path}"


def _endpoint_guards(endpoint: object, where: str) -> Iterator[tuple[str, Guard]]:
    """The guards of an endpoint, with ``where``; for an ``HTTPEndpoint`` /
    ``WebSocketEndpoint`` class, those of its methods (``GET /path``, ``Feed.on_connect``)."""
    for guard in guards_of(endpoint):
        yield where, guard
    if inspect.isclass(endpoint):
        path = where.partition(" ")[2]
        for name, attribute in vars(endpoint).items():
            label = (
                f"{name.upper()} {path}"
                if name.upper() in _HTTP_METHODS
                else f"{endpoint.__name__}.{name} at {path}"
            )
            for guard in guards_of(attribute):
                yield label, guard


_HTTP_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def guarded_routes(routes: Iterable[BaseRoute], *, prefix: str = "") -> Iterator[tuple[str, Guard]]:
    """Every ``@guard`` on the endpoints of ``routes`` (mounted apps and routers included),
    with where it is used (``"GET /documents"``)."""
    for route in routes:
        endpoint = getattr(route, "endpoint", None)
        if isinstance(route, (Route, WebSocketRoute)):
            yield from _endpoint_guards(endpoint, _where(route, prefix + route.path))
            continue
        children = getattr(route, "routes", None)
        if children:  # Mount, Host, Router
            yield from guarded_routes(children, prefix=prefix + str(getattr(route, "path", "")))


async def verify_routes(app: Starlette) -> None:
    """The start-up check: every guard on ``app``'s routes asks only for permissions the
    policy defines (see :func:`~stytch_rbac.integrations.guard.verify_guards`: strict
    mode raises :class:`~stytch_rbac.UnknownPermission` naming the route)."""
    await verify_guards(guarded_routes(app.routes))


def lifespan(
    rbac: StytchRBAC, *, verify: bool = True
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """``Starlette(lifespan=lifespan(rbac))``: ``async with rbac`` for the life of the app.

    Before the app serves, with ``verify=True``, :func:`verify_routes` checks the
    guards' permissions against the policy (this also loads the policy, so the
    first request does not wait for it). A ``StytchRBAC`` made at module level
    is closed when the app stops and opened again by the next start (a second
    ``TestClient`` block, say). To run your own start-up code as well::

        @asynccontextmanager
        async def app_lifespan(app):
            async with lifespan(rbac)(app):
                ...  # yours
                yield
    """

    @contextlib.asynccontextmanager
    async def stytch_rbac_lifespan(app: Starlette) -> AsyncIterator[None]:
        async with rbac:
            if verify:
                await verify_routes(app)
            yield

    return stytch_rbac_lifespan


# -- Starlette authentication (request.user, @requires) -------------------------------------------


class StytchUser(BaseUser):
    """``request.user`` for an authenticated member session: wraps its :class:`Principal`."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def __repr__(self) -> str:
        return f"StytchUser({self.principal!r})"

    @property
    def is_authenticated(self) -> bool:
        """Always True: anonymous requests get Starlette's ``UnauthenticatedUser``."""
        return True

    @property
    def display_name(self) -> str:
        """The member id (a session carries no display name)."""
        return self.principal.member_id

    @property
    def identity(self) -> str:
        """The member id."""
        return self.principal.member_id


class StytchAuthenticationError(AuthenticationError):
    """A refused credential, or Stytch unavailable, inside :class:`StytchAuthBackend`;
    ``error`` is the library's exception, answered by :func:`on_auth_error`."""

    def __init__(self, error: StytchRBACError) -> None:
        self.error = error
        super().__init__(str(error))


_SCOPES_CACHE_SIZE: Final = 1024


class StytchAuthBackend(AuthenticationBackend):
    """Starlette ``AuthenticationBackend`` over a member session.

    No credential: anonymous (``None``; Starlette sets ``UnauthenticatedUser``).
    A valid one: ``request.user`` is a :class:`StytchUser` and ``request.auth.scopes``
    holds ``"authenticated"`` and every permission the member's roles grant in
    their organization, as ``"resource:action"``. A credential that is presented
    and refused (malformed, expired, forged, revoked), or Stytch unavailable,
    raises :class:`StytchAuthenticationError`: pass ``on_error=on_auth_error`` to
    ``AuthenticationMiddleware`` (or use :func:`authentication_middleware`) to
    answer it with the table's 401 / 503 instead of Starlette's plain 400.

    The outcome is stored on the request like the session middleware's, so
    guards and :func:`principal_of` reuse it (one authentication per request).
    """

    def __init__(self, rbac: StytchRBAC, *, credentials: CredentialConfig | None = None) -> None:
        self.rbac = rbac
        self.credentials: CredentialConfig = (
            credentials if credentials is not None else CredentialConfig()
        )
        # Scopes by (policy, role set): listing every grant costs tens of microseconds, and a
        # few role sets make up most requests. Keyed by identity: a refreshed policy is a new
        # object (the old entries age out); bounded, oldest dropped first.
        self._scopes: dict[tuple[int, frozenset[str]], tuple[CompiledPolicy, list[str]]] = {}

    def _scopes_for(self, policy: CompiledPolicy, roles: frozenset[str]) -> list[str]:
        key = (id(policy), roles)
        hit = self._scopes.get(key)
        if hit is not None and hit[0] is policy:
            return hit[1]
        granted = sorted(f"{resource}:{action}" for resource, action in policy.granted(roles))
        scopes = ["authenticated", *granted]
        if len(self._scopes) >= _SCOPES_CACHE_SIZE:
            del self._scopes[next(iter(self._scopes))]
        self._scopes[key] = (policy, scopes)
        return scopes

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        """Authenticate ``conn``: ``None`` when it carries no credential."""
        try:
            principal = await authenticate_request(self.rbac, conn, self.credentials)
            policy = await policy_for(self.rbac, principal)
        except Unauthenticated as exc:
            if exc.reason == "missing":
                return None
            raise StytchAuthenticationError(exc) from exc
        except StytchRBACError as exc:
            raise StytchAuthenticationError(exc) from exc
        return AuthCredentials(self._scopes_for(policy, principal.roles)), StytchUser(principal)


def on_auth_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    """``AuthenticationMiddleware(on_error=...)``: the table's answer to a
    :class:`StytchAuthenticationError` (401 with ``WWW-Authenticate``, 503), and
    Starlette's default (400, the message) to any other ``AuthenticationError``."""
    if isinstance(exc, StytchAuthenticationError):
        return error_response(exc.error, conn)
    return PlainTextResponse(str(exc), status_code=400)


def authentication_middleware(
    rbac: StytchRBAC, *, credentials: CredentialConfig | None = None
) -> Middleware:
    """``Starlette(middleware=[authentication_middleware(rbac)])``: Starlette's
    ``AuthenticationMiddleware`` with :class:`StytchAuthBackend` and :func:`on_auth_error`.

    Put :class:`StytchSessionMiddleware` before it (outermost) to have refreshed
    JWTs handed back.
    """
    backend = StytchAuthBackend(rbac, credentials=credentials)
    return Middleware(AuthenticationMiddleware, backend=backend, on_error=on_auth_error)
