"""The state one ``MemberClient`` shares across its wrappers: credential, pre-flight, errors.

For each call:

1. picks the credential: the principal's session JWT while it is fresh, else its
   session token, else a JWT refreshed through ``rbac.authenticate``;
2. runs the pre-flight (unless ``preflight=False``): the permission Stytch will
   demand, from :mod:`stytch_rbac.policy.builtin_calls` (the one table), checked
   locally against the member's roles and organization; a refusal raises
   :class:`~stytch_rbac.errors.PermissionDenied`,
   :class:`~stytch_rbac.errors.TenancyError` or
   :class:`~stytch_rbac.errors.Forbidden` before any request;
3. maps whatever the call raises through the one translator
   (``stytch_rbac._stytch.translate_errors``): no SDK or httpx exception reaches
   the caller.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, Protocol

import anyio

from .._stytch import translate_errors
from .._stytch.sdk_models import Authorization
from ..auth.claims import unverified_expiry
from ..clock import Clock
from ..errors import Forbidden, PermissionDenied, TenancyError, Unauthenticated
from ..observe.events import DecisionSource, DenialReason
from ..observe.observer import Observer, no_grants
from ..policy.builtin_calls import Need, Refusal, Requirement, check, requirement

if TYPE_CHECKING:
    import stytch

    from ..policy import CompiledPolicy
    from ..principal import Principal

__all__ = ["JWT_FRESHNESS_MARGIN", "MemberSession", "RBACFacade"]

# Enum members read once: a member look-up on the class costs ~100 ns on Python 3.11.
_PREFLIGHT: Final = DecisionSource.PREFLIGHT
_NO_GRANT: Final = DenialReason.NO_GRANT
_TENANCY: Final = DenialReason.TENANCY

#: A session JWT is sent only while it has at least this many seconds left, so that
#: it cannot expire between the choice and Stytch's check.
JWT_FRESHNESS_MARGIN: Final = 5.0


class RBACFacade(Protocol):
    """What ``MemberClient`` needs from :class:`~stytch_rbac.StytchRBAC`."""

    @property
    def stytch(self) -> stytch.B2BClient:
        """The ``stytch.B2BClient`` whose ``*_async`` methods run over the facade's client."""
        ...

    async def authenticate(
        self, *, session_jwt: str | None = None, session_token: str | None = None
    ) -> Principal:
        """Verify a member session and return who it is."""
        ...

    async def policy(self, organization_id: str | None = None) -> CompiledPolicy:
        """The project policy merged with ``organization_id``'s custom roles."""
        ...


class MemberSession:
    """The state every wrapper of one ``MemberClient`` shares: credential, pre-flight, errors."""

    __slots__ = ("_clock", "_jwt", "_lock", "_principal", "_rbac", "_token", "preflight")

    def __init__(
        self,
        rbac: RBACFacade,
        principal: Principal | None,
        session_jwt: str | None,
        session_token: str | None,
        *,
        preflight: bool,
        clock: Clock,
    ) -> None:
        self._rbac = rbac
        self._principal = principal
        self._jwt = session_jwt
        self._token = session_token
        self.preflight: bool = preflight
        self._clock = clock
        self._lock = anyio.Lock()

    @property
    def known_principal(self) -> Principal | None:
        """The principal, if given or already authenticated."""
        return self._principal

    async def principal(self) -> Principal:
        """The member behind the credential, authenticating it once if it came as a string."""
        if self._principal is None:
            async with self._lock:
                if self._principal is None:
                    self._principal = await self._rbac.authenticate(
                        session_jwt=self._jwt, session_token=None if self._jwt else self._token
                    )
        return self._principal

    def _fresh(self, jwt: str, expires_at: float | None) -> bool:
        exp = unverified_expiry(jwt) if expires_at is None else expires_at
        return exp is not None and exp - self._clock.time() > JWT_FRESHNESS_MARGIN

    async def _credential(self) -> Authorization:
        principal = self._principal
        if principal is None:
            if not self.preflight:
                # A bare credential, not pre-flighted: Stytch alone judges it.
                return Authorization(session_jwt=self._jwt, session_token=self._token)
            principal = await self.principal()
        jwt = principal.session_jwt
        expires = principal.jwt_expires_at.timestamp() if principal.jwt_expires_at else None
        if jwt and self._fresh(jwt, expires):
            return Authorization(session_jwt=jwt)
        if principal.session_token:
            return Authorization(session_token=principal.session_token)
        if jwt:
            # Stale JWT and no token: Stytch's sessions/authenticate hands back a fresh JWT
            # while the session lives (Unauthenticated otherwise: nothing is sent).
            async with self._lock:
                if self._principal is principal:
                    self._principal = await self._rbac.authenticate(session_jwt=jwt)
            refreshed = self._principal
            assert refreshed is not None
            return Authorization(
                session_jwt=refreshed.session_jwt, session_token=refreshed.session_token
            )
        raise Unauthenticated("missing", "the principal carries no session JWT or token")

    async def authorize(self, method: str, params: Mapping[str, object]) -> Authorization:
        """The credential for ``method``, after the pre-flight check when it is on."""
        authorization = await self._credential()
        if self.preflight:
            await self._preflight(method, params)
        return authorization

    async def _preflight(self, method: str, params: Mapping[str, object]) -> None:
        principal = await self.principal()
        started = time.perf_counter()
        req = requirement(method, _with_own_org_ids(params, principal))
        # StytchRBAC.policy_for fetches no org policy for a member holding only project roles.
        policy_for = getattr(self._rbac, "policy_for", None)
        if policy_for is not None:
            policy: CompiledPolicy = await policy_for(principal)
        else:
            policy = await self._rbac.policy(principal.organization_id)
        refusal = check(
            req,
            policy=policy,
            roles=principal.roles,
            member_id=principal.member_id,
            organization_id=principal.organization_id,
        )
        observer = getattr(self._rbac, "observer", None)
        if isinstance(observer, Observer):
            _report_preflight(observer, principal, policy, req, refusal, started)
        if refusal is None:
            return
        fields: dict[str, Any] = {
            "error_type": refusal.error_type,
            "error_message": refusal.message,
            "request_id": None,
        }
        if refusal.kind == "tenancy":
            raise TenancyError(
                principal.organization_id,
                refusal.organization_id,
                member_id=principal.member_id,
                **fields,
            )
        if refusal.kind == "permission":
            raise PermissionDenied(
                refusal.resource or "unknown",
                refusal.action or "unknown",
                organization_id=principal.organization_id,
                member_id=principal.member_id,
                **fields,
            )
        raise Forbidden(f"refused before the call: {refusal.message}", **fields)

    @contextmanager
    def errors(self, method: str, params: Mapping[str, object]) -> Iterator[None]:
        """Whatever the call raises becomes ours through the one translator: Stytch's
        refusals, its other error answers (``StytchAPIError``), rate limits, outages and
        transport failures (``StytchUnavailable``)."""
        tracing = getattr(self._rbac, "tracing", None)
        if tracing is None:
            with translate_errors(**self._context(method, params)):
                yield
            return
        with tracing.span(method), translate_errors(**self._context(method, params)):
            yield

    def _context(self, method: str, params: Mapping[str, object]) -> dict[str, str | None]:
        principal = self._principal
        needs = requirement(method, params).needs
        resources = sorted({n.resource for n in needs})
        return {
            "resource": resources[0] if len(resources) == 1 else None,
            "action": ", ".join(n.action for n in needs) or None,
            "organization_id": principal.organization_id if principal else None,
            "member_id": principal.member_id if principal else None,
        }


def _with_own_org_ids(params: Mapping[str, object], principal: Principal) -> Mapping[str, object]:
    """Read the member's own organization slug as its id (Stytch accepts either)."""
    slug, own = principal.organization_slug, principal.organization_id
    if not slug:
        return params
    fixed = dict(params)
    if fixed.get("organization_id") == slug:
        fixed["organization_id"] = own
    ids = fixed.get("organization_ids")
    if isinstance(ids, list | tuple):
        fixed["organization_ids"] = [own if i == slug else i for i in ids]
    return fixed


def _report_preflight(
    observer: Observer,
    principal: Principal,
    policy: CompiledPolicy,
    req: Requirement,
    refusal: Refusal | None,
    started: float,
) -> None:
    """One event per permission the call needs (the refused one when it is refused)."""
    requested = req.organization_ids[0] if req.organization_ids else None
    if refusal is not None:
        reason = _TENANCY if refusal.kind == "tenancy" else _NO_GRANT
        observer.decided(
            _PREFLIGHT, principal, refusal.organization_id or requested,
            refusal.resource or "", refusal.action or "", False, reason, no_grants, started,
            None, req.method,
        )  # fmt: skip
        return
    for need in req.needs:
        observer.decided(
            _PREFLIGHT, principal, requested, need.resource, need.action, True,
            None, [_granted_by, policy, principal, need], started, None, req.method,
        )  # fmt: skip


def _granted_by(policy: CompiledPolicy, principal: Principal, need: Need) -> list[str]:
    """The roles granting ``need`` (through ``stytch.self`` when that is how it is met)."""
    granted = policy.decide(principal.roles, need.resource, need.action).granted_by
    if not granted and need.self_action is not None:
        granted = policy.decide(principal.roles, "stytch.self", need.self_action).granted_by
    return sorted(granted)
