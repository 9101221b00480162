"""``Principal``: who a verified Stytch member session says the caller is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

__all__ = ["Principal"]

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
