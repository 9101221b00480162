"""Connected-App (agent) and M2M (service) access tokens verified locally, as session JWTs are.

All three kinds of Stytch token are RS256 JWTs signed with the project's JWKS, so they
are verified by the same code (:mod:`stytch_rbac.auth._jws`: strict canonical
base64url, ``alg: RS256`` with a published ``kid``, the signature, ``aud`` containing
the project id, ``exp``/``iat``/``nbf`` as JSON numbers with the same ``leeway``) with
the same :class:`~stytch_rbac.auth.JWKSCache`, and remembered in the same kind of memo
(:class:`~stytch_rbac.auth.TokenMemo`, keyed by the token string, until ``exp``; the
facade shares one memo between session JWTs and access tokens).

The kind is told by the claims alone, never by guesswork (:func:`token_kind`):

* the ``https://stytch.com/session`` claim present: a member **session** (whatever its
  value: such a token is never an access token);
* else the ``https://stytch.com/organization`` claim present: a Connected-App token, an
  **agent** acting for member ``sub`` (the claim must be an object with a non-empty
  ``organization_id``; ``client_id`` must be a non-empty string);
* else an M2M token, a **service** (``sub``, its client id, must be a non-empty string).

What else an access token must carry:

* ``iss`` in the facade's allow-list: ``stytch.com/{project_id}``, the API base URL,
  ``https://{project_domain}`` and each custom domain of ``token_issuers``
  (:func:`accepted_issuers` builds and validates it);
* ``scope``: a string of at most :data:`MAX_SCOPE_LENGTH` characters naming at least
  one scope, split exactly as the stytch SDK splits it: on any whitespace for an agent
  (``str.split()``, as ``rbac_local.perform_scope_authorization_check`` is given it,
  so a tab or a no-break space separates), on spaces only for a service (as
  ``m2m.authenticate_token`` does: ``"a\\tb"`` is one scope). A comma never separates.

Every refusal is :class:`~stytch_rbac.errors.Unauthenticated` with the reason codes of
session JWTs (``missing``, ``malformed``, ``forged``, ``invalid_claims``), plus
``expired`` (an access token is never refreshed by Stytch, unlike a session JWT) and
``wrong_kind`` (a token of a kind the caller does not accept). None of them makes a
network call, except an unknown ``kid``, which may refetch the JWKS (rate limited).
``jwt_max_age`` does not apply: it sends old session JWTs to Stytch, and an access
token has no such check to go to.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

from ..clock import Clock, SystemClock
from ..errors import Unauthenticated
from ..principal import AgentPrincipal, AnyPrincipal, PrincipalKind, ServicePrincipal
from ._jws import (
    StaleJWT,
    check_key_signature,
    check_registered_claims,
    check_signature,
    split,
)
from .claims import ORGANIZATION_CLAIM, RESERVED_CLAIMS, SESSION_CLAIM, unverified_claims
from .jwks import JWKSCache
from .memo import TokenMemo

__all__ = [
    "ACCESS_TOKEN_KINDS",
    "MAX_SCOPE_LENGTH",
    "PRINCIPAL_KINDS",
    "AccessTokenVerifier",
    "accepted_issuers",
    "accepted_kinds",
    "normalize_domain",
    "token_kind",
]

#: A ``scope`` claim longer than this (characters) is refused as malformed: more than any
#: policy's scopes joined, short enough that splitting it costs nothing.
MAX_SCOPE_LENGTH: Final = 8192
#: Every principal kind.
PRINCIPAL_KINDS: Final[frozenset[PrincipalKind]] = frozenset({"session", "agent", "service"})
#: What ``authenticate_access_token`` accepts unless told otherwise.
ACCESS_TOKEN_KINDS: Final[frozenset[PrincipalKind]] = frozenset({"agent", "service"})

# client_id is registered for JWT access tokens (RFC 9068) and is the principal's own field,
# never a custom claim (the emulator refuses it as one, as Stytch's template does).
_SERVICE_NOT_CUSTOM: Final = RESERVED_CLAIMS | {"scope", "client_id"}
_AGENT_NOT_CUSTOM: Final = _SERVICE_NOT_CUSTOM | {ORGANIZATION_CLAIM}
# A host name, optionally with a port: letters, digits, dots and hyphens.
_HOST: Final = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?")


def _kind_of(payload: Mapping[str, Any]) -> PrincipalKind:
    if SESSION_CLAIM in payload:
        return "session"
    if ORGANIZATION_CLAIM in payload:
        return "agent"
    return "service"


def token_kind(token: object) -> PrincipalKind | None:
    """The kind of principal ``token``'s claims say it is, read but NOT verified; None when
    it is not a three-segment JWT with a JSON object payload.

    For dispatch only (which verifier to ask): the verifier told the kind decides
    again from the verified claims, so a forged token gains nothing by it.
    """
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    payload = unverified_claims(token)
    return None if payload is None else _kind_of(payload)


def accepted_kinds(accept: object) -> frozenset[PrincipalKind]:
    """``accept`` checked: a non-empty collection of principal kinds (not a string);
    ValueError naming the problem."""
    if accept is ACCESS_TOKEN_KINDS:
        return ACCESS_TOKEN_KINDS
    if isinstance(accept, str | bytes) or not isinstance(accept, Collection):
        raise ValueError(
            f"accept must be a collection of principal kinds such as {{'agent', 'service'}}, "
            f"got {accept!r}"
        )
    kinds = frozenset(accept)
    unknown = kinds - PRINCIPAL_KINDS
    if unknown:
        names = ", ".join(sorted(map(repr, unknown)))
        raise ValueError(f"accept holds {names}: the kinds are 'session', 'agent' and 'service'")
    if not kinds:
        raise ValueError("accept is empty: no token could ever be accepted")
    return kinds


def normalize_domain(value: object, name: str = "project_domain") -> str:
    """The host of a project (or custom) domain given as a host (``acme.customers.stytch.dev``)
    or an https URL with no path; ValueError naming what is wrong with it."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string (a host or an https:// URL)")
    text = value.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme != "https":
            raise ValueError(f"{name} {value!r}: only an https:// URL names a Stytch domain")
        if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError(f"{name} {value!r}: give the domain only (no path, query or user)")
        text = parts.netloc
    host = text.lower()
    if not _HOST.fullmatch(host):
        raise ValueError(f"{name} {value!r} is not a host name (such as acme.customers.stytch.dev)")
    return host


def _issuer(value: object) -> str:
    """One entry of ``token_issuers``: an http(s) URL with no path (trailing ``/`` dropped)
    or a bare host (``https://`` assumed)."""
    if isinstance(value, str) and value.startswith("http://"):
        # Allowed for local development (an emulator); Stytch's own issuers are https.
        host = normalize_domain("https://" + value.removeprefix("http://"), "token_issuers entry")
        return f"http://{host}"
    return "https://" + normalize_domain(value, "token_issuers entry")


def accepted_issuers(
    project_id: str,
    base_url: str,
    project_domain: str | None = None,
    token_issuers: Collection[str] = (),
) -> frozenset[str]:
    """The ``iss`` values an access token may carry: ``stytch.com/{project_id}``, the API base
    URL (no trailing ``/``), ``https://{project_domain}`` and each of ``token_issuers``
    (custom domains). ValueError names a bad ``project_domain`` or ``token_issuers``."""
    if isinstance(token_issuers, str | bytes) or not isinstance(token_issuers, Collection):
        raise ValueError(
            "token_issuers must be a collection of issuer URLs (e.g. "
            f"['https://login.example.com']), not {type(token_issuers).__name__}"
        )
    issuers = {f"stytch.com/{project_id}", base_url.rstrip("/")}
    if project_domain is not None:
        issuers.add("https://" + normalize_domain(project_domain))
    issuers.update(_issuer(value) for value in token_issuers)
    return frozenset(issuers)


def _text(payload: Mapping[str, Any], claim: str) -> str:
    value = payload.get(claim)
    if type(value) is not str or not value:
        raise Unauthenticated(
            "malformed", f"the access token's {claim!r} is not a non-empty string"
        )
    return value


def _scope(payload: Mapping[str, Any]) -> str:
    scope = payload.get("scope")
    if type(scope) is not str:
        raise Unauthenticated("malformed", "the access token's 'scope' is missing or not a string")
    if len(scope) > MAX_SCOPE_LENGTH:
        raise Unauthenticated(
            "malformed", f"the access token's 'scope' is longer than {MAX_SCOPE_LENGTH} characters"
        )
    return scope


_SCOPES_MEMO_SIZE: Final = 256
# scope claim -> its scopes, split as an agent's (whitespace) or a service's (spaces) are.
# Every token of one client carries the same claim, so a fresh token splits nothing; a
# pure function of the string, bounded (cleared when full), an empty split never kept.
_AGENT_SCOPES: dict[str, frozenset[str]] = {}
_SERVICE_SCOPES: dict[str, frozenset[str]] = {}


def _agent_scopes(payload: Mapping[str, Any]) -> frozenset[str]:
    scope = _scope(payload)
    scopes = _AGENT_SCOPES.get(scope)
    if scopes is None:
        scopes = frozenset(scope.split())
        if not scopes:
            raise Unauthenticated("malformed", "the access token's 'scope' names no scope")
        if len(_AGENT_SCOPES) >= _SCOPES_MEMO_SIZE:
            _AGENT_SCOPES.clear()
        _AGENT_SCOPES[scope] = scopes
    return scopes


def _service_scopes(payload: Mapping[str, Any]) -> frozenset[str]:
    scope = _scope(payload)
    scopes = _SERVICE_SCOPES.get(scope)
    if scopes is None:
        held = set(scope.split(" "))
        held.discard("")
        if not held:
            raise Unauthenticated("malformed", "the access token's 'scope' names no scope")
        scopes = frozenset(held)
        if len(_SERVICE_SCOPES) >= _SCOPES_MEMO_SIZE:
            _SERVICE_SCOPES.clear()
        _SERVICE_SCOPES[scope] = scopes
    return scopes


def _custom(payload: dict[str, Any], not_custom: frozenset[str]) -> Mapping[str, Any]:
    """The custom claims of ``payload``: those not in ``not_custom`` (often none at all)."""
    if payload.keys() <= not_custom:
        return _NO_CLAIMS
    return MappingProxyType({k: v for k, v in payload.items() if k not in not_custom})


_NO_CLAIMS: Final[Mapping[str, Any]] = MappingProxyType({})


def _time(seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)  # tz positional: 0.1 µs less than tz=
    except (OverflowError, OSError, ValueError):
        raise Unauthenticated(
            "malformed", "the access token's exp or iat is out of range"
        ) from None


# exp - iat -> that timedelta: a project's tokens share one lifetime, so the issue time is
# the expiry less a remembered timedelta (0.25 µs less than a second fromtimestamp; the
# same datetime, integer seconds both). Bounded: cleared when full.
_LIFETIMES: dict[int, timedelta] = {}


def _times(exp: int, iat: int) -> tuple[datetime, datetime]:
    """``(expires_at, issued_at)`` as aware UTC datetimes; ``malformed`` when out of range."""
    expires_at = _time(exp)
    lifetime = _LIFETIMES.get(exp - iat)
    if lifetime is None:
        if len(_LIFETIMES) >= 64:
            _LIFETIMES.clear()
        try:
            lifetime = _LIFETIMES[exp - iat] = timedelta(seconds=exp - iat)
        except OverflowError:
            return expires_at, _time(iat)
    try:
        return expires_at, expires_at - lifetime
    except OverflowError:
        return expires_at, _time(iat)


# A frozen dataclass's generated __init__ sets each field through object.__setattr__;
# the slot descriptors set them in 0.45 µs instead of 1.1 µs. Only for values already
# checked, and tests/auth/test_access_token_build.py holds the result equal, field by
# field, to the one __init__ builds (a field added to a class fails it).
_new: Final = object.__new__
_AGENT_SETTERS: Final = tuple(
    AgentPrincipal.__dict__[f.name].__set__ for f in dataclasses.fields(AgentPrincipal)
)
_SERVICE_SETTERS: Final = tuple(
    ServicePrincipal.__dict__[f.name].__set__ for f in dataclasses.fields(ServicePrincipal)
)
(
    _set_member_id,
    _set_organization_id,
    _set_organization_slug,
    _set_agent_client_id,
    _set_agent_scopes,
    _set_agent_expires_at,
    _set_agent_issued_at,
    _set_agent_issuer,
    _set_agent_custom_claims,
    _set_agent_access_token,
) = _AGENT_SETTERS
(
    _set_client_id,
    _set_scopes,
    _set_expires_at,
    _set_issued_at,
    _set_issuer,
    _set_custom_claims,
    _set_access_token,
) = _SERVICE_SETTERS


def _wrong_kind(kind: PrincipalKind, accept: Collection[PrincipalKind]) -> Unauthenticated:
    wanted = " or ".join(sorted(accept))
    return Unauthenticated("wrong_kind", f"a {kind} token where a {wanted} token is accepted")


#: ``(kind, kid, payload, signing input, signature)`` of a token read, not yet verified.
Unverified = tuple[PrincipalKind, str, dict[str, Any], bytes, bytes]


class AccessTokenVerifier:
    """Verify Connected-App and M2M access tokens locally (see the module docs).

    ``issuers``: the accepted ``iss`` values (:func:`accepted_issuers`). ``memo``: the memo
    verified tokens are remembered in (the facade passes the one its session verifier
    uses); None makes one of ``memo_size``.
    """

    def __init__(
        self,
        *,
        project_id: str,
        issuers: Collection[str],
        jwks: JWKSCache,
        clock: Clock | None = None,
        leeway: float = 0,
        memo: TokenMemo[AnyPrincipal] | None = None,
        memo_size: int = 10_000,
    ) -> None:
        if leeway < 0:
            raise ValueError(f"leeway must be >= 0, got {leeway!r}")
        self.project_id = project_id
        self.issuers: frozenset[str] = frozenset(issuers)
        self.jwks = jwks
        self.leeway: float = float(leeway)
        self._clock: Clock = clock or SystemClock()
        self.memo: TokenMemo[AnyPrincipal] = TokenMemo(memo_size) if memo is None else memo

    def remembered(self, token: str) -> AnyPrincipal | None:
        """The principal of ``token`` (of any kind) if it was verified before and is still
        valid, else None."""
        return self.memo.get(token, self._clock.time())

    def read(self, token: object) -> Unverified:
        """``token`` split and its kind read from its claims, nothing verified yet; raises
        :class:`Unauthenticated` (``missing``, ``malformed``, ``forged``) for a token that
        cannot be a Stytch JWT at all."""
        if type(token) is not str:
            raise TypeError(f"an access token is a str, got {type(token).__name__}")
        if not token:
            raise Unauthenticated("missing", "no access token")
        kid, payload, signing_input, signature = split(token)
        return _kind_of(payload), kid, payload, signing_input, signature

    async def verify(
        self, token: str, accept: Collection[PrincipalKind] = ACCESS_TOKEN_KINDS
    ) -> AgentPrincipal | ServicePrincipal:
        """The principal of a valid agent or service ``token`` of a kind in ``accept``.

        Raises :class:`Unauthenticated` (a session JWT is ``wrong_kind`` here: the facade
        sends one to the session verifier when sessions are accepted) and
        :class:`StytchUnavailable` when the JWKS cannot be fetched at all.
        """
        hit = self.remembered(token) if type(token) is str else None
        if hit is not None:
            if isinstance(hit, AgentPrincipal | ServicePrincipal) and hit.kind in accept:
                return hit
            raise _wrong_kind(hit.kind, accept)
        unverified = self.read(token)
        kind = unverified[0]
        if kind not in accept or kind == "session":
            raise _wrong_kind(kind, accept)
        return await self.verify_read(token, unverified)

    async def verify_read(
        self, token: str, unverified: Unverified
    ) -> AgentPrincipal | ServicePrincipal:
        """Finish verifying an agent or service ``token`` that :meth:`read` returned
        ``unverified`` for: signature, registered claims, then the claims of its kind."""
        kind, kid, payload, signing_input, signature = unverified
        key = self.jwks.key_now(kid)
        if key is None:  # not cached, stale or unknown: may fetch the JWKS
            await check_signature(self.jwks, kid, signing_input, signature)
        else:
            check_key_signature(key, signing_input, signature)
        now = self._clock.time()
        try:
            exp, iat = check_registered_claims(
                payload,
                project_id=self.project_id,
                issuers=self.issuers,
                now=now,
                leeway=self.leeway,
            )
        except StaleJWT:
            raise Unauthenticated("expired", "the access token has expired") from None
        principal: AgentPrincipal | ServicePrincipal
        if kind == "agent":
            principal = self._agent(token, payload, exp, iat)
        elif kind == "service":
            principal = self._service(token, payload, exp, iat)
        else:
            raise _wrong_kind(kind, ACCESS_TOKEN_KINDS)
        self.memo.put(token, principal, exp + self.leeway, kid, now)
        return principal

    @staticmethod
    def _agent(token: str, payload: dict[str, Any], exp: int, iat: int) -> AgentPrincipal:
        org = payload[ORGANIZATION_CLAIM]
        if type(org) is not dict:
            raise Unauthenticated(
                "malformed", f"the access token's {ORGANIZATION_CLAIM!r} is not an object"
            )
        organization_id = org.get("organization_id")
        if type(organization_id) is not str or not organization_id:
            raise Unauthenticated("malformed", "the access token names no organization_id")
        slug = org.get("slug")
        scopes = _agent_scopes(payload)
        member_id = _text(payload, "sub")
        client_id = _text(payload, "client_id")
        expires_at, issued_at = _times(exp, iat)
        principal: AgentPrincipal = _new(AgentPrincipal)
        _set_member_id(principal, member_id)
        _set_organization_id(principal, organization_id)
        _set_organization_slug(principal, slug if type(slug) is str else "")
        _set_agent_client_id(principal, client_id)
        _set_agent_scopes(principal, scopes)
        _set_agent_expires_at(principal, expires_at)
        _set_agent_issued_at(principal, issued_at)
        _set_agent_issuer(principal, payload["iss"])
        _set_agent_custom_claims(principal, _custom(payload, _AGENT_NOT_CUSTOM))
        _set_agent_access_token(principal, token)
        return principal

    @staticmethod
    def _service(token: str, payload: dict[str, Any], exp: int, iat: int) -> ServicePrincipal:
        scopes = _service_scopes(payload)
        client_id = _text(payload, "sub")
        expires_at, issued_at = _times(exp, iat)
        principal: ServicePrincipal = _new(ServicePrincipal)
        _set_client_id(principal, client_id)
        _set_scopes(principal, scopes)
        _set_expires_at(principal, expires_at)
        _set_issued_at(principal, issued_at)
        _set_issuer(principal, payload["iss"])
        _set_custom_claims(principal, _custom(payload, _SERVICE_NOT_CUSTOM))
        _set_access_token(principal, token)
        return principal
