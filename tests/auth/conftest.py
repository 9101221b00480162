"""Keys, an issuer and a manual clock for the verifier's tests."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from stytch_rbac.clock import ManualClock

from .tokens import NOW, Issuer


@pytest.fixture(scope="session")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    """Three RSA keys: the published one, its successor, and an attacker's."""
    return {
        name: rsa.generate_private_key(public_exponent=65537, key_size=2048)
        for name in ("k1", "k2", "evil")
    }


@pytest.fixture
def issuer(keys: dict[str, rsa.RSAPrivateKey]) -> Issuer:
    """A fresh issuer publishing k1."""
    return Issuer(keys)


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at NOW."""
    return ManualClock(NOW)
