"""CompiledPolicy.scopes_granting(): the scopes a token would need one of (a 403's ``scope=``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stytch_rbac import CompiledPolicy, OrgPolicy, Policy, UnknownPermission

DOC = {
    "roles": [],
    "resources": [
        {"resource_id": "docs", "description": "", "actions": ["read", "write", "delete"]},
        {"resource_id": "billing", "description": "", "actions": ["read", "pay"]},
    ],
    "scopes": [
        {
            "scope": "read:docs",
            "description": "",
            "permissions": [{"resource_id": "docs", "actions": ["read"]}],
        },
        {
            "scope": "docs:all",
            "description": "",
            "permissions": [{"resource_id": "docs", "actions": ["*"]}],
        },
        {
            "scope": "billing:pay",
            "description": "",
            "permissions": [
                {"resource_id": "billing", "actions": ["pay"]},
                {"resource_id": "docs", "actions": ["read"]},
            ],
        },
    ],
}


@pytest.fixture(scope="module")
def compiled() -> CompiledPolicy:
    return CompiledPolicy(Policy.parse(DOC))


@pytest.mark.parametrize(
    ("permission", "expected"),
    [
        ("docs:read", {"read:docs", "docs:all", "billing:pay"}),
        ("docs:delete", {"docs:all"}),
        ("billing:pay", {"billing:pay"}),
        ("billing:read", set()),
    ],
)
def test_scopes_granting_table(
    compiled: CompiledPolicy, permission: str, expected: set[str]
) -> None:
    """Named and '*' grants both count; a permission no scope grants gives an empty set."""
    granting = compiled.scopes_granting(permission)
    assert granting == frozenset(expected)
    assert isinstance(granting, frozenset)
    resource, action = permission.split(":")
    assert compiled.scopes_granting(resource, action) == granting


def test_unknown_permission_raises_in_strict_mode_and_is_empty_otherwise() -> None:
    """Strict: UnknownPermission (a typo is a bug); lenient: no scope grants it."""
    strict = CompiledPolicy(Policy.parse(DOC))
    with pytest.raises(UnknownPermission):
        strict.scopes_granting("docs", "raed")
    with pytest.raises(UnknownPermission):
        strict.scopes_granting("nope", "read")
    lenient = CompiledPolicy(Policy.parse(DOC), strict=False)
    assert lenient.scopes_granting("docs", "raed") == frozenset()


def test_org_custom_roles_never_add_granting_scopes(compiled: CompiledPolicy) -> None:
    """Only the project policy's scopes grant (Stytch's rule): an org merge changes nothing."""
    org = compiled.with_org(
        OrgPolicy.model_validate(
            {
                "roles": [
                    {
                        "role_id": "org-admin",
                        "description": "",
                        "permissions": [{"resource_id": "billing", "actions": ["*"]}],
                    }
                ]
            }
        )
    )
    assert org.scopes_granting("billing", "read") == frozenset()
    assert org.scopes_granting("docs", "read") == compiled.scopes_granting("docs", "read")


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        [
            ("docs", "read"),
            ("docs", "write"),
            ("docs", "delete"),
            ("billing", "read"),
            ("billing", "pay"),
        ]
    ),
    st.sets(st.sampled_from(["read:docs", "docs:all", "billing:pay", "other"])),
)
def test_a_token_is_allowed_iff_it_holds_a_granting_scope(
    permission: tuple[str, str], held: set[str]
) -> None:
    """scope_decide allows exactly the tokens naming one of scopes_granting()."""
    compiled = CompiledPolicy(Policy.parse(DOC))
    granting = compiled.scopes_granting(*permission)
    assert compiled.scope_allows(held, *permission) is bool(granting & held)
