"""The access-token principals built through slot setters are the ones ``__init__`` builds.

:class:`AccessTokenVerifier` builds :class:`AgentPrincipal` and :class:`ServicePrincipal`
without their dataclass ``__init__`` (a fresh token's cost): every field, compared or
not, must hold what ``__init__`` would have put there, and a field added to either
class must fail here until the fast path sets it.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stytch_rbac import AgentPrincipal, ServicePrincipal, Unauthenticated
from stytch_rbac.auth.access_token import (
    _AGENT_NOT_CUSTOM,
    _SERVICE_NOT_CUSTOM,
    AccessTokenVerifier,
    _time,
    _times,
)
from stytch_rbac.auth.claims import ORGANIZATION_CLAIM

EXP, IAT = 1_796_229_671, 1_796_226_071
_names = st.text(alphabet="abcdefgh:_", min_size=1, max_size=8)
_custom = st.dictionaries(
    _names.filter(lambda n: n not in {"sub", "scope", "client_id"}),
    st.integers() | st.text(max_size=5),
    max_size=3,
)


def _fields(principal: object) -> dict[str, Any]:
    return {f.name: getattr(principal, f.name) for f in dataclasses.fields(principal)}  # type: ignore[arg-type]


def _registered(extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "aud": ["project-test-1"],
        "iss": "stytch.com/project-test-1",
        "exp": EXP,
        "iat": IAT,
        "nbf": IAT,
        "jti": "j",
        **extra,
    }


@given(custom=_custom, scope=st.sampled_from(["a:b", "a:b  c:d", " x ", "read:documents\tw"]))
def test_service_principal_equals_init(custom: dict[str, Any], scope: str) -> None:
    payload = _registered({**custom, "sub": "m2m-client-1", "scope": scope})
    built = AccessTokenVerifier._service("tok", payload, EXP, IAT)
    expected = ServicePrincipal(
        client_id="m2m-client-1",
        scopes=frozenset(scope.split(" ")) - {""},
        expires_at=datetime.fromtimestamp(EXP, tz=UTC),
        issued_at=datetime.fromtimestamp(IAT, tz=UTC),
        issuer="stytch.com/project-test-1",
        custom_claims={k: v for k, v in payload.items() if k not in _SERVICE_NOT_CUSTOM},
        access_token="tok",
    )
    assert type(built) is ServicePrincipal
    assert _fields(built) == _fields(expected)
    assert built == expected
    assert hash(built) == hash(expected)
    assert repr(built) == repr(expected)
    with pytest.raises(TypeError):
        built.custom_claims["x"] = 1  # type: ignore[index]


@given(custom=_custom, scope=st.sampled_from(["openid", "a:b\tc:d", " email  read:documents "]))
def test_agent_principal_equals_init(custom: dict[str, Any], scope: str) -> None:
    org = {"organization_id": "organization-test-1", "slug": "acme"}
    payload = _registered(
        {**custom, "sub": "member-1", "client_id": "app-1", "scope": scope, ORGANIZATION_CLAIM: org}
    )
    built = AccessTokenVerifier._agent("tok", payload, EXP, IAT)
    expected = AgentPrincipal(
        member_id="member-1",
        organization_id="organization-test-1",
        organization_slug="acme",
        client_id="app-1",
        scopes=frozenset(scope.split()),
        expires_at=datetime.fromtimestamp(EXP, tz=UTC),
        issued_at=datetime.fromtimestamp(IAT, tz=UTC),
        issuer="stytch.com/project-test-1",
        custom_claims={k: v for k, v in payload.items() if k not in _AGENT_NOT_CUSTOM},
        access_token="tok",
    )
    assert type(built) is AgentPrincipal
    assert _fields(built) == _fields(expected)
    assert built == expected
    assert hash(built) == hash(expected)


def test_the_remembered_scope_split_still_refuses_an_empty_scope() -> None:
    for _ in range(2):  # the second time would be a memo hit, were an empty split kept
        with pytest.raises(Unauthenticated, match="names no scope"):
            AccessTokenVerifier._service("t", _registered({"sub": "c", "scope": "  "}), EXP, IAT)


def test_the_fields_are_the_ones_the_fast_path_sets() -> None:
    """A field added to either class must be set by the fast path too."""
    assert [f.name for f in dataclasses.fields(ServicePrincipal)] == [
        "client_id", "scopes", "expires_at", "issued_at", "issuer", "custom_claims",
        "access_token",
    ]  # fmt: skip
    assert [f.name for f in dataclasses.fields(AgentPrincipal)] == [
        "member_id", "organization_id", "organization_slug", "client_id", "scopes",
        "expires_at", "issued_at", "issuer", "custom_claims", "access_token",
    ]  # fmt: skip
    assert not hasattr(ServicePrincipal, "__post_init__")
    assert not hasattr(AgentPrincipal, "__post_init__")


def _outcome(compute: Any) -> object:
    try:
        return compute()
    except Unauthenticated as refused:
        return refused.reason


_seconds = st.integers(min_value=-(2**40), max_value=2**40) | st.sampled_from(
    [0, -62_135_596_800, -62_135_596_801, 253_402_300_799, 253_402_300_800, 2**63]
)


@given(_seconds, _seconds)
def test_issued_at_from_the_expiry_is_fromtimestamps(exp: int, iat: int) -> None:
    """``_times`` derives ``issued_at`` from ``expires_at`` and a remembered lifetime: the
    same datetimes as two ``fromtimestamp`` calls, the same refusal out of range."""
    assert _outcome(lambda: _times(exp, iat)) == _outcome(lambda: (_time(exp), _time(iat)))
