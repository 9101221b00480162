"""The Management API document <-> runtime policy conversion, and its local validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stytch_rbac import Policy, PolicyError
from stytch_rbac.policy.management import (
    DEFAULT_ROLE_DESCRIPTIONS,
    from_management,
    management_document,
    management_problems,
    pushable,
    set_request,
    unpushable,
)

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
ids = st.text(alphabet="abcdefgh.-_:", min_size=1, max_size=8).filter(
    lambda s: not s.startswith("stytch")
)
texts = st.text(max_size=20)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """A valid policy with both default roles, some stytch.* and custom resources, grants."""
    custom = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    stytch = draw(st.lists(st.sampled_from(["stytch.member", "stytch.self"]), unique=True))
    resources = {
        rid: draw(st.lists(ids, min_size=1, max_size=4, unique=True)) for rid in [*stytch, *custom]
    }

    def grants() -> list[dict[str, Any]]:
        chosen = draw(st.lists(st.sampled_from(sorted(resources)), unique=True, max_size=3))
        return [
            {
                "resource_id": rid,
                "actions": draw(
                    st.one_of(
                        st.just(["*"]),
                        st.lists(st.sampled_from(resources[rid]), min_size=1, unique=True),
                    )
                ),
            }
            for rid in chosen
        ]

    role_ids = ["stytch_member", "stytch_admin", *draw(st.lists(ids, max_size=3, unique=True))]
    return Policy.parse(
        {
            "resources": [
                {"resource_id": r, "description": draw(texts), "actions": a}
                for r, a in resources.items()
            ],
            "roles": [
                {
                    "role_id": r,
                    "description": DEFAULT_ROLE_DESCRIPTIONS.get(r) or draw(texts),
                    "permissions": grants(),
                }
                for r in role_ids
            ],
            "scopes": [
                {"scope": s, "description": draw(texts), "permissions": grants()}
                for s in draw(st.lists(ids, max_size=2, unique=True))
            ],
        }
    )


@given(policies())
def test_a_policy_survives_the_management_shape(policy: Policy) -> None:
    """runtime -> Management document -> runtime gives the same policy (same sha256), and the
    document itself survives the trip back."""
    doc = management_document(policy)
    back = from_management(json.loads(json.dumps(doc)))
    assert back.sha256() == policy.sha256()
    assert management_document(back) == doc
    assert management_problems(policy) == []


@given(policies(), policies())
def test_pushable_takes_stytch_resources_and_default_descriptions_from_the_remote(
    local: Policy, remote: Policy
) -> None:
    """What a push makes of ``local`` is what the Management API can carry: the remote's
    stytch.* resources, local everything else; it is a fixed point of the conversion."""
    pushed = pushable(local, remote)
    assert set_request(pushed) == set_request(local)
    stytch = [r for r in remote.resources if r.resource_id.startswith("stytch.")]
    assert [r for r in pushed.resources if r.resource_id.startswith("stytch.")] == stytch
    assert from_management(management_document(pushed), base=remote).sha256() == pushed.sha256()


def test_set_request_sends_every_field_and_no_stytch_resources() -> None:
    """The PUT body has every field of pwa_rbac_v3_SetRequest but stytch_user, and leaves
    stytch_resources out (read-only)."""
    body = set_request(Policy.from_file(POLICY))
    assert set(body) == {
        "stytch_member",
        "stytch_admin",
        "custom_roles",
        "custom_resources",
        "custom_scopes",
    }
    assert body["stytch_member"] == {
        "permissions": [{"resource_id": "stytch.self", "actions": ["*"]}]
    }
    assert all(not r["resource_id"].startswith("stytch.") for r in body["custom_resources"])
    assert {"role_id", "description", "permissions"} == set(body["custom_roles"][0])


def test_unpushable_names_default_descriptions_and_stytch_resources() -> None:
    """A local edit of a stytch.* resource or of a default role's description is named, since
    the push cannot carry it."""
    local = Policy.from_file(POLICY)
    remote = from_management(management_document(local))  # Stytch's default descriptions
    notes = unpushable(local, remote)
    assert any("'stytch_member'" in n for n in notes)
    assert unpushable(local, local) == []
    fewer = local.model_copy(
        update={"resources": tuple(r for r in local.resources if r.resource_id != "stytch.sso")}
    )
    assert any("'stytch.sso'" in n for n in unpushable(fewer, local))


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"drop": "stytch_admin"}, "default-role-missing"),
        ({"role": {"role_id": "stytch_x", "permissions": []}}, "reserved-id"),
        (
            {"role": {"role_id": "r", "permissions": [{"resource_id": "nope", "actions": ["a"]}]}},
            "undefined-resource",
        ),
        (
            {
                "role": {
                    "role_id": "r",
                    "permissions": [{"resource_id": "documents", "actions": []}],
                }
            },
            "empty-permission",
        ),
        (
            {
                "role": {
                    "role_id": "r",
                    "permissions": [{"resource_id": "documents", "actions": ["fly"]}],
                }
            },
            "undefined-action",
        ),
        (
            {
                "role": {
                    "role_id": "r",
                    "permissions": [{"resource_id": "documents", "actions": ["*", "read"]}],
                }
            },
            "wildcard-with-actions",
        ),
    ],
)
def test_management_problems_name_what_stytch_refuses(change: dict[str, Any], code: str) -> None:
    """Each rule of the local validation reports its code for the policy that breaks it."""
    data = json.loads(POLICY.read_text())
    if "drop" in change:
        data["roles"] = [r for r in data["roles"] if r["role_id"] != change["drop"]]
    else:
        data["roles"].append(change["role"])
    codes = {p.code for p in management_problems(Policy.parse(data))}
    assert code in codes


@pytest.mark.parametrize(
    "doc",
    [
        "not an object",
        {"custom_roles": "x"},
        {"stytch_member": []},
        {"custom_resources": ["documents"]},
        {"custom_roles": [{"description": "no id"}]},
    ],
)
def test_a_malformed_document_is_a_policy_error(doc: Any) -> None:
    """Anything that is not a usable Management document raises PolicyError, never passes."""
    with pytest.raises(PolicyError, match="not a valid"):
        from_management(doc)


def test_stytch_user_and_unknown_fields_are_ignored() -> None:
    """The consumer default role (stytch_user) and fields Stytch may add do not change the
    B2B policy read from a document."""
    doc = management_document(Policy.from_file(POLICY))
    extended = {**doc, "stytch_user": {"permissions": []}, "future_field": 1}
    assert from_management(extended) == from_management(doc)
    assert from_management({"policy": doc}) == from_management(doc)
