"""Django and Django REST framework glue: middleware, guarded views (async ones too), DRF classes.

.. code-block:: python

    # settings.py
    STYTCH_RBAC = "myproject.auth.rbac"          # a stytch_rbac.sync.StytchRBAC (dotted path)
    MIDDLEWARE = [..., "stytch_rbac.integrations.django.StytchSessionMiddleware"]

    # views.py
    from myproject.auth import rbac

    @rbac.require(P.documents.read, organization_id=path("organization_id"))
    def list_documents(request, organization_id):
        return JsonResponse({"reader": request.stytch_principal.member_id})

    class DocumentViewSet(viewsets.ViewSet):   # DRF
        authentication_classes = [StytchAuthentication]
        permission_classes = [rbac.drf(P.documents.edit, organization_id=path("organization_id"))]

:class:`StytchSessionMiddleware` authenticates each request once (never
refusing one: public views stay public), sets ``request.stytch_principal``
(None when not authenticated), hands a JWT that Stytch refreshed back on the
response, and answers the library's errors raised in views as JSON. It works in
sync and async stacks.

``@rbac.require(...)`` on a view taking ``request`` (a function, or a method
such as ``View.get(self, request)``) answers 401 / 403 / 503 itself, with the
bodies and headers of the ASGI integrations (:mod:`.responses`); on an
``async def`` view it awaits the facade's loop without blocking Django's.
Tenancy: ``path("organization_id")`` reads the URL pattern's keyword arguments.

DRF: :func:`permission_class` (``rbac.drf(...)``) is a ``BasePermission``
from typed permissions; :class:`StytchAuthentication` sets ``request.user``
(a :class:`StytchUser`) and ``request.auth`` (the :class:`Principal`). Both
answer with DRF exceptions carrying the same bodies and headers.

One authentication per request: the outcome is kept in ``request.META`` (a scope
under ``stytch_rbac.scope``), shared by the middleware, guards and DRF classes.
Cookie credentials get the ASGI integrations' CSRF check (:mod:`.csrf`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from .._extras import raise_missing_extra

try:
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction
    from django.conf import settings
    from django.http import HttpRequest, JsonResponse
    from django.utils.module_loading import import_string
except ImportError as _missing:
    raise_missing_extra(
        _missing,
        extra="django",
        needed_by="stytch_rbac.integrations.django",
        modules={"django", "asgiref"},
    )

from ..errors import StytchRBACError, Unauthenticated
from ..principal import AnyPrincipal, Principal
from .blocking import (
    BlockingAuthorizer,
    BlockingGuard,
    bridge,
    mark_guarded,
    run_unsuspended,
)
from .guard import CredentialConfig, RequestAuth, authenticate_request, request_auth
from .responses import (
    HTTP_ERRORS,
    PROBLEM_JSON,
    error_body,
    error_headers,
    handback_headers,
    problem_body,
    status_for,
)

if TYPE_CHECKING:
    from rest_framework.permissions import BasePermission

__all__ = [
    "DjangoRequest",
    "StytchAuthentication",
    "StytchSessionMiddleware",
    "StytchUser",
    "error_response",
    "guard_view",
    "permission_class",
    "principal_of",
]

_F = TypeVar("_F", bound=Callable[..., Any])

#: The ``request.META`` key of the request's scope (see :attr:`DjangoRequest.scope`).
SCOPE_META_KEY = "stytch_rbac.scope"
#: Setting naming the blocking facade (the object, or its dotted path).
SETTING = "STYTCH_RBAC"
#: Optional setting: a :class:`~.guard.CredentialConfig` for the middleware and DRF.
CREDENTIALS_SETTING = "STYTCH_RBAC_CREDENTIALS"


class DjangoRequest:
    """A Django ``HttpRequest`` as a guard reads it (:class:`~.guard.RequestLike`):
    ``request.META`` holds the authentication record, the URL pattern's keyword arguments
    are the path parameters."""

    __slots__ = ("_kwargs", "_request")

    def __init__(self, request: HttpRequest, kwargs: Mapping[str, Any] | None = None) -> None:
        self._request = request
        self._kwargs = kwargs

    @property
    def scope(self) -> MutableMapping[str, Any]:
        """The request's ASGI-like scope, kept in ``request.META`` (so per request): the
        ``type`` and ``method`` the CSRF check reads, and the authentication records."""
        meta = self._request.META
        scope = meta.get(SCOPE_META_KEY)
        if scope is None:
            match = getattr(self._request, "resolver_match", None)
            scope = meta[SCOPE_META_KEY] = {
                "type": "http",
                "method": self._request.method,
                # The URL pattern when resolved (route templates in events), else the path.
                "path": getattr(match, "route", None) or self._request.path,
            }
        return cast("MutableMapping[str, Any]", scope)

    @property
    def headers(self) -> Mapping[str, str]:
        """Request headers (case-insensitive)."""
        return cast("Mapping[str, str]", self._request.headers)

    @property
    def cookies(self) -> Mapping[str, str]:
        """Request cookies."""
        return cast("Mapping[str, str]", self._request.COOKIES)

    @property
    def path_params(self) -> Mapping[str, Any]:
        """The URL pattern's keyword arguments (``request.resolver_match.kwargs``)."""
        if self._kwargs is not None:
            return self._kwargs
        match = self._request.resolver_match
        return match.kwargs if match is not None else {}

    @property
    def method(self) -> str:
        """The HTTP method."""
        return self._request.method or "GET"

    @property
    def query_params(self) -> Mapping[str, str]:
        """Query-string parameters."""
        return cast("Mapping[str, str]", self._request.GET)


def _configured() -> tuple[BlockingAuthorizer, CredentialConfig]:
    value = getattr(settings, SETTING, None)
    if value is None:
        raise RuntimeError(
            f"settings.{SETTING} is not set: name the stytch_rbac.sync.StytchRBAC to use "
            "(the object, or its dotted path)"
        )
    rbac = import_string(value) if isinstance(value, str) else value
    config = getattr(settings, CREDENTIALS_SETTING, None) or CredentialConfig()
    if not isinstance(config, CredentialConfig):
        raise TypeError(f"settings.{CREDENTIALS_SETTING} must be a CredentialConfig")
    return cast("BlockingAuthorizer", rbac), config


def _django_request(request: object) -> HttpRequest:
    """The Django ``HttpRequest`` of ``request`` (itself, or a DRF ``Request``'s)."""
    if isinstance(request, HttpRequest):
        return request
    inner = getattr(request, "_request", None)
    if isinstance(inner, HttpRequest):
        return inner
    raise TypeError(f"expected a Django HttpRequest, got {type(request).__name__}")


def principal_of(request: HttpRequest) -> Principal:
    """The request's :class:`Principal`, as authenticated by the middleware, a guard or DRF.

    Raises :class:`~stytch_rbac.Unauthenticated` when the request is not authenticated and
    ``RuntimeError`` when nothing authenticated it.
    """
    record = request_auth(DjangoRequest(_django_request(request)))
    if record is None:
        raise RuntimeError(
            "no authentication ran for this request: add StytchSessionMiddleware or a guard"
        )
    return record.unwrap()


def error_response(exc: StytchRBACError, request: HttpRequest | None = None) -> JsonResponse:
    """The JSON response answering ``exc`` (status, body and headers from
    :mod:`.responses`, the request's credentials scrubbed). Raises ``exc`` again when it has
    no HTTP status (a server-side bug: Django's 500)."""
    status = status_for(exc)
    if status is None:
        raise exc
    record = request_auth(DjangoRequest(request)) if request is not None else None
    secrets = record.secrets() if record is not None else ()
    problem = problem_body(exc, secrets)  # a guard with explain=True: RFC 9457
    if problem is not None:
        return JsonResponse(
            problem, status=status, headers=error_headers(exc), content_type=PROBLEM_JSON
        )
    return JsonResponse(error_body(exc, secrets), status=status, headers=error_headers(exc))


def _hand_back(record: RequestAuth | None, config: CredentialConfig, response: Any) -> Any:
    for name, value in handback_headers(record, config):
        if name == "set-cookie":
            # Django keeps cookies apart from headers: the one cookie line, parsed by Django.
            response.cookies.load(value)
        else:
            response[name] = value
    return response


def _settle(request: HttpRequest, principal: AnyPrincipal | None) -> None:
    request.stytch_principal = principal


class StytchSessionMiddleware:
    """Authenticate each request once, set ``request.stytch_principal``, hand a refreshed
    JWT back, answer the library's errors raised in views (sync and async stacks)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        rbac, credentials = _configured()
        self.rbac: BlockingAuthorizer = rbac
        self.credentials: CredentialConfig = credentials
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        """Run the view with the request's authentication outcome on it."""
        if self._is_async:
            return self.__acall__(request)
        adapted = DjangoRequest(request)
        try:
            principal: Principal | None = run_unsuspended(
                authenticate_request(
                    bridge(self.rbac), adapted, self.credentials, handled_by_middleware=True
                )
            )
        except StytchRBACError:  # stored on the request: guarded views answer it
            principal = None
        _settle(request, principal)
        response = self.get_response(request)
        return _hand_back(request_auth(adapted), self.credentials, response)

    async def __acall__(self, request: HttpRequest) -> Any:
        """The async stack's path: the facade's loop is awaited, Django's never blocked."""
        adapted = DjangoRequest(request)
        try:
            principal: Principal | None = await authenticate_request(
                bridge(self.rbac), adapted, self.credentials, handled_by_middleware=True
            )
        except StytchRBACError:
            principal = None
        _settle(request, principal)
        response = await cast("Callable[[HttpRequest], Awaitable[Any]]", self.get_response)(request)
        return _hand_back(request_auth(adapted), self.credentials, response)

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        """Answer the library's errors raised in views (``rbac.authorize``, member calls)."""
        if isinstance(exception, HTTP_ERRORS):
            return error_response(exception, request)
        return None


def _find_request(args: tuple[Any, ...], kwargs: Mapping[str, Any], position: int | None) -> Any:
    if "request" in kwargs:
        return kwargs["request"]
    if position is not None and position < len(args):
        return args[position]
    raise TypeError("the guarded view was called without its request")


def guard_view(guard: BlockingGuard, view: _F) -> _F:
    """``view`` guarded by ``guard``: what ``@rbac.require(...)`` does to a Django view (a
    function or method taking ``request``; ``async def`` too)."""
    parameters = list(inspect.signature(view).parameters.values())
    names = [p.name for p in parameters]
    param = parameters[names.index("request")]
    position = (
        names.index("request")
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
        else None
    )
    config = guard.credentials

    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def guarded_async(*args: Any, **kwargs: Any) -> Any:
            request = _django_request(_find_request(args, kwargs, position))
            adapted = DjangoRequest(request)
            try:
                principal = await guard.aauthorize_request(adapted)
            except HTTP_ERRORS as exc:
                return _hand_back(request_auth(adapted), config, error_response(exc, request))
            _settle(request, principal)
            response = await view(*args, **kwargs)
            return _hand_back(request_auth(adapted), config, response)

        mark_guarded(guarded_async, view, guard)
        return guarded_async  # type: ignore[return-value]  # same signature as view

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        request = _django_request(_find_request(args, kwargs, position))
        adapted = DjangoRequest(request)
        try:
            principal = guard.authorize_request(adapted)
        except HTTP_ERRORS as exc:
            return _hand_back(request_auth(adapted), config, error_response(exc, request))
        _settle(request, principal)
        return _hand_back(request_auth(adapted), config, view(*args, **kwargs))

    mark_guarded(guarded, view, guard)
    return guarded  # type: ignore[return-value]  # same signature as view


# -- Django REST framework ---------------------------------------------------------------------


def _drf() -> Any:
    try:
        import rest_framework.authentication
        import rest_framework.exceptions
        import rest_framework.permissions
    except ImportError as exc:
        raise_missing_extra(
            exc,
            extra="django",
            needed_by="the Django REST framework classes of stytch_rbac.integrations.django",
            modules={"rest_framework"},
        )
    return rest_framework


def _drf_error(exc: StytchRBACError) -> Exception:
    """A DRF ``APIException`` that DRF renders with the table's status, body and headers."""
    answer = _drf().exceptions.APIException()
    status = status_for(exc)
    if status is None:
        return exc
    answer.status_code = status
    answer.detail = error_body(exc)  # set after __init__: kept as is (None values too)
    headers = error_headers(exc)
    answer.auth_header = headers.get("WWW-Authenticate")
    if "Retry-After" in headers:
        answer.wait = int(headers["Retry-After"])
    return cast("Exception", answer)


class StytchUser:
    """``request.user`` for a DRF request authenticated by :class:`StytchAuthentication`."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def __repr__(self) -> str:
        return f"StytchUser({self.principal!r})"

    @property
    def pk(self) -> str:
        """The member id."""
        return self.principal.member_id

    def __str__(self) -> str:
        return self.principal.member_id


def _authentication_base() -> type:
    try:
        from rest_framework.authentication import BaseAuthentication
    except ImportError:  # DRF not installed: the class exists, DRF is needed to use it
        return object
    return cast("type", BaseAuthentication)


if TYPE_CHECKING:
    _AuthenticationBase = object
else:
    _AuthenticationBase = _authentication_base()


class StytchAuthentication(_AuthenticationBase):
    """DRF authentication over a member session: ``request.user`` is a :class:`StytchUser`,
    ``request.auth`` the :class:`Principal`; no credential is anonymous (``None``), a refused
    one is the table's 401 (503 when Stytch is needed and unreachable).

    The facade is ``settings.STYTCH_RBAC``, or ``rbac`` on a subclass.
    """

    rbac: ClassVar[BlockingAuthorizer | None] = None
    credentials: ClassVar[CredentialConfig | None] = None

    def authenticate(self, request: Any) -> tuple[StytchUser, Principal] | None:
        """Authenticate the DRF ``request``: None when it carries no credential."""
        rbac, config = _configured() if self.rbac is None else (self.rbac, CredentialConfig())
        config = self.credentials or config
        adapted = DjangoRequest(_django_request(request))
        try:
            principal = run_unsuspended(authenticate_request(bridge(rbac), adapted, config))
        except Unauthenticated as exc:
            if exc.reason == "missing":
                return None
            raise _drf_error(exc) from exc
        except StytchRBACError as exc:
            raise _drf_error(exc) from exc
        return StytchUser(principal), principal

    def authenticate_header(self, request: Any) -> str:
        """``WWW-Authenticate`` for DRF's own 401s: a bearer credential is expected."""
        return "Bearer"


def permission_class(guard: BlockingGuard) -> type[BasePermission]:
    """A DRF permission class enforcing ``guard`` (``rbac.drf(P.documents.edit, ...)``):
    the request's credential, tenancy from the view's URL keyword arguments, the
    permissions; refusals carry the table's status, body and headers."""
    if not isinstance(guard, BlockingGuard):
        raise TypeError(f"permission_class() takes a BlockingGuard, got {type(guard).__name__}")
    base = _drf().permissions.BasePermission

    def has_permission(self: Any, request: Any, view: Any) -> bool:
        django_request = _django_request(request)
        adapted = DjangoRequest(django_request, getattr(view, "kwargs", None))
        try:
            principal = guard.authorize_request(adapted)
        except HTTP_ERRORS as exc:
            raise _drf_error(exc) from exc
        _settle(django_request, principal)
        return True

    name = "StytchPermission"
    return cast(
        "type[BasePermission]",
        type(
            name,
            (base,),
            {
                "has_permission": has_permission,
                "guard": guard,
                "__doc__": f"DRF permission: {guard!r}.",
                "__module__": __name__,
                "__qualname__": name,
            },
        ),
    )
