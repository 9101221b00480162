"""stytch-rbac: a typed async facade over the stytch SDK for Stytch B2B RBAC.

Importing this package does not import the ``stytch`` SDK, FastAPI or the
emulator; the SDK is loaded on first use of ``rbac.stytch``, ``rbac.as_member``
or a remote authentication. ``MemberClient`` is therefore resolved lazily.
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .client import StytchRBAC
from .clock import Clock, ManualClock, SystemClock
from .errors import (
    CrossSiteRequest,
    Forbidden,
    InsufficientScope,
    PermissionDenied,
    PolicyError,
    PolicyWarning,
    StytchAPIError,
    StytchRBACError,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
    UnknownPermission,
)
from .integrations.guard import CredentialConfig, Guard, header, path, query
from .machine_rules import AgentRoles, M2MScopes, ServiceOrganizations
from .observe import AuditLog, AuthenticationEvent, DecisionEvent, DenialReason
from .permissions import ActionEnum, Permission, StrEnum
from .policy import (
    CompiledPolicy,
    Decision,
    OrgPolicy,
    Policy,
    PolicyResource,
    PolicyRole,
    PolicyRolePermission,
    PolicyScope,
    PolicyScopePermission,
    m2m_scopes_allow,
)
from .principal import (
    AgentPrincipal,
    AnyPrincipal,
    Principal,
    PrincipalKind,
    ServicePrincipal,
)

if TYPE_CHECKING:
    from .member import MemberClient


__all__ = [
    "ActionEnum",
    "AgentPrincipal",
    "AgentRoles",
    "AnyPrincipal",
    "AuditLog",
    "AuthenticationEvent",
    "Clock",
    "CompiledPolicy",
    "CredentialConfig",
    "CrossSiteRequest",
    "Decision",
    "DecisionEvent",
    "DenialReason",
    "Forbidden",
    "Guard",
    "InsufficientScope",
    "M2MScopes",
    "ManualClock",
    "MemberClient",
    "OrgPolicy",
    "Permission",
    "PermissionDenied",
    "Policy",
    "PolicyError",
    "PolicyResource",
    "PolicyRole",
    "PolicyRolePermission",
    "PolicyScope",
    "PolicyScopePermission",
    "PolicyWarning",
    "Principal",
    "PrincipalKind",
    "ServiceOrganizations",
    "ServicePrincipal",
    "StrEnum",
    "StytchAPIError",
    "StytchRBAC",
    "StytchRBACError",
    "StytchUnavailable",
    "SystemClock",
    "TenancyError",
    "Unauthenticated",
    "UnknownPermission",
    "__version__",
    "header",
    "m2m_scopes_allow",
    "path",
    "query",
]


def __getattr__(name: str) -> Any:
    # MemberClient imports the stytch SDK (~360 ms); load it only when asked for.
    if name == "MemberClient":
        from .member import MemberClient

        return MemberClient
    raise AttributeError(f"module 'stytch_rbac' has no attribute {name!r}")
