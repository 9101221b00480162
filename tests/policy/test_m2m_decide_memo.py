"""``m2m_decide`` remembers its answers for frozenset scopes: the same answers, bounded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stytch_rbac.policy import scopes
from stytch_rbac.policy.scopes import m2m_decide

_scope = st.sampled_from(["edit:documents", "edit:*", "read:documents", "*:documents", "edit"])


@given(st.frozensets(_scope, max_size=4), st.sampled_from(["documents", "*", "x"]))
def test_a_remembered_decision_is_the_one_computed(held: frozenset[str], resource: str) -> None:
    first = m2m_decide(held, resource, "edit")
    again = m2m_decide(frozenset(held), resource, "edit")  # an equal set, another object
    computed = m2m_decide(sorted(held), resource, "edit")  # a list: never remembered
    assert first == again == computed
    assert first.granted_by == computed.granted_by


def test_a_scope_that_is_not_a_string_raises_every_time() -> None:
    held = frozenset({"edit:documents", 7})
    for _ in range(2):
        with pytest.raises(TypeError):
            m2m_decide(held, "documents", "edit")  # type: ignore[arg-type]


def test_the_memo_is_bounded() -> None:
    for n in range(scopes._DECISIONS_MEMO_SIZE + 10):
        m2m_decide(frozenset({f"edit:r{n}"}), f"r{n}", "edit")
    assert len(scopes._DECISIONS) <= scopes._DECISIONS_MEMO_SIZE
