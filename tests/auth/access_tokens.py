"""Connected-App and M2M tokens for the access-token tests: genuine ones minted by the
emulator, and any claims signed with the emulator's own key (or not), to forge from."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from stytch_rbac import StytchRBAC
from stytch_rbac.emulator import Emulator

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a token the emulator minted (our own output: read unverified)."""
    payload: dict[str, Any] = pyjwt.decode(token, options={"verify_signature": False})
    return payload


def resign(emu: Emulator, token: str, **changes: Any) -> str:
    """``token``'s claims with ``changes`` (None deletes a claim), signed again with the
    emulator's active key: a genuine signature over whatever claims a test needs."""
    return sign(emu, with_changes(claims_of(token), **changes))


def with_changes(claims: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``claims`` with ``changes`` applied (None deletes a claim)."""
    payload = dict(claims)
    for name, value in changes.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return payload


def sign(emu: Emulator, claims: dict[str, Any]) -> str:
    """``claims`` signed RS256 by the emulator's active key, under its ``kid``."""
    # The key ring is the emulator's private part; a test forging genuine tokens needs it.
    token: str = emu._state.keys.sign(claims)
    return token


def segment(obj: Any) -> str:
    """``obj`` as a JWT segment (JSON, base64url without padding)."""
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def raw_signed(key: rsa.RSAPrivateKey, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A JWT of exactly ``header`` and ``claims``, RS256-signed with ``key``."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def network(emu: Emulator) -> int:
    """Every request the emulator has answered so far, of any route."""
    return sum(emu.requests.values())


def facade(emu: Emulator, rbac: StytchRBAC, **settings: Any) -> StytchRBAC:
    """A second facade with ``settings`` over the plugin facade's HTTP client and the
    emulator's clock (the plugin's ``stytch_rbac`` takes no settings)."""
    settings.setdefault("project_domain", emu.project_domain)
    return StytchRBAC(
        emu.project_id,
        emu.secret,
        base_url=rbac.base_url,
        http_client=rbac.http,
        clock=emu.clock,
        **settings,
    )
