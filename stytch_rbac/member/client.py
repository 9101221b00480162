"""``MemberClient``: Stytch's built-in calls made on behalf of a member session.

Stytch enforces a member's permissions on its built-in resources
(``stytch.organization``, ``stytch.member``, ``stytch.self``, ``stytch.sso``,
``stytch.scim``) when a call carries the member's session. ``MemberClient``
mirrors every ``stytch.B2BClient`` method that takes ``method_options`` (the
tree is generated into ``_generated_api.py`` by ``scripts/gen_member_api.py``),
awaits the SDK's ``*_async`` twin with the member's ``Authorization`` injected,
after the pre-flight (see ``_session``), and returns the SDK's own response
model. Every failure is one of :mod:`stytch_rbac.errors`: Stytch's 401 ->
``Unauthenticated``, its 403s -> ``PermissionDenied`` / ``TenancyError`` /
``Forbidden``, 429, 5xx, timeouts and refused connections ->
``StytchUnavailable``, any other error answer -> ``StytchAPIError``.

This package imports the ``stytch`` SDK (through ``_stytch``); ``import
stytch_rbac`` does not import it (``StytchRBAC.as_member`` imports this package
on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..clock import Clock, SystemClock
from ._generated_api import MemberAPI
from ._session import MemberSession, RBACFacade

if TYPE_CHECKING:
    from ..principal import Principal

__all__ = ["MemberClient"]


class MemberClient(MemberAPI):
    """Stytch's built-in calls made as one member, e.g. ``await member.sso.get_connections(org)``.

    Build it with :meth:`StytchRBAC.as_member`. Attributes mirror
    ``stytch.B2BClient`` (``organizations``, ``organizations.members``,
    ``organizations.members.connected_apps``, ``sso``, ``sso.saml``, ``sso.oidc``,
    ``sso.external``, ``scim.connection``, ``magic_links.email``,
    ``passwords.email``, ``sessions``); every method that takes ``method_options``
    in the SDK is here, awaitable, with the same parameters minus
    ``method_options``, and returns the SDK's own response model.
    """

    __slots__ = ("_member",)

    def __init__(
        self,
        rbac: RBACFacade,
        principal: Principal | None = None,
        *,
        session_jwt: str | None = None,
        session_token: str | None = None,
        preflight: bool = True,
        clock: Clock | None = None,
    ) -> None:
        given = [x for x in (principal, session_jwt, session_token) if x is not None]
        if len(given) != 1:
            raise TypeError(
                "as_member() takes exactly one of a Principal, session_jwt= or session_token="
                f" ({len(given)} given)"
            )
        credentials: tuple[tuple[str, object], ...] = (
            ("session_jwt", session_jwt),
            ("session_token", session_token),
        )
        for name, value in credentials:
            if value is not None and (not isinstance(value, str) or not value):
                raise TypeError(f"{name} must be a non-empty string")
        self._member = MemberSession(
            rbac,
            principal,
            session_jwt,
            session_token,
            preflight=bool(preflight),
            clock=clock or SystemClock(),
        )
        super().__init__(self._member, rbac.stytch)

    @property
    def preflight(self) -> bool:
        """Whether calls are checked locally before the request."""
        return self._member.preflight

    async def principal(self) -> Principal:
        """The member this client acts as (authenticates a bare credential once)."""
        return await self._member.principal()

    def __repr__(self) -> str:
        principal = self._member.known_principal
        who = (
            f"member_id={principal.member_id!r}, organization_id={principal.organization_id!r}"
            if principal is not None
            else "unauthenticated credential"
        )
        return f"MemberClient({who}, preflight={self.preflight})"
