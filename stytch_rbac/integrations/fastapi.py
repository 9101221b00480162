"""FastAPI glue: ``Depends(guard)``, the current (or optional) principal, lifespan, OpenAPI.

.. code-block:: python

    from typing import Annotated
    from fastapi import Depends, FastAPI
    from stytch_rbac import Principal
    from stytch_rbac.integrations.guard import path
    from stytch_rbac.integrations.fastapi import lifespan

    rbac = StytchRBAC.from_env()
    app = FastAPI(lifespan=lifespan(rbac))
    can_edit = rbac.require(P.documents.edit, organization_id=path("organization_id"))
    Editor = Annotated[Principal, Depends(can_edit)]

    @app.put("/orgs/{organization_id}/documents/{doc_id}")
    async def edit(organization_id: str, doc_id: str, editor: Editor) -> dict[str, str]: ...

A guard used with ``Depends`` answers 401 (``WWW-Authenticate: Bearer``),
403, 503 (``Retry-After`` when Stytch sent one) and the other statuses of the
one table in :mod:`.responses`, with ``HTTPException`` JSON bodies that never
contain a credential, and hands a refreshed JWT back through the response (or, with
:class:`~stytch_rbac.integrations.starlette.StytchSessionMiddleware`
installed, lets the middleware do it, which also covers endpoints returning
their own ``Response``).

On a WebSocket route the same dependency reads the handshake's headers and
cookies and refuses it before it is accepted, with close code 1008 (policy
violation; 1013 when Stytch is unavailable) instead of an HTTP status.

OpenAPI: every guard declares the security schemes it reads (``StytchSessionJWT``,
an HTTP bearer scheme, and one API-key scheme per cookie it reads), so ``/docs``
has an *Authorize* button and each guarded operation lists them as alternatives.
FastAPI has no way for a dependency to declare responses, so
:func:`document_routes` adds the guards' 401 / 403 / 503 responses to their
routes; :func:`lifespan` runs it, or call it yourself before ``app.openapi()``.

:func:`lifespan` opens the ``StytchRBAC`` for the life of the app (and again on
the next start: a closed one re-opens), documents the routes and checks every
guard's permissions against the policy before the app serves
(:func:`verify_routes`).
"""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Annotated, Any, Final

from .._extras import raise_missing_extra

try:
    import fastapi.routing
    from fastapi import Depends, HTTPException, Response, WebSocketException
    from fastapi.dependencies.models import Dependant
    from fastapi.openapi.models import APIKey, APIKeyIn
    from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
    from fastapi.routing import APIRoute
    from fastapi.security.base import SecurityBase
    from starlette.requests import HTTPConnection, Request
    from starlette.responses import JSONResponse
    from starlette.routing import BaseRoute, Route, WebSocketRoute
except ImportError as exc:
    raise_missing_extra(
        exc,
        extra="fastapi",
        needed_by="stytch_rbac.integrations.fastapi",
        modules={"fastapi", "starlette"},
    )

from ..errors import StytchRBACError, Unauthenticated
from ..principal import AnyPrincipal, Principal
from .csrf import SAFE_METHODS
from .guard import (
    CredentialConfig,
    Guard,
    RequestAuth,
    _middleware_auth,
    authenticate_request,
    guards_of,
    request_auth,
    verify_guards,
)
from .responses import (
    HTTP_ERRORS,
    PROBLEM_JSON,
    error_body,
    error_headers,
    handback_headers,
    openapi_responses,
    problem_body,
    status_for,
    websocket_close_code,
    websocket_close_reason,
)
from .starlette import (
    StytchSessionMiddleware,
    _endpoint_guards,
    _where,
    error_response,
    exception_handlers,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..client import StytchRBAC

__all__ = [
    "CurrentPrincipal",
    "OptionalPrincipal",
    "ProblemHTTPException",
    "StytchSessionMiddleware",
    "add_exception_handlers",
    "current_principal",
    "dependency_for",
    "document_routes",
    "error_response",
    "exception_handlers",
    "http_exception",
    "lifespan",
    "optional_principal",
    "problem_details_handler",
    "optional_principal_for",
    "security_schemes",
    "verify_routes",
]

#: Attribute marking a dependency that authenticates but never answers 403.
_AUTHENTICATES: Final = "__stytch_authenticates__"
#: Attribute marking an ``app.openapi`` wrapped by :func:`document_routes`.
_DOCUMENTS: Final = "__stytch_documents_guards__"


def http_exception(
    exc: StytchRBACError, record: RequestAuth | None, config: CredentialConfig | None = None
) -> HTTPException:
    """The ``HTTPException`` answering ``exc``, with a hand-back header when one is due."""
    status = status_for(exc)
    if status is None:
        raise exc
    headers = error_headers(exc)
    if config is not None and record is not None and not record.handled_by_middleware:
        headers.update(handback_headers(record, config))
    secrets = record.secrets() if record is not None else ()
    problem = problem_body(exc, secrets)
    if problem is not None:
        headers["Content-Type"] = PROBLEM_JSON
        return ProblemHTTPException(status, detail=problem, headers=headers)
    return HTTPException(status, detail=error_body(exc, secrets)["detail"], headers=headers)


class ProblemHTTPException(HTTPException):
    """A refusal a guard explained (``explain=True``): its ``detail`` is an RFC 9457
    problem document. Without :func:`add_exception_handlers`, FastAPI answers it as
    ``{"detail": <problem>}`` (still ``application/problem+json``); with it, the problem
    document is the whole body."""


async def problem_details_handler(request: Request, exc: Exception) -> JSONResponse:
    """Answer a :class:`ProblemHTTPException` with its problem document as the body."""
    assert isinstance(exc, ProblemHTTPException)
    return JSONResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


def add_exception_handlers(app: FastAPI) -> None:
    """Register the library's handlers: its errors raised outside a dependency answered
    with JSON (:func:`~.starlette.exception_handlers`), and explained refusals answered
    with their problem document as the whole body (:func:`problem_details_handler`)."""
    from .starlette import add_exception_handlers as add_starlette_handlers

    add_starlette_handlers(app)
    app.add_exception_handler(ProblemHTTPException, problem_details_handler)


def _refusal(
    exc: StytchRBACError, connection: HTTPConnection, config: CredentialConfig | None
) -> HTTPException | WebSocketException:
    """What a dependency raises for ``exc``: an ``HTTPException``, or on a WebSocket
    handshake a ``WebSocketException`` (FastAPI closes the socket before accepting it)."""
    if connection.scope["type"] == "websocket":
        code = websocket_close_code(exc)
        if code is None:
            raise exc
        return WebSocketException(code=code, reason=websocket_close_reason(exc))
    return http_exception(exc, request_auth(connection), config)


def _hand_back(record: RequestAuth | None, response: Response, config: CredentialConfig) -> None:
    if record is None or record.handled_by_middleware:
        return
    for name, value in handback_headers(record, config):
        response.headers.append(name, value)


# -- OpenAPI security schemes ----------------------------------------------------------------------


class _DocumentedScheme(SecurityBase):
    """A security scheme for the OpenAPI document only: the guard reads the credential
    itself (this dependency takes the connection, so it works on WebSocket routes too)."""

    def __init__(self, model: HTTPBearerModel | APIKey, scheme_name: str) -> None:
        self.model = model
        self.scheme_name = scheme_name

    def __repr__(self) -> str:
        return f"<security scheme {self.scheme_name}>"

    async def __call__(self, connection: HTTPConnection) -> None:
        """Nothing: the credential is read by the guard."""
        return None


# One object per scheme, so FastAPI lists a scheme once however many guards use it.
_SCHEMES: dict[tuple[str, str], _DocumentedScheme] = {}
_NAME_CHARACTERS: Final = re.compile(r"[^A-Za-z0-9._-]")


def _scheme(kind: str, name: str) -> _DocumentedScheme:
    key = (kind, name)
    scheme = _SCHEMES.get(key)
    if scheme is not None:
        return scheme
    model: HTTPBearerModel | APIKey
    if kind == "session_jwt":
        scheme_name = "StytchSessionJWT"
        model = HTTPBearerModel(
            bearerFormat="JWT",
            description="A Stytch member session JWT: `Authorization: Bearer <session_jwt>`.",
        )
    elif kind == "session_token":
        scheme_name = "StytchSessionToken"
        model = HTTPBearerModel(
            description="A Stytch member session token: `Authorization: Bearer <session_token>`."
        )
    else:
        what = "session JWT" if kind == "jwt_cookie" else "session token"
        default = "stytch_session_jwt" if kind == "jwt_cookie" else "stytch_session"
        base = "StytchSessionJWTCookie" if kind == "jwt_cookie" else "StytchSessionTokenCookie"
        scheme_name = base if name == default else f"{base}.{_NAME_CHARACTERS.sub('_', name)}"
        model = APIKey.model_validate(
            {
                "in": APIKeyIn.cookie,
                "name": name,
                "description": f"The Stytch member {what} in the `{name}` cookie "
                "(set by Stytch's frontend SDKs).",
            }
        )
    scheme = _SCHEMES[key] = _DocumentedScheme(model, scheme_name)
    return scheme


def security_schemes(config: CredentialConfig) -> tuple[SecurityBase, ...]:
    """The security schemes a guard reading credentials as ``config`` says declares:
    the bearer scheme (when ``bearer`` is set) and one cookie scheme per cookie read."""
    return _schemes_for(config)


def _schemes_for(config: CredentialConfig) -> tuple[_DocumentedScheme, ...]:
    found: list[_DocumentedScheme] = []
    if config.bearer is not None:
        found.append(_scheme(config.bearer, "Authorization"))
    if config.jwt_cookie is not None:
        found.append(_scheme("jwt_cookie", config.jwt_cookie))
    if config.token_cookie is not None:
        found.append(_scheme("token_cookie", config.token_cookie))
    return tuple(found)


def _with_schemes(
    fn: Callable[..., Coroutine[Any, Any, Any]], config: CredentialConfig, *, response: bool
) -> None:
    """Give ``fn`` (taking ``connection`` [and ``response``] and ``**_``) a signature FastAPI
    reads: those parameters, then one documentation-only dependency per security scheme."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter(
            "connection", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=HTTPConnection
        ),
    ]
    if response:
        parameters.append(
            inspect.Parameter(
                "response", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Response
            )
        )
    for i, scheme in enumerate(_schemes_for(config)):
        parameters.append(inspect.Parameter(f"stytch_scheme_{i}", keyword, default=Depends(scheme)))
    return_annotation = inspect.signature(fn).return_annotation
    # inspect.signature() (and so FastAPI) reads __signature__ before the code's own.
    fn.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # inspect reads it
        parameters, return_annotation=return_annotation
    )


# -- dependencies ----------------------------------------------------------------------------------


def dependency_for(guard: Guard) -> Callable[..., Coroutine[Any, Any, AnyPrincipal]]:
    """The FastAPI dependency ``Depends(guard)`` runs (found through ``guard.__wrapped__``).

    It takes the connection (so it works on HTTP and WebSocket routes) and the
    response (for the hand-back), and declares the guard's security schemes.
    """
    config = guard.credentials

    async def stytch_guard(
        connection: HTTPConnection, response: Response, **_schemes: None
    ) -> AnyPrincipal:
        try:
            principal = await guard.authorize_request(connection)
        except HTTP_ERRORS as exc:
            raise _refusal(exc, connection, config) from exc
        if connection.scope["type"] == "http":
            _hand_back(request_auth(connection), response, config)
        return principal

    stytch_guard.__qualname__ = stytch_guard.__name__ = f"stytch_guard[{guard!r}]"
    _with_schemes(stytch_guard, config, response=True)
    return stytch_guard


def _recorded(connection: HTTPConnection, dependency: str) -> RequestAuth:
    # The middleware's record (its credential sources), whatever guard ran before.
    record = _middleware_auth(connection)
    if record is None:
        raise RuntimeError(
            f"{dependency} needs StytchSessionMiddleware on the app "
            "(or use Depends(rbac.require()) instead)"
        )
    return record


async def current_principal(connection: HTTPConnection) -> Principal:
    """FastAPI dependency: the request's :class:`Principal`, without a permission check.

    Needs :class:`StytchSessionMiddleware` (which authenticated the request);
    answers 401 when the request is not authenticated. Without the
    middleware use ``Depends(rbac.require())``, a guard with no permission.
    """
    record = _recorded(connection, "current_principal")
    try:
        return record.unwrap()
    except StytchRBACError as exc:
        raise _refusal(exc, connection, None) from exc


async def optional_principal(connection: HTTPConnection) -> Principal | None:
    """FastAPI dependency for routes that work signed in or not: the :class:`Principal`,
    or ``None`` when the request carries no credential.

    A credential that is presented but refused (malformed, expired, forged,
    revoked) is still a 401, as on a guarded route: the client believes it is
    signed in and must learn that it is not (to refresh or sign in again),
    rather than silently get the anonymous answer. Stytch unavailable is a 503.
    Needs :class:`StytchSessionMiddleware`; without it use
    :func:`optional_principal_for`.
    """
    record = _recorded(connection, "optional_principal")
    try:
        return record.unwrap()
    except Unauthenticated as exc:
        if exc.reason == "missing":
            return None
        raise _refusal(exc, connection, None) from exc
    except StytchRBACError as exc:
        raise _refusal(exc, connection, None) from exc


def optional_principal_for(
    rbac: StytchRBAC, *, credentials: CredentialConfig | None = None
) -> Callable[..., Coroutine[Any, Any, Principal | None]]:
    """A dependency like :func:`optional_principal` that authenticates the request itself
    (no middleware needed): ``Annotated[Principal | None, Depends(optional_principal_for(rbac))]``.

    It declares the security schemes it reads, and hands a refreshed JWT back.
    """
    config = credentials if credentials is not None else CredentialConfig()

    async def stytch_optional_principal(
        connection: HTTPConnection, response: Response, **_schemes: None
    ) -> Principal | None:
        principal: Principal | None
        try:
            principal = await authenticate_request(rbac, connection, config)
        except Unauthenticated as exc:
            if exc.reason != "missing":
                raise _refusal(exc, connection, config) from exc
            principal = None
        except HTTP_ERRORS as exc:
            raise _refusal(exc, connection, config) from exc
        if connection.scope["type"] == "http":
            _hand_back(request_auth(connection), response, config)
        return principal

    setattr(stytch_optional_principal, _AUTHENTICATES, True)
    _with_schemes(stytch_optional_principal, config, response=True)
    return stytch_optional_principal


setattr(current_principal, _AUTHENTICATES, True)
setattr(optional_principal, _AUTHENTICATES, True)

CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
"""``Annotated[Principal, Depends(current_principal)]``: write ``who: CurrentPrincipal``."""

OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
"""``Annotated[Principal | None, Depends(optional_principal)]``: ``None`` when anonymous."""


# -- routes: documentation and the start-up check --------------------------------------------------

# FastAPI >= 0.12x keeps included routers nested (``_IncludedRouter``) and expands them with
# ``iter_route_contexts``; older versions copy their routes into the app's.
_ITER_ROUTE_CONTEXTS: Callable[[list[BaseRoute]], Iterable[Any]] | None = getattr(
    fastapi.routing, "iter_route_contexts", None
)


def _routes(routes: Iterable[BaseRoute]) -> Iterator[Any]:
    """``routes`` with included routers expanded: each has ``path``, ``methods``,
    ``endpoint``, ``dependant`` (the effective ones, router dependencies included)."""
    if _ITER_ROUTE_CONTEXTS is None:
        return iter(routes)
    return iter(_ITER_ROUTE_CONTEXTS(list(routes)))


def _original(route: object) -> object:
    return getattr(route, "original_route", route)


def _dependency_calls(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _dependency_calls(sub)


def _route_calls(route: object) -> Iterator[object]:
    dependant = getattr(route, "dependant", None)
    if isinstance(dependant, Dependant):
        yield from _dependency_calls(dependant)


def _route_guards(route: object, where: str = "") -> Iterator[tuple[str, Guard]]:
    yield from _endpoint_guards(getattr(route, "endpoint", None), where)
    for call in _route_calls(route):
        for guard in guards_of(call):
            yield where, guard


def _guarded(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Guard]]:
    for route in _routes(routes):
        original = _original(route)
        if isinstance(original, (Route, WebSocketRoute)):
            yield from _route_guards(route, _where(original, prefix + str(route.path)))
            continue
        children = getattr(original, "routes", None)
        if children:  # a mounted app or router
            yield from _guarded(children, prefix + str(getattr(original, "path", "")))


def _statuses(route: object) -> tuple[int, ...]:
    """The statuses the route's guards and principal dependencies can answer with."""
    found: set[int] = set()
    guards = [guard for _, guard in _route_guards(route)]
    authenticates = any(getattr(call, _AUTHENTICATES, False) for call in _route_calls(route))
    if guards or authenticates:
        found |= {401, 503}
    if any(g.permissions or g.organization is not None for g in guards):
        found.add(403)
    # CSRF protection refuses a cookie credential on an unsafe method from another origin.
    unsafe = bool(set(getattr(route, "methods", None) or ()) - SAFE_METHODS)
    if unsafe and (authenticates or any(_reads_cookies_csrf(g.credentials) for g in guards)):
        found.add(403)
    return tuple(sorted(found))


def _reads_cookies_csrf(config: CredentialConfig) -> bool:
    return config.csrf_protection and (config.jwt_cookie or config.token_cookie) is not None


def _add_answers(app: FastAPI, schema: dict[str, Any]) -> None:
    paths = schema.get("paths") or {}
    for route in _routes(app.routes):
        if not isinstance(_original(route), APIRoute):
            continue
        statuses = _statuses(route)
        operations = paths.get(route.path_format) if statuses else None
        if not operations:
            continue
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, answer in openapi_responses(statuses).items():
                responses.setdefault(str(status), answer)


def document_routes(app: FastAPI) -> None:
    """Make ``app.openapi()`` document the 401 / 403 / 503 answers of guards (and of the
    principal dependencies) on their operations. A response an operation declares itself
    wins; calling it again changes nothing.

    It wraps ``app.openapi`` (FastAPI has no way for a dependency to declare responses);
    :func:`lifespan` calls it on start-up. Call it yourself (after any custom
    ``app.openapi`` of yours) to export the schema without running the app. A mounted
    FastAPI sub-application has its own schema: call it on that app too.
    """
    if getattr(app.openapi, _DOCUMENTS, False):
        return
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        _add_answers(app, schema)
        return schema

    setattr(openapi, _DOCUMENTS, True)
    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


async def verify_routes(app: FastAPI) -> None:
    """The start-up check: every guard on ``app``'s routes (dependencies, router
    dependencies, ``@guard`` endpoints, WebSocket routes and mounted apps) asks only for
    permissions the policy defines.

    Strict mode raises :class:`~stytch_rbac.UnknownPermission` naming the guard
    and the route; see :func:`~stytch_rbac.integrations.guard.verify_guards`.
    """
    await verify_guards(_guarded(app.routes))


def lifespan(
    rbac: StytchRBAC, *, verify: bool = True, document: bool = True
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """``FastAPI(lifespan=lifespan(rbac))``: ``async with rbac`` for the life of the app.

    On start-up, before the app serves: :func:`document_routes` (``document=True``),
    then :func:`verify_routes` (``verify=True``; this also loads the policy, so
    the first request does not wait for it). A module-level ``StytchRBAC`` is
    closed when the app stops and opened again on the next start (two
    ``TestClient`` blocks in a row work). To add your own start-up code::

        @asynccontextmanager
        async def app_lifespan(app: FastAPI) -> AsyncIterator[None]:
            async with lifespan(rbac)(app):
                ...  # yours
                yield
    """

    @contextlib.asynccontextmanager
    async def stytch_rbac_lifespan(app: FastAPI) -> AsyncIterator[None]:
        if document:
            document_routes(app)
        async with rbac:
            if verify:
                await verify_routes(app)
            yield

    return stytch_rbac_lifespan
