"""Stytch's built-in calls made as a member: :class:`MemberClient` (see :mod:`.client`)."""

from ._session import JWT_FRESHNESS_MARGIN, RBACFacade
from .client import MemberClient

__all__ = ["JWT_FRESHNESS_MARGIN", "MemberClient", "RBACFacade"]
