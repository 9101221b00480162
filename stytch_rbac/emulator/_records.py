"""Immutable snapshots of emulator records returned by the Python API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MemberRecord", "OrganizationRecord", "SessionRecord"]


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
