"""The documented import path of the guard helpers, which live in ``integrations.guard``.

``from stytch_rbac.guards import CredentialConfig, header, path, query`` keeps working.
"""

from .integrations.guard import (
    SCOPE_KEY,
    Authorizer,
    CredentialConfig,
    Credentials,
    Guard,
    OrganizationSource,
    OrganizationSpec,
    RequestAuth,
    RequestLike,
    authenticate_request,
    extract_credentials,
    guards_of,
    header,
    path,
    query,
    request_auth,
    verify_guards,
)

__all__ = [
    "SCOPE_KEY",
    "Authorizer",
    "CredentialConfig",
    "Credentials",
    "Guard",
    "OrganizationSource",
    "OrganizationSpec",
    "RequestAuth",
    "RequestLike",
    "authenticate_request",
    "extract_credentials",
    "guards_of",
    "header",
    "path",
    "query",
    "request_auth",
    "verify_guards",
]
