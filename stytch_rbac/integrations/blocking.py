"""Guards for sync code: the :class:`~.guard.Guard` rules, run to completion without waiting.

Framework-free, like :mod:`.guard`: this module imports no web framework and
chooses no HTTP status. A :class:`BlockingGuard` (from the blocking facade's
``rbac.require(...)``) holds an ordinary :class:`~.guard.Guard` whose
:class:`~.guard.Authorizer` is the blocking facade seen as async: its
``authenticate`` and ``policy`` coroutines return without ever suspending (the
warm path answers in the calling thread, the rest blocks on the facade's loop).
So :func:`run_unsuspended` drives the guard's own coroutines to their end in the
calling thread, and every rule (credentials, tenancy, the permissions, one
authentication per request) is the async guard's code, not a copy of it.

For async views on another event loop (an async Django view), the same guard
awaits the facade's ``aauthenticate`` / ``apolicy`` instead of blocking.

The framework part, ``@guard`` on a view, is in the glue: a view with a
``principal`` parameter is checked against it; one with a ``request`` parameter
(Django views, async ones too) goes to :mod:`.django`; any other (Flask views,
which read ``flask.request``) to :mod:`.flask`.
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from collections.abc import Callable, Collection, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import anyio.to_thread
import sniffio

from ..errors import Unauthenticated
from ..permissions import ActionEnum, Permission
from ..principal import AgentPrincipal, AnyPrincipal, Principal, PrincipalKind, ServicePrincipal
from .guard import (
    _GUARDS_ATTRIBUTE,
    CredentialConfig,
    Guard,
    OrganizationSpec,
    RequestLike,
    guards_of,
    verify_guards,
)

if TYPE_CHECKING:
    from ..policy import CompiledPolicy

__all__ = ["BlockingAuthorizer", "BlockingGuard", "bridge", "mark_guarded", "run_unsuspended"]

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])
#: Any principal kind, kept as it is: ``check(agent)`` returns an AgentPrincipal.
_AnyP = TypeVar("_AnyP", Principal, AgentPrincipal, ServicePrincipal)

#: The principal kinds a guard admits unless told otherwise.
_SESSIONS: frozenset[PrincipalKind] = frozenset({"session"})


def run_unsuspended(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coroutine`` to its end in this thread, without an event loop.

    For coroutines that await nothing that suspends (a guard over the blocking
    facade); one that does suspend is closed and reported as a ``RuntimeError``
    (an ``organization_id=`` callable awaiting real I/O, say).
    """
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]  # StopIteration.value is Any
    coroutine.close()
    raise RuntimeError(
        "a guard of the blocking facade awaited something that suspends (an async "
        "organization_id= callable doing I/O?); sync guards run without an event loop"
    )


def mark_guarded(
    wrapper: Callable[..., Any], view: Callable[..., Any], guard: BlockingGuard
) -> None:
    """Record ``guard`` on ``wrapper`` (after those of ``view``), where
    :func:`~.guard.guards_of` and the start-up checks find it."""
    setattr(wrapper, _GUARDS_ATTRIBUTE, (*guards_of(view), guard.guard))


class BlockingAuthorizer(Protocol):
    """What a :class:`BlockingGuard` decides with: ``stytch_rbac.sync.StytchRBAC`` as is."""

    def authenticate(
        self, *, session_jwt: str | None = None, session_token: str | None = None
    ) -> Principal:
        """Authenticate a member session, blocking."""
        ...

    def policy(self, organization_id: str | None = None) -> CompiledPolicy:
        """The compiled policy in force for ``organization_id``, blocking."""
        ...

    async def aauthenticate(
        self, *, session_jwt: str | None = None, session_token: str | None = None
    ) -> Principal:
        """Authenticate a member session from another event loop."""
        ...

    async def apolicy(self, organization_id: str | None = None) -> CompiledPolicy:
        """The compiled policy for ``organization_id``, from another event loop."""
        ...


class _Bridge:
    """The blocking facade as a guard's :class:`~.guard.Authorizer`, in either world.

    In a thread without a running event loop (a sync view, :func:`run_unsuspended`) its
    coroutines call the blocking methods and never suspend; under a running loop (an
    async view) they await the facade's ``aauthenticate`` / ``apolicy``. One per facade
    (:func:`bridge`): guards key a request's authentication records by authenticator, so
    the middleware and every guard of one facade share them.
    """

    __slots__ = ("__weakref__", "_rbac")

    def __init__(self, rbac: BlockingAuthorizer) -> None:
        self._rbac = rbac

    @property
    def observer(self) -> object:
        """The facade's observer, so sync guards report their decisions like async ones."""
        return getattr(self._rbac, "observer", None)

    async def authenticate(
        self, *, session_jwt: str | None = None, session_token: str | None = None
    ) -> Principal:
        if _in_event_loop():
            return await self._rbac.aauthenticate(
                session_jwt=session_jwt, session_token=session_token
            )
        return self._rbac.authenticate(session_jwt=session_jwt, session_token=session_token)

    async def policy(self, organization_id: str | None = None) -> CompiledPolicy:
        if _in_event_loop():
            return await self._rbac.apolicy(organization_id)
        return self._rbac.policy(organization_id)

    @property
    def m2m_scopes(self) -> object:
        """The facade's rule for M2M scopes, read by the guard's refusal hints."""
        return getattr(self._rbac, "m2m_scopes", None)

    async def authenticate_access_token(
        self, token: str, *, accept: Collection[PrincipalKind]
    ) -> AnyPrincipal:
        """The facade's ``authenticate_access_token`` (or its awaiting twin under a loop), for
        guards accepting Connected-App and M2M tokens."""
        if _in_event_loop():
            awaiting = self._facade_method("aauthenticate_access_token")
            principal: AnyPrincipal = await awaiting(token, accept=accept)
            return principal
        blocking = self._facade_method("authenticate_access_token")
        principal = blocking(token, accept=accept)
        return principal

    async def authorize(
        self,
        principal: AnyPrincipal,
        permission: Permission,
        *,
        organization_id: str | None = None,
    ) -> None:
        """The facade's ``authorize``, which decides access tokens by their kind's rule. Under
        a running loop it runs in a worker thread: a cold policy blocks it, not the loop."""
        decide = self._facade_method("authorize")
        if _in_event_loop():
            await anyio.to_thread.run_sync(
                functools.partial(decide, principal, permission, organization_id=organization_id)
            )
            return
        decide(principal, permission, organization_id=organization_id)

    def _facade_method(self, name: str) -> Callable[..., Any]:
        method = getattr(self._rbac, name, None)
        if method is None:
            raise TypeError(
                f"{type(self._rbac).__name__} has no {name}(): a guard over it can accept "
                "member sessions only"
            )
        return cast("Callable[..., Any]", method)


def _in_event_loop() -> bool:
    try:
        sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return False
    return True


_BRIDGES: weakref.WeakKeyDictionary[Any, _Bridge] = weakref.WeakKeyDictionary()
_BRIDGES_LOCK = threading.Lock()


def bridge(rbac: BlockingAuthorizer) -> _Bridge:
    """The one :class:`_Bridge` of ``rbac`` (a new one each time for a facade that cannot
    be weakly referenced)."""
    try:
        found = _BRIDGES.get(rbac)
    except TypeError:
        return _Bridge(rbac)
    if found is None:
        with _BRIDGES_LOCK:
            found = _BRIDGES.setdefault(rbac, _Bridge(rbac))
    return found


class BlockingGuard:
    """Requires an authenticated principal holding permissions (or scopes), for sync code.

    The same arguments and rules as :class:`~.guard.Guard` (``any_of``,
    ``organization_id`` for tenancy, ``credentials``, ``accept`` for Connected-App and
    M2M access tokens, ``scopes`` for ``require_scopes``). Use it as ``@guard`` on a
    Flask or Django view, as ``guard.check(principal)``, or ``guard.authorize_request(r)``
    with any :class:`~.guard.RequestLike`; in async code, ``await guard.acheck(...)``.
    """

    __slots__ = ("_core", "_rbac")

    def __init__(
        self,
        rbac: BlockingAuthorizer,
        permissions: Iterable[Permission | ActionEnum | str] = (),
        *,
        any_of: bool = False,
        organization_id: OrganizationSpec | None = None,
        credentials: CredentialConfig | None = None,
        explain: bool = False,
        accept: Iterable[PrincipalKind] = _SESSIONS,
        scopes: Iterable[str] = (),
        resource_metadata: str | None = None,
    ) -> None:
        self._rbac = rbac
        options: dict[str, Any] = {
            "any_of": any_of,
            "organization_id": organization_id,
            "credentials": credentials,
            "explain": explain,
            "accept": accept,
            "scopes": scopes,
            "resource_metadata": resource_metadata,
        }
        self._core = Guard(bridge(rbac), tuple(permissions), **options)

    def __repr__(self) -> str:
        return f"Blocking{self._core!r}"

    @property
    def rbac(self) -> BlockingAuthorizer:
        """The blocking facade this guard decides with."""
        return self._rbac

    @property
    def guard(self) -> Guard:
        """The underlying :class:`~.guard.Guard` (its rules, over the blocking facade)."""
        return self._core

    @property
    def permissions(self) -> tuple[Permission, ...]:
        """The permissions required."""
        return self._core.permissions

    @property
    def any_of(self) -> bool:
        """Whether one permission suffices."""
        return self._core.any_of

    @property
    def accept(self) -> frozenset[PrincipalKind]:
        """The principal kinds this guard admits."""
        return self._core.accept

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes an access token must hold, all of them (``require_scopes``)."""
        return self._core.scopes

    @property
    def organization(self) -> OrganizationSpec | None:
        """Where the organization the request is about is read (tenancy), if anywhere."""
        return self._core.organization

    @property
    def credentials(self) -> CredentialConfig:
        """Where the credential is read and how a refreshed JWT is handed back."""
        return self._core.credentials

    # -- deciding -------------------------------------------------------------------------------

    def check(
        self,
        principal: _AnyP,
        *,
        organization_id: str | None = None,
        request: RequestLike | None = None,
    ) -> _AnyP:
        """Allow ``principal`` or raise (see :meth:`.guard.Guard.check`)."""
        return run_unsuspended(
            self._core.check(principal, organization_id=organization_id, request=request)
        )

    def authenticate(self, request: RequestLike) -> AnyPrincipal:
        """The request's principal (authenticated once per request), unchecked: a
        :class:`Principal` unless the guard accepts access tokens (``accept=``)."""
        return self._admitted(run_unsuspended(self._core.authenticate(request)))

    def authorize_request(self, request: RequestLike) -> AnyPrincipal:
        """Authenticate the request, then :meth:`check` it: the whole guard."""
        return self._admitted(run_unsuspended(self._core.authorize_request(request)))

    async def acheck(
        self,
        principal: _AnyP,
        *,
        organization_id: str | None = None,
        request: RequestLike | None = None,
    ) -> _AnyP:
        """:meth:`check` from async code on another event loop, without blocking it."""
        return await self._core.check(principal, organization_id=organization_id, request=request)

    async def aauthorize_request(self, request: RequestLike) -> AnyPrincipal:
        """:meth:`authorize_request` from async code on another event loop."""
        return self._admitted(await self._core.authorize_request(request))

    def _admitted(self, principal: AnyPrincipal) -> AnyPrincipal:
        """Fail closed: a principal of a kind this guard does not accept is refused, never
        passed on (the core refuses it first; this is the last word)."""
        if principal.kind not in self._core.accept:
            raise Unauthenticated("wrong_kind", f"this route does not accept {principal.kind}s")
        return principal

    def verify(self) -> None:
        """Raise :class:`~stytch_rbac.UnknownPermission` when a permission of this guard is
        not in the project policy (a start-up check)."""
        run_unsuspended(verify_guards([(repr(self), self._core)]))

    # -- @guard on a view -----------------------------------------------------------------------

    def __call__(self, view: _F, /) -> _F:
        """Guard ``view``: checked against its ``principal`` argument, or its ``request``'s
        credential (Django), or ``flask.request`` (Flask)."""
        if not callable(view):
            raise TypeError(f"@guard decorates a view function, got {type(view).__name__}")
        parameters = inspect.signature(view).parameters
        if "request" in parameters:
            from .django import guard_view as django_guard_view

            return django_guard_view(self, view)
        if inspect.iscoroutinefunction(view):
            raise TypeError(
                f"@guard on the async function {view.__qualname__}: async views need a "
                "'request' parameter (Django); elsewhere, use the async StytchRBAC's guards"
            )
        if "principal" in parameters:
            return self._on_principal(view)
        from .flask import guard_view as flask_guard_view

        return flask_guard_view(self, view)

    def _on_principal(self, fn: _F) -> _F:
        guard = self
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind_partial(*args, **kwargs)
            value = bound.arguments.get("principal")
            if value is None:
                raise Unauthenticated("missing", "no principal was passed")
            if not isinstance(value, (Principal, AgentPrincipal, ServicePrincipal)):
                raise TypeError(
                    "principal must be a Principal, an AgentPrincipal or a ServicePrincipal, "
                    f"got {type(value).__name__}"
                )
            run_unsuspended(guard.guard.check(value))
            return fn(*args, **kwargs)

        mark_guarded(checked, fn, self)
        return checked  # type: ignore[return-value]  # same signature as fn
