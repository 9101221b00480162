"""``rs256_verifies`` answers exactly what cryptography's ``verify()`` answers."""

from __future__ import annotations

import functools

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256, SHA384
from hypothesis import given, settings
from hypothesis import strategies as st

from stytch_rbac.auth._jws import rs256_verifies


@functools.cache
def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _verify(public: rsa.RSAPublicKey, message: bytes, signature: bytes) -> bool:
    try:
        public.verify(signature, message, padding.PKCS1v15(), SHA256())
    except InvalidSignature:
        return False
    return True


def _sign(message: bytes) -> bytes:
    return _key().sign(message, padding.PKCS1v15(), SHA256())


def test_a_genuine_signature_verifies() -> None:
    public = _key().public_key()
    assert rs256_verifies(public, b"header.payload", _sign(b"header.payload"))


def test_another_message_or_hash_does_not_verify() -> None:
    public = _key().public_key()
    assert not rs256_verifies(public, b"header.payload!", _sign(b"header.payload"))
    other_hash = _key().sign(b"m", padding.PKCS1v15(), SHA384())
    assert not rs256_verifies(public, b"m", other_hash)


def test_a_signature_without_its_leading_zero_byte_is_refused() -> None:
    """The recovered value alone would accept it: the length rule of ``verify()`` is kept."""
    public = _key().public_key()
    for n in range(2000):
        message = n.to_bytes(4, "big")
        signature = _sign(message)
        if signature[0] == 0:
            break
    else:
        raise AssertionError("no signature with a leading zero byte in 2000 tries")
    assert rs256_verifies(public, message, signature)
    assert not rs256_verifies(public, message, signature[1:])
    assert not _verify(public, message, signature[1:])
    assert not rs256_verifies(public, message, b"\x00" + signature)


@settings(max_examples=60, deadline=None)
@given(
    message=st.binary(max_size=64),
    flip=st.integers(min_value=-1, max_value=255 * 8),
    cut=st.integers(min_value=0, max_value=3),
    extra=st.binary(max_size=2),
)
def test_agrees_with_verify(message: bytes, flip: int, cut: int, extra: bytes) -> None:
    public = _key().public_key()
    signature = bytearray(_sign(message))
    if flip >= 0:
        signature[flip // 8] ^= 1 << (flip % 8)
    tampered = bytes(signature[cut:]) + extra
    assert rs256_verifies(public, message, tampered) == _verify(public, message, tampered)


@settings(max_examples=60, deadline=None)
@given(signature=st.binary(min_size=255, max_size=257))
def test_agrees_with_verify_on_any_bytes(signature: bytes) -> None:
    public = _key().public_key()
    assert rs256_verifies(public, b"m", signature) == _verify(public, b"m", signature)
