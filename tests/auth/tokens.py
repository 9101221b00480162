"""Signing keys, Stytch-shaped session claims and a stand-in for Stytch's JWKS, for the
verifier's tests."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from stytch_rbac.auth import ORGANIZATION_CLAIM, SESSION_CLAIM, JWKSCache, SessionJWTVerifier
from stytch_rbac.clock import Clock
from stytch_rbac.errors import StytchUnavailable

PROJECT = "project-test-11111111-2222-3333-4444-555555555555"
BASE_URL = "http://127.0.0.1:8765"
NOW = 1_800_000_000.0


def b64(value: int) -> str:
    """A JWK number: big-endian bytes, base64url without padding."""
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def segment(obj: Any) -> str:
    """``obj`` as a JWT segment (JSON, base64url without padding)."""
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def jwk(key: rsa.RSAPrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    """The public JWK of ``key`` in Stytch's JWKS layout."""
    numbers = key.public_key().public_numbers()
    doc = {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "key_ops": ["verify"],
        "x5c": [],
        "x5tS256": "",
        "n": b64(numbers.n),
        "e": b64(numbers.e),
    }
    doc.update(extra)
    return doc


def claims(**overrides: Any) -> dict[str, Any]:
    """A valid Stytch session payload at NOW; keyword overrides (None deletes a claim)."""
    now = NOW
    payload: dict[str, Any] = {
        "iss": f"stytch.com/{PROJECT}",
        "aud": [PROJECT],
        "sub": "member-test-1",
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + 300,
        SESSION_CLAIM: {
            "id": "session-test-1",
            "started_at": "2027-01-15T08:00:00Z",
            "last_accessed_at": "2027-01-15T08:00:00Z",
            "expires_at": "2027-01-15T09:00:00Z",
            "authentication_factors": [
                {"type": "magic_link", "delivery_method": "email", "email_factor": {}}
            ],
            "roles": ["stytch_member", "editor"],
        },
        ORGANIZATION_CLAIM: {"organization_id": "organization-test-1", "slug": "acme"},
        "plan": "pro",
    }
    for name, value in overrides.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return payload


class Issuer:
    """Signs tokens and serves the JWKS, counting fetches (a stand-in for Stytch's keys)."""

    def __init__(self, keys: dict[str, rsa.RSAPrivateKey]) -> None:
        self.keys = keys
        self.published = ["k1"]
        self.fetches = 0
        self.fail = False

    def document(self) -> dict[str, Any]:
        """The JWKS document of the published keys."""
        return {"keys": [jwk(self.keys[k], k) for k in self.published]}

    async def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        if self.fail:
            raise StytchUnavailable("JWKS endpoint down")
        return self.document()

    def mint(self, payload: dict[str, Any] | None = None, *, kid: str = "k1", key: str = "") -> str:
        return pyjwt.encode(
            claims() if payload is None else payload,
            self.keys[key or kid],
            algorithm="RS256",
            headers={"kid": kid},
        )


def signed(issuer: Issuer, header: dict[str, Any], payload: dict[str, Any], key: str = "k1") -> str:
    """A JWT of exactly ``header`` and ``payload``, RS256-signed with ``issuer``'s ``key``."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    signature = issuer.keys[key].sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def make_verifier(
    issuer: Issuer,
    clock: Clock,
    *,
    jwks_ttl: float = 300.0,
    jwks_max_stale: float = 3600.0,
    **kw: Any,
) -> SessionJWTVerifier:
    """A verifier for PROJECT at BASE_URL on ``clock``, forgetting withdrawn keys' tokens."""
    verifier: SessionJWTVerifier
    jwks = JWKSCache(
        issuer.fetch,
        clock=clock,
        ttl=jwks_ttl,
        max_stale=jwks_max_stale,
        on_rotate=lambda kids: verifier.forget(kids),
    )
    verifier = SessionJWTVerifier(
        project_id=PROJECT, base_url=BASE_URL, jwks=jwks, clock=clock, **kw
    )
    return verifier
