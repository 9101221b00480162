"""Immutable snapshots of emulator records returned by the Python API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ConnectedAppRecord",
    "M2MClientRecord",
    "MemberRecord",
    "OrganizationRecord",
    "SessionRecord",
]


@dataclass(frozen=True, slots=True)
class OrganizationRecord:
    """An organization as it was when returned; ``json`` is its Stytch ``Organization`` object."""

    organization_id: str
    organization_slug: str
    organization_name: str
    json: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """A member as it was when returned; ``json`` is its Stytch ``Member`` object."""

    member_id: str
    organization_id: str
    email_address: str
    roles: tuple[str, ...]
    json: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A new session: its id, opaque token and a fresh JWT (neither shown by ``repr``)."""

    member_session_id: str
    member_id: str
    organization_id: str
    expires_at: float
    roles: tuple[str, ...]
    session_token: str = field(repr=False)
    session_jwt: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class M2MClientRecord:
    """A new M2M client: its id, scopes and its secret (shown this once, never by ``repr``).

    ``json`` is its ``M2MClient`` wire object (without the secret).
    """

    client_id: str
    client_name: str
    scopes: tuple[str, ...]
    custom_claims: Mapping[str, Any] = field(compare=False)
    client_secret: str = field(repr=False)
    json: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ConnectedAppRecord:
    """A new Connected App: ``client_id`` is also the B2B routes' ``connected_app_id``.

    ``client_secret`` is ``None`` for the public client types; ``json`` is its
    ``ConnectedApp`` wire object (without the secret).
    """

    client_id: str
    client_name: str
    client_type: str
    client_secret: str | None = field(repr=False)
    json: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def connected_app_id(self) -> str:
        """The id the organization and member routes name the app by (``client_id``)."""
        return self.client_id
