"""``check_registered_claims`` answers what its plain statement of the rules answers."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from stytch_rbac.auth._jws import StaleJWT, check_registered_claims
from stytch_rbac.errors import Unauthenticated

PROJECT, ISSUERS, NOW = "project-test-1", frozenset({"stytch.com/project-test-1"}), 1000.0


def _date(value: Any) -> int | None:
    if type(value) is int:
        return value
    if type(value) is float and math.isfinite(value):
        return int(value)
    return None


def _reference(payload: dict[str, Any], leeway: float, max_age: float | None) -> object:
    """The rules, written out one by one (the verifier's docstring), as an outcome."""
    for claim in ("aud", "iss", "exp", "iat", "nbf"):
        if payload.get(claim) is None:
            return ("malformed", claim)
    exp, iat, nbf = _date(payload["exp"]), _date(payload["iat"]), _date(payload["nbf"])
    if exp is None or iat is None or nbf is None:
        return ("malformed", "numbers")
    aud = payload["aud"]
    audiences = [aud] if isinstance(aud, str) else aud
    if (
        not isinstance(audiences, list)
        or PROJECT not in audiences
        or not all(isinstance(a, str) for a in audiences)
    ):
        return ("invalid_claims", "aud")
    if not isinstance(payload["iss"], str) or payload["iss"] not in ISSUERS:
        return ("invalid_claims", "iss")
    if "jti" in payload and not isinstance(payload["jti"], str):
        return ("malformed", "jti")
    if iat > NOW + leeway or nbf > NOW + leeway:
        return ("invalid_claims", "nbf")
    if exp <= NOW - leeway:
        return "expired"
    if max_age is not None and NOW - iat >= max_age:
        return "too_old"
    return (exp, iat)


def _outcome(payload: dict[str, Any], leeway: float, max_age: float | None) -> object:
    try:
        return check_registered_claims(
            payload, project_id=PROJECT, issuers=ISSUERS, now=NOW, leeway=leeway, max_age=max_age
        )
    except StaleJWT as stale:
        return stale.reason
    except Unauthenticated as refused:
        return refused.reason


_times = st.sampled_from([None, 0, 990, 1000, 1001, 1010, 2000, 1000.5, math.nan, True, "1000"])
_values: dict[str, st.SearchStrategy[Any]] = {
    "aud": st.sampled_from(
        [None, PROJECT, "other", [PROJECT], ["other", PROJECT], [PROJECT, 1], [], {}, 7]
    ),
    "iss": st.sampled_from([None, "stytch.com/project-test-1", "other", 1]),
    "exp": _times,
    "iat": _times,
    "nbf": _times,
    "jti": st.sampled_from([None, "j", 1]),
}


@given(
    st.fixed_dictionaries({}, optional=_values),
    st.sampled_from([0.0, 5.0]),
    st.sampled_from([None, 100.0]),
)
def test_same_outcome_as_the_rules(
    payload: dict[str, Any], leeway: float, max_age: float | None
) -> None:
    expected = _reference(payload, leeway, max_age)
    got = _outcome(payload, leeway, max_age)
    if isinstance(expected, tuple) and isinstance(expected[0], str):
        assert got == expected[0]
    else:
        assert got == expected
