"""The blocking ``StytchRBAC``: the async facade on a private event loop, with a warm path.

One engine: the blocking facade holds a real :class:`stytch_rbac.StytchRBAC`,
entered (``async with``) on an event loop running in one daemon thread
(:mod:`._loop`). Every call that may wait (a load, a refresh, Stytch's
``sessions/authenticate``, a built-in call) runs there through anyio's
blocking portal, so the caches, their single flight, stale-while-revalidate and
stale-if-error, the JWT memo and the error translator are the async facade's
own. What needs no waiting is answered in the calling thread, without a hop:

* a session JWT already verified and still valid (the memo's look-up);
* a decision whose policy (and organization policy) is cached and fresh, with
  the decision rules of :mod:`stytch_rbac.client` themselves.

A value that is stale or absent goes to the loop, where the cache serves the
stale value and starts one background refresh (32 threads at expiry: one fetch).

The loop thread starts on first need (``StytchRBAC(...)`` at import time starts
nothing) or at ``with rbac:``; :meth:`StytchRBAC.close` (or the end of the
``with`` block, or garbage collection, or interpreter exit) stops it after the
calls in flight. A closed facade serves what is cached and fresh, refuses what
would need the loop, and opens again with ``with rbac:``, like the async one.

Forking (gunicorn ``--preload``): threads do not survive ``fork()``; create or
first use the facade in each worker, not in the parent.
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections.abc import Awaitable, Callable, Collection, Mapping
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .._stytch import DEFAULT_TIMEOUT
from ..auth.access_token import ACCESS_TOKEN_KINDS, accepted_kinds
from ..auth.remote import (
    DEFAULT_FAILURE_CACHE_SIZE,
    DEFAULT_FAILURE_TTL,
    DEFAULT_REMOTE_AUTH_CONCURRENCY,
)
from ..client import (
    StytchRBAC as AsyncStytchRBAC,
)
from ..client import (
    _authorize_by,
    _check_principal,
    _decision_args,
    _explain_by,
    _is_authorized_by,
)
from ..errors import TenancyError
from ..machine_rules import AgentRoles, M2MScopes, ServiceOrganizations, denied
from ..observe.events import AuthenticationEvent, DecisionEvent, DecisionSource
from ..observe.observer import DecisionSampling, Observer, PolicyFacts, Tracing
from ..permissions import ActionEnum, Permission, _permission_args
from ..policy import CompiledPolicy, Decision
from ..principal import AnyPrincipal, Principal, PrincipalKind
from ._loop import Backend, LoopThread
from ._member import MemberClient

if TYPE_CHECKING:
    import httpx
    from rest_framework.permissions import BasePermission
    from stytch import B2BClient

    from ..cache import CacheStats
    from ..clock import Clock
    from ..codegen import Drift
    from ..integrations.blocking import BlockingGuard
    from ..integrations.guard import CredentialConfig, OrganizationSpec

__all__ = ["StytchRBAC"]

_T = TypeVar("_T")


#: The kinds a blocking guard admits by default, and those require_scopes admits.
_SESSIONS_ONLY: tuple[PrincipalKind, ...] = ("session",)
_TOKENS_ONLY: tuple[PrincipalKind, ...] = ("agent", "service")


class StytchRBAC:
    """The blocking facade: :class:`stytch_rbac.StytchRBAC`'s methods, for sync code.

    Same constructor (and ``backend``: the loop the async engine runs on,
    ``"asyncio"`` or ``"trio"``), same methods and semantics, each returning its
    value instead of a coroutine; ``with`` / :meth:`close` instead of ``async with``
    / ``aclose()``. Thread-safe: share one per process. See the module docs.
    """

    def __init__(
        self,
        project_id: str,
        secret: str,
        *,
        base_url: str | None = None,
        project_domain: str | None = None,
        token_issuers: Collection[str] = (),
        policy_ttl: float = 300,
        max_stale: float = 3600,
        jwt_max_age: float | None = None,
        leeway: float = 0,
        timeout: float = DEFAULT_TIMEOUT,
        org_cache_size: int = 10_000,
        jwt_memo_size: int = 10_000,
        strict: bool = True,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        remote_auth_concurrency: int = DEFAULT_REMOTE_AUTH_CONCURRENCY,
        remote_auth_failure_ttl: float = DEFAULT_FAILURE_TTL,
        remote_auth_failure_cache_size: int = DEFAULT_FAILURE_CACHE_SIZE,
        on_decision: Callable[[DecisionEvent], object] | None = None,
        on_authentication: Callable[[AuthenticationEvent], object] | None = None,
        decisions: DecisionSampling = "all",
        agent_roles: AgentRoles = "ignore",
        m2m_scopes: M2MScopes = "policy",
        service_organizations: ServiceOrganizations | None = None,
        agent_roles_ttl: float = 30,
        backend: Backend = "asyncio",
    ) -> None:
        if backend not in ("asyncio", "trio"):
            raise ValueError(f"backend must be 'asyncio' or 'trio', got {backend!r}")
        self._adopt(
            AsyncStytchRBAC(
                project_id,
                secret,
                base_url=base_url,
                project_domain=project_domain,
                token_issuers=token_issuers,
                policy_ttl=policy_ttl,
                max_stale=max_stale,
                jwt_max_age=jwt_max_age,
                leeway=leeway,
                timeout=timeout,
                org_cache_size=org_cache_size,
                jwt_memo_size=jwt_memo_size,
                strict=strict,
                http_client=http_client,
                clock=clock,
                remote_auth_concurrency=remote_auth_concurrency,
                remote_auth_failure_ttl=remote_auth_failure_ttl,
                remote_auth_failure_cache_size=remote_auth_failure_cache_size,
                on_decision=on_decision,
                on_authentication=on_authentication,
                decisions=decisions,
                agent_roles=agent_roles,
                m2m_scopes=m2m_scopes,
                service_organizations=service_organizations,
                agent_roles_ttl=agent_roles_ttl,
            ),
            backend,
        )

    def _adopt(self, aio: AsyncStytchRBAC, backend: Backend) -> None:
        self._aio = aio
        self._loop = LoopThread(aio, backend)
        self._state_lock = threading.Lock()
        self._closed = False
        self._in_with = False
        self._pid = os.getpid()
        # Stops the loop when this facade is collected, or at interpreter exit.
        self._finalizer = weakref.finalize(self, self._loop.stop)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, backend: Backend = "asyncio", **options: Any
    ) -> StytchRBAC:
        """Build from ``STYTCH_PROJECT_ID``, ``STYTCH_SECRET`` and the optional
        ``STYTCH_BASE_URL`` and ``STYTCH_PROJECT_DOMAIN`` (the async facade's rules);
        ``options`` go to the constructor."""
        if backend not in ("asyncio", "trio"):
            raise ValueError(f"backend must be 'asyncio' or 'trio', got {backend!r}")
        self = cls.__new__(cls)
        self._adopt(AsyncStytchRBAC.from_env(env, **options), backend)
        return self

    def __repr__(self) -> str:
        aio = self._aio
        return (
            f"<stytch_rbac.sync.StytchRBAC project_id={aio.project_id!r} base_url={aio.base_url!r}>"
        )

    # -- the engine ----------------------------------------------------------------------------

    @property
    def aio(self) -> AsyncStytchRBAC:
        """The async facade doing the work. Its coroutines belong to this facade's loop:
        run them with :meth:`run` (or ``await rbac.run_async(...)`` from another loop)."""
        return self._aio

    @property
    def project_id(self) -> str:
        """The Stytch project id."""
        return self._aio.project_id

    @property
    def base_url(self) -> str:
        """The Stytch API base URL in use."""
        return self._aio.base_url

    @property
    def project_domain(self) -> str | None:
        """The project's domain as a host, or None (see the async facade)."""
        return self._aio.project_domain

    @property
    def access_token_issuers(self) -> frozenset[str]:
        """The ``iss`` values :meth:`authenticate_access_token` accepts."""
        return self._aio.access_token_issuers

    @property
    def agent_roles(self) -> AgentRoles:
        """Whether an agent's member's current roles must allow it too (``"intersect"``)."""
        return self._aio.agent_roles

    @property
    def m2m_scopes(self) -> M2MScopes:
        """How services' scopes are read: the policy's (``"policy"``) or Stytch's M2M rule."""
        return self._aio.m2m_scopes

    @property
    def service_organizations(self) -> ServiceOrganizations | None:
        """How services map to organizations (a callable or a claim name), or None."""
        return self._aio.service_organizations

    @property
    def http(self) -> httpx.AsyncClient:
        """The pooled ``httpx.AsyncClient`` every request goes through, on this facade's loop."""
        return self._aio.http

    @property
    def stytch(self) -> B2BClient:
        """The ``stytch.B2BClient`` of the async facade: its ``*_async`` methods run over
        :attr:`http` and must run on this facade's loop (:meth:`run`)."""
        return self._aio.stytch

    def _ensure_running(self) -> None:
        if self._loop.running:
            if self._pid == os.getpid():
                return
            raise RuntimeError(
                "this stytch_rbac.sync.StytchRBAC was started before the process forked; its "
                "event loop thread did not survive the fork: create (or first use) it in each "
                "worker process"
            )
        with self._state_lock:
            if self._closed:
                raise RuntimeError(
                    "this stytch_rbac.sync.StytchRBAC is closed (close(), or the end of its "
                    "`with` block); open it again with `with rbac:`"
                )
            self._pid = os.getpid()
            self._loop.start()

    def run(self, func: Callable[..., Awaitable[_T]], /, *args: Any, **kwargs: Any) -> _T:
        """Run the coroutine function ``func(*args, **kwargs)`` on this facade's event loop
        and return its result (raise its exception), blocking the calling thread."""
        self._ensure_running()
        return self._loop.call(functools.partial(func, *args, **kwargs))

    async def run_async(
        self, func: Callable[..., Awaitable[_T]], /, *args: Any, **kwargs: Any
    ) -> _T:
        """:meth:`run`, awaited from another event loop (asyncio or trio) without blocking it;
        cancelling the caller cancels the call."""
        self._ensure_running()
        return await self._loop.call_async(functools.partial(func, *args, **kwargs))

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> StytchRBAC:
        with self._state_lock:
            if self._in_with:
                raise RuntimeError(
                    "this StytchRBAC is already in use by a `with` block; one block at a time"
                )
            self._in_with = True
            self._closed = False
        try:
            self._ensure_running()
        except BaseException:
            self._in_with = False
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the event loop thread once the calls in flight have ended, closing the
        async facade (and its httpx client, when it made it). Idempotent.

        Open it again with ``with rbac:``; what the caches hold is kept.
        """
        with self._state_lock:
            self._closed = True
            self._in_with = False
        self._loop.stop()

    def cache_info(self) -> dict[str, CacheStats]:
        """Counters and sizes of the three caches: ``policy``, ``org_policies``, ``jwks``."""
        return self._aio.cache_info()

    # -- observing (the async facade's, shared: docs/observability.md) -----------------------

    @property
    def observer(self) -> Observer | None:
        """The async facade's observer (None when nobody observes). With one, decisions go
        through the async facade, which reports them."""
        return self._aio.observer

    def observe(self) -> Observer:
        """The observer, created on first call (see :meth:`stytch_rbac.StytchRBAC.observe`)."""
        return self._aio.observe()

    @property
    def tracing(self) -> Tracing | None:
        """Spans around remote calls (see :attr:`stytch_rbac.StytchRBAC.tracing`)."""
        return self._aio.tracing

    @tracing.setter
    def tracing(self, tracing: Tracing | None) -> None:
        self._aio.tracing = tracing

    @property
    def jwt_memo_size(self) -> int:
        """How many verified session JWTs are remembered."""
        return self._aio.jwt_memo_size

    def policy_facts(self) -> PolicyFacts:
        """``(sha256, age, stale)`` of the project policy held (no network)."""
        return self._aio.policy_facts()

    # -- authentication ------------------------------------------------------------------------

    def authenticate(
        self, *, session_jwt: str | None = None, session_token: str | None = None
    ) -> Principal:
        """Authenticate a member session (see :meth:`stytch_rbac.StytchRBAC.authenticate`).

        A JWT verified before and still valid is answered in this thread; anything
        else (a first JWT, a session token, an expired JWT) runs on the loop.
        """
        if session_token is None and isinstance(session_jwt, str) and session_jwt:
            principal = self._aio._remembered(session_jwt)
            if principal is not None:
                return principal
        return self.run(
            self._aio.authenticate, session_jwt=session_jwt, session_token=session_token
        )

    async def aauthenticate(
        self, *, session_jwt: str | None = None, session_token: str | None = None
    ) -> Principal:
        """:meth:`authenticate` for async code on another event loop (an async Django view):
        the warm path inline, the rest awaited on this facade's loop."""
        if session_token is None and isinstance(session_jwt, str) and session_jwt:
            principal = self._aio._remembered(session_jwt)
            if principal is not None:
                return principal
        return await self.run_async(
            self._aio.authenticate, session_jwt=session_jwt, session_token=session_token
        )

    def authenticate_access_token(
        self, token: str, *, accept: Collection[PrincipalKind] = ACCESS_TOKEN_KINDS
    ) -> AnyPrincipal:
        """Authenticate a Connected-App or M2M access token (see
        :meth:`stytch_rbac.StytchRBAC.authenticate_access_token`).

        A token verified before, still valid and of an accepted kind is answered in this
        thread; anything else (a first token, a refusal, a session JWT to refresh) runs on
        the loop.
        """
        accepted = accepted_kinds(accept)
        if type(token) is str and token:
            principal = self._aio._remembered_access_token(token, accepted)
            if principal is not None:
                return principal
        return self.run(self._aio.authenticate_access_token, token, accept=accepted)

    async def aauthenticate_access_token(
        self, token: str, *, accept: Collection[PrincipalKind] = ACCESS_TOKEN_KINDS
    ) -> AnyPrincipal:
        """:meth:`authenticate_access_token` for async code on another event loop: the warm
        path inline, the rest awaited on this facade's loop."""
        accepted = accepted_kinds(accept)
        if type(token) is str and token:
            principal = self._aio._remembered_access_token(token, accepted)
            if principal is not None:
                return principal
        return await self.run_async(self._aio.authenticate_access_token, token, accept=accepted)

    # -- policy --------------------------------------------------------------------------------

    def policy(self, organization_id: str | None = None) -> CompiledPolicy:
        """The project policy, or merged with ``organization_id``'s custom roles."""
        compiled = self._aio._policy_now(organization_id)
        if compiled is not None:
            return compiled
        return self.run(self._aio.policy, organization_id)

    def policy_for(self, principal: Principal) -> CompiledPolicy:
        """The policy that decides for ``principal`` (see
        :meth:`stytch_rbac.StytchRBAC.policy_for`: no org policy for project roles)."""
        compiled = self._policy_for(_check_principal(principal), True)
        assert compiled is not None  # own organization: always a policy
        return compiled

    def _policy_for(self, principal: Principal, own: bool) -> CompiledPolicy | None:
        """The policy a decision about ``principal``'s own organization uses (None when it is
        about another one): :meth:`policy`, inlined for the warm path."""
        if not own:
            return None
        compiled = self._aio._policy_now_for(principal)
        if compiled is not None:
            return compiled
        return self.run(self._aio.policy_for, principal)

    async def apolicy(self, organization_id: str | None = None) -> CompiledPolicy:
        """:meth:`policy` for async code on another event loop."""
        compiled = self._aio._policy_now(organization_id)
        if compiled is not None:
            return compiled
        return await self.run_async(self._aio.policy, organization_id)

    def refresh_policy(self, organization_id: str | None = None) -> CompiledPolicy:
        """Fetch the project policy now (and ``organization_id``'s, if given), waiting for it."""
        return self.run(self._aio.refresh_policy, organization_id)

    def invalidate(self, organization_id: str | None = None) -> None:
        """Forget ``organization_id``'s cached policy (or, with None, every cached policy)."""
        if not self._loop.running:
            self._aio.invalidate(organization_id)
            return

        async def invalidate() -> None:  # on the loop, where the caches are written
            self._aio.invalidate(organization_id)

        self.run(invalidate)

    # -- decisions -----------------------------------------------------------------------------

    @overload
    def is_authorized(
        self,
        principal: AnyPrincipal,
        permission: Permission | ActionEnum | str,
        /,
        *,
        organization_id: str | None = None,
    ) -> bool: ...

    @overload
    def is_authorized(
        self,
        principal: AnyPrincipal,
        resource: str,
        action: str,
        /,
        *,
        organization_id: str | None = None,
    ) -> bool: ...

    def is_authorized(
        self,
        principal: AnyPrincipal,
        permission: Permission | ActionEnum | str,
        action: str | None = None,
        /,
        *,
        organization_id: str | None = None,
    ) -> bool:
        """Whether ``principal`` may do it (see :meth:`stytch_rbac.StytchRBAC.is_authorized`)."""
        if not isinstance(principal, Principal):
            try:
                return self._decide_machine(
                    DecisionSource.IS_AUTHORIZED, principal, permission, action, organization_id
                ).allowed
            except TenancyError:
                return False
        principal, resource, action, own = _decision_args(
            principal, permission, action, organization_id
        )
        if self._aio.observer is not None:  # observed: the async facade reports it
            return self.run(
                self._aio.is_authorized,
                principal,
                resource,
                action,
                organization_id=organization_id,
            )
        compiled = self._policy_for(principal, own)
        return _is_authorized_by(compiled, principal, resource, action)

    @overload
    def authorize(
        self,
        principal: AnyPrincipal,
        permission: Permission | ActionEnum | str,
        /,
        *,
        organization_id: str | None = None,
    ) -> None: ...

    @overload
    def authorize(
        self,
        principal: AnyPrincipal,
        resource: str,
        action: str,
        /,
        *,
        organization_id: str | None = None,
    ) -> None: ...

    def authorize(
        self,
        principal: AnyPrincipal,
        permission: Permission | ActionEnum | str,
        action: str | None = None,
        /,
        *,
        organization_id: str | None = None,
    ) -> None:
        """Return None if allowed; raise :class:`~stytch_rbac.TenancyError` for another
        organization, :class:`~stytch_rbac.PermissionDenied` when no role grants it."""
        if not isinstance(principal, Principal):
            decision = self._decide_machine(
                DecisionSource.AUTHORIZE, principal, permission, action, organization_id
            )
            if not decision.allowed:
                raise denied(principal, decision.resource, decision.action)
            return
        principal, resource, action, own = _decision_args(
            principal, permission, action, organization_id
        )
        if self._aio.observer is not None:  # observed: the async facade reports it
            self.run(
                self._aio.authorize, principal, resource, action, organization_id=organization_id
            )
            return
        compiled = self._policy_for(principal, own)
        _authorize_by(compiled, principal, resource, action, organization_id)

    @overload
    def explain(
        self,
        principal: AnyPrincipal,
        permission: Permission | ActionEnum | str,
        /,
        *,
        organization_id: str | None = None,
    ) -> Decision: ...

    @overload
    def explain(
        self,
        principal: AnyPrincipal,
        resource: str,
        action: str,
        /,
        *,
        organization_id: str | None = None,
    ) -> Decision: ...

    def explain(
        self,
        principal: AnyPrincipal,
        permission: Permission | ActionEnum | str,
        action: str | None = None,
        /,
        *,
        organization_id: str | None = None,
    ) -> Decision:
        """The :class:`~stytch_rbac.Decision` (allowed, and which roles grant it; for an
        agent or a service, which of its scopes)."""
        if not isinstance(principal, Principal):
            try:
                return self._decide_machine(
                    DecisionSource.EXPLAIN, principal, permission, action, organization_id
                )
            except TenancyError:
                resource, action = _permission_args(permission, action)
                return Decision(False, resource, action)
        principal, resource, action, own = _decision_args(
            principal, permission, action, organization_id
        )
        if self._aio.observer is not None:  # observed: the async facade reports it
            return self.run(
                self._aio.explain, principal, resource, action, organization_id=organization_id
            )
        compiled = self._policy_for(principal, own)
        return _explain_by(compiled, principal, resource, action)

    def _decide_machine(
        self,
        source: DecisionSource,
        principal: AnyPrincipal,
        permission: Permission | ActionEnum | str,
        action: str | None,
        organization_id: str | None,
    ) -> Decision:
        """An agent's or a service's decision: at once from a fresh policy when nothing needs
        reporting or fetching, else the async facade's on the loop (which reports it)."""
        resource, action = _permission_args(permission, action)
        decision = self._aio._machine_now(principal, resource, action, organization_id)
        if decision is not None:
            return decision
        return self.run(
            self._aio._decide_machine, source, principal, resource, action, organization_id
        )

    def permissions(self, principal: AnyPrincipal) -> dict[str, dict[str, bool]]:
        """``{resource: {action: allowed}}`` for every permission in the principal's policy."""
        if not isinstance(principal, Principal):
            table = self._aio._machine_table_now(principal)
            if table is not None:
                return table
            return self.run(self._aio.permissions, principal)
        principal = _check_principal(principal)
        compiled = self._policy_for(principal, True)
        assert compiled is not None  # own organization: always a policy
        return compiled.permissions(principal.roles)

    def check_organization(self, principal: AnyPrincipal, organization_id: str) -> None:
        """Raise :class:`~stytch_rbac.TenancyError` unless ``principal`` may act in
        ``organization_id`` (see :meth:`stytch_rbac.StytchRBAC.check_organization`)."""
        self._aio.check_organization(principal, organization_id)

    def verify(self, module: ModuleType, *, strict: bool = False) -> Drift:
        """Compare a module generated by ``stytch-rbac generate`` with the live policy
        (see :meth:`stytch_rbac.StytchRBAC.verify`)."""
        return self.run(self._aio.verify, module, strict=strict)

    # -- guards and built-in calls -------------------------------------------------------------

    def require(
        self,
        *permissions: Permission | ActionEnum | str,
        any_of: bool = False,
        organization_id: OrganizationSpec | None = None,
        credentials: CredentialConfig | None = None,
        explain: bool = False,
        accept: Collection[PrincipalKind] = _SESSIONS_ONLY,
        resource_metadata: str | None = None,
    ) -> BlockingGuard:
        """A guard for sync code and sync frameworks (see
        :class:`~stytch_rbac.integrations.blocking.BlockingGuard`): ``@rbac.require(...)``
        on a Flask or Django view (async Django views too), or ``guard.check(principal)``.

        The rules of :meth:`stytch_rbac.StytchRBAC.require`: ``accept`` admits member
        sessions only by default; ``{"session", "agent", "service"}`` also takes Connected-App
        and M2M access tokens (``Authorization: Bearer``), each decided by :meth:`authorize`
        with its own rule. ``resource_metadata`` is named in the 401 and 403 challenges."""
        from ..integrations.blocking import BlockingGuard

        return BlockingGuard(
            self,
            permissions,
            any_of=any_of,
            organization_id=organization_id,
            credentials=credentials,
            explain=explain,
            accept=accept,
            resource_metadata=resource_metadata,
        )

    def require_scopes(
        self,
        *scopes: str,
        accept: Collection[PrincipalKind] = _TOKENS_ONLY,
        organization_id: OrganizationSpec | None = None,
        resource_metadata: str | None = None,
    ) -> BlockingGuard:
        """A guard requiring an access token holding every one of ``scopes`` by name (see
        :meth:`stytch_rbac.StytchRBAC.require_scopes`): a 403 ``insufficient_scope`` naming
        them otherwise, a 401 ``invalid_token`` for a kind ``accept`` does not name."""
        from ..integrations.blocking import BlockingGuard

        if not scopes:
            raise ValueError("require_scopes() needs at least one scope")
        return BlockingGuard(
            self,
            (),
            organization_id=organization_id,
            accept=accept,
            scopes=scopes,
            resource_metadata=resource_metadata,
        )

    def protected_resource_metadata(
        self,
        resource_url: str,
        *,
        authorization_servers: Collection[str] | None = None,
        extra_scopes: Collection[str] = (),
        resource_name: str | None = None,
        resource_documentation: str | None = None,
    ) -> dict[str, Any]:
        """:meth:`stytch_rbac.StytchRBAC.protected_resource_metadata`, blocking."""
        return self.run(
            self._aio.protected_resource_metadata,
            resource_url,
            authorization_servers=authorization_servers,
            extra_scopes=extra_scopes,
            resource_name=resource_name,
            resource_documentation=resource_documentation,
        )

    def drf(
        self,
        *permissions: Permission | ActionEnum | str,
        any_of: bool = False,
        organization_id: OrganizationSpec | None = None,
        credentials: CredentialConfig | None = None,
    ) -> type[BasePermission]:
        """A Django REST framework permission class requiring ``permissions``:
        ``permission_classes = [rbac.drf(P.documents.edit, organization_id=path("org"))]``
        (see :func:`stytch_rbac.integrations.django.permission_class`)."""
        from ..integrations.django import permission_class

        return permission_class(
            self.require(
                *permissions,
                any_of=any_of,
                organization_id=organization_id,
                credentials=credentials,
            )
        )

    def as_member(
        self,
        principal: Principal | None = None,
        *,
        session_jwt: str | None = None,
        session_token: str | None = None,
        preflight: bool = True,
    ) -> MemberClient:
        """A blocking :class:`~stytch_rbac.sync.MemberClient`: Stytch's built-in calls made
        as this member (see :meth:`stytch_rbac.StytchRBAC.as_member`)."""
        member = self._aio.as_member(
            principal, session_jwt=session_jwt, session_token=session_token, preflight=preflight
        )
        return MemberClient(member, self._run_thunk)

    def _run_thunk(self, thunk: Callable[[], Awaitable[_T]]) -> _T:
        return self.run(thunk)
