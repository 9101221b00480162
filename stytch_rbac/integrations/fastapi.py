"""FastAPI glue: ``Depends(guard)``, the current principal, ``Annotated`` aliases.

.. code-block:: python

    from typing import Annotated
    from fastapi import Depends, FastAPI
    from stytch_rbac import Principal
    from stytch_rbac.integrations.guard import path
    from stytch_rbac.integrations.fastapi import CurrentPrincipal

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
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any

from .._extras import raise_missing_extra

try:
    from fastapi import Depends, HTTPException, Request, Response
except ImportError as exc:
    raise_missing_extra(
        exc,
        extra="fastapi",
        needed_by="stytch_rbac.integrations.fastapi",
        modules={"fastapi", "starlette"},
    )

from ..errors import StytchRBACError
from ..principal import Principal
from .guard import CredentialConfig, RequestAuth, request_auth
from .responses import HTTP_ERRORS, error_body, error_headers, handback_headers, status_for
from .starlette import (
    StytchSessionMiddleware,
    add_exception_handlers,
    error_response,
    exception_handlers,
)

if TYPE_CHECKING:
    from .guard import Guard

__all__ = [
    "CurrentPrincipal",
    "StytchSessionMiddleware",
    "add_exception_handlers",
    "current_principal",
    "dependency_for",
    "error_response",
    "exception_handlers",
    "http_exception",
]


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
    return HTTPException(status, detail=error_body(exc, secrets)["detail"], headers=headers)


def _hand_back(record: RequestAuth | None, response: Response, config: CredentialConfig) -> None:
    if record is None or record.handled_by_middleware:
        return
    for name, value in handback_headers(record, config):
        response.headers.append(name, value)


def dependency_for(guard: Guard) -> Callable[[Request, Response], Coroutine[Any, Any, Principal]]:
    """The FastAPI dependency ``Depends(guard)`` runs (found through ``guard.__wrapped__``)."""
    config = guard.credentials

    async def stytch_guard(request: Request, response: Response) -> Principal:
        try:
            principal = await guard.authorize_request(request)
        except HTTP_ERRORS as exc:
            raise http_exception(exc, request_auth(request), config) from exc
        _hand_back(request_auth(request), response, config)
        return principal

    stytch_guard.__qualname__ = stytch_guard.__name__ = f"stytch_guard[{guard!r}]"
    return stytch_guard


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the request's :class:`Principal`, without a permission check.

    Needs :class:`StytchSessionMiddleware` (which authenticated the request);
    answers 401 when the request is not authenticated. Without the
    middleware use ``Depends(rbac.require())``, a guard with no permission.
    """
    record = request_auth(request)
    if record is None:
        raise RuntimeError(
            "current_principal needs StytchSessionMiddleware on the app "
            "(or use Depends(rbac.require()) instead)"
        )
    try:
        return record.unwrap()
    except StytchRBACError as exc:
        raise http_exception(exc, record) from exc


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
"""``Annotated[Principal, Depends(current_principal)]``: write ``who: CurrentPrincipal``."""
