"""A policy is compiled and freed in pieces, with naps in which the event loop runs
(issue 14, item 13: the changed refresh's lag).

Beside a worker thread that never lets go of the GIL, the event loop waits the
interpreter's switch interval (5 ms), and twice that when the GIL changed hands
meanwhile; a replaced 10,000-role policy freed in one go held the GIL for 6 ms.
Structural, not timed: a clock that advances on every reading makes every ``pace()``
call due, so the naps counted are the places the work can be interrupted.
"""

from __future__ import annotations

import json
import weakref
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stytch_rbac import CompiledPolicy, Policy
from stytch_rbac.policy import _pace, response
from stytch_rbac.policy.response import compile_response
from stytch_rbac.policy.retire import release_in_pieces


def _policy(n_roles: int, description: str = "d") -> dict[str, Any]:
    return {
        "resources": [
            {"resource_id": f"r{i}", "description": "", "actions": ["read", "edit"]}
            for i in range(n_roles)
        ],
        "roles": [
            {
                "role_id": f"role{i}",
                "description": description,
                "permissions": [{"resource_id": f"r{i}", "actions": ["read"]}],
            }
            for i in range(n_roles)
        ],
        "scopes": [],
    }


def _body(document: dict[str, Any]) -> bytes:
    envelope = {"status_code": 200, "request_id": "r", "policy": document}
    return json.dumps(envelope, ensure_ascii=False).encode()


@pytest.fixture
def naps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every nap taken, with a clock that makes each ``pace()`` due."""
    taken: list[float] = []
    ticks = iter(range(1, 10**9))
    monkeypatch.setattr(_pace, "_clock", lambda: next(ticks) * 1.0)
    monkeypatch.setattr(_pace, "_sleep", taken.append)
    monkeypatch.setattr(_pace, "_due", 0.0)
    return taken


def test_compiling_naps_between_items_of_every_long_step(naps: list[float]) -> None:
    n_roles = 2_000
    _, compiled = compile_response(_body(_policy(n_roles)))
    assert compiled is not None
    assert compiled.allows({"role7"}, "r7", "read")
    # Read, checked and grouped: each role and resource is paced in several steps.
    assert len(naps) >= 4 * n_roles, len(naps)
    assert all(nap == _pace.NAP and nap > 0 for nap in naps)  # a real sleep, not sleep(0)


def test_without_pacing_due_no_nap_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[float] = []
    monkeypatch.setattr(_pace, "_clock", lambda: 0.0)
    monkeypatch.setattr(_pace, "_sleep", taken.append)
    monkeypatch.setattr(_pace, "_due", 1.0)
    compile_response(_body(_policy(500)))
    assert taken == []


def test_paced_yields_every_item_in_order(naps: list[float]) -> None:
    assert list(_pace.paced(range(100))) == list(range(100))
    assert len(naps) == 100


@settings(max_examples=60, deadline=None)
@given(text=st.text(min_size=1, max_size=40), piece=st.integers(min_value=1, max_value=64))
def test_decoding_in_pieces_equals_decoding_whole(text: str, piece: int) -> None:
    """A multi-byte character cut by a piece boundary is decoded whole."""
    original = response._DECODE_PIECE
    try:
        response._DECODE_PIECE = piece  # type: ignore[misc]
        body = _body(_policy(3, description=text))
        assert response._decode_text(body) == body.decode()
        _, compiled = compile_response(body)
        assert compiled is not None
        assert compiled.policy == Policy.parse(body)
    finally:
        response._DECODE_PIECE = original  # type: ignore[misc]


def test_a_body_that_is_not_utf8_is_still_a_policy_error() -> None:
    from stytch_rbac.errors import PolicyError

    body = _body(_policy(2)).replace(b'"d"', b'"\xc3"', 1)
    with pytest.raises(PolicyError, match="not valid JSON"):
        compile_response(body)


class _Leaf:
    """Something weak-referenceable, to see when it is freed."""


class _Holder:
    __slots__ = ("__weakref__", "index", "items", "small")

    def __init__(self, n: int) -> None:
        self.items = tuple(_Leaf() for _ in range(n))
        self.index = {i: _Leaf() for i in range(n)}
        self.small = [_Leaf()]


def test_release_in_pieces_frees_everything_and_empties_the_holder(naps: list[float]) -> None:
    holder = _Holder(2_000)
    refs = [weakref.ref(leaf) for leaf in (*holder.items, *holder.index.values(), *holder.small)]
    shell = weakref.ref(holder)
    retired: list[Any] = [holder]
    del holder
    release_in_pieces(retired)
    assert retired == []
    assert shell() is None
    assert all(ref() is None for ref in refs)
    assert len(naps) >= 2 * 2_000 // 256  # the members go a piece at a time


def test_release_in_pieces_leaves_a_policy_in_use_whole() -> None:
    """A policy still referenced (a request holding it, an org policy merged on it) is
    untouched: only the extra references go."""
    _, compiled = compile_response(_body(_policy(1_000)))
    assert compiled is not None
    expected = compiled.permissions(["role3"])
    release_in_pieces([compiled])
    assert compiled.permissions(["role3"]) == expected
    assert compiled.allows({"role999"}, "r999", "read")
    assert compiled.policy == CompiledPolicy(Policy.parse(_body(_policy(1_000)))).policy
