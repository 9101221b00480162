"""``b64decode`` accepts exactly the canonical base64url spellings, nothing else."""

from __future__ import annotations

import base64
import binascii

from hypothesis import example, given
from hypothesis import strategies as st

from stytch_rbac.auth.claims import b64decode

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _canonical(segment: bytes) -> bytes | None:
    """The reference: the bytes ``segment`` is the one unpadded base64url encoding of, or None."""
    if segment.translate(None, _ALPHABET) or len(segment) % 4 == 1:
        return None
    try:
        data = base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    except binascii.Error:
        return None
    return data if base64.urlsafe_b64encode(data).rstrip(b"=") == segment else None


def _decoded(segment: bytes) -> bytes | None:
    try:
        return b64decode(segment)
    except ValueError:
        return None


_near = st.binary(max_size=24) | st.lists(
    st.sampled_from(list(_ALPHABET) + list(b"=+/!. \t\r\n\x00\x80\xff")), max_size=24
).map(bytes)


@given(_near)
@example(b"ab==")
@example(b"a+b/")
@example(b"abcd\n")
@example(b"ab=c")
@example(b"==")
@example(b"")
def test_accepts_exactly_the_canonical_spellings(segment: bytes) -> None:
    assert _decoded(segment) == _canonical(segment)


@given(st.binary(max_size=300))
def test_every_canonical_spelling_decodes(data: bytes) -> None:
    segment = base64.urlsafe_b64encode(data).rstrip(b"=")
    assert b64decode(segment) == data
    assert b64decode(segment.decode()) == data
