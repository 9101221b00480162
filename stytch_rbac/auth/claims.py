"""Stytch's session claim layout, shared by the verifier and the emulator, and claims -> Principal.

A Stytch member session JWT (reference 3.2) carries the registered claims and two
namespaced objects: :data:`SESSION_CLAIM` (session id, roles, timestamps,
authentication factors) and :data:`ORGANIZATION_CLAIM` (organization id and slug).
Everything else in the payload is a custom claim.

:func:`unverified_claims` reads a JWT's payload without verifying it: only for
choices that a forged token cannot turn into an allow (which credential to send
next, the ``exp`` of a JWT Stytch itself just returned).
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

from ..principal import Principal

__all__ = [
    "NON_CUSTOM_CLAIMS",
    "ORGANIZATION_CLAIM",
    "REQUIRED_CLAIMS",
    "RESERVED_CLAIMS",
    "SESSION_CLAIM",
    "b64decode",
    "parse_datetime",
    "principal_from_claims",
    "principal_from_member_session",
    "session_claims",
    "unverified_claims",
    "unverified_expiry",
]

SESSION_CLAIM: Final = "https://stytch.com/session"
ORGANIZATION_CLAIM: Final = "https://stytch.com/organization"
#: The registered JWT claims Stytch reserves: a custom claim of these names is ignored.
RESERVED_CLAIMS: Final = frozenset({"aud", "exp", "iat", "iss", "jti", "nbf", "sub"})
#: Every claim name that is not a custom claim.
NON_CUSTOM_CLAIMS: Final = RESERVED_CLAIMS | {SESSION_CLAIM, ORGANIZATION_CLAIM}
REQUIRED_CLAIMS: Final = ("aud", "iss", "exp", "iat", "nbf")


# The last character of a segment 2 (or 3) characters past a multiple of 4 carries 4 (or 2)
# bits beyond the decoded bytes; a canonical encoder writes them as zero, so only these
# characters may end such a segment.
_LAST_OF_2: Final = frozenset(b"AQgw")
_LAST_OF_3: Final = frozenset(b"AEIMQUYcgkosw048")
# To the standard alphabet, and the standard alphabet's own "+", "/" and "=" to "!", which
# a2b_base64 in strict mode refuses: so one pass translates and the decode checks.
_TO_STANDARD: Final = bytes.maketrans(b"-_+/=", b"+/!!!")
_PADDING: Final = (b"", b"", b"==", b"=")  # by len(segment) % 4
_a2b: Final = binascii.a2b_base64


def b64decode(segment: str | bytes) -> bytes:
    """Decode strict, canonical base64url (a JWT segment): ValueError for anything else.

    Only ``[A-Za-z0-9_-]``, no padding, a length that is not 1 more than a multiple
    of 4, and zero unused trailing bits, so that each byte string has exactly one
    accepted encoding (a lenient decoder lets ``sig``, ``sig=`` and ``s!ig`` all
    name the same signature).
    """
    raw = segment.encode("ascii") if isinstance(segment, str) else segment
    rem = len(raw) % 4
    if rem == 1:
        raise ValueError("not base64url: the length is 1 more than a multiple of 4")
    if (rem == 2 and raw[-1] not in _LAST_OF_2) or (rem == 3 and raw[-1] not in _LAST_OF_3):
        raise ValueError("not canonical base64url: the unused trailing bits are not zero")
    # Any character outside the base64url alphabet is one strict a2b_base64 refuses after
    # the translation ("+", "/", "=" and whitespace included); with the padding added
    # here it decodes what urlsafe_b64decode would, without its layers of argument checks.
    try:
        return _a2b(raw.translate(_TO_STANDARD) + _PADDING[rem], strict_mode=True)
    except binascii.Error:
        raise ValueError("not base64url: a character outside [A-Za-z0-9_-] (or padding)") from None


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, read but not verified; None when it is not a JWT with a JSON
    object payload. Never use it to decide who someone is."""
    try:
        payload = json.loads(b64decode(token.split(".")[1]))
    except (IndexError, ValueError, RecursionError):
        # RecursionError: JSON nested deeper than the interpreter's stack allows.
        return None
    return payload if isinstance(payload, dict) else None


def unverified_expiry(token: str) -> float | None:
    """The ``exp`` of a JWT in epoch seconds, read but not verified (see
    :func:`unverified_claims`); None when there is none or it is not a number."""
    claims = unverified_claims(token)
    exp = None if claims is None else claims.get("exp")
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def session_claims(payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The :data:`SESSION_CLAIM` and :data:`ORGANIZATION_CLAIM` objects of a session JWT
    payload; ValueError naming the one that is missing or not an object."""
    session = payload.get(SESSION_CLAIM)
    org = payload.get(ORGANIZATION_CLAIM)
    if not isinstance(session, dict):
        raise ValueError(f"claim {SESSION_CLAIM!r} is missing")
    if not isinstance(org, dict):
        raise ValueError(f"claim {ORGANIZATION_CLAIM!r} is missing")
    return session, org


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_datetime(value: Any) -> datetime:
    """An RFC 3339 timestamp (``...Z``, any fraction length) or epoch seconds, as aware UTC.

    Raises ValueError for anything else, a number out of datetime's range included."""
    if type(value) is str:
        try:
            # Python 3.11+ reads Stytch's form ("2024-01-01T00:00:00Z") directly.
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = _parse_datetime_slow(value)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise ValueError("not a timestamp")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError):
            raise ValueError("timestamp out of range") from None
    raise ValueError("not a timestamp")


def _parse_datetime_slow(value: str) -> datetime:
    text = value.strip()
    if not text:
        raise ValueError("not a timestamp")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(_FRACTION.sub(r"\1", text))


def _optional_datetime(value: Any) -> datetime | None:
    try:
        return None if value is None else parse_datetime(value)
    except ValueError:
        return None


def _roles(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise ValueError("roles is not a list of strings")
    return frozenset(value)


def _factors(value: Any) -> tuple[Mapping[str, Any], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(MappingProxyType(dict(f)) for f in value if isinstance(f, dict))


def principal_from_claims(
    payload: Mapping[str, Any],
    *,
    session_jwt: str | None,
    jwt_refreshed: bool = False,
) -> Principal:
    """A Principal from a verified session JWT payload (Stytch's claim layout, reference 3.2).

    Raises ValueError naming the missing or mistyped claim.
    """
    session, org = session_claims(payload)
    member_id = payload.get("sub")
    session_id = session.get("id")
    organization_id = org.get("organization_id")
    for name, value in (
        ("sub", member_id),
        ("session id", session_id),
        ("organization_id", organization_id),
    ):
        if not isinstance(value, str) or not value:
            raise ValueError(f"claim {name!r} is missing or not a string")
    assert isinstance(member_id, str)
    assert isinstance(session_id, str)
    assert isinstance(organization_id, str)
    slug = org.get("slug")
    exp = payload["exp"]
    expires_at = _optional_datetime(session.get("expires_at")) or parse_datetime(int(exp))
    custom = {k: v for k, v in payload.items() if k not in NON_CUSTOM_CLAIMS}
    return Principal(
        member_id=member_id,
        organization_id=organization_id,
        organization_slug=slug if isinstance(slug, str) else "",
        roles=_roles(session.get("roles")),
        session_id=session_id,
        expires_at=expires_at,
        custom_claims=MappingProxyType(custom),
        session_jwt=session_jwt,
        jwt_refreshed=jwt_refreshed,
        started_at=_optional_datetime(session.get("started_at")),
        last_accessed_at=_optional_datetime(session.get("last_accessed_at")),
        jwt_expires_at=parse_datetime(int(exp)),
        authentication_factors=_factors(session.get("authentication_factors")),
    )


def principal_from_member_session(
    member_session: Any,
    *,
    session_jwt: str | None,
    session_token: str | None,
    jwt_refreshed: bool = False,
) -> Principal:
    """A Principal from the ``member_session`` object of a ``sessions/authenticate`` response.

    Raises ValueError naming the missing field.
    """
    if not isinstance(member_session, dict):
        raise ValueError("member_session is missing")
    values: dict[str, str] = {}
    for name in ("member_id", "organization_id", "member_session_id"):
        value = member_session.get(name)
        if not isinstance(value, str) or not value:
            raise ValueError(f"member_session.{name} is missing")
        values[name] = value
    slug = member_session.get("organization_slug")
    claims = member_session.get("custom_claims")
    return Principal(
        member_id=values["member_id"],
        organization_id=values["organization_id"],
        organization_slug=slug if isinstance(slug, str) else "",
        roles=_roles(member_session.get("roles")),
        session_id=values["member_session_id"],
        expires_at=parse_datetime(member_session.get("expires_at")),
        custom_claims=MappingProxyType(dict(claims) if isinstance(claims, dict) else {}),
        session_jwt=session_jwt or None,
        session_token=session_token or None,
        jwt_refreshed=jwt_refreshed,
        started_at=_optional_datetime(member_session.get("started_at")),
        last_accessed_at=_optional_datetime(member_session.get("last_accessed_at")),
        jwt_expires_at=_unverified_exp(session_jwt) if session_jwt else None,
        authentication_factors=_factors(member_session.get("authentication_factors")),
    )


def _unverified_exp(token: str) -> datetime | None:
    """``exp`` of a JWT Stytch itself just returned (read, not verified)."""
    exp = unverified_expiry(token)
    try:
        return None if exp is None else parse_datetime(exp)
    except ValueError:
        return None
