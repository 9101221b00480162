"""Ids become Python names by one documented, deterministic rule (stytch_rbac.codegen._names)."""

from __future__ import annotations

import keyword

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stytch_rbac.codegen._names import Names, assign, words


@pytest.mark.parametrize(
    ("identifier", "snake", "upper", "pascal"),
    [
        pytest.param("documents", "documents", "DOCUMENTS", "Documents", id="plain"),
        pytest.param("stytch.member", "stytch_member", "STYTCH_MEMBER", "StytchMember", id="dot"),
        pytest.param(
            "update.info.logo-url",
            "update_info_logo_url",
            "UPDATE_INFO_LOGO_URL",
            "UpdateInfoLogoUrl",
            id="dots-and-dash",
        ),
        pytest.param(
            "read:documents", "read_documents", "READ_DOCUMENTS", "ReadDocuments", id="colon"
        ),
        pytest.param("with space", "with_space", "WITH_SPACE", "WithSpace", id="space"),
        pytest.param("class", "class_", "CLASS", "Class", id="keyword"),
        pytest.param("None", "none", "NONE", "None", id="capitalised-keyword-is-fine-lowercased"),
        pytest.param("2fa", "n_2fa", "N_2FA", "N2fa", id="leading-digit"),
        pytest.param("apiKeys", "api_keys", "API_KEYS", "ApiKeys", id="camel"),
        pytest.param("HTTPServer", "http_server", "HTTP_SERVER", "HttpServer", id="acronym"),
        pytest.param("caf\u00e9", "cafe", "CAFE", "Cafe", id="accent-dropped"),
        pytest.param("\u6587\u6863", "u6587_u6863", "U6587_U6863", "U6587U6863", id="cjk"),
        pytest.param("*", "unnamed", "UNNAMED", "Unnamed", id="star"),
        pytest.param("l", "l_", "L", "L", id="ambiguous-l"),
        pytest.param("o", "o", "O_", "O", id="ambiguous-O"),
        pytest.param("__init__", "init", "INIT", "Init", id="no-dunder"),
    ],
)
def test_single_id_names(identifier: str, snake: str, upper: str, pascal: str) -> None:
    """Each documented rule maps an id to the expected snake, UPPER and Pascal names."""
    names = assign([identifier])[identifier]
    assert (names.snake, names.upper, names.pascal) == (snake, upper, pascal)


def test_collisions_resolve_in_code_point_order() -> None:
    """Ids with the same words: the first by code point keeps the name, the rest get _2, _3."""
    names = assign(["update_info_name", "update.info.name", "update-info-name"])
    assert names["update-info-name"].snake == "update_info_name"
    assert names["update.info.name"].snake == "update_info_name_2"
    assert names["update_info_name"].snake == "update_info_name_3"


def test_suffix_skips_names_taken_by_other_ids() -> None:
    """A suffixed name never steals the natural name of another id (``a_2`` keeps ``a_2``)."""
    names = assign(["a", "A", "a_2"])
    assert names["a_2"].snake == "a_2"
    assert names["A"].snake == "a"
    assert names["a"].snake == "a_3"


def test_pascal_only_collisions_are_resolved() -> None:
    """Two ids with distinct snake names but one Pascal name (``a.1b``, ``a1b``) are separated."""
    names = assign(["a1b", "a.1b"])
    assert names["a.1b"].pascal == "A1b"
    assert names["a1b"].pascal == "A1b2"


def test_words_never_empty() -> None:
    """Ids with nothing usable still get a word."""
    assert words("---") == ("unnamed",)
    assert words(" ") == ("unnamed",)


ids = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]),
    min_size=1,
    max_size=30,
)


@given(st.lists(ids, max_size=12, unique=True))
def test_names_are_valid_unique_and_order_independent(identifiers: list[str]) -> None:
    """Every form is an ASCII identifier, no keyword, unique per kind, and order does not matter."""
    names = assign(identifiers)
    assert set(names) == set(identifiers)
    assert assign(reversed(identifiers)) == names
    forms: dict[str, set[str]] = {"snake": set(), "upper": set(), "pascal": set()}
    for item in names.values():
        assert isinstance(item, Names)
        for form, value in (
            ("snake", item.snake),
            ("upper", item.upper),
            ("pascal", f"{item.pascal}Action"),  # the stem is only used with a suffix
        ):
            assert value.isascii(), value
            assert value.isidentifier(), value
            assert not keyword.iskeyword(value), value
            assert value not in forms[form], value
            forms[form].add(value)
        assert item.pascal[0].isupper()  # pep8-naming N801: CapWords
        assert "_" not in item.pascal
        assert not item.snake.startswith("_")
