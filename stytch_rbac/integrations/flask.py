"""Flask glue: guarded views, a ``before_request`` guard, errors as JSON, refreshed-JWT hand-back.

.. code-block:: python

    from flask import Flask
    from stytch_rbac import path
    from stytch_rbac.sync import StytchRBAC
    from stytch_rbac.integrations.flask import current_principal, init_app

    rbac = StytchRBAC.from_env()
    app = Flask(__name__)
    init_app(app, rbac)

    @app.get("/orgs/<organization_id>/documents")
    @rbac.require(P.documents.read, organization_id=path("organization_id"))
    def list_documents(organization_id):
        return {"reader": current_principal().member_id}

``@rbac.require(...)`` (the blocking facade's guards) on a view reads the
credential from ``flask.request``, the organization from the URL rule's
values (``path("organization_id")`` reads ``request.view_args``), and answers
401 / 403 / 503 itself, with the bodies and headers of the ASGI integrations
(the one table, :mod:`.responses`). :func:`before_request` guards a whole app or
blueprint the same way. A JWT that Stytch refreshed is handed back on the
response (a ``Set-Cookie`` or the ``X-Stytch-Session-JWT`` header, see
:class:`~.guard.CredentialConfig`).

:func:`init_app` authenticates each request once, before any view (never
refusing one: public views stay public), puts the principal on
``flask.g.stytch_principal`` (None when the request is not authenticated),
hands refreshed JWTs back and answers the library's errors raised in views
(``rbac.authorize(...)``, member calls) as JSON.

One authentication per request: the outcome is kept in the WSGI environ (a scope
under ``stytch_rbac.scope``), so the hook and every guard share it. Cookie
credentials get the ASGI integrations' CSRF check (:mod:`.csrf`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Final, TypeVar

from .._extras import raise_missing_extra

try:
    import flask
except ImportError as _missing:
    raise_missing_extra(
        _missing, extra="flask", needed_by="stytch_rbac.integrations.flask", modules={"flask"}
    )

from ..errors import StytchRBACError
from ..principal import Principal
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

__all__ = [
    "FlaskRequest",
    "before_request",
    "current_principal",
    "error_response",
    "guard_view",
    "init_app",
]

_F = TypeVar("_F", bound=Callable[..., Any])

#: The WSGI environ key of the request's scope (see :attr:`FlaskRequest.scope`).
SCOPE_ENVIRON_KEY: Final = "stytch_rbac.scope"

#: Where :func:`init_app` keeps its settings, in ``app.extensions``.
EXTENSION: Final = "stytch_rbac"


class FlaskRequest:
    """``flask.request`` as a guard reads it (:class:`~.guard.RequestLike`): the WSGI environ
    holds the request's authentication record, ``view_args`` are the path parameters."""

    __slots__ = ("_request",)

    def __init__(self, request: flask.Request) -> None:
        self._request = request

    @property
    def scope(self) -> MutableMapping[str, Any]:
        """The request's ASGI-like scope, kept in the WSGI environ (so per request): the
        ``type`` and ``method`` the CSRF check reads, and the authentication records."""
        environ = self._request.environ
        scope = environ.get(SCOPE_ENVIRON_KEY)
        if scope is None:
            rule = self._request.url_rule
            scope = environ[SCOPE_ENVIRON_KEY] = {
                "type": "http",
                "method": self._request.method,
                "path": rule.rule if rule is not None else self._request.path,
            }
        return scope

    @property
    def headers(self) -> Mapping[str, str]:
        """Request headers (case-insensitive)."""
        return self._request.headers  # type: ignore[return-value]  # werkzeug's Headers

    @property
    def cookies(self) -> Mapping[str, str]:
        """Request cookies."""
        return self._request.cookies

    @property
    def path_params(self) -> Mapping[str, Any]:
        """The matched URL rule's values (``request.view_args``)."""
        return self._request.view_args or {}

    @property
    def method(self) -> str:
        """The HTTP method."""
        return self._request.method

    @property
    def query_params(self) -> Mapping[str, str]:
        """Query-string parameters."""
        return self._request.args


def _current() -> FlaskRequest:
    return FlaskRequest(flask.request)


def current_principal() -> Principal:
    """The request's :class:`Principal`, as authenticated by :func:`init_app` or a guard.

    Raises :class:`~stytch_rbac.Unauthenticated` when the request is not authenticated and
    ``RuntimeError`` when nothing authenticated it.
    """
    record = request_auth(_current())
    if record is None:
        raise RuntimeError("no authentication ran for this request: call init_app() or a guard")
    return record.unwrap()


def error_response(exc: StytchRBACError) -> flask.Response:
    """The JSON response answering ``exc`` in the current request (status, body and headers
    from :mod:`.responses`, credentials scrubbed). Raises ``exc`` again when it has no HTTP
    status (a server-side bug: Flask's 500)."""
    status = status_for(exc)
    if status is None:
        raise exc
    record = request_auth(_current()) if flask.has_request_context() else None
    secrets = record.secrets() if record is not None else ()
    problem = problem_body(exc, secrets)  # a guard with explain=True: RFC 9457
    return flask.Response(
        json.dumps(
            error_body(exc, secrets) if problem is None else problem,
            ensure_ascii=False,
            separators=(",", ":"),
        ),
        status=status,
        headers=error_headers(exc),
        mimetype="application/json" if problem is None else PROBLEM_JSON,
    )


def _hand_back_after(record: RequestAuth | None, config: CredentialConfig) -> None:
    """Hand a refreshed JWT back on this request's response, whatever the view returns."""
    if record is None or record.principal is None or not record.principal.jwt_refreshed:
        return

    def add(response: flask.Response) -> flask.Response:
        for name, value in handback_headers(record, config):
            response.headers.add(name, value)
        return response

    flask.after_this_request(add)


def _guard_current_request(guard: BlockingGuard) -> flask.Response | None:
    """Run ``guard`` on the current request: None when allowed, else the error response."""
    request = _current()
    try:
        principal = guard.authorize_request(request)
    except HTTP_ERRORS as exc:
        return error_response(exc)
    finally:
        _hand_back_after(request_auth(request), guard.credentials)
    flask.g.stytch_principal = principal
    return None


def guard_view(guard: BlockingGuard, view: _F) -> _F:
    """``view`` guarded by ``guard`` (what ``@rbac.require(...)`` does to a Flask view)."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        refused = _guard_current_request(guard)
        if refused is not None:
            return refused
        return view(*args, **kwargs)

    mark_guarded(guarded, view, guard)
    return guarded  # type: ignore[return-value]  # same signature as view


def before_request(guard: BlockingGuard) -> Callable[[], flask.Response | None]:
    """A ``before_request`` hook running ``guard`` on every request of an app or blueprint:
    ``blueprint.before_request(before_request(rbac.require(P.documents.read)))``."""
    if not isinstance(guard, BlockingGuard):
        raise TypeError(
            "before_request() takes a guard of the blocking facade (stytch_rbac.sync."
            f"StytchRBAC.require), got {type(guard).__name__}"
        )

    def stytch_rbac_guard() -> flask.Response | None:
        return _guard_current_request(guard)

    stytch_rbac_guard.__qualname__ = f"before_request({guard!r})"
    return stytch_rbac_guard


def init_app(
    app: flask.Flask, rbac: BlockingAuthorizer, *, credentials: CredentialConfig | None = None
) -> None:
    """Authenticate every request once (never refusing it), hand refreshed JWTs back, set
    ``flask.g.stytch_principal``, and answer the library's errors raised in views as JSON."""
    config = credentials if credentials is not None else CredentialConfig()
    authenticator = bridge(rbac)
    app.extensions[EXTENSION] = rbac

    def stytch_rbac_authenticate() -> None:
        request = _current()
        try:
            principal: Principal | None = run_unsuspended(
                authenticate_request(authenticator, request, config, handled_by_middleware=True)
            )
        except StytchRBACError:  # stored on the request: guarded views answer it
            principal = None
        flask.g.stytch_principal = principal
        _hand_back_after(request_auth(request), config)

    app.before_request(stytch_rbac_authenticate)
    for error in HTTP_ERRORS:
        app.register_error_handler(error, error_response)
