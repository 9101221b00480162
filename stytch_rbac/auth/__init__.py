"""A credential becomes a principal: claim layout, JWKS cache, session-JWT verifier.

Runtime code below the facade: it never speaks HTTP itself (the JWKS cache is
given a fetch function by the facade, which gets it from ``_stytch``).
"""

from .claims import (
    ORGANIZATION_CLAIM,
    SESSION_CLAIM,
    parse_datetime,
    principal_from_claims,
    principal_from_member_session,
    unverified_claims,
)
from .jwks import JWKS_REFETCH_INTERVAL, MIN_RSA_BITS, JWKSCache, parse_jwks
from .memo import TokenMemo
from .session_jwt import SessionJWTVerifier, StaleJWT

__all__ = [
    "JWKS_REFETCH_INTERVAL",
    "MIN_RSA_BITS",
    "ORGANIZATION_CLAIM",
    "SESSION_CLAIM",
    "JWKSCache",
    "SessionJWTVerifier",
    "StaleJWT",
    "TokenMemo",
    "parse_datetime",
    "parse_jwks",
    "principal_from_claims",
    "principal_from_member_session",
    "unverified_claims",
]
