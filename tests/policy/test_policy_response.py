"""stytch_rbac.policy.response: a policy response decoded in small steps, digested, compiled.

The decoder walks the top levels of the document itself and hands each deeper value
to the json module's own scanner; these properties hold it to ``json.loads`` on
random documents, valid and broken. The digest leaves out exactly the envelope
members that change on every request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stytch_rbac import CompiledPolicy, Policy, PolicyError
from stytch_rbac.policy.response import compile_response, loads_in_pieces, response_digest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policy.json"
PROPERTY = settings(max_examples=500, derandomize=True, deadline=None, database=None)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=24,
)
LAYOUTS = st.sampled_from([{}, {"indent": 2}, {"separators": (",", ":")}, {"indent": "\t"}])


def example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return data


def response(policy: dict[str, Any], request_id: str, **layout: Any) -> bytes:
    """A GET rbac/policy body as Stytch sends it: envelope members first."""
    body = {"status_code": 200, "request_id": request_id, "policy": policy}
    return json.dumps(body, **layout).encode()


@PROPERTY
@given(value=VALUES, layout=LAYOUTS, pad=st.sampled_from(["", " ", "\n\t "]))
def test_loads_in_pieces_equals_json_loads(value: Any, layout: dict[str, Any], pad: str) -> None:
    """Any JSON document, in any layout, decodes to what json.loads gives."""
    text = pad + json.dumps(value, **layout) + pad
    assert loads_in_pieces(text) == json.loads(text)


@PROPERTY
@given(value=VALUES, cut=st.integers(min_value=0), junk=st.sampled_from(["", ",", "}", "]", "x"]))
def test_loads_in_pieces_refuses_what_json_loads_refuses(value: Any, cut: int, junk: str) -> None:
    """A document cut short or with junk inserted is refused exactly when json.loads
    refuses it, and then with a JSONDecodeError."""
    text = json.dumps(value)
    at = cut % (len(text) + 1)
    broken = text[:at] + junk + text[at + (1 if junk else 0) :] if junk else text[:at]
    try:
        expected = json.loads(broken)
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            loads_in_pieces(broken)
    else:
        assert loads_in_pieces(broken) == expected


@PROPERTY
@given(
    first=st.text(max_size=12),
    second=st.text(max_size=12),
    layout=LAYOUTS,
    ascii_only=st.booleans(),
)
def test_the_digest_ignores_the_envelope_only(
    first: str, second: str, layout: dict[str, Any], ascii_only: bool
) -> None:
    """Two answers serving the same policy have one digest, whatever their request ids
    (non-ASCII ones too, written raw or escaped); a changed policy has another."""
    policy = example()
    layout = {**layout, "ensure_ascii": ascii_only}
    assert response_digest(response(policy, first, **layout)) == response_digest(
        response(policy, second, **layout)
    )
    policy["roles"][0]["description"] += "é"
    assert response_digest(response(policy, first, **layout)) != response_digest(
        response(example(), first, **layout)
    )


def digest(document: dict[str, Any]) -> str:
    return response_digest(json.dumps(document, ensure_ascii=False).encode())


def test_the_digest_covers_everything_but_the_leading_envelope() -> None:
    """Members other than request_id and status_code, envelope members after the policy,
    or ones too long to be read at the start, are hashed: they can only cost a compile,
    never hide a change."""
    policy = example()
    assert digest({"policy": policy}) != digest({"request_id": "a", "policy": policy})
    assert digest({"policy": policy, "request_id": "a"}) != digest(
        {"policy": policy, "request_id": "b"}
    )
    assert digest({"request_id": "a", "roles_hint": 1, "policy": policy}) != digest(
        {"request_id": "a", "roles_hint": 2, "policy": policy}
    )
    long_a, long_b = "é" * 5000, "ü" * 5000
    assert digest({"request_id": long_a, "policy": policy}) != digest(
        {"request_id": long_b, "policy": policy}
    )
    assert digest({"request_id": "é" * 100, "policy": policy}) == digest(
        {"request_id": "ü" * 300, "policy": policy}
    )


def test_compile_response_equals_parse_and_compile() -> None:
    """The compiled policy equals Policy.parse + CompiledPolicy of the same body; given
    its own digest back, nothing is compiled."""
    body = response(example(), "request-id-1")
    digest, compiled = compile_response(body, strict=False)
    assert compiled is not None
    assert not compiled.strict
    reference = CompiledPolicy(Policy.parse(body), strict=False)
    assert compiled.policy == reference.policy
    assert compiled.problems == reference.problems
    assert compiled.permissions(["editor"]) == reference.permissions(["editor"])
    again = response(example(), "request-id-2")
    assert compile_response(again, unless=digest) == (digest, None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff\xfe\x00", "not valid JSON"),
        (b'{"policy": {"roles": [}', "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"status_code": 200, "request_id": "x"}', "no 'roles', 'resources' or 'scopes'"),
        (b'{"policy": {"roles": [{"role_id": 7}]}}', r"roles\[0\]\.role_id: expected a string"),
        (
            b'{"policy": {"roles": [{"role_id": "a"}, {"role_id": "a"}]}}',
            "role 'a' is defined more than once",
        ),
    ],
    ids=["not-utf", "cut-short", "deep", "no-policy", "wrong-type", "duplicate"],
)
def test_unusable_bodies_are_policy_errors_naming_the_problem(body: bytes, message: str) -> None:
    """Whatever is wrong with the body, the error is a PolicyError saying what."""
    with pytest.raises(PolicyError, match=message):
        compile_response(body)


def test_item_by_item_validation_gives_the_whole_document_message() -> None:
    """Policy.parse validates role by role, yet an error names its place in the document
    as one validation of the whole would (roles[1] (role 'b')...), and counts the rest."""
    doc = {
        "roles": [
            {"role_id": "a"},
            {"role_id": "b", "permissions": [{"resource_id": 3, "actions": "x"}]},
        ]
    }
    with pytest.raises(PolicyError) as caught:
        Policy.parse(doc)
    assert str(caught.value).startswith(
        "not a valid policy: roles[1] (role 'b').permissions[0].resource_id: expected a string"
    )
    assert "(and 1 more problem)" in str(caught.value)
