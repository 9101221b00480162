"""stytch-rbac: a typed async facade over the stytch SDK for Stytch B2B RBAC.

Importing this package does not import the ``stytch`` SDK; it is loaded on
first use of a remote call.
"""

from .errors import (
    Forbidden,
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
)

__version__ = "0.1.0"

__all__ = [
    "ActionEnum",
    "CompiledPolicy",
    "Decision",
    "Forbidden",
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
    "StrEnum",
    "StytchAPIError",
    "StytchRBACError",
    "StytchUnavailable",
    "TenancyError",
    "Unauthenticated",
    "UnknownPermission",
    "__version__",
]
