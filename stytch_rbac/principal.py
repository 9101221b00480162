"""Who a verified credential says the caller is: a member session (:class:`Principal`), a
member acting through a Connected App (:class:`AgentPrincipal`) or a machine holding an M2M
token (:class:`ServicePrincipal`). The kind is explicit (``kind``), never inferred later."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, Literal, TypeAlias

__all__ = ["AgentPrincipal", "AnyPrincipal", "Principal", "PrincipalKind", "ServicePrincipal"]

PrincipalKind: TypeAlias = Literal["session", "agent", "service"]
"""What produced a principal: a member session, a Connected-App access token, an M2M token."""

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True, repr=False)
class Principal:
    """An authenticated member session: member, organization, roles and the credential.

    Built by :meth:`StytchRBAC.authenticate`. Immutable. ``repr()`` and
    ``str()`` show ids and roles, never the session JWT or token.

    ``jwt_refreshed`` is True when the presented JWT was expired (or older than
    ``jwt_max_age``) and Stytch returned a fresh one, now in ``session_jwt``:
    hand it back to the client (web guards do).
    """

    #: Always ``"session"``: decided by its roles.
    kind: ClassVar[PrincipalKind] = "session"

    member_id: str
    organization_id: str
    organization_slug: str
    roles: frozenset[str]
    session_id: str
    expires_at: datetime
    custom_claims: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False)
    session_jwt: str | None = field(default=None, compare=False)
    session_token: str | None = field(default=None, compare=False)
    jwt_refreshed: bool = False
    #: When the session started and was last used (None when the source did not say).
    started_at: datetime | None = None
    last_accessed_at: datetime | None = None
    #: ``exp`` of ``session_jwt`` (None when there is no JWT or it was not decoded).
    jwt_expires_at: datetime | None = None
    #: The session's authentication factors, as Stytch's JSON objects.
    authentication_factors: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)

    def __repr__(self) -> str:
        roles = ", ".join(sorted(self.roles))
        credential = (
            "session_jwt" if self.session_jwt else "session_token" if self.session_token else None
        )
        return (
            f"Principal(member_id={self.member_id!r}, organization_id={self.organization_id!r}, "
            f"roles=[{roles}], session_id={self.session_id!r}, "
            f"expires_at={self.expires_at.isoformat()!r}, credential={credential}"
            f"{', jwt_refreshed=True' if self.jwt_refreshed else ''})"
        )

    __str__ = __repr__

    def has_role(self, role_id: str) -> bool:
        """Whether the session holds ``role_id`` (a plain membership test, not a decision)."""
        return str(role_id) in self.roles


class _TokenPrincipal:
    """What the principals of access tokens share: a ``repr()`` of ids, scopes and expiry
    that never shows the token, and the scope membership test."""

    __slots__ = ()

    #: The id fields ``repr()`` shows, in order, before the scopes and the expiry.
    _REPR_IDS: ClassVar[tuple[str, ...]]
    scopes: frozenset[str]
    expires_at: datetime

    def __repr__(self) -> str:
        ids = "".join(f"{name}={getattr(self, name)!r}, " for name in self._REPR_IDS)
        scopes = " ".join(sorted(self.scopes))
        return (
            f"{type(self).__name__}({ids}scopes=[{scopes}], "
            f"expires_at={self.expires_at.isoformat()!r})"
        )

    __str__ = __repr__

    def has_scope(self, scope: str) -> bool:
        """Whether the token names ``scope`` (a plain membership test, not a decision)."""
        return str(scope) in self.scopes


@dataclass(frozen=True, slots=True, repr=False)
class AgentPrincipal(_TokenPrincipal):
    """A member acting through a Connected App (an AI agent, an MCP client): an OAuth access
    token Stytch issued to ``client_id`` for ``member_id`` in ``organization_id``.

    Decided by the policy's ``scopes`` named in ``scopes`` (Stytch's rule), optionally
    intersected with the member's current roles. ``repr()`` never shows the token.
    """

    #: Always ``"agent"``: decided by the policy's scopes.
    kind: ClassVar[PrincipalKind] = "agent"

    member_id: str
    organization_id: str
    organization_slug: str
    client_id: str
    #: The token's ``scope`` claim split on whitespace (OIDC scopes included).
    scopes: frozenset[str]
    expires_at: datetime
    issued_at: datetime
    issuer: str
    #: Claims other than the registered ones, ``scope`` and the organization claim.
    custom_claims: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False)
    access_token: str | None = field(default=None, compare=False)

    _REPR_IDS: ClassVar[tuple[str, ...]] = ("member_id", "organization_id", "client_id")


@dataclass(frozen=True, slots=True, repr=False)
class ServicePrincipal(_TokenPrincipal):
    """A machine holding an M2M (client-credentials) access token for ``client_id``.

    It belongs to no organization: a guard on an organization's route refuses it unless the
    application says how clients map to organizations. ``repr()`` never shows the token.
    """

    #: Always ``"service"``: decided by its scopes.
    kind: ClassVar[PrincipalKind] = "service"

    client_id: str
    #: The token's ``scope`` claim split on spaces.
    scopes: frozenset[str]
    expires_at: datetime
    issued_at: datetime
    issuer: str
    #: Claims other than the registered ones and ``scope`` (the client's custom claims).
    custom_claims: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False)
    access_token: str | None = field(default=None, compare=False)

    _REPR_IDS: ClassVar[tuple[str, ...]] = ("client_id",)


AnyPrincipal: TypeAlias = Principal | AgentPrincipal | ServicePrincipal
"""Any principal a decision accepts."""
