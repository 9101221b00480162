"""The payload parser of the JWT split answers what ``json.loads`` answers, on any bytes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from stytch_rbac.auth._jws import _json_of

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)
_tails = st.sampled_from(["", " ", "\n", " x", "{}", ",", "]", "\x00", "  \t"])


def _outcome(parse: Any, raw: bytes) -> object:
    try:
        return ("ok", parse(raw))
    except (ValueError, RecursionError):
        return "error"


@given(_json, _tails)
@example({"a": 1}, "")
@example({"a": 1}, " ")
@example({"a": 1}, '{"b":2}')
def test_same_answer_as_json_loads(value: object, tail: str) -> None:
    raw = (json.dumps(value, separators=(",", ":")) + tail).encode()
    assert _outcome(_json_of, raw) == _outcome(json.loads, raw)


@given(st.binary(max_size=24).map(lambda b: b"{" + b))
@example(b'{"a":NaN}')
@example(b'{"a":1,}')
@example(b"{")
def test_same_answer_on_any_bytes_after_a_brace(raw: bytes) -> None:
    assert repr(_outcome(_json_of, raw)) == repr(_outcome(json.loads, raw))
