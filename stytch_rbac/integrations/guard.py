"""``require()`` guards: credentials -> :class:`Principal` -> allow, or raise.

This module is framework-free: it never imports a web framework and never
chooses an HTTP status. It reads requests through :class:`RequestLike` (which
Starlette's and FastAPI's ``Request`` satisfy as they are), raises the
library's exceptions, and leaves their translation to ``stytch_rbac.integrations``.

A :class:`Guard` (from ``rbac.require(...)``) is used three ways:

* as a FastAPI dependency, ``Depends(guard)``, resolving to the ``Principal``
  (the FastAPI-specific part lives in ``stytch_rbac.integrations.fastapi`` and
  is found through ``guard.__wrapped__``, so ``import stytch_rbac`` never
  imports FastAPI);
* as a decorator on an async function taking a ``principal``, a ``request`` or
  a ``websocket`` argument: ``@guard``;
* imperatively: ``await guard.check(principal)``.

Guards work on WebSocket routes too: a Starlette ``WebSocket`` satisfies
:class:`RequestLike`, so the credential is read from the handshake's headers
and cookies (browsers cannot set an ``Authorization`` header on a WebSocket;
the cookies Stytch's frontend SDKs set are sent with the handshake). The glue
refuses a failed handshake with a close code before accepting it.

Start-up check: :func:`verify_guards` checks the permissions of guards against
the project policy (the lifespan helpers of the FastAPI and Starlette glue run it),
so a misspelt ``"documents:raed"`` stops the app from starting instead of
answering 500 on the first authenticated request.

Order of evaluation, every step failing closed: credentials (401 when missing
or invalid), then the organization the request is about (tenancy: 403 when it
is not the member's own, or cannot be read), then the permissions (403).

One authentication per request and producer: the outcome (the ``Principal`` or
the error) is stored in the ASGI scope, keyed by what produced it: the
``StytchRBAC`` (by identity) and the credential it read (where it came from,
JWT or session token, the value). Several guards on one request, and the
session middleware, verify a credential once; a guard reading other sources
(bearer only, ``bearer="session_token"``) or built on another project's
``StytchRBAC`` authenticates itself and never uses a principal produced from a
credential it does not accept. :data:`SCOPE_KEY` holds the record used last
(a guard's, once it ran; else the middleware's).

Machine callers: a guard built with ``accept={"session", "agent", "service"}`` (default
``{"session"}``: nothing widens silently) also takes OAuth access tokens in the
``Authorization: Bearer`` header, told apart by their claims
(``stytch_rbac.auth.access_token.token_kind``): a Connected-App token (an
:class:`~stytch_rbac.AgentPrincipal`, decided by the policy's scopes in its own
organization) and an M2M token (a :class:`~stytch_rbac.ServicePrincipal`, refused on
an organization's route unless the application maps clients to organizations). A token
of a kind the guard does not accept is a 401 ``invalid_token``; a refused access token
gets a 403 naming the scopes that would grant it (:attr:`Forbidden.scopes`), unless it
holds one and its member's roles refused it (``agent_roles="intersect"``): a plain 403.
A service on an organization's route is admitted only as the facade's
``service_organizations`` maps it.
``rbac.require_scopes(...)`` requires literal scopes instead of permissions.

Cookie credentials are checked against cross-site request forgery before they
are authenticated (:mod:`.csrf`; ``CredentialConfig(csrf_protection=...,
trusted_origins=...)``): an unsafe request or a WebSocket handshake from
another origin is refused with :class:`~stytch_rbac.CrossSiteRequest`. Bearer
credentials are not subject to it.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from time import perf_counter
from typing import (
    TYPE_CHECKING,
    Any,
    Final,
    Literal,
    ParamSpec,
    Protocol,
    TypeAlias,
    TypeVar,
    cast,
    overload,
)

from ..auth.access_token import token_kind
from ..errors import (
    CrossSiteRequest,
    Forbidden,
    InsufficientScope,
    PermissionDenied,
    StytchRBACError,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
    UnknownPermission,
)
from ..observe.events import (
    AuthenticationOutcome,
    DecisionSource,
    DenialReason,
    new_checked_event,
)
from ..observe.observer import CREDENTIAL_SOURCE, Observer, no_grants
from ..permissions import ActionEnum, Permission
from ..principal import AgentPrincipal, AnyPrincipal, Principal, PrincipalKind, ServicePrincipal
from .csrf import cross_site_refusal, normalize_origins

if TYPE_CHECKING:
    from ..policy import CompiledPolicy

__all__ = [
    "SCOPE_KEY",
    "Authorizer",
    "CredentialConfig",
    "Credentials",
    "Guard",
    "OrganizationSource",
    "OrganizationSpec",
    "RequestAuth",
    "RequestLike",
    "authenticate_principal",
    "authenticate_request",
    "extract_credentials",
    "guards_of",
    "header",
    "path",
    "policy_for",
    "query",
    "request_auth",
    "verify_guards",
]

_REFUSED: Final = AuthenticationOutcome.REFUSED
# Enum members read once: a member look-up on the class costs ~100 ns on Python 3.11.
_GUARD: Final = DecisionSource.GUARD
_NO_GRANT: Final = DenialReason.NO_GRANT
_TENANCY: Final = DenialReason.TENANCY
_UNAVAILABLE: Final = DenialReason.UNAVAILABLE
_UNKNOWN_PERMISSION: Final = DenialReason.UNKNOWN_PERMISSION

logger: logging.Logger = logging.getLogger("stytch_rbac")

_P = ParamSpec("_P")
_T = TypeVar("_T")

#: Key of the request's last used :class:`RequestAuth` record in the ASGI scope.
SCOPE_KEY: Final = "stytch_rbac.auth"

#: Key of the request's records by producer (:class:`_Records`) in the ASGI scope.
_RECORDS_KEY: Final = "stytch_rbac.auth.records"

#: Attribute of a ``@guard``-decorated function: the guards on it, outermost last.
_GUARDS_ATTRIBUTE: Final = "__stytch_guards__"

#: Longest credential accepted; anything longer is rejected as malformed before any work.
_MAX_CREDENTIAL_LENGTH: Final = 16_384

HandBack: TypeAlias = Literal["auto", "cookie", "header", "both", "none"]


class RequestLike(Protocol):
    """What a guard reads from a request. Starlette's (and so FastAPI's) ``Request``
    satisfies it as is; ``headers`` must be case-insensitive, as theirs are."""

    @property
    def scope(self) -> MutableMapping[str, Any]:
        """The ASGI scope: the guard stores the request's authentication outcome in it."""
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Request headers, looked up case-insensitively."""
        ...

    @property
    def cookies(self) -> Mapping[str, str]:
        """Request cookies by name."""
        ...

    @property
    def path_params(self) -> Mapping[str, Any]:
        """Parameters of the matched route's path."""
        ...

    @property
    def query_params(self) -> Mapping[str, str]:
        """Query-string parameters."""
        ...


@dataclass(frozen=True, slots=True)
class CredentialConfig:
    """Where a guard reads the session credential and how it hands a refreshed JWT back.

    Read order: the ``Authorization: Bearer`` header (when ``bearer`` is not
    ``None``), then the cookies Stytch's frontend SDKs set. Set a field to
    ``None`` to stop reading that source.

    Hand-back (when Stytch refreshed an expired JWT during authentication):
    ``"auto"`` answers on the channel the credential came in (a ``Set-Cookie``
    for a cookie, the ``handback_header`` response header for a bearer
    token); ``"cookie"``, ``"header"``, ``"both"`` or ``"none"`` force it.

    CSRF protection (on by default) refuses a cookie credential on an unsafe
    request (not ``GET``/``HEAD``/``OPTIONS``) or a WebSocket handshake made by
    a page of another origin (``Sec-Fetch-Site``, else ``Origin`` against
    ``Host``), unless its ``Origin`` is in ``trusted_origins``
    (``"https://app.example.com"``; normalized, invalid ones raise
    ``ValueError``). ``csrf_protection=False`` turns it off. See :mod:`.csrf`.
    """

    #: What a bearer credential is: a session JWT (Stytch's guides) or a session token.
    bearer: Literal["session_jwt", "session_token"] | None = "session_jwt"
    #: Cookie holding the session JWT (Stytch's frontend SDKs: ``stytch_session_jwt``).
    jwt_cookie: str | None = "stytch_session_jwt"
    #: Cookie holding the opaque session token (Stytch's frontend SDKs: ``stytch_session``).
    token_cookie: str | None = "stytch_session"
    #: How a refreshed JWT goes back to the client.
    handback: HandBack = "auto"
    #: Response header carrying a refreshed JWT.
    handback_header: str = "X-Stytch-Session-JWT"
    #: Attributes of the hand-back cookie (named ``jwt_cookie``, or
    #: ``stytch_session_jwt`` when that is ``None``). Not ``HttpOnly`` by default
    #: because Stytch's frontend SDKs read this cookie.
    cookie_secure: bool = True
    cookie_httponly: bool = False
    cookie_samesite: Literal["lax", "strict", "none"] = "lax"
    cookie_path: str = "/"
    cookie_domain: str | None = None
    #: Refuse a cookie credential on unsafe cross-origin requests and WebSocket handshakes.
    csrf_protection: bool = True
    #: Origins (``scheme://host[:port]``) whose pages may use the cookie credential anyway.
    trusted_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.bearer is None and self.jwt_cookie is None and self.token_cookie is None:
            raise ValueError("CredentialConfig reads no credential: enable bearer or a cookie")
        if not isinstance(cast(object, self.csrf_protection), bool):
            raise TypeError("csrf_protection takes True or False")
        # Stored normalized (the form browsers send in Origin), so a look-up is one comparison.
        object.__setattr__(self, "trusted_origins", normalize_origins(self.trusted_origins))
        if self.handback not in ("auto", "cookie", "header", "both", "none"):
            raise ValueError(f"unknown handback {self.handback!r}")
        if not self.handback_header.strip():
            raise ValueError("handback_header must be a header name")


_DEFAULT_CONFIG: Final = CredentialConfig()


@dataclass(frozen=True, slots=True, repr=False)
class Credentials:
    """The session credential found on a request, and where it was found."""

    session_jwt: str | None
    session_token: str | None
    source: Literal["header", "cookie"]

    def __repr__(self) -> str:
        held = [n for n in ("session_jwt", "session_token") if getattr(self, n)]
        return f"Credentials({'+'.join(held)} from {self.source})"

    def secrets(self) -> tuple[str, ...]:
        """The credential strings (to keep them out of responses)."""
        return tuple(s for s in (self.session_jwt, self.session_token) if s)


def _credential(value: str, where: str) -> str:
    value = value.strip()
    # Visible ASCII without spaces (JWTs and session tokens are base64url); C-speed scans.
    if (
        not value
        or len(value) > _MAX_CREDENTIAL_LENGTH
        or not (value.isascii() and value.isprintable())
        or " " in value
    ):
        raise Unauthenticated("malformed", f"the {where} does not hold a well-formed credential")
    return value


def extract_credentials(
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    config: CredentialConfig = _DEFAULT_CONFIG,
) -> Credentials:
    """Read the session credential from request headers and cookies.

    A non-Bearer ``Authorization`` header (Basic, say) is not ours and is
    ignored. Raises :class:`Unauthenticated` with reason ``missing`` when no
    source holds a credential and ``malformed`` when one is blank, oversized or
    contains whitespace.
    """
    if config.bearer is not None:
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, value = authorization.strip().partition(" ")
            if scheme.lower() == "bearer":
                value = _credential(value, "Authorization: Bearer header")
                if config.bearer == "session_jwt":
                    return Credentials(session_jwt=value, session_token=None, source="header")
                return Credentials(session_jwt=None, session_token=value, source="header")
    jwt = token = None
    if config.jwt_cookie is not None and config.jwt_cookie in cookies:
        jwt = _credential(cookies[config.jwt_cookie], f"{config.jwt_cookie} cookie")
    if config.token_cookie is not None and config.token_cookie in cookies:
        token = _credential(cookies[config.token_cookie], f"{config.token_cookie} cookie")
    if jwt is None and token is None:
        sources = []
        if config.bearer is not None:
            sources.append("an Authorization: Bearer header")
        sources += [f"a {c} cookie" for c in (config.jwt_cookie, config.token_cookie) if c]
        raise Unauthenticated("missing", "the request has no " + " or ".join(sources))
    return Credentials(session_jwt=jwt, session_token=token, source="cookie")


class _Authenticator(Protocol):
    """What the guard needs to turn credentials into a principal (``StytchRBAC`` is one)."""

    async def authenticate(
        self, *, session_jwt: str | None = None, session_token: str | None = None
    ) -> Principal: ...


class Authorizer(_Authenticator, Protocol):
    """What a :class:`Guard` decides with: ``StytchRBAC`` satisfies it as is.

    ``authenticate`` turns the request's credential into a :class:`Principal`;
    ``policy`` returns the organization's compiled policy (project policy merged
    with its custom roles), from which the guard decides every permission locally.
    """

    async def policy(self, organization_id: str | None = None) -> CompiledPolicy:
        """The compiled policy in force for ``organization_id``."""
        ...


async def policy_for(rbac: Authorizer, principal: Principal) -> CompiledPolicy:
    """The policy that decides for ``principal``: ``rbac.policy_for(principal)`` when the
    authorizer has it (``StytchRBAC``: no org-policy fetch for a member holding only
    project roles), otherwise ``rbac.policy(principal.organization_id)``."""
    for_principal = getattr(rbac, "policy_for", None)
    if for_principal is not None:
        compiled: CompiledPolicy = await for_principal(principal)
        return compiled
    return await rbac.policy(principal.organization_id)


def _policy_lookup(rbac: Authorizer) -> Callable[[Principal], Awaitable[CompiledPolicy]]:
    """:func:`policy_for` bound to ``rbac``, resolved once: ``rbac.policy_for`` itself when
    it has one (a coroutine less per decision), else the organization's policy."""
    for_principal: Callable[[Principal], Awaitable[CompiledPolicy]] | None = getattr(
        rbac, "policy_for", None
    )
    if for_principal is not None:
        return for_principal

    async def by_organization(principal: Principal) -> CompiledPolicy:
        return await rbac.policy(principal.organization_id)

    return by_organization


class _Observable(Protocol):
    """What holds an observer: ``StytchRBAC`` (its :class:`Observer` or None)."""

    @property
    def observer(self) -> object:
        """The observer, if any (anything else than an :class:`Observer` is ignored)."""
        ...


class _Unobserved:
    """What a guard reads its observer from when the authorizer has none: None."""

    __slots__ = ()
    observer: None = None


_UNOBSERVED: Final = _Unobserved()


class RequestAuth:
    """The authentication outcome of one request, stored in its scope under :data:`SCOPE_KEY`.

    Exactly one of ``principal`` and ``error`` is set once authentication ran.
    ``handled_by_middleware`` tells guards that the session middleware hands a
    refreshed JWT back; ``handed_back`` that it was done.
    """

    __slots__ = ("credentials", "error", "handed_back", "handled_by_middleware", "principal")

    def __init__(
        self,
        *,
        principal: Principal | None = None,
        error: StytchRBACError | None = None,
        credentials: Credentials | None = None,
        handled_by_middleware: bool = False,
    ) -> None:
        self.principal: Principal | None = principal
        self.error: StytchRBACError | None = error
        self.credentials: Credentials | None = credentials
        self.handled_by_middleware: bool = handled_by_middleware
        self.handed_back: bool = False

    def __repr__(self) -> str:
        outcome = self.principal if self.error is None else type(self.error).__name__
        return f"<RequestAuth {outcome!r}>"

    def unwrap(self) -> Principal:
        """The authenticated :class:`Principal`, or raise the stored authentication error."""
        if self.error is not None:
            raise self.error.with_traceback(None)
        if self.principal is None:  # a record made without an outcome: deny
            raise Unauthenticated("missing")
        return self.principal

    def secrets(self) -> tuple[str, ...]:
        """Every credential string of this request: the presented ones and a refreshed JWT."""
        found = list(self.credentials.secrets()) if self.credentials else []
        if self.principal is not None:
            found += [s for s in (self.principal.session_jwt, self.principal.session_token) if s]
        return tuple(found)


def request_auth(request: RequestLike) -> RequestAuth | None:
    """The request's last used authentication record, if a guard or the middleware made one:
    the record of the guard that ran last (its principal is the one it approved), else the
    middleware's."""
    record = request.scope.get(SCOPE_KEY)
    return record if isinstance(record, RequestAuth) else None


def _middleware_auth(request: RequestLike) -> RequestAuth | None:
    """The session middleware's record of the request, else :func:`request_auth`'s.

    ``CurrentPrincipal`` and ``OptionalPrincipal`` read this one: the principal of the
    middleware's credential sources, whatever guards ran before them.
    """
    records = request.scope.get(_RECORDS_KEY)
    if isinstance(records, _Records) and records.middleware is not None:
        return records.middleware
    return request_auth(request)


#: A credential's producer: the authenticator (``id``), the source, the JWT, the token.
_ProducerKey: TypeAlias = tuple[int, str, str | None, str | None]


#: What :func:`extract_credentials` reads of a config: the sources.
_SourcesKey: TypeAlias = tuple[str | None, str | None, str | None]


class _Records:
    """The request's authentication records by producer, the middleware's, and the
    credentials read per set of sources (a request's headers and cookies do not change,
    and checking a credential's characters costs more than the rest of a reused guard)."""

    __slots__ = ("access", "by_producer", "cross_site", "extracted", "middleware")

    def __init__(self) -> None:
        # Access tokens verified on this request: (authenticator id, token, kinds) -> outcome.
        self.access: dict[
            tuple[int, str, frozenset[str]],
            tuple[object, AgentPrincipal | ServicePrincipal | StytchRBACError],
        ] = {}
        # The authenticator is kept with its record: its id cannot be reused meanwhile.
        self.by_producer: dict[_ProducerKey, tuple[_Authenticator, RequestAuth]] = {}
        self.extracted: dict[_SourcesKey, Credentials | Unauthenticated] = {}
        # The CSRF decision by trusted origins (it reads only the method and headers).
        self.cross_site: dict[tuple[str, ...], CrossSiteRequest | None] = {}
        self.middleware: RequestAuth | None = None

    def credentials(self, request: RequestLike, config: CredentialConfig) -> Credentials:
        """:func:`extract_credentials` for ``config``, once per request and set of sources."""
        key = (config.bearer, config.jwt_cookie, config.token_cookie)
        found = self.extracted.get(key)
        if found is None:
            try:
                found = extract_credentials(request.headers, request.cookies, config)
            except Unauthenticated as exc:
                found = exc
            self.extracted[key] = found
        if isinstance(found, Unauthenticated):
            raise found.with_traceback(None)
        return found

    def cross_site_refusal(
        self, request: RequestLike, config: CredentialConfig
    ) -> CrossSiteRequest | None:
        """:func:`~.csrf.cross_site_refusal` for ``config``, once per request and origins."""
        trusted = config.trusted_origins
        if trusted in self.cross_site:
            return self.cross_site[trusted]
        refusal = self.cross_site[trusted] = cross_site_refusal(
            request.scope, request.headers, trusted
        )
        return refusal


def _records(scope: MutableMapping[str, Any]) -> _Records:
    records = scope.get(_RECORDS_KEY)
    if not isinstance(records, _Records):
        records = scope[_RECORDS_KEY] = _Records()
    return records


async def _authenticated(rbac: _Authenticator, credentials: Credentials) -> RequestAuth:
    observer = observer_of(rbac)
    source = CREDENTIAL_SOURCE.set(credentials.source) if observer is not None else None
    try:
        # The JWT when there is one (verified locally; Stytch refreshes an expired one),
        # the session token otherwise. Never both: a refused JWT is not retried as a token.
        if credentials.session_jwt is not None:
            principal = await rbac.authenticate(session_jwt=credentials.session_jwt)
        else:
            principal = await rbac.authenticate(session_token=credentials.session_token)
    except StytchRBACError as exc:
        return RequestAuth(error=exc, credentials=credentials)
    finally:
        if source is not None:
            CREDENTIAL_SOURCE.reset(source)
    return RequestAuth(principal=principal, credentials=credentials)


def observer_of(rbac: object) -> Observer | None:
    """The :class:`~stytch_rbac.observe.Observer` of a ``StytchRBAC`` (None for another
    :class:`Authorizer`, or when nobody observes)."""
    observer = getattr(rbac, "observer", None)
    return None if observer is None or not isinstance(observer, Observer) else observer


def _route(request: RequestLike | None) -> str | None:
    """The route template (``/orgs/{org_id}/docs``) when the framework matched one, else
    the path."""
    if request is None:
        return None
    scope = request.scope
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    raw = scope.get("path")
    return raw if isinstance(raw, str) else None


async def _run_authentication(
    rbac: _Authenticator,
    request: RequestLike,
    config: CredentialConfig,
    records: _Records,
    handled_by_middleware: bool,
) -> RequestAuth:
    """The record for ``config``'s credential on ``request``: a stored one of the same
    producer, or a new one (stored when authentication ran)."""
    try:
        credentials = records.credentials(request, config)
    except Unauthenticated as exc:
        observer = observer_of(rbac)
        if observer is not None:  # refused before any credential reached authenticate()
            now = time.perf_counter()
            observer.authenticated(
                outcome=_REFUSED,
                reason=exc.reason,
                credential=None,
                answered_by=None,
                principal=None,
                started=now,
                now=now,
                source="request",
            )
        return RequestAuth(error=exc, handled_by_middleware=handled_by_middleware)
    if credentials.source == "cookie" and config.csrf_protection:
        # Before authenticating: a forged cross-site request costs no call to Stytch.
        refusal = records.cross_site_refusal(request, config)
        if refusal is not None:
            return RequestAuth(
                error=refusal, credentials=credentials, handled_by_middleware=handled_by_middleware
            )
    # Only what authentication reads: the JWT when there is one, else the token.
    token = credentials.session_token if credentials.session_jwt is None else None
    key = (id(rbac), credentials.source, credentials.session_jwt, token)
    stored = records.by_producer.get(key)
    if stored is not None and stored[0] is rbac:
        return stored[1]
    record = await _authenticated(rbac, credentials)
    record.handled_by_middleware = handled_by_middleware
    records.by_producer[key] = (rbac, record)
    return record


async def authenticate_request(
    rbac: _Authenticator,
    request: RequestLike,
    config: CredentialConfig = _DEFAULT_CONFIG,
    *,
    handled_by_middleware: bool = False,
) -> Principal:
    """Authenticate the request once per producer: reuse the stored outcome of the same
    ``rbac`` and credential, or run and store it.

    The credential is the one ``config`` reads; a cookie one is first checked for
    cross-site forgery (``config.csrf_protection``). The record becomes the request's
    :func:`request_auth`. Returns the :class:`Principal`, or raises what authentication
    raised (:class:`Unauthenticated`, :class:`~stytch_rbac.CrossSiteRequest`,
    :class:`StytchUnavailable`, ...) every time it is asked again for the same request.
    """
    records = _records(request.scope)
    record = await _run_authentication(rbac, request, config, records, handled_by_middleware)
    if handled_by_middleware:
        records.middleware = record
    request.scope[SCOPE_KEY] = record
    return record.unwrap()


#: The principal kinds an access token (not a session) stands for.
_ACCESS_KINDS: Final[frozenset[PrincipalKind]] = frozenset({"agent", "service"})
_KINDS: Final[frozenset[str]] = frozenset({"session", "agent", "service"})
_SESSIONS: Final[frozenset[PrincipalKind]] = frozenset({"session"})


class _AccessAuthenticator(Protocol):
    """What a guard accepting access tokens also needs (``StytchRBAC`` has it)."""

    async def authenticate_access_token(
        self, token: str, *, accept: Iterable[PrincipalKind] = ...
    ) -> AnyPrincipal: ...


def _bearer(headers: Mapping[str, str]) -> str | None:
    """The ``Authorization: Bearer`` value (checked like any credential), or None."""
    authorization = headers.get("authorization")
    if authorization is None:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return _credential(value, "Authorization: Bearer header")


async def _access_principal(
    rbac: _Authenticator, token: str, kinds: frozenset[PrincipalKind], records: _Records
) -> AgentPrincipal | ServicePrincipal:
    """``rbac.authenticate_access_token(token)``, once per request, authenticator and kinds."""
    key = (id(rbac), token, cast("frozenset[str]", kinds))
    stored = records.access.get(key)
    if stored is None or stored[0] is not rbac:
        authenticate = getattr(rbac, "authenticate_access_token", None)
        if authenticate is None:
            raise TypeError(
                f"{type(rbac).__name__} cannot verify access tokens (no "
                "authenticate_access_token): accept only sessions"
            )
        outcome: AgentPrincipal | ServicePrincipal | StytchRBACError
        try:
            principal = await cast("_AccessAuthenticator", rbac).authenticate_access_token(
                token, accept=kinds
            )
        except StytchRBACError as exc:
            outcome = exc
        else:
            # Fail closed: whatever the authenticator returned must be one of the kinds asked.
            if not isinstance(principal, (AgentPrincipal, ServicePrincipal)) or (
                principal.kind not in kinds
            ):
                outcome = Unauthenticated("wrong_kind", "the token is not an accepted kind")
            else:
                outcome = principal
        stored = records.access[key] = (rbac, outcome)
    outcome = stored[1]
    if isinstance(outcome, StytchRBACError):
        raise outcome.with_traceback(None)
    return outcome


async def authenticate_principal(
    rbac: _Authenticator,
    request: RequestLike,
    config: CredentialConfig = _DEFAULT_CONFIG,
    *,
    accept: Iterable[PrincipalKind] = _SESSIONS,
) -> AnyPrincipal:
    """The request's principal of one of the ``accept`` kinds, authenticated once per request.

    A bearer token is dispatched by its claims (``token_kind``, an unverified peek): a
    Connected-App or M2M access token goes to ``rbac.authenticate_access_token``, a session
    JWT (and the cookies) to :func:`authenticate_request`. A token of a kind not in
    ``accept`` raises :class:`Unauthenticated` ``wrong_kind`` before any verification; a
    bearer value that is no JWT is ``malformed`` (unless sessions are accepted and
    ``config.bearer`` reads session tokens).
    """
    kinds = frozenset(accept)
    if kinds == _SESSIONS:
        return await authenticate_request(rbac, request, config)

    records = _records(request.scope)
    token = _bearer(request.headers)
    if token is None:
        if "session" in kinds:
            return await authenticate_request(rbac, request, config)
        raise Unauthenticated("missing", "the request has no Authorization: Bearer header")
    kind = token_kind(token)
    if kind is None and "session" in kinds and config.bearer == "session_token":
        return await authenticate_request(rbac, request, config)
    if kind is None:
        raise Unauthenticated("malformed", "the bearer token is not a JWT")
    if kind not in kinds:
        raise Unauthenticated("wrong_kind", f"this route does not accept {kind} tokens")
    if kind == "session":
        if config.bearer != "session_jwt":
            raise Unauthenticated("wrong_kind", "this route reads no session JWT from the header")
        return await authenticate_request(rbac, request, config)
    return await _access_principal(rbac, token, kinds & _ACCESS_KINDS, records)


def _accepted(accept: object) -> frozenset[PrincipalKind]:
    if isinstance(accept, str) or not isinstance(accept, Iterable):
        raise TypeError(
            f"accept= takes a collection of principal kinds such as {{'session', 'agent'}}, "
            f"got {accept!r}"
        )
    kinds = frozenset(cast("Iterable[object]", accept))
    unknown = sorted(str(k) for k in kinds - _KINDS)
    if unknown:
        raise ValueError(
            f"accept= names unknown principal kinds {unknown}: use 'session', 'agent', 'service'"
        )
    if not kinds:
        raise ValueError("accept= is empty: the guard would refuse everyone")
    return cast("frozenset[PrincipalKind]", kinds)


def _scope_names(scopes: Iterable[object]) -> tuple[str, ...]:
    if isinstance(scopes, str):
        raise TypeError("require_scopes() takes scopes as separate arguments, not one string")
    names: list[str] = []
    for scope in scopes:
        if not isinstance(scope, str) or not scope or scope != scope.strip() or " " in scope:
            raise ValueError(f"a scope is one non-empty name without spaces, got {scope!r}")
        names.append(str(scope))  # a generated Scope member is reduced to its value
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True, slots=True)
class OrganizationSource:
    """Where in the request a multi-tenant route names its organization id."""

    kind: Literal["path", "header", "query"]
    name: str

    def __post_init__(self) -> None:
        if not isinstance(cast(object, self.name), str) or not self.name.strip():
            raise ValueError(f"{self.kind}() takes a non-empty parameter name")

    def resolve(self, request: RequestLike) -> str | None:
        """The organization id in ``request``, or None when the request does not carry one
        (or carries an empty one).

        The value is returned exactly as the handler receives it, never stripped
        or normalized: the guard decides on the value the handler acts on, so
        ``"org-A\\u00a0"`` is another organization than ``"org-A"`` (403). A route
        without the named path parameter is a programming error (:class:`LookupError`),
        and so is a path parameter converted to something else than ``str``
        (:class:`TypeError`: organization ids are strings).
        """
        if self.kind == "path":
            if self.name not in request.path_params:
                raise LookupError(
                    f"the route has no path parameter {self.name!r} to read the "
                    "organization id from"
                )
            value: object = request.path_params[self.name]
        elif self.kind == "header":
            value = request.headers.get(self.name)
        else:
            value = request.query_params.get(self.name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(
                f"the organization id in {self.kind} parameter {self.name!r} is a "
                f"{type(value).__name__}, not str: read it with a str path convertor"
            )
        return value or None


def path(name: str) -> OrganizationSource:
    """The organization id is the route's path parameter ``name``."""
    return OrganizationSource("path", name)


def header(name: str) -> OrganizationSource:
    """The organization id is in request header ``name`` (e.g. ``X-Org-Id``)."""
    return OrganizationSource("header", name)


def query(name: str) -> OrganizationSource:
    """The organization id is query parameter ``name``."""
    return OrganizationSource("query", name)


OrganizationSpec: TypeAlias = (
    "str | OrganizationSource | Callable[[RequestLike], str | Awaitable[str | None] | None]"
)
"""A guard's ``organization_id=``: a constant id, :func:`path` / :func:`header` /
:func:`query`, or a callable of the request returning the id (sync or async)."""


def _as_permission(value: Permission | ActionEnum | str) -> Permission:
    if isinstance(value, Permission):
        return value
    if isinstance(value, ActionEnum):
        return value.permission
    if isinstance(value, str):
        return Permission.parse(value)
    raise TypeError(
        "require() takes Permission objects (P.documents.edit), generated action enum members "
        f"or 'resource:action' strings, got {type(value).__name__}"
    )


class Guard:
    """Requires an authenticated principal holding permissions (``rbac.require``).

    ``any_of=False`` (default): every permission is needed; ``any_of=True``:
    one suffices. With no permission the guard only authenticates (and checks
    tenancy when ``organization_id`` is given). ``organization_id`` names the
    organization the request is about (see :data:`OrganizationSpec`); a
    member of another organization is refused with :class:`TenancyError`
    even when a role would allow the action. Without it, permissions are
    decided in the member's own organization.

    ``accept``: the principal kinds admitted, ``{"session"}`` by default; add
    ``"agent"`` (Connected-App access tokens, decided by the policy's scopes in the
    token's organization) and ``"service"`` (M2M tokens; on an organization's route only
    when the application maps clients to organizations) to take bearer access tokens.
    ``scopes``: literal scopes every accepted token must hold (``rbac.require_scopes``).
    ``resource_metadata``: the RFC 9728 metadata URL named in the 401 and 403 challenges.
    """

    __slots__ = (
        "_dependency",
        "_observed",
        "_policy_of",
        "_rbac",
        "_sessions_only",
        "accept",
        "any_of",
        "credentials",
        "explain",
        "organization",
        "permissions",
        "resource_metadata",
        "scopes",
    )

    permissions: tuple[Permission, ...]
    any_of: bool
    organization: OrganizationSpec | None
    credentials: CredentialConfig
    #: The principal kinds this guard admits.
    accept: frozenset[PrincipalKind]
    #: Scopes an access token must hold, all of them (``require_scopes``).
    scopes: tuple[str, ...]
    #: The RFC 9728 protected resource metadata URL challenges name, if any.
    resource_metadata: str | None

    def __init__(
        self,
        rbac: Authorizer,
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
        # Read once here, not per check (a check is a few hundred ns): what holds the
        # observer (the facade, or a stand-in whose observer is None for an authorizer
        # without one), and the policy look-up for a principal (see policy_for()).
        self._observed: _Observable = (
            cast("_Observable", rbac) if hasattr(rbac, "observer") else _UNOBSERVED
        )
        self._policy_of: Callable[[Principal], Awaitable[CompiledPolicy]] = _policy_lookup(rbac)
        self.accept = _accepted(accept)
        self._sessions_only: bool = self.accept == _SESSIONS
        self.scopes = _scope_names(scopes)
        if self.scopes and "session" in self.accept:
            raise ValueError(
                "require_scopes() decides access tokens: a member session holds no scopes, so "
                "accept= may name only 'agent' and 'service'"
            )
        if resource_metadata is not None:
            from ..auth.resource_metadata import check_url

            check_url(resource_metadata, "resource_metadata")
        self.resource_metadata = resource_metadata
        #: Explain refusals in the 403 body (reason, roles that would grant it).
        self.explain: bool = bool(explain)
        self.permissions = tuple(_as_permission(p) for p in permissions)
        if any_of and not self.permissions:
            raise ValueError("require(any_of=True) needs at least one permission")
        if not (
            organization_id is None
            or isinstance(organization_id, (str, OrganizationSource))
            or callable(organization_id)
        ):
            raise TypeError(
                "organization_id= takes an id, path(...), header(...), query(...) or a "
                f"callable of the request, got {type(organization_id).__name__}"
            )
        if isinstance(organization_id, str) and not organization_id.strip():
            raise ValueError("organization_id= is blank")
        self.any_of = any_of
        self.organization = organization_id
        self.credentials: CredentialConfig = (
            credentials if credentials is not None else _DEFAULT_CONFIG
        )
        self._dependency: Callable[..., Coroutine[Any, Any, AnyPrincipal]] | None = None

    def __repr__(self) -> str:
        perms = ", ".join(str(p) for p in self.permissions)
        mode = ", any_of=True" if self.any_of else ""
        org = "" if self.organization is None else f", organization_id={self.organization!r}"
        scopes = f"scopes={list(self.scopes)}" if self.scopes else ""
        accept = "" if self._sessions_only else f", accept={sorted(self.accept)}"
        return f"Guard({perms}{scopes}{mode}{org}{accept})"

    @property
    def rbac(self) -> Authorizer:
        """What this guard authenticates and decides with (the ``StytchRBAC`` facade)."""
        return self._rbac

    # -- deciding ---------------------------------------------------------------------------

    async def _requested_organization(
        self, organization_id: str | None, request: RequestLike | None
    ) -> str | None:
        if organization_id is not None:
            return organization_id
        spec = self.organization
        if spec is None or isinstance(spec, str):
            return spec
        if request is None:
            raise TypeError(
                f"{self!r} reads the organization from the request: pass request= or "
                "organization_id= to check()"
            )
        if isinstance(spec, OrganizationSource):
            return spec.resolve(request)
        value = spec(request)
        if inspect.isawaitable(value):
            value = await value
        if value is not None and not isinstance(value, str):
            raise TypeError(
                f"the organization_id callable returned {type(value).__name__}, not str"
            )
        # Exactly the callable's value (never stripped): it is what the route acts on.
        return value or None

    @overload
    async def check(
        self,
        principal: Principal,
        *,
        organization_id: str | None = None,
        request: RequestLike | None = None,
    ) -> Principal: ...

    @overload
    async def check(
        self,
        principal: AgentPrincipal,
        *,
        organization_id: str | None = None,
        request: RequestLike | None = None,
    ) -> AgentPrincipal: ...

    @overload
    async def check(
        self,
        principal: ServicePrincipal,
        *,
        organization_id: str | None = None,
        request: RequestLike | None = None,
    ) -> ServicePrincipal: ...

    @overload
    async def check(
        self,
        principal: AnyPrincipal,
        *,
        organization_id: str | None = None,
        request: RequestLike | None = None,
    ) -> AnyPrincipal: ...

    async def check(
        self,
        principal: AnyPrincipal,
        *,
        organization_id: str | None = None,
        request: RequestLike | None = None,
    ) -> AnyPrincipal:
        """Allow ``principal`` or raise; returns it unchanged when allowed.

        An :class:`~stytch_rbac.AgentPrincipal` or :class:`~stytch_rbac.ServicePrincipal`
        is decided by its scopes (:meth:`_check_access`), and refused with
        :class:`Unauthenticated` ``wrong_kind`` when the guard does not accept its kind
        (so is a member session by a guard that does not accept ``"session"``).

        ``organization_id`` overrides the guard's organization; ``request`` is
        needed when the guard reads the organization from the request. Raises
        :class:`TenancyError` when the organization is not the member's (or
        the request names none though the guard needs one),
        :class:`PermissionDenied` when the roles do not allow it,
        :class:`UnknownPermission` for a permission the policy lacks (strict
        mode) and :class:`StytchUnavailable` when no policy is fresh enough.
        """
        if not isinstance(principal, Principal):
            return await self._check_access(principal, organization_id, request)
        if not self._sessions_only and "session" not in self.accept:
            raise Unauthenticated("wrong_kind", "this route does not accept member sessions")
        if organization_id is None and self.organization is None:
            org = None  # _requested_organization()'s answer, without a coroutine
            tenancy = False
        else:
            org = await self._requested_organization(organization_id, request)
            tenancy = True
        observer = self._observed.observer  # observer_of(), inlined: the hot path
        if observer is not None and not isinstance(observer, Observer):
            observer = None
        # Observed: the same decision, each permission reported as it is decided.
        started = 0.0 if observer is None else perf_counter()
        route = None if observer is None or request is None else _route(request)
        if tenancy and (org is None or org != principal.organization_id):
            if observer is not None:
                self._report_refusal(observer, principal, org, _TENANCY, started, route)
            raise TenancyError(principal.organization_id, org, member_id=principal.member_id)
        if not self.permissions:
            return principal
        # One policy look-up per check; every permission is then decided on that snapshot.
        held: Callable[[], object]
        if observer is None:
            compiled = await self._policy_of(principal)
            sink = None
        else:
            try:
                compiled = await self._policy_of(principal)
            except StytchUnavailable:
                self._report_refusal(observer, principal, org, _UNAVAILABLE, started, route)
                raise
            # The observer's fast path (one sink, every decision reported, the system
            # clock) is done below, inline: a Python call less per permission.
            sink = observer.guard_sink
            held = observer.held_policy
        roles = principal.roles
        missing: Permission | None = None
        for permission in self.permissions:
            if observer is None:
                allowed = compiled.allows(roles, permission.resource, permission.action)
            elif sink is None:
                allowed = observer.allows(
                    _GUARD, compiled, principal, permission.resource, permission.action, org,
                    started, route,
                )  # fmt: skip
            else:
                resource = permission.resource
                action = permission.action
                try:
                    allowed = compiled.allows(roles, resource, action)
                except UnknownPermission:
                    observer.decided(
                        _GUARD, principal, org, resource, action, False, _UNKNOWN_PERMISSION,
                        no_grants, started, route,
                    )  # fmt: skip
                    raise
                ended = perf_counter()
                event = new_checked_event()
                # The layout of events._CHECKED_FIELDS, as Observer.allows() captures it.
                event._raw = (
                    _GUARD, principal.member_id, principal.organization_id, org, resource,
                    action, allowed, compiled, roles, held(), started, ended, route, observer,
                )  # fmt: skip
                try:
                    sink(event)
                except Exception:
                    observer.sink_failed(sink)
            if allowed:
                if self.any_of:
                    return principal
            elif missing is None:
                missing = permission
                if not self.any_of:
                    break
        if missing is None:
            return principal
        raise PermissionDenied(
            missing.resource,
            missing.action,
            organization_id=principal.organization_id,
            member_id=principal.member_id,
        )

    def _report_refusal(
        self,
        observer: Observer,
        principal: Principal,
        org: str | None,
        reason: DenialReason,
        started: float,
        route: str | None,
    ) -> None:
        """Report a refusal made before any role was looked at, once per permission (an
        authentication-only guard's tenancy refusal once, as ``("", "")``)."""
        for permission in self.permissions or (None,):
            observer.decided(
                _GUARD, principal, org, permission.resource if permission else "",
                permission.action if permission else "", False, reason, no_grants, started,
                route,
            )  # fmt: skip

    async def _check_access(
        self,
        principal: object,
        organization_id: str | None,
        request: RequestLike | None,
    ) -> AgentPrincipal | ServicePrincipal:
        """:meth:`check` for an access token's principal: its kind accepted, tenancy (an
        agent's organization is its token's; a service needs the application's mapping),
        the literal scopes, then each permission decided by the facade's rule for its kind.
        A refusal names the scopes that would grant it (:attr:`Forbidden.scopes`)."""
        if not isinstance(principal, (AgentPrincipal, ServicePrincipal)):
            raise TypeError(
                "check() takes a Principal, an AgentPrincipal or a ServicePrincipal, got "
                f"{type(principal).__name__}"
            )
        try:
            return await self._decide_access(principal, organization_id, request)
        except Forbidden as exc:
            if self.resource_metadata is not None:
                exc.resource_metadata = self.resource_metadata
            if exc.scopes is None and not isinstance(exc, PermissionDenied):
                exc.scopes = frozenset()
            raise

    async def _decide_access(
        self,
        principal: AgentPrincipal | ServicePrincipal,
        organization_id: str | None,
        request: RequestLike | None,
    ) -> AgentPrincipal | ServicePrincipal:
        if principal.kind not in self.accept:
            raise Unauthenticated("wrong_kind", f"this route does not accept {principal.kind}s")
        org = await self._requested_organization(organization_id, request)
        tenancy = self.organization is not None or organization_id is not None
        if tenancy and org is None:
            self._report_access_refusal(principal, org, request)
            raise TenancyError(getattr(principal, "organization_id", None), None)
        if isinstance(principal, AgentPrincipal) and tenancy and org != principal.organization_id:
            # The token's organization claim is the agent's tenancy, whatever its scopes.
            self._report_access_refusal(principal, org, request)
            raise TenancyError(
                principal.organization_id,
                org,
                member_id=principal.member_id,
                client_id=principal.client_id,
            )
        if self.scopes:
            missing = [s for s in self.scopes if s not in principal.scopes]
            if missing:
                raise InsufficientScope(
                    missing, required=self.scopes, client_id=principal.client_id
                )
        if not self.permissions:
            if tenancy and isinstance(principal, ServicePrincipal):
                # A service acts in an organization only as the facade's
                # service_organizations= maps it; an authorizer without that mapping refuses.
                check = getattr(self._rbac, "check_organization", None)
                if check is None:
                    raise TenancyError(None, org, client_id=principal.client_id)
                check(principal, org)
            return principal
        authorize = getattr(self._rbac, "authorize", None)
        if authorize is None:
            raise TypeError(f"{type(self._rbac).__name__} cannot decide for access tokens")
        missing_permission: PermissionDenied | None = None
        for permission in self.permissions:
            try:
                await authorize(principal, permission, organization_id=org if tenancy else None)
            except PermissionDenied as exc:
                granting = await self._granting_scopes(principal, permission)
                if granting.isdisjoint(principal.scopes):
                    exc.scopes = granting
                # else the token holds a granting scope and its member's roles refused it
                # (agent_roles="intersect"): no scope would help, so no scope challenge.
                if not self.any_of:
                    raise
                missing_permission = missing_permission or exc
            else:
                if self.any_of:
                    return principal
        if missing_permission is not None:
            raise missing_permission.with_traceback(None)
        return principal

    def _report_access_refusal(
        self,
        principal: AgentPrincipal | ServicePrincipal,
        org: str | None,
        request: RequestLike | None,
    ) -> None:
        """Report the guard's own tenancy refusal of an access token, once per permission
        (``("", "")`` for a guard with none); the facade reports the decisions it makes."""
        observer = observer_of(self._rbac)
        if observer is None:
            return
        started = perf_counter()
        route = None if request is None else _route(request)
        for permission in self.permissions or (None,):
            observer.decided_by_scopes(
                _GUARD, principal, org, permission.resource if permission else "",
                permission.action if permission else "", False, _TENANCY, no_grants, started,
                route,
            )  # fmt: skip

    async def _granting_scopes(
        self, principal: AgentPrincipal | ServicePrincipal, permission: Permission
    ) -> frozenset[str]:
        """The scopes that would grant ``permission`` to a token of ``principal``'s kind:
        the policy's (Connected Apps, and M2M by default), or Stytch's ``action:resource``
        for a facade deciding M2M tokens by Stytch's rule (``m2m_scopes="stytch"``)."""
        if isinstance(principal, ServicePrincipal) and getattr(self._rbac, "m2m_scopes", None) == (
            "stytch"
        ):
            return frozenset({f"{permission.action}:{permission.resource}"})
        try:
            compiled = await self._rbac.policy()
            return compiled.scopes_granting(permission.resource, permission.action)
        except StytchRBACError:
            return frozenset()  # the refusal stands; only the hint is lost

    async def authenticate(self, request: RequestLike) -> AnyPrincipal:
        """The request's principal (authenticated once per request), unchecked: a
        :class:`Principal` unless the guard accepts access tokens (``accept=``)."""
        if self._sessions_only:
            return await authenticate_request(self._rbac, request, self.credentials)
        try:
            return await authenticate_principal(
                self._rbac, request, self.credentials, accept=self.accept
            )
        except Unauthenticated as exc:
            if self.resource_metadata is not None:
                exc.resource_metadata = self.resource_metadata
            raise

    async def authorize_request(self, request: RequestLike) -> AnyPrincipal:
        """Authenticate the request, then :meth:`check` it: the whole guard."""
        if self._sessions_only:
            principal: AnyPrincipal = await authenticate_request(
                self._rbac, request, self.credentials
            )
        else:
            principal = await self.authenticate(request)
        if not self.explain:
            return await self.check(principal, request=request)
        try:
            return await self.check(principal, request=request)
        except (PermissionDenied, TenancyError, InsufficientScope) as exc:
            exc.explanation = await self._explanation(exc, principal)
            raise

    async def _explanation(
        self, exc: PermissionDenied | TenancyError | InsufficientScope, principal: AnyPrincipal
    ) -> dict[str, Any]:
        """Why ``exc`` refused, and what would have granted it (``explain=True``)."""
        if isinstance(exc, TenancyError):
            return {
                "reason": "tenancy",
                "organization_id": getattr(principal, "organization_id", None),
                "requested_organization_id": exc.requested_organization_id,
            }
        if not isinstance(principal, Principal):
            return {
                "reason": "insufficient_scope"
                if isinstance(exc, InsufficientScope)
                else "no_grant",
                "principal_kind": principal.kind,
                "permission": (
                    f"{exc.resource}:{exc.action}" if isinstance(exc, PermissionDenied) else None
                ),
                "required": [str(p) for p in self.permissions],
                "required_scopes": list(self.scopes),
                "any_of": self.any_of,
                "token_scopes": sorted(principal.scopes),
                "granting_scopes": sorted(exc.scopes or ()),
            }
        if isinstance(exc, InsufficientScope):  # pragma: no cover - sessions never get here
            raise exc
        compiled = await self._rbac.policy(principal.organization_id)
        granting = compiled.decide(compiled.role_ids, exc.resource, exc.action).granted_by
        return {
            "reason": "no_grant",
            "permission": f"{exc.resource}:{exc.action}",
            "required": [str(p) for p in self.permissions],
            "any_of": self.any_of,
            "member_roles": sorted(principal.roles),
            "granting_roles": sorted(granting),
        }

    def unknown_permissions(self, policy: CompiledPolicy) -> tuple[Permission, ...]:
        """This guard's permissions that ``policy`` does not define (typos, drift)."""
        return tuple(p for p in self.permissions if not policy.is_known(p.resource, p.action))

    async def verify(self) -> None:
        """Raise :class:`UnknownPermission` when a permission of this guard is not in the
        project policy (a start-up check; :func:`verify_guards` checks many at once)."""
        await verify_guards([(repr(self), self)])

    # -- the three ways of using a guard ----------------------------------------------------

    @property
    def __wrapped__(self) -> Callable[..., Coroutine[Any, Any, AnyPrincipal]]:
        """The FastAPI dependency this guard stands for (``Depends(guard)`` finds it here).

        Built on first use by ``stytch_rbac.integrations.fastapi``; absent
        (``AttributeError``) when FastAPI is not installed.
        """
        if self._dependency is None:
            try:
                from .fastapi import dependency_for
            except ImportError as exc:
                raise AttributeError("__wrapped__ (FastAPI is not installed)") from exc
            self._dependency = dependency_for(self)
        return self._dependency

    @overload
    def __call__(
        self, fn: Callable[_P, Awaitable[_T]], /
    ) -> Callable[_P, Coroutine[Any, Any, _T]]: ...

    @overload
    def __call__(self, /, **kwargs: Any) -> Coroutine[Any, Any, AnyPrincipal]: ...

    def __call__(
        self, fn: Callable[_P, Awaitable[_T]] | None = None, /, **kwargs: Any
    ) -> Callable[_P, Coroutine[Any, Any, _T]] | Coroutine[Any, Any, AnyPrincipal]:
        """``@guard`` decorates an async function; ``guard(connection=...)`` is FastAPI's call."""
        if fn is None:
            return self.__wrapped__(**kwargs)
        if kwargs:
            raise TypeError("@guard takes the function to guard and nothing else")
        return self._decorate(fn)

    def _decorate(self, fn: Callable[_P, Awaitable[_T]]) -> Callable[_P, Coroutine[Any, Any, _T]]:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"@guard decorates async functions; {fn!r} is not one")
        parameters = inspect.signature(fn).parameters
        for name in ("principal", "request", "websocket"):
            if name in parameters:
                break
        else:
            raise TypeError(
                f"@guard needs a 'principal', 'request' or 'websocket' parameter on "
                f"{fn.__qualname__}"
            )
        param = parameters[name]
        position = (
            list(parameters).index(name)
            if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
            else None
        )
        default = param.default
        guard = self

        @functools.wraps(fn)
        async def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _T:
            if name in kwargs:
                value: object = kwargs[name]
            elif position is not None and position < len(args):
                value = args[position]
            else:
                value = None if default is inspect.Parameter.empty else default
            if name == "principal":
                if value is None:
                    raise Unauthenticated("missing", "no principal was passed")
                if not isinstance(value, (Principal, AgentPrincipal, ServicePrincipal)):
                    raise TypeError(f"principal must be a Principal, got {type(value).__name__}")
                await guard.check(value)
            elif value is None:
                raise TypeError(f"{fn.__qualname__} was called without its {name}")
            else:
                await guard.authorize_request(cast("RequestLike", value))
            return await fn(*args, **kwargs)

        setattr(guarded, _GUARDS_ATTRIBUTE, (*guards_of(fn), guard))
        return guarded


def guards_of(obj: object) -> tuple[Guard, ...]:
    """The guards ``obj`` stands for: itself when it is a :class:`Guard`, the guards of a
    ``@guard``-decorated function, else ``()``."""
    if isinstance(obj, Guard):
        return (obj,)
    found = getattr(obj, _GUARDS_ATTRIBUTE, ())
    return tuple(g for g in found if isinstance(g, Guard)) if isinstance(found, tuple) else ()


async def verify_guards(guards: Iterable[tuple[str, Guard]]) -> None:
    """Check every guard's permissions against its project policy: the start-up check.

    ``guards`` pairs each guard with where it is used (``"GET /documents"``),
    for the message. Organization custom roles cannot add resources or actions,
    so the project policy decides what exists. A permission the policy lacks:

    * strict mode (the default): raises :class:`UnknownPermission` for the
      first one, with a note naming its guard and route and one note per
      other unknown permission;
    * ``strict=False``: logs a warning per permission (it is denied to everyone).

    When Stytch cannot be reached (no policy, :class:`StytchUnavailable`) the
    check is skipped with a warning: the app can start, guarded routes answer
    503 until Stytch is back, and a permission the policy lacks is then found
    on first use (a 500).
    """
    policies: dict[int, CompiledPolicy | None] = {}
    problems: list[tuple[str, Guard, Permission, CompiledPolicy]] = []
    for where, guard in guards:
        if not guard.permissions:
            continue
        key = id(guard.rbac)
        if key not in policies:
            try:
                policies[key] = await guard.rbac.policy()
            except StytchUnavailable as exc:
                logger.warning(
                    "stytch_rbac: could not check the guards' permissions at start-up "
                    "(%s); they are checked on use",
                    exc,
                )
                policies[key] = None
        compiled = policies[key]
        if compiled is not None:
            problems += [(where, guard, p, compiled) for p in guard.unknown_permissions(compiled)]
    strict = [item for item in problems if item[3].strict]
    for where, guard, permission, policy in problems:
        if not policy.strict:
            logger.warning(
                "stytch_rbac: %s on %s requires %s, which the RBAC policy does not define: "
                "it is denied to everyone",
                guard,
                where,
                permission,
            )
    if not strict:
        return
    where, guard, permission, compiled = strict[0]
    try:
        compiled.check_known(permission.resource, permission.action)
    except UnknownPermission as exc:
        exc.add_note(f"required by {guard!r} on {where}")
        for other_where, other_guard, other, _policy in strict[1:]:
            exc.add_note(f"also not in the policy: {other} ({other_guard!r} on {other_where})")
        raise
    raise UnknownPermission(permission.resource, permission.action)  # pragma: no cover
