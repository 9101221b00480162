"""``StytchRBAC``: the async facade. Authenticate member sessions, answer permission questions.

Everything network-bound is cached (policy, org policies, JWKS) with single
flight, stale-while-revalidate and stale-if-error up to ``max_stale``; a
decision with warm caches is a few dict look-ups. One pooled
``httpx.AsyncClient`` carries every request, the stytch SDK's included
(``rbac.stytch``), and only anyio is used, so it runs on asyncio and trio.

Use it as an async context manager: inside ``async with``, stale values are
refreshed in the background (no caller ever waits on a refresh of a value it
may still use). Without it, the first caller that finds a stale value
refreshes it while concurrent callers keep using the stale one.
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Coroutine, Hashable, Mapping
from functools import partial
from time import perf_counter
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar, overload

import anyio
import anyio.abc

from ._stytch import (
    DEFAULT_TIMEOUT,
    Connection,
    Credentials,
    authenticate_session,
    fetch_jwks,
    fetch_member,
    fetch_org_policy,
    fetch_policy_body,
    resolve_base_url,
)
from .auth import (
    JWKSCache,
    SessionJWTVerifier,
    StaleJWT,
    TokenMemo,
    principal_from_member_session,
)
from .auth.access_token import (
    ACCESS_TOKEN_KINDS,
    AccessTokenVerifier,
    accepted_issuers,
    accepted_kinds,
    normalize_domain,
)
from .auth.remote import (
    DEFAULT_FAILURE_CACHE_SIZE,
    DEFAULT_FAILURE_TTL,
    DEFAULT_REMOTE_AUTH_CONCURRENCY,
    RemoteAuthenticator,
)
from .cache import CacheStats, RefreshingCache
from .clock import Clock, SystemClock
from .errors import (
    PermissionDenied,
    PolicyError,
    StytchAPIError,
    StytchRBACError,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
    UnknownPermission,
)
from .machine_rules import (
    AgentRoles,
    M2MScopes,
    MachinePrincipal,
    MachineRules,
    ServiceOrganizations,
    denied,
    intersect_tables,
    member_roles_from,
)
from .observe.events import (
    AuthenticationEvent,
    AuthenticationOutcome,
    DecisionEvent,
    DecisionSource,
    DenialReason,
)
from .observe.observer import (
    DecisionSampling,
    Observer,
    PolicyFacts,
    Tracing,
    check_sampling,
    no_grants,
)
from .permissions import ActionEnum, Permission, _permission_args
from .policy import CompiledPolicy, Decision, OrgPolicy
from .policy.problems import PolicyProblem
from .policy.response import compile_response
from .policy.retire import release_in_pieces
from .principal import AgentPrincipal, AnyPrincipal, Principal, PrincipalKind, ServicePrincipal

if TYPE_CHECKING:
    import httpx
    from stytch import B2BClient

    from ._stytch.http import RetryPolicy
    from .codegen import Drift
    from .integrations.guard import CredentialConfig, Guard, OrganizationSpec
    from .member import MemberClient

__all__ = ["Principal", "StytchRBAC"]

# Enum members read once: a member look-up on the class costs ~100 ns on Python 3.11.
_AUTHORIZE: Final = DecisionSource.AUTHORIZE
_EXPLAIN: Final = DecisionSource.EXPLAIN
_IS_AUTHORIZED: Final = DecisionSource.IS_AUTHORIZED
_NO_GRANT: Final = DenialReason.NO_GRANT
_TENANCY: Final = DenialReason.TENANCY
_UNAVAILABLE: Final = DenialReason.UNAVAILABLE
_UNKNOWN_PERMISSION: Final = DenialReason.UNKNOWN_PERMISSION

logger: logging.Logger = logging.getLogger("stytch_rbac")

_POLICY: Final = "policy"
#: Connections of our own pool for everything but remote authentication (policy, org
#: policies, JWKS, the SDK's calls); remote authentication gets its own on top.
_POOL_CONNECTIONS: Final = 100
_T = TypeVar("_T")


_OnUnfit = Callable[[str, tuple[PolicyProblem, ...]], None]


class _OrgPolicyEntry:
    """One organization's custom roles, as the project policy merged with them.

    ``CompiledPolicy.with_fitting_org_roles`` shares the project index and keeps the
    org roles as small interned tuples with their own small index, so an organization
    costs about 1 KB (one with no custom roles nothing but this entry) and a merge
    costs in proportion to its roles. The merge is made once per project-policy
    version: an unchanged project policy is the same object after a refresh, so
    nothing is merged again. Roles that no longer fit the project policy are
    ignored, as Stytch's own check ignores them, and reported once per merge.
    """

    __slots__ = ("_base", "_merged", "_org_policy", "organization_id")

    def __init__(self, organization_id: str, org_policy: OrgPolicy | None) -> None:
        self.organization_id = organization_id
        self._org_policy = org_policy if org_policy is not None and org_policy.roles else None
        self._base: CompiledPolicy | None = None
        self._merged: CompiledPolicy | None = None

    def merged_with(self, base: CompiledPolicy, on_unfit: _OnUnfit) -> CompiledPolicy:
        """``base`` merged with these roles (those that break Stytch's org-policy rules
        left out and passed to ``on_unfit``); ``base`` itself when there are none."""
        previous = self._merged
        if previous is not None and self._base is base:
            return previous
        org_policy = self._org_policy
        if org_policy is not None:
            merged, unfit = base.with_fitting_org_roles(org_policy)
        elif previous is not None:  # every role fitted: they are kept in the merged policy
            merged, unfit = previous.rebased(base)
            if unfit:
                org_policy = previous.org_policy
        else:
            return base  # no custom roles
        if unfit:
            on_unfit(self.organization_id, unfit)
            self._org_policy = org_policy  # kept whole: the ignored roles may fit again
        else:
            self._org_policy = None  # kept compact inside the merged policy from now on
        self._base, self._merged = base, merged
        return merged

    def merged_now(self, base: CompiledPolicy) -> CompiledPolicy | None:
        """What :meth:`merged_with` returns when no merge is needed (``base`` itself, or the
        merge already made with it), else None: for readers on other threads.

        ``_org_policy`` is read before ``_merged``: :meth:`merged_with` sets ``_merged``
        before it clears ``_org_policy``, so seeing it cleared means seeing the merge.
        """
        pending = self._org_policy
        merged = self._merged
        if merged is not None:
            return merged if merged.base is base else None
        return base if pending is None else None


class _PolicyLoader:
    """The policy cache's loader: the project policy from Stytch, compiled off the loop.

    The body is fetched on the event loop (I/O); digesting it and, only when the
    digest changed, decoding, validating and compiling it run in a worker thread
    (:mod:`stytch_rbac.policy.response` keeps each step that holds the GIL short).
    An unchanged policy gives back the very object already cached, so nothing that
    was derived from it (merged org policies) is redone. The compiled policy is
    complete before it is returned, and the cache swaps it in with one assignment:
    no reader ever sees part of one.
    """

    __slots__ = ("compiled", "digest", "strict")

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.digest: str | None = None
        self.compiled: CompiledPolicy | None = None

    async def __call__(self, conn: Connection, _key: str) -> CompiledPolicy:
        body = await fetch_policy_body(conn)
        previous, current = self.digest, self.compiled
        compile_body = partial(
            compile_response, body, strict=self.strict, unless=None if current is None else previous
        )
        try:
            digest, compiled = await anyio.to_thread.run_sync(compile_body)
        except PolicyError as exc:
            raise StytchUnavailable(f"Stytch returned an unusable RBAC policy: {exc}") from None
        if compiled is None and current is not None:
            return current  # unchanged: the same object, nothing merged or logged again
        assert compiled is not None  # unless= was None, so compile_response compiled
        for problem in compiled.problems:
            logger.warning("stytch_rbac: RBAC policy: %s (%s)", problem.message, problem.code)
        if previous is None:
            logger.info("stytch_rbac: RBAC policy loaded (sha256 %s)", digest[:12])
        else:
            logger.info(
                "stytch_rbac: RBAC policy changed (sha256 %s -> %s)", previous[:12], digest[:12]
            )
        self.digest, self.compiled = digest, compiled
        return compiled


async def _load_org_policy(conn: Connection, organization_id: str) -> _OrgPolicyEntry:
    """One organization's custom roles from Stytch: the org-policy cache's loader."""
    body = await fetch_org_policy(conn, organization_id)
    try:
        org = OrgPolicy.parse(body)
    except PolicyError as exc:
        raise StytchUnavailable(
            f"Stytch returned an unusable policy for organization {organization_id}: {exc}"
        ) from None
    return _OrgPolicyEntry(organization_id, org)


#: The Stytch answers that mean "no such member (any more)": it holds no roles.
_NO_MEMBER: Final = frozenset({"member_not_found", "organization_not_found"})


async def _load_member_roles(conn: Connection, key: tuple[str, str]) -> frozenset[str]:
    """A member's current role ids from Stytch: the member-roles cache's loader
    (``agent_roles="intersect"``). A member Stytch does not know holds none; any other
    failure is :class:`StytchUnavailable` (the decision cannot be made, so it denies)."""
    organization_id, member_id = key
    try:
        body = await fetch_member(conn, organization_id, member_id)
    except StytchAPIError as exc:
        if exc.status_code == 404 and exc.error_type in _NO_MEMBER:
            return frozenset()
        raise StytchUnavailable(
            f"Stytch did not give the roles of member {member_id}: {exc.message}"
        ) from None
    except StytchUnavailable:
        raise
    except StytchRBACError as exc:  # a 401/403 on a backend call: our credentials, not theirs
        raise StytchUnavailable(
            f"Stytch refused to give the roles of member {member_id}: {exc.message}"
        ) from None
    try:
        return member_roles_from(body)
    except ValueError as exc:
        raise StytchUnavailable(
            f"Stytch's answer for member {member_id} does not parse: {exc}"
        ) from None


class _Link:
    """The :class:`Connection` the caches load through: a closed ``StytchRBAC`` that is
    opened again points it at a new pooled client, and every loader follows."""

    __slots__ = ("conn", "tracing")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.tracing: Tracing | None = None

    def bind(
        self, operation: str, load: Callable[..., Awaitable[_T]], *args: Any
    ) -> Callable[..., Awaitable[_T]]:
        """``load`` with the current connection (then ``args``) prepended at each call,
        in a span named after ``operation`` when tracing is on."""

        async def call(*more: Any) -> _T:
            tracing = self.tracing
            if tracing is None:
                return await load(self.conn, *args, *more)
            with tracing.span(operation):
                return await load(self.conn, *args, *more)

        return call


def _report_refusal(
    observer: Observer,
    source: DecisionSource,
    principal: Principal,
    organization_id: str | None,
    resource: str,
    action: str,
    reason: DenialReason,
    started: float,
) -> None:
    """Report a decision refused before any role was looked at (tenancy, no policy)."""
    observer.decided(
        source, principal, organization_id, resource, action, False, reason, no_grants, started
    )


class _Sealed:
    """A secret held where a traceback printed with locals shows only ``<secret>``."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<secret>"


def _require_text(value: object, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")


def _check_principal(principal: object) -> Principal:
    if not isinstance(principal, Principal):
        raise TypeError(
            f"expected a Principal (from StytchRBAC.authenticate), got {type(principal).__name__}"
        )
    return principal


def _check_machine(principal: object) -> MachinePrincipal:
    if not isinstance(principal, (AgentPrincipal, ServicePrincipal)):
        raise TypeError(
            "expected a Principal, an AgentPrincipal or a ServicePrincipal (from "
            f"StytchRBAC.authenticate or authenticate_access_token), got {type(principal).__name__}"
        )
    return principal


_P = TypeVar("_P", Principal, AnyPrincipal)


async def _reported(
    observer: Observer,
    credential: str | None,
    authenticate: Callable[[], Awaitable[tuple[_P, str]]],
) -> _P:
    """``authenticate()``'s principal, its outcome reported to ``observer``: authenticated
    (and who answered: the memo or Stytch), refused (with the reason) or unavailable.
    A cancelled authentication, or a bug, is not reported."""
    started = time.perf_counter()
    principal: _P | None = None
    answered_by: str | None = None
    outcome: AuthenticationOutcome | None = None
    reason: str | None = None
    try:
        principal, answered_by = await authenticate()
        outcome = AuthenticationOutcome.AUTHENTICATED
        return principal
    except Unauthenticated as exc:
        outcome, reason = AuthenticationOutcome.REFUSED, exc.reason
        raise
    except StytchUnavailable:
        outcome, reason = AuthenticationOutcome.UNAVAILABLE, "unavailable"
        raise
    finally:
        if outcome is not None:
            observer.authenticated(
                outcome=outcome,
                reason=reason,
                credential=credential,
                answered_by=answered_by,
                principal=principal,
                started=started,
                now=time.perf_counter(),
            )


# -- the decision rules, shared by this facade and the blocking one (stytch_rbac.sync) -------
# Each decision is: check the arguments (_decision_args), then, when it is about the
# principal's own organization, fetch that organization's policy (awaited here, read from
# the warm cache or through the loop there), then decide on it; None stands for "about
# another organization", where no policy is needed.


def _decision_args(
    principal: object, permission: object, action: object, organization_id: str | None
) -> tuple[Principal, str, str, bool]:
    """(principal, resource, action, whether it is about the principal's own organization)."""
    resource, action = _permission_args(permission, action)
    checked = _check_principal(principal)
    own = organization_id is None or organization_id == checked.organization_id
    return checked, resource, action, own


def _is_authorized_by(
    compiled: CompiledPolicy | None, principal: Principal, resource: str, action: str
) -> bool:
    return compiled is not None and compiled.allows(principal.roles, resource, action)


def _authorize_by(
    compiled: CompiledPolicy | None,
    principal: Principal,
    resource: str,
    action: str,
    organization_id: str | None,
) -> None:
    if compiled is None:
        raise TenancyError(
            principal.organization_id, organization_id, member_id=principal.member_id
        )
    if not compiled.allows(principal.roles, resource, action):
        raise PermissionDenied(
            resource,
            action,
            organization_id=principal.organization_id,
            member_id=principal.member_id,
        )


def _explain_by(
    compiled: CompiledPolicy | None, principal: Principal, resource: str, action: str
) -> Decision:
    if compiled is None:
        return Decision(False, str(resource), str(action))
    return compiled.decide(principal.roles, resource, action)


#: Who a guard admits unless told otherwise: member sessions (nothing widens silently).
_SESSIONS_ONLY: Final[tuple[PrincipalKind, ...]] = ("session",)
#: Who ``require_scopes`` admits by default: access tokens (sessions hold no scopes).
_TOKENS_ONLY: Final[tuple[PrincipalKind, ...]] = ("agent", "service")


class StytchRBAC:
    """The facade over Stytch B2B sessions and RBAC (see the module docs).

    ``project_id`` / ``secret``: the Stytch project credentials. ``base_url``:
    None picks Stytch test or live from the project id; any http(s) URL is
    accepted (the emulator). ``policy_ttl``: seconds a fetched policy, org
    policy or JWKS is fresh. ``max_stale``: seconds past which a cached value
    that could not be refreshed is no longer used (then
    :class:`StytchUnavailable`). ``jwt_max_age``: JWTs issued longer ago are
    re-checked with Stytch. ``leeway``: seconds of clock skew allowed on
    ``exp``/``nbf``/``iat``. ``timeout``: the bound on every network
    exchange, retries included. ``org_cache_size``: how many organizations'
    policies are kept. ``jwt_memo_size``: how many verified session JWTs (and access
    tokens, which share the memo) are remembered until they expire, so that a repeated
    one skips RSA (0: none; docs/caching.md says how to size it). ``strict``: raise
    :class:`UnknownPermission` for a resource or action the policy does not define.
    ``http_client``: your own ``httpx.AsyncClient`` (not closed by us). ``clock``: time
    source, for tests.

    ``project_domain``: the project's domain (``acme-1234.customers.stytch.dev``, or as an
    ``https://`` URL), whose ``https://{project_domain}`` issues Connected-App access
    tokens; ``token_issuers``: custom domains that issue them too
    (``https://login.acme.com``).
    :meth:`authenticate_access_token` accepts a token whose ``iss`` is one of those,
    ``stytch.com/{project_id}`` or the base URL (``access_token_issuers``).

    ``remote_auth_concurrency``: at most this many ``sessions/authenticate`` calls (session
    tokens, expired JWTs) in flight; more wait for a slot, within ``timeout``. Our own pool
    has that many connections on top of the 100 everything else uses, so a flood of bogus
    credentials never delays a policy or JWKS fetch (size your own ``http_client``'s pool
    above it). ``remote_auth_failure_ttl``: seconds a credential Stytch refused is answered
    from memory (by SHA-256, at most ``remote_auth_failure_cache_size`` of them; 0: off).
    ``on_decision``: called with a :class:`~stytch_rbac.observe.DecisionEvent` for
    every decision (``is_authorized``, ``authorize``, ``explain``, guards, member
    pre-flights); ``decisions``: which allows it gets (``"all"``, ``"denials"`` or a
    sampling rate; denials always). ``on_authentication``: called with an
    :class:`~stytch_rbac.observe.AuthenticationEvent` for every authentication. Both
    are plain callables run inline (keep them quick: an async sink is a queue you
    put into); one that raises is logged once and never changes a decision.
    See docs/observability.md.

    Machine callers (docs/guides/agents-and-machines.md): ``agent_roles``: ``"ignore"``
    decides a Connected-App token (an agent) by the policy's scopes alone; ``"intersect"``
    also requires its member's current roles (fetched from Stytch, cached for
    ``agent_roles_ttl`` seconds and never served stale) to allow it, so a role change bites
    before the token expires. ``m2m_scopes``: ``"policy"`` decides an M2M token (a service)
    by the policy's scopes; ``"stytch"`` by Stytch's ``action:resource`` matching.
    ``service_organizations``: how a service maps to organizations, for decisions that name
    one: a callable of the :class:`~stytch_rbac.ServicePrincipal` returning organization
    ids, or the name of a custom claim of its token holding them; None (default): a service
    may act in no organization.
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
    ) -> None:
        _require_text(project_id, "project_id")
        _require_text(secret, "secret")
        self.__secret = secret
        del secret  # out of this frame: a traceback printed with locals must not show it
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        if not policy_ttl > 0:
            raise ValueError(f"policy_ttl must be > 0 seconds, got {policy_ttl!r}")
        if max_stale < policy_ttl:
            raise ValueError(f"max_stale ({max_stale!r}) must be >= policy_ttl ({policy_ttl!r})")
        if isinstance(org_cache_size, bool) or org_cache_size < 1:
            raise ValueError(f"org_cache_size must be a positive int, got {org_cache_size!r}")
        if type(jwt_memo_size) is not int or jwt_memo_size < 0:
            raise ValueError(
                f"jwt_memo_size must be an int >= 0 (0 turns the memo off), got {jwt_memo_size!r}"
            )
        ttl: object = agent_roles_ttl
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0:
            raise ValueError(f"agent_roles_ttl must be > 0 seconds, got {agent_roles_ttl!r}")
        self._machine = MachineRules(agent_roles, m2m_scopes, service_organizations)
        # The machine kinds decided by the project policy's scopes alone (no member roles,
        # not Stytch's M2M rule): the warm is_authorized decides them inline, once per build.
        self._by_scopes_alone: frozenset[type] = frozenset(
            kind
            for kind, alone in (
                (AgentPrincipal, agent_roles == "ignore"),
                (ServicePrincipal, m2m_scopes == "policy"),
            )
            if alone
        )
        self.project_id = project_id
        self.base_url: str = resolve_base_url(project_id, base_url)
        #: The project's domain as a host (``acme-1234.customers.stytch.dev``), or None.
        self.project_domain: str | None = (
            None if project_domain is None else normalize_domain(project_domain)
        )
        #: The ``iss`` values :meth:`authenticate_access_token` accepts.
        self.access_token_issuers: frozenset[str] = accepted_issuers(
            project_id, self.base_url, self.project_domain, token_issuers
        )
        self._given_base_url = base_url
        self.policy_ttl: float = float(policy_ttl)
        self.max_stale: float = float(max_stale)
        self.timeout: float = float(timeout)
        self.strict = strict
        self.clock: Clock = clock or SystemClock()
        self._remote = RemoteAuthenticator(
            self._sessions_authenticate,
            timeout=self.timeout,
            clock=self.clock,
            concurrency=remote_auth_concurrency,
            failure_ttl=remote_auth_failure_ttl,
            failure_cache_size=remote_auth_failure_cache_size,
        )
        from ._stytch.http import RetryPolicy

        self.retry: RetryPolicy = RetryPolicy()
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else self._new_pool()
        self._link = _Link(
            Connection(
                self._http,
                Credentials(project_id, self.__secret, self.base_url),
                timeout=self.timeout,
                retry=self.retry,
            )
        )
        self._tg: anyio.abc.TaskGroup | None = None
        self._closed = False
        self._stytch: B2BClient | None = None
        #: The :class:`~stytch_rbac.observe.Observer` events go through, or None when
        #: nobody observes (then a decision pays one ``is None`` test). Set by observe().
        self.observer: Observer | None = None
        self._decisions: DecisionSampling = check_sampling(decisions)

        # The caches call down, never back into this facade: each loader is an endpoint
        # of _stytch on this client's connection (held by _link, which a re-open points at
        # a new pool), then parsing (see _PolicyLoader).
        self._policy_loader = _PolicyLoader(strict)
        self._policy_cache: RefreshingCache[str, CompiledPolicy] = RefreshingCache(
            self._link.bind("rbac.policy", self._policy_loader),
            name="RBAC policy",
            ttl=policy_ttl,
            max_stale=max_stale,
            clock=self.clock,
            spawn=self._spawn,
            on_update=self._policy_swapped,
        )
        # (organization, project policy digest, problems) already logged: see _org_roles_unfit.
        self._unfit_logged: OrderedDict[Hashable, None] = OrderedDict()
        self._unfit_log_size = org_cache_size
        self._org_cache: RefreshingCache[str, _OrgPolicyEntry] = RefreshingCache(
            self._link.bind("rbac.org_policy", _load_org_policy),
            name="organization policy",
            ttl=policy_ttl,
            max_stale=max_stale,
            clock=self.clock,
            maxsize=org_cache_size,
            spawn=self._spawn,
            describe=lambda organization_id: f"organization policy of {organization_id}",
        )
        # An agent's member's current roles (agent_roles="intersect"), by (organization,
        # member): briefly cached, and never served stale (max_stale = ttl), so a role change
        # bites within agent_roles_ttl and an unreachable Stytch denies instead of allowing.
        self._member_roles: RefreshingCache[tuple[str, str], frozenset[str]] = RefreshingCache(
            self._link.bind("organizations.members.get", _load_member_roles),
            name="member roles",
            ttl=agent_roles_ttl,
            max_stale=agent_roles_ttl,
            clock=self.clock,
            maxsize=org_cache_size,
            spawn=self._spawn,
            describe=lambda key: f"roles of member {key[1]}",
        )
        self._verifier: SessionJWTVerifier
        # One memo for every kind of token (session JWTs and access tokens): one bound, one
        # forget on a key rotation; each verifier answers only for its own kinds from it.
        self._memo: TokenMemo[AnyPrincipal] = TokenMemo(jwt_memo_size)
        self._jwks = JWKSCache(
            self._link.bind("sessions.jwks", fetch_jwks),
            ttl=policy_ttl,
            max_stale=max_stale,
            clock=self.clock,
            spawn=self._spawn,
            on_rotate=lambda withdrawn: self._verifier.forget(withdrawn),
        )
        self._verifier = SessionJWTVerifier(
            project_id=project_id,
            base_url=self.base_url,
            jwks=self._jwks,
            clock=self.clock,
            leeway=leeway,
            max_age=jwt_max_age,
            memo=self._memo,
        )
        self._access = AccessTokenVerifier(
            project_id=project_id,
            issuers=self.access_token_issuers,
            jwks=self._jwks,
            clock=self.clock,
            leeway=leeway,
            memo=self._memo,
        )
        if on_decision is not None or on_authentication is not None:
            observer = self.observe()
            if on_decision is not None:
                observer.add_decision_sink(on_decision)
            if on_authentication is not None:
                observer.add_authentication_sink(on_authentication)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **options: Any) -> StytchRBAC:
        """Build from ``STYTCH_PROJECT_ID``, ``STYTCH_SECRET`` and the optional
        ``STYTCH_BASE_URL`` and ``STYTCH_PROJECT_DOMAIN`` (the issuer of Connected-App
        access tokens, see ``project_domain``).

        ``options`` are passed to the constructor (``policy_ttl=...``, ...) and win over
        the environment.
        """
        source = os.environ if env is None else env
        missing = [k for k in ("STYTCH_PROJECT_ID", "STYTCH_SECRET") if not source.get(k)]
        project_id = source.get("STYTCH_PROJECT_ID", "")
        options.setdefault("base_url", source.get("STYTCH_BASE_URL") or None)
        options.setdefault("project_domain", source.get("STYTCH_PROJECT_DOMAIN") or None)
        secret = _Sealed(source.get("STYTCH_SECRET", ""))
        # Neither the environment nor the secret stays a local of this frame in clear: a
        # traceback printed with locals (a bad option raises in the constructor) shows neither.
        del source, env
        if missing:
            raise ValueError(f"environment variable(s) not set: {', '.join(missing)}")
        return cls(project_id, secret.value, **options)

    def __repr__(self) -> str:
        # getattr: a traceback printed with locals may show one still being constructed.
        project_id, base_url = getattr(self, "project_id", None), getattr(self, "base_url", None)
        return f"<StytchRBAC project_id={project_id!r} base_url={base_url!r}>"

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> StytchRBAC:
        if self._tg is not None:
            raise RuntimeError(
                "this StytchRBAC is already in use by an `async with` block; one block (or "
                "one app lifespan) at a time"
            )
        if self._closed:
            self._reopen()
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tg, self._tg = self._tg, None
        try:
            if tg is not None:
                tg.cancel_scope.cancel()
                # Not the caller's exception: handed to the task group it would come
                # back wrapped in an ExceptionGroup. Background refreshes handle their
                # own errors, so the caller's exception propagates as it was raised.
                await tg.__aexit__(None, None, None)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the httpx client if we created it. Idempotent.

        A closed ``StytchRBAC`` can be opened again with ``async with`` (a
        module-level one opened by each run of an app's lifespan, say): it gets a
        new pooled client and keeps what its caches hold.
        """
        if self._closed:
            return
        self._closed = True
        for cache in (self._policy_cache, self._org_cache, self._jwks.cache, self._member_roles):
            cache.close()
        if self._owns_http:
            await self._http.aclose()

    def _reopen(self) -> None:
        """Make a closed facade usable again: a new pooled client (when the old one was
        ours), a new SDK client over it on first use, caches loading again."""
        if not self._owns_http and self._http.is_closed:
            raise RuntimeError(
                "this StytchRBAC is closed, and the httpx.AsyncClient passed as http_client= "
                "is closed too: open it again with an open client, i.e. create a new "
                "StytchRBAC(..., http_client=<an open httpx.AsyncClient>)"
            )
        if self._owns_http:
            self._http = self._new_pool()
            old = self._link.conn
            self._link.conn = Connection(
                self._http, old.credentials, timeout=old.timeout, retry=old.retry
            )
        self._stytch = None  # the SDK client is bound to the old pool: rebuilt on first use
        self._remote.reset()
        for cache in (self._policy_cache, self._org_cache, self._jwks.cache, self._member_roles):
            cache.reopen()
        self._closed = False

    def _new_pool(self) -> httpx.AsyncClient:
        """Our own pooled client: 100 connections, plus one per remote-authentication slot."""
        from ._stytch.http import make_http_client

        return make_http_client(
            timeout=self.timeout, max_connections=_POOL_CONNECTIONS + self._remote.concurrency
        )

    def _spawn(self, fn: Callable[[], Coroutine[Any, Any, None]]) -> bool:
        if self._tg is None or self._closed:
            return False
        self._tg.start_soon(fn)
        return True

    @property
    def http(self) -> httpx.AsyncClient:
        """The pooled httpx client that carries every request (the stytch SDK's included)."""
        return self._http

    @property
    def stytch(self) -> B2BClient:
        """The ``stytch.B2BClient``, built on first use; its ``*_async`` methods run over
        :attr:`http` (no aiohttp session), on asyncio and trio."""
        if self._stytch is None:
            from ._stytch.sdk import make_stytch_client

            self._stytch = make_stytch_client(
                self.project_id,
                self.__secret,
                self._http,
                environment=self._given_base_url,
                timeout=self.timeout,
                retry=self.retry,
            )
        return self._stytch

    def cache_info(self) -> dict[str, CacheStats]:
        """Counters and sizes of the caches: ``policy``, ``org_policies``, ``jwks`` and
        ``member_roles`` (agents' members' roles, ``agent_roles="intersect"``)."""
        return {
            "policy": self._policy_cache.info(),
            "org_policies": self._org_cache.info(),
            "jwks": self._jwks.cache.info(),
            "member_roles": self._member_roles.info(),
        }

    @property
    def agent_roles(self) -> AgentRoles:
        """Whether an agent's member's current roles must allow it too (``"intersect"``)."""
        return self._machine.agent_roles

    @property
    def m2m_scopes(self) -> M2MScopes:
        """How services' scopes are read: the policy's (``"policy"``) or Stytch's M2M rule."""
        return self._machine.m2m_scopes

    @property
    def service_organizations(self) -> ServiceOrganizations | None:
        """How services map to organizations (a callable or a claim name), or None."""
        return self._machine.service_organizations

    # -- observing ------------------------------------------------------------------------------

    @property
    def jwt_memo_size(self) -> int:
        """How many verified tokens (session JWTs and access tokens) are remembered (answered
        without RSA)."""
        return len(self._memo)

    @property
    def tracing(self) -> Tracing | None:
        """Spans around every remote call (policy, org policy, JWKS, sessions/authenticate,
        member calls), or None; :func:`~stytch_rbac.observe.otel.instrument` sets it."""
        return self._link.tracing

    @tracing.setter
    def tracing(self, tracing: Tracing | None) -> None:
        self._link.tracing = tracing

    def observe(self) -> Observer:
        """The observer, created on first call: add sinks to it
        (``rbac.observe().add_decision_sink(fn)``); OpenTelemetry's
        :func:`~stytch_rbac.observe.otel.instrument` does."""
        if self.observer is None:
            self.observer = Observer(
                policy_snapshot=self._policy_cache.holder(_POLICY),
                # time.time itself for the real clock: one Python call less per decision.
                now=time.time if type(self.clock) is SystemClock else self.clock.time,
                policy_ttl=self.policy_ttl,
                strict=self.strict,
                sha256_of=self._policy_sha256,
                decisions=self._decisions,
            )
        return self.observer

    def policy_facts(self) -> PolicyFacts:
        """``(sha256, age, stale)`` of the project policy held: its canonical hash, seconds
        since it was fetched, whether it is past ``policy_ttl`` (served stale). All None /
        False before the first fetch. No network, no refresh: for health checks."""
        cache = self._policy_cache
        held = cache.held(_POLICY)
        if held is None:
            return None, None, False
        compiled, fetched_at = held
        age = max(0.0, self.clock.time() - fetched_at)
        return self._policy_sha256(compiled), age, age > cache.ttl

    def _policy_sha256(self, compiled: CompiledPolicy) -> str:
        """The canonical sha256 of ``compiled``'s policy (:meth:`policy_facts` and every
        observed decision): computed once per policy, by the policy, with no model built."""
        return compiled.sha256()

    # -- fetching -------------------------------------------------------------------------------

    @property
    def _conn(self) -> Connection:
        return self._link.conn

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(
                "this StytchRBAC is closed (aclose(), or the end of its `async with` block or "
                "app lifespan); open it again with `async with rbac:` or, in a web app, "
                "stytch_rbac.integrations.fastapi.lifespan(rbac) / .starlette.lifespan(rbac)"
            )

    def _policy_swapped(self, _key: str, old: CompiledPolicy | None, new: CompiledPolicy) -> None:
        """Let a replaced project policy be freed in a worker thread, not on the event loop,
        and in pieces (:mod:`stytch_rbac.policy.retire`): freeing a 10,000-role policy's
        objects in one go would hold the GIL for milliseconds.
        (A merged org policy still using it frees it when that org is next merged.)"""
        if old is None or old is new:
            return
        retired = [old]
        del old

        async def free() -> None:
            await anyio.to_thread.run_sync(release_in_pieces, retired)

        self._spawn(free)

    def _org_roles_unfit(self, organization_id: str, problems: tuple[PolicyProblem, ...]) -> None:
        """Log, once per organization, project-policy version and problems, the custom roles
        that are ignored because they no longer fit the project policy."""
        key = (organization_id, self._policy_loader.digest, problems)
        if key in self._unfit_logged:
            return
        self._unfit_logged[key] = None
        if len(self._unfit_logged) > self._unfit_log_size:
            self._unfit_logged.popitem(last=False)
        roles = sorted({problem.subject for problem in problems})
        logger.warning(
            "stytch_rbac: organization %s: custom role(s) %s no longer fit the project policy "
            "and grant nothing (as in Stytch's own check) until the org policy is fixed: %s",
            organization_id,
            ", ".join(map(repr, roles)),
            "; ".join(problem.message for problem in problems),
        )

    # -- authentication -------------------------------------------------------------------------

    async def authenticate(
        self, *, session_jwt: str | None = None, session_token: str | None = None
    ) -> Principal:
        """Authenticate a member session and return its :class:`Principal`.

        ``session_jwt`` is verified locally; only an expired JWT (or one older
        than ``jwt_max_age``) goes to Stytch, and the Principal then carries the
        fresh JWT (``jwt_refreshed=True``). ``session_token`` always asks
        Stytch. Raises :class:`Unauthenticated` (with ``reason``) for a
        missing, malformed, forged, expired or revoked credential and
        :class:`StytchUnavailable` when Stytch is needed and unreachable.
        """
        for name, value in (("session_jwt", session_jwt), ("session_token", session_token)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str, got {type(value).__name__}")
        if session_jwt and session_token:
            raise ValueError("pass session_jwt or session_token, not both")
        observer = self.observer
        if observer is not None:
            return await self._observed_authentication(observer, session_jwt, session_token)
        principal, _ = await self._authenticate(session_jwt, session_token)
        return principal

    async def _authenticate(
        self, session_jwt: str | None, session_token: str | None
    ) -> tuple[Principal, str]:
        """The principal and what answered: ``memo``, ``local`` or ``stytch``."""
        if session_jwt:
            principal = self._verifier.remembered(session_jwt)
            if principal is not None:
                return principal, "memo"
            try:
                return await self._verifier.verify(session_jwt), "local"
            except StaleJWT:
                return await self._authenticate_remote({"session_jwt": session_jwt}), "stytch"
        if session_token:
            return await self._authenticate_remote({"session_token": session_token}), "stytch"
        raise Unauthenticated("missing", "no session JWT or session token was presented")

    async def _observed_authentication(
        self, observer: Observer, session_jwt: str | None, session_token: str | None
    ) -> Principal:
        credential = "session_jwt" if session_jwt else "session_token" if session_token else None
        return await _reported(
            observer, credential, lambda: self._authenticate(session_jwt, session_token)
        )

    async def authenticate_access_token(
        self, token: str, *, accept: Collection[PrincipalKind] = ACCESS_TOKEN_KINDS
    ) -> AnyPrincipal:
        """Authenticate a bearer token: an :class:`~stytch_rbac.AgentPrincipal` for a
        Connected-App access token, a :class:`~stytch_rbac.ServicePrincipal` for an M2M
        token, verified locally (the JWKS cache and the memo of session JWTs).

        The kind comes from the token's claims (:func:`stytch_rbac.auth.access_token.token_kind`);
        one not in ``accept`` is refused (``Unauthenticated("wrong_kind")``). With
        ``"session"`` in ``accept`` a session JWT is authenticated as :meth:`authenticate`
        does it. Raises :class:`Unauthenticated` (``missing``, ``malformed``, ``forged``,
        ``invalid_claims``: audience, issuer, not yet valid; ``expired``, ``wrong_kind``)
        and :class:`StytchUnavailable` when the JWKS is needed and unreachable.
        """
        accepted = accepted_kinds(accept)
        observer = self.observer
        if observer is not None:
            return await self._observed_access_token(observer, token, accepted)
        # _authenticate_access_token written out: one coroutine less for a fresh token.
        verifier = self._access
        if type(token) is str:
            hit = verifier.remembered(token)
            if hit is not None:
                if hit.kind in accepted:
                    return hit
                raise Unauthenticated("wrong_kind", f"a {hit.kind} token is not accepted here")
        unverified = verifier.read(token)
        kind = unverified[0]
        if kind not in accepted:
            raise Unauthenticated("wrong_kind", f"a {kind} token is not accepted here")
        if kind == "session":
            principal, _ = await self._authenticate(token, None)
            return principal
        return await verifier.verify_read(token, unverified)

    async def _authenticate_access_token(
        self, token: str, accepted: frozenset[PrincipalKind]
    ) -> tuple[AnyPrincipal, str]:
        """The principal and what answered: ``memo``, ``local`` or ``stytch`` (a session JWT
        past its ``exp``)."""
        verifier = self._access
        if type(token) is str:
            hit = verifier.remembered(token)
            if hit is not None:
                if hit.kind in accepted:
                    return hit, "memo"
                raise Unauthenticated("wrong_kind", f"a {hit.kind} token is not accepted here")
        unverified = verifier.read(token)
        kind = unverified[0]
        if kind not in accepted:
            raise Unauthenticated("wrong_kind", f"a {kind} token is not accepted here")
        if kind == "session":
            return await self._authenticate(token, None)
        return await verifier.verify_read(token, unverified), "local"

    async def _observed_access_token(
        self, observer: Observer, token: str, accepted: frozenset[PrincipalKind]
    ) -> AnyPrincipal:
        return await _reported(
            observer, "access_token", lambda: self._authenticate_access_token(token, accepted)
        )

    def _remembered_access_token(
        self, token: str, accepted: frozenset[PrincipalKind]
    ) -> AnyPrincipal | None:
        """The principal of a token verified before, still valid and of a kind in
        ``accepted``, else None: the blocking facade's warm path for
        :meth:`authenticate_access_token` (a refusal is left to the loop, which reports it)."""
        try:
            hit = self._access.remembered(token)
        except KeyError:  # the memo was changed by another thread meanwhile: ask the loop
            return None
        return hit if hit is not None and hit.kind in accepted else None

    def _remembered(self, session_jwt: str) -> Principal | None:
        """The Principal of a session JWT verified before and still valid, else None: the
        look-up :meth:`authenticate` starts with, synchronous (the blocking facade's warm
        path)."""
        try:
            return self._verifier.remembered(session_jwt)
        except KeyError:  # the memo was changed by another thread meanwhile: ask the loop
            return None

    async def _sessions_authenticate(
        self,
        body: Mapping[str, str],
        timeout: float,  # noqa: ASYNC109  (what is left of the remote authentication's)
    ) -> dict[str, Any]:
        return await authenticate_session(self._conn, body, timeout)

    async def _authenticate_remote(self, body: dict[str, str]) -> Principal:
        self._check_open()
        # Bounded concurrency, refusals remembered briefly by hash (auth/remote.py).
        tracing = self._link.tracing
        if tracing is None:
            data = await self._remote.authenticate(body)
        else:
            with tracing.span("sessions.authenticate"):
                data = await self._remote.authenticate(body)
        try:
            presented_jwt = body.get("session_jwt")
            new_jwt = data.get("session_jwt") or presented_jwt
            return principal_from_member_session(
                data.get("member_session"),
                session_jwt=new_jwt,
                session_token=data.get("session_token") or body.get("session_token"),
                jwt_refreshed=presented_jwt is not None and new_jwt != presented_jwt,
            )
        except (ValueError, AttributeError, TypeError) as exc:
            raise StytchUnavailable(
                f"Stytch's sessions/authenticate answer does not parse: {exc}"
            ) from None

    # -- policy ---------------------------------------------------------------------------------

    async def policy(self, organization_id: str | None = None) -> CompiledPolicy:
        """The project policy, or merged with ``organization_id``'s custom roles (those
        that no longer fit the project policy are ignored and logged, as in Stytch's
        check). To decide for one member, :meth:`policy_for` fetches less."""
        project = await self._policy_cache.get(_POLICY)
        if organization_id is None:
            return project
        org = await self._org_cache.get(organization_id)
        return org.merged_with(project, self._org_roles_unfit)

    async def _policy_for(self, principal: Principal) -> CompiledPolicy:
        """:meth:`policy_for`, the decision path (the principal already checked)."""
        project = await self._policy_cache.get(_POLICY)
        if project.defines_roles(principal.roles):
            return project
        org = await self._org_cache.get(principal.organization_id)
        return org.merged_with(project, self._org_roles_unfit)

    async def policy_for(self, principal: Principal) -> CompiledPolicy:
        """The policy that decides for ``principal``, in its own organization.

        The project policy when every role the principal holds is a project role:
        an org custom role grants only to a member holding its id, and Stytch
        refuses org role ids that are project roles', so no org policy can change
        an answer for them, and none is fetched. Otherwise the project policy
        merged with the organization's custom roles, as :meth:`policy` gives it.
        For the principal's roles, both answer every question alike.
        """
        return await self._policy_for(_check_principal(principal))

    def _policy_now(self, organization_id: str | None) -> CompiledPolicy | None:
        """What :meth:`policy` would return at once, when every value it needs is cached and
        fresh; None when it would have to wait, refresh or merge. Synchronous and safe from
        any thread: the blocking facade's warm path (``stytch_rbac.sync``)."""
        project = self._policy_cache.peek(_POLICY, None)
        if project is None or organization_id is None:
            return project
        org = self._org_cache.peek(organization_id, None)
        return None if org is None else org.merged_now(project)

    def _policy_now_for(self, principal: Principal) -> CompiledPolicy | None:
        """:meth:`policy_for` at once from the caches, or None (as :meth:`_policy_now`):
        a member holding only project roles needs no org policy, here too."""
        project = self._policy_cache.peek(_POLICY, None)
        if project is None or project.defines_roles(principal.roles):
            return project
        org = self._org_cache.peek(principal.organization_id, None)
        return None if org is None else org.merged_now(project)

    async def refresh_policy(self, organization_id: str | None = None) -> CompiledPolicy:
        """Fetch the project policy now (and ``organization_id``'s, if given), waiting for it.

        For callers who know the policy changed. On failure the cached values
        stay in place and :class:`StytchUnavailable` is raised.
        """
        self._check_open()
        project = await self._policy_cache.load(_POLICY)
        if organization_id is None:
            return project
        org = await self._org_cache.load(organization_id)
        return org.merged_with(project, self._org_roles_unfit)

    def invalidate(self, organization_id: str | None = None) -> None:
        """Forget ``organization_id``'s cached policy (or, with None, every cached policy):
        the next decision waits for a fresh fetch."""
        if organization_id is None:
            self._policy_cache.invalidate()
            self._org_cache.invalidate()
        else:
            self._org_cache.invalidate(organization_id)

    # -- decisions ------------------------------------------------------------------------------

    @overload
    async def is_authorized(
        self,
        principal: AnyPrincipal,
        permission: Permission | ActionEnum | str,
        /,
        *,
        organization_id: str | None = None,
    ) -> bool: ...

    @overload
    async def is_authorized(
        self,
        principal: AnyPrincipal,
        resource: str,
        action: str,
        /,
        *,
        organization_id: str | None = None,
    ) -> bool: ...

    async def is_authorized(
        self,
        principal: AnyPrincipal,
        permission: Permission | ActionEnum | str,
        action: str | None = None,
        /,
        *,
        organization_id: str | None = None,
    ) -> bool:
        """Whether ``principal`` may do it, in its own organization (or ``organization_id``).

        The permission is a :class:`Permission`, a generated action enum member,
        a ``"resource:action"`` string (split rule: :mod:`stytch_rbac.permissions`),
        or a resource and an action. Never raises on a denial; a different
        ``organization_id`` than the principal's is denied. Raises
        :class:`UnknownPermission` in strict mode and :class:`StytchUnavailable`
        when no policy young enough is at hand.

        An agent or a service (an access token's principal) is decided by its scopes
        (:mod:`stytch_rbac.machine_rules`); another organization than an agent's, or any
        organization for a service not mapped to it, is denied.
        """
        if not isinstance(principal, Principal):
            resource, action = _permission_args(permission, action)
            if self.observer is None:
                if type(principal) in self._by_scopes_alone and (
                    organization_id is None
                    or organization_id == getattr(principal, "organization_id", None)
                ):  # the common case, inline: its own organization, or project-wide
                    project = self._policy_cache.peek(_POLICY, None)
                    allowed = (
                        None
                        if project is None
                        else project.scope_allows(principal.scopes, resource, action)
                    )
                else:
                    allowed = self._machine_allows_now(principal, resource, action, organization_id)
                if allowed is not None:
                    return allowed
            try:
                decision = await self._decide_machine(
                    _IS_AUTHORIZED, principal, resource, action, organization_id
                )
            except TenancyError:
                return False
            return decision.allowed
        principal, resource, action, own = _decision_args(
            principal, permission, action, organization_id
        )
        observer = self.observer
        if observer is None:
            compiled = await self._policy_for(principal) if own else None
            return _is_authorized_by(compiled, principal, resource, action)
        # Observed, inline (a coroutine of its own would cost more than the event).
        started = perf_counter()
        if not own:
            _report_refusal(
                observer, _IS_AUTHORIZED, principal, organization_id, resource, action,
                _TENANCY, started,
            )  # fmt: skip
            return False
        try:
            compiled = await self._policy_for(principal)
        except StytchUnavailable:
            _report_refusal(
                observer, _IS_AUTHORIZED, principal, organization_id, resource, action,
                _UNAVAILABLE, started,
            )  # fmt: skip
            raise
        return observer.allows(
            _IS_AUTHORIZED, compiled, principal, resource, action, organization_id, started
        )

    @overload
    async def authorize(
        self,
        principal: AnyPrincipal,
        permission: Permission | ActionEnum | str,
        /,
        *,
        organization_id: str | None = None,
    ) -> None: ...

    @overload
    async def authorize(
        self,
        principal: AnyPrincipal,
        resource: str,
        action: str,
        /,
        *,
        organization_id: str | None = None,
    ) -> None: ...

    async def authorize(
        self,
        principal: AnyPrincipal,
        permission: Permission | ActionEnum | str,
        action: str | None = None,
        /,
        *,
        organization_id: str | None = None,
    ) -> None:
        """Return None if allowed; raise :class:`TenancyError` for another organization,
        :class:`PermissionDenied` when no role grants it (for an agent or a service: no
        scope, see :meth:`is_authorized`)."""
        if not isinstance(principal, Principal):
            resource, action = _permission_args(permission, action)
            decision = None
            if self.observer is None:  # at once from the fresh policy, as is_authorized
                decision = self._machine_now(principal, resource, action, organization_id)
            if decision is None:
                decision = await self._decide_machine(
                    _AUTHORIZE, principal, resource, action, organization_id
                )
            if not decision.allowed:
                raise denied(principal, decision.resource, decision.action)
            return
        principal, resource, action, own = _decision_args(
            principal, permission, action, organization_id
        )
        observer = self.observer
        if observer is None:
            compiled = await self.policy(principal.organization_id) if own else None
            _authorize_by(compiled, principal, resource, action, organization_id)
            return
        started = perf_counter()
        if not own:
            _report_refusal(
                observer, _AUTHORIZE, principal, organization_id, resource, action, _TENANCY,
                started,
            )  # fmt: skip
            raise TenancyError(
                principal.organization_id, organization_id, member_id=principal.member_id
            )
        try:
            compiled = await self._policy_for(principal)
        except StytchUnavailable:
            _report_refusal(
                observer, _AUTHORIZE, principal, organization_id, resource, action,
                _UNAVAILABLE, started,
            )  # fmt: skip
            raise
        if not observer.allows(
            _AUTHORIZE, compiled, principal, resource, action, organization_id, started
        ):
            raise PermissionDenied(
                resource,
                action,
                organization_id=principal.organization_id,
                member_id=principal.member_id,
            )

    @overload
    async def explain(
        self,
        principal: AnyPrincipal,
        permission: Permission | ActionEnum | str,
        /,
        *,
        organization_id: str | None = None,
    ) -> Decision: ...

    @overload
    async def explain(
        self,
        principal: AnyPrincipal,
        resource: str,
        action: str,
        /,
        *,
        organization_id: str | None = None,
    ) -> Decision: ...

    async def explain(
        self,
        principal: AnyPrincipal,
        permission: Permission | ActionEnum | str,
        action: str | None = None,
        /,
        *,
        organization_id: str | None = None,
    ) -> Decision:
        """The :class:`Decision` (allowed, and which of the principal's roles grant it).

        Another organization than the principal's gives a denial with no granting roles.
        For an agent or a service ``granted_by`` names the token's scopes that grant it
        (with ``agent_roles="intersect"``, only when the member's roles allow it too).
        """
        if not isinstance(principal, Principal):
            resource, action = _permission_args(permission, action)
            try:
                return await self._decide_machine(
                    _EXPLAIN, principal, resource, action, organization_id
                )
            except TenancyError:
                return Decision(False, str(resource), str(action))
        principal, resource, action, own = _decision_args(
            principal, permission, action, organization_id
        )
        observer = self.observer
        if observer is None:
            compiled = await self._policy_for(principal) if own else None
            return _explain_by(compiled, principal, resource, action)
        started = perf_counter()
        if not own:
            _report_refusal(
                observer, _EXPLAIN, principal, organization_id, resource, action, _TENANCY,
                started,
            )  # fmt: skip
            return _explain_by(None, principal, resource, action)
        try:
            compiled = await self._policy_for(principal)
        except StytchUnavailable:
            _report_refusal(
                observer, _EXPLAIN, principal, organization_id, resource, action,
                _UNAVAILABLE, started,
            )  # fmt: skip
            raise
        observer.allows(_EXPLAIN, compiled, principal, resource, action, organization_id, started)
        return _explain_by(compiled, principal, resource, action)

    async def verify(self, module: ModuleType, *, strict: bool = False) -> Drift:
        """Compare a module generated by ``stytch-rbac generate`` with the live policy.

        Returns the :class:`~stytch_rbac.codegen.Drift` (falsy when the ids
        match); with ``strict=True`` a drift raises
        :class:`~stytch_rbac.codegen.PolicyDriftError` instead. For start-up checks.
        """
        from .codegen import PolicyDriftError, drift

        result = drift(module, await self.policy())
        if strict and result:
            raise PolicyDriftError(result)
        return result

    async def permissions(self, principal: AnyPrincipal) -> dict[str, dict[str, bool]]:
        """``{resource: {action: allowed}}`` for every permission in the principal's policy
        (an agent's or a service's by its scopes, on the project policy)."""
        if not isinstance(principal, Principal):
            machine = _check_machine(principal)
            rules = self._machine
            table = rules.scope_table(await self._policy_cache.get(_POLICY), machine)
            if isinstance(machine, AgentPrincipal) and rules.needs_roles(machine):
                roles = await self._roles_of(machine)
                compiled = await self._policy_for_roles(machine.organization_id, roles)
                table = intersect_tables(table, compiled.permissions(roles))
            return table
        principal = _check_principal(principal)
        compiled = await self._policy_for(principal)
        return compiled.permissions(principal.roles)

    # -- decisions for access tokens (agents and services) ---------------------------------

    async def _decide_machine(
        self,
        source: DecisionSource,
        principal: object,
        resource: str,
        action: str,
        organization_id: str | None,
    ) -> Decision:
        """The decision for an agent or a service (:mod:`stytch_rbac.machine_rules`),
        reported: the Decision (``granted_by`` the granting scopes), or TenancyError,
        UnknownPermission, StytchUnavailable raised."""
        machine = _check_machine(principal)
        observer = self.observer
        started = perf_counter()
        rules = self._machine
        refusal = rules.tenancy_refusal(machine, organization_id)
        if refusal is not None:
            if observer is not None:
                observer.decided_by_scopes(
                    source, machine, organization_id, resource, action, False, _TENANCY,
                    no_grants, started,
                )  # fmt: skip
            raise refusal
        reason: DenialReason | None = _UNAVAILABLE
        try:
            project = await self._policy_cache.get(_POLICY)
            reason = _UNKNOWN_PERMISSION
            decision = rules.scope_decision(project, machine, resource, action)
            if (
                decision.allowed
                and isinstance(machine, AgentPrincipal)
                and rules.needs_roles(machine)
            ):
                reason = _UNAVAILABLE
                roles = await self._roles_of(machine)
                compiled = await self._policy_for_roles(machine.organization_id, roles)
                if not compiled.allows(roles, resource, action):
                    decision = Decision(False, decision.resource, decision.action)
        except (StytchUnavailable, UnknownPermission):
            if observer is not None:
                observer.decided_by_scopes(
                    source, machine, organization_id, resource, action, False, reason,
                    no_grants, started,
                )  # fmt: skip
            raise
        if observer is not None:
            observer.decided_by_scopes(
                source, machine, organization_id, decision.resource, decision.action,
                decision.allowed, None if decision.allowed else _NO_GRANT,
                tuple(decision.granted_by), started,
            )  # fmt: skip
        return decision

    async def _roles_of(self, principal: AgentPrincipal) -> frozenset[str]:
        """The current roles of an agent's member (``agent_roles="intersect"``)."""
        self._check_open()
        return await self._member_roles.get((principal.organization_id, principal.member_id))

    async def _policy_for_roles(
        self, organization_id: str, roles: frozenset[str]
    ) -> CompiledPolicy:
        """:meth:`_policy_for` for roles held by a member of ``organization_id``."""
        project = await self._policy_cache.get(_POLICY)
        if project.defines_roles(roles):
            return project
        org = await self._org_cache.get(organization_id)
        return org.merged_with(project, self._org_roles_unfit)

    def _machine_now(
        self, principal: object, resource: str, action: str, organization_id: str | None
    ) -> Decision | None:
        """The decision for an agent or a service at once, when nothing needs waiting for or
        reporting (no observer, no member roles, the project policy fresh), else None: the
        blocking facade's warm path. Raises TenancyError and UnknownPermission."""
        machine = _check_machine(principal)
        rules = self._machine
        if self.observer is not None or rules.needs_roles(machine):
            return None
        project = self._policy_cache.peek(_POLICY, None)
        if project is None:
            return None
        refusal = rules.tenancy_refusal(machine, organization_id)
        if refusal is not None:
            raise refusal
        return rules.scope_decision(project, machine, resource, action)

    def _machine_allows_now(
        self, principal: object, resource: str, action: str, organization_id: str | None
    ) -> bool | None:
        """:meth:`is_authorized` for an agent or a service at once, unobserved: False for
        another organization, the scopes' answer on the fresh project policy; None when it
        needs waiting for (a stale or missing policy, the member's roles). Synchronous: a
        coroutine of its own would cost more than the decision. Raises UnknownPermission."""
        machine = _check_machine(principal)
        rules = self._machine
        if rules.needs_roles(machine):
            return None
        if (
            organization_id is not None
            and rules.tenancy_refusal(machine, organization_id) is not None
        ):
            return False  # _decide_machine's TenancyError, which is_authorized denies
        project = self._policy_cache.peek(_POLICY, None)
        if project is None:
            return None
        return rules.scope_allows(project, machine, resource, action)

    def _machine_table_now(self, principal: object) -> dict[str, dict[str, bool]] | None:
        """:meth:`permissions` for an agent or a service at once, when it needs no member roles
        and the project policy is fresh, else None (the blocking facade's warm path)."""
        machine = _check_machine(principal)
        project = self._policy_cache.peek(_POLICY, None)
        if project is None or self._machine.needs_roles(machine):
            return None
        return self._machine.scope_table(project, machine)

    def check_organization(self, principal: AnyPrincipal, organization_id: str) -> None:
        """Raise :class:`TenancyError` unless ``principal`` may act in ``organization_id``:
        a member or an agent in its own organization, a service in those
        ``service_organizations`` maps it to. For guards requiring scopes on an
        organization's route; decisions check it themselves."""
        if isinstance(principal, Principal):
            if organization_id != principal.organization_id:
                raise TenancyError(
                    principal.organization_id, organization_id, member_id=principal.member_id
                )
            return
        refusal = self._machine.tenancy_refusal(_check_machine(principal), organization_id)
        if refusal is not None:
            raise refusal

    def require(
        self,
        *permissions: Permission | ActionEnum | str,
        any_of: bool = False,
        organization_id: OrganizationSpec | None = None,
        credentials: CredentialConfig | None = None,
        explain: bool = False,
        accept: Collection[PrincipalKind] = _SESSIONS_ONLY,
        resource_metadata: str | None = None,
    ) -> Guard:
        """A guard requiring ``permissions`` (all of them; one with ``any_of=True``).

        Use it as a FastAPI dependency (``Depends(guard)``, resolving to the
        principal), as ``@guard`` on an async function, or as
        ``await guard.check(principal)``. ``organization_id``: a constant, or
        ``path(...)``/``header(...)``/``query(...)``/a callable of the request
        (tenancy). ``explain=True`` puts the reason of a 403 and the roles that would
        grant it in the body (``application/problem+json``): for development and internal
        APIs, off by default. ``accept``: the principal kinds admitted, member sessions
        only by default; ``{"session", "agent", "service"}`` also takes Connected-App and
        M2M access tokens (``Authorization: Bearer``), each decided by its own rule.
        ``resource_metadata``: the RFC 9728 metadata URL the 401 and 403 challenges name
        (MCP servers). See :mod:`stytch_rbac.integrations.guard`.
        """
        from .integrations.guard import Guard

        return Guard(
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
    ) -> Guard:
        """A guard requiring an access token holding every one of ``scopes`` by name
        (generated ``Scope`` members, or strings): a 403 ``insufficient_scope`` naming them
        otherwise. ``accept`` may name ``"agent"`` and ``"service"`` (sessions hold no
        scopes). Tenancy and ``resource_metadata`` as in :meth:`require`."""
        from .integrations.guard import Guard

        if not scopes:
            raise ValueError("require_scopes() needs at least one scope")
        return Guard(
            self,
            (),
            organization_id=organization_id,
            accept=accept,
            scopes=scopes,
            resource_metadata=resource_metadata,
        )

    async def protected_resource_metadata(
        self,
        resource_url: str,
        *,
        authorization_servers: Collection[str] | None = None,
        extra_scopes: Collection[str] = (),
        resource_name: str | None = None,
        resource_documentation: str | None = None,
    ) -> dict[str, Any]:
        """The RFC 9728 protected resource metadata of ``resource_url`` (an MCP server's URL,
        say): serve it at :func:`~stytch_rbac.auth.resource_metadata.metadata_url`
        and name that URL in the guards' ``resource_metadata=``.

        ``authorization_servers`` defaults to the project domain's issuer
        (``https://{project_domain}``, where Stytch publishes the Connected Apps'
        authorization server metadata); ``scopes_supported`` is the project policy's scopes
        plus ``extra_scopes`` (OIDC ones such as ``openid``, ``offline_access``);
        ``bearer_methods_supported`` is ``["header"]``. Raises ``ValueError`` for a
        ``resource_url`` that is not https, and when no authorization server is known.
        """
        from .auth.resource_metadata import issuer_url, protected_resource_metadata

        if authorization_servers is None:
            domain = self.project_domain
            if not domain:
                raise ValueError(
                    "protected_resource_metadata() needs the project domain: build StytchRBAC "
                    "with project_domain=... or pass authorization_servers=[...]"
                )
            authorization_servers = [issuer_url(domain)]
        elif isinstance(authorization_servers, str):
            raise TypeError("authorization_servers takes a collection of issuer URLs")
        if isinstance(extra_scopes, str):
            raise TypeError("extra_scopes takes a collection of scope names, not one string")
        compiled = await self.policy()
        return protected_resource_metadata(
            resource_url,
            authorization_servers=authorization_servers,
            scopes_supported=[*compiled.scope_ids, *extra_scopes],
            resource_name=resource_name,
            resource_documentation=resource_documentation,
        )

    def as_member(
        self,
        principal: Principal | None = None,
        *,
        session_jwt: str | None = None,
        session_token: str | None = None,
        preflight: bool = True,
    ) -> MemberClient:
        """A :class:`~stytch_rbac.member.MemberClient`: Stytch's built-in calls made as this
        member (exactly one of ``principal``, ``session_jwt``, ``session_token``), checked
        locally first unless ``preflight=False``. See docs/member-calls.md."""
        from .member import MemberClient

        return MemberClient(
            self,
            principal,
            session_jwt=session_jwt,
            session_token=session_token,
            preflight=preflight,
            clock=self.clock,
        )
