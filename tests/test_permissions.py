"""The Permission value type and the ActionEnum base that generated code builds on."""

from __future__ import annotations

import copy
import pickle
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stytch_rbac import ActionEnum, Permission, StrEnum


class Resource(StrEnum):
    """Generated-style resource ids."""

    DOCUMENTS = "documents"
    STYTCH_MEMBER = "stytch.member"


class DocumentsAction(ActionEnum):
    """Generated-style action enum of the documents resource."""

    __resource__: ClassVar[str] = "documents"

    EDIT = "edit"
    READ = "read"


def test_str_is_resource_colon_action() -> None:
    """str() is 'resource:action' and repr() shows the constructor call."""
    p = Permission("stytch.member", "update.info.name")
    assert str(p) == "stytch.member:update.info.name"
    assert repr(p) == "Permission('stytch.member', 'update.info.name')"


def test_equality_and_hash_are_by_value() -> None:
    """Equal (resource, action) pairs are equal and hash alike; others differ."""
    a = Permission("documents", "edit")
    assert a == Permission("documents", "edit")
    assert hash(a) == hash(Permission("documents", "edit"))
    assert a != Permission("documents", "read")
    assert a != Permission("projects", "edit")
    assert a != ("documents", "edit")
    assert a != "documents:edit"
    assert len({a, Permission("documents", "edit"), Permission("documents", "read")}) == 2


def test_strenum_members_reduce_to_plain_strings() -> None:
    """A permission from StrEnum members equals and hashes like one from strings."""
    typed = Permission(Resource.DOCUMENTS, DocumentsAction.EDIT)
    plain = Permission("documents", "edit")
    assert typed == plain
    assert hash(typed) == hash(plain)
    assert type(typed.resource) is str
    assert type(typed.action) is str
    assert str(typed) == "documents:edit"
    assert repr(typed) == "Permission('documents', 'edit')"


def test_action_enum_member_knows_its_permission() -> None:
    """ActionEnum.permission pairs the member with its class's __resource__."""
    assert DocumentsAction.EDIT.permission == Permission("documents", "edit")
    assert DocumentsAction.READ.value == "read"
    assert str(DocumentsAction.READ) == "read"


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda p: setattr(p, "resource", "x"), id="set-resource"),
        pytest.param(lambda p: setattr(p, "action", "x"), id="set-action"),
        pytest.param(lambda p: setattr(p, "other", "x"), id="set-new-attribute"),
        pytest.param(lambda p: delattr(p, "action"), id="delete-action"),
    ],
)
def test_permission_is_immutable(mutate: Any) -> None:
    """Setting or deleting any attribute raises AttributeError and changes nothing."""
    p = Permission("documents", "edit")
    with pytest.raises(AttributeError):
        mutate(p)
    assert p == Permission("documents", "edit")


@pytest.mark.parametrize(
    ("resource", "action"),
    [
        pytest.param(1, "edit", id="int-resource"),
        pytest.param("documents", None, id="none-action"),
        pytest.param(b"documents", "edit", id="bytes-resource"),
        pytest.param("documents", ["edit"], id="list-action"),
    ],
)
def test_non_strings_are_a_type_error(resource: Any, action: Any) -> None:
    """Permission takes strings (or StrEnum members) only."""
    with pytest.raises(TypeError, match="takes strings"):
        Permission(resource, action)


@pytest.mark.parametrize(
    ("resource", "action"),
    [
        pytest.param("", "edit", id="blank-resource"),
        pytest.param("documents", "", id="blank-action"),
    ],
)
def test_empty_strings_are_a_value_error(resource: str, action: str) -> None:
    """An empty resource or action is a ValueError."""
    with pytest.raises(ValueError, match="non-empty"):
        Permission(resource, action)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("documents:edit", Permission("documents", "edit"), id="simple"),
        pytest.param(
            "stytch.member:update.info.name",
            Permission("stytch.member", "update.info.name"),
            id="dotted",
        ),
        pytest.param(
            "stytch.member:revoke-sessions",
            Permission("stytch.member", "revoke-sessions"),
            id="dashed",
        ),
        pytest.param("documents:*", Permission("documents", "*"), id="wildcard"),
    ],
)
def test_parse_round_trips_str(text: str, expected: Permission) -> None:
    """Permission.parse reads what str() writes."""
    assert Permission.parse(text) == expected
    assert Permission.parse(str(expected)) == expected


@pytest.mark.parametrize("text", ["documents", ":edit", "documents:", "", ":"])
def test_parse_rejects_malformed_text(text: str) -> None:
    """Text without both a resource and an action is a ValueError quoting the input."""
    with pytest.raises(ValueError, match="expected 'resource:action'"):
        Permission.parse(text)


@pytest.mark.parametrize("text", ["a:b:c", "documents:read:all", "a::b"])
def test_parse_refuses_more_than_one_colon(text: str) -> None:
    """Text with two or more ':' is ambiguous: a ValueError saying how to write it instead."""
    with pytest.raises(ValueError, match=r"more than one ':'.*Permission\(resource, action\)"):
        Permission.parse(text)


def test_parse_takes_only_strings() -> None:
    """A non-string is a TypeError, not a confusing AttributeError."""
    with pytest.raises(TypeError, match="takes a str"):
        Permission.parse(42)  # type: ignore[arg-type]  # the point of the test


_PART = st.text(min_size=1, max_size=30).filter(lambda t: ":" not in t)


@given(resource=_PART, action=_PART)
def test_str_parses_back_for_every_colon_free_permission(resource: str, action: str) -> None:
    """Permission.parse(str(p)) == p for every resource and action without ':' (any other
    character, dots and dashes included, belongs to its part)."""
    permission = Permission(resource, action)
    assert Permission.parse(str(permission)) == permission
    assert str(Permission.parse(f"{resource}:{action}")) == f"{resource}:{action}"


@given(resource=_PART, action=_PART, extra=_PART)
def test_any_second_colon_is_refused(resource: str, action: str, extra: str) -> None:
    """No text with two ':' parses, wherever they are: the split is never a guess."""
    with pytest.raises(ValueError, match="more than one"):
        Permission.parse(f"{resource}:{action}:{extra}")


def test_ordering_is_by_resource_then_action() -> None:
    """Permissions sort by resource, then action."""
    perms = [
        Permission("projects", "read"),
        Permission("documents", "read"),
        Permission("documents", "edit"),
    ]
    assert sorted(perms) == [
        Permission("documents", "edit"),
        Permission("documents", "read"),
        Permission("projects", "read"),
    ]


def test_pickle_and_copy_preserve_value() -> None:
    """Pickling and copying give an equal permission."""
    p = Permission(Resource.STYTCH_MEMBER, "delete")
    for other in (pickle.loads(pickle.dumps(p)), copy.copy(p), copy.deepcopy(p)):
        assert other == p
        assert type(other.resource) is str


def test_scopes_describe_the_permission_without_changing_its_value() -> None:
    """scopes (what generated constants carry) take no part in equality, hash or order."""
    plain = Permission("documents", "read")
    scoped = Permission("documents", "read", scopes=["read:documents", "docs:all"])
    assert plain.scopes == frozenset()
    assert scoped.scopes == {"read:documents", "docs:all"}
    assert scoped == plain
    assert hash(scoped) == hash(plain)
    assert {scoped, plain} == {plain}
    with pytest.raises(AttributeError):
        scoped.scopes = frozenset()


def test_scopes_survive_pickle_and_copy_as_plain_strings() -> None:
    """A copied or unpickled constant keeps its scopes (as str: no generated module needed)."""
    scoped = Permission("documents", "read", scopes=[Resource.DOCUMENTS, "read:documents"])
    for other in (pickle.loads(pickle.dumps(scoped)), copy.copy(scoped), copy.deepcopy(scoped)):
        assert other.scopes == {"documents", "read:documents"}
        assert all(type(s) is str for s in other.scopes)


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        ("read:documents", "not one string"),
        ([""], "non-empty string"),
        ([3], "non-empty string"),
    ],
)
def test_bad_scopes_are_refused(scopes: Any, message: str) -> None:
    """One string (which would iterate into characters), blanks and non-strings raise TypeError."""
    with pytest.raises(TypeError, match=message):
        Permission("documents", "read", scopes=scopes)
