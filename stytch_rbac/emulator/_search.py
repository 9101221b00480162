"""Search queries shared by organizations.search and members.search: Stytch's operand rules.

A query is ``{"operator": "AND" | "OR", "operands": [{"filter_name", "filter_value"}, ...]}``.
``AND`` keeps a record every operand matches, ``OR`` one that some operand matches; no
query, or no operands, keeps everything. A list-valued filter matches when any of its
values does. Every operand is checked before any record is, so a bad query fails even
when there is nothing to search, with the error types Stytch documents for the endpoint
(``organization_search_*`` or ``member_search_*``; ``user_search_*`` for the operator,
cursor and limit, as Stytch's search pages list them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from ._errors import EmulatorError, bad_request
from ._params import Params
from ._state import decode_cursor, encode_cursor

__all__ = [
    "Filter",
    "Search",
    "any_in",
    "page_limit",
    "search_cursor",
    "search_limit",
    "search_page",
]

T = TypeVar("T")
JSON = dict[str, Any]
Kind = Literal["list", "string", "fuzzy", "bool"]

FUZZY_MIN = 3


@dataclass(frozen=True, slots=True)
class Filter(Generic[T]):
    """One documented filter: the type of its value and how a record matches it.

    ``match`` receives the checked value: a list of strings, a string (fuzzy ones
    lower-cased) or a bool. ``missing`` is the error type for an empty value, when
    Stytch has a specific one; ``allowed`` closes the set of list values.
    """

    kind: Kind
    match: Callable[[T, Any], bool]
    missing: str | None = None
    allowed: tuple[str, ...] = ()
    not_allowed: str = ""


class Search(Generic[T]):
    """The filters of one search endpoint and the prefix of its error types."""

    def __init__(self, prefix: str, filters: Mapping[str, Filter[T]]) -> None:
        self.prefix = prefix
        self.filters = dict(filters)

    def _fail(self, suffix: str, message: str) -> EmulatorError:
        return bad_request(message, f"{self.prefix}_{suffix}")

    def _value(self, name: str, spec: Filter[T], value: Any) -> Any:
        missing = spec.missing or f"{self.prefix}_missing_filter_value"
        if spec.kind == "list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self._fail("expected_array_of_strings", f"{name} needs a list of strings.")
            if not value:
                raise bad_request(f"{name} needs at least one value.", missing)
            bad = [v for v in value if spec.allowed and v not in spec.allowed]
            if bad:
                raise bad_request(
                    f"{name}: {bad[0]!r} is not one of {', '.join(spec.allowed)}.",
                    spec.not_allowed or f"{self.prefix}_expected_array_of_strings",
                )
            return list(value)
        if spec.kind == "bool":
            if not isinstance(value, bool):
                raise self._fail("expected_boolean", f"{name} needs true or false.")
            return value
        if not isinstance(value, str):
            raise self._fail("expected_string", f"{name} needs a string.")
        if not value:
            raise bad_request(f"{name} needs a non-empty string.", missing)
        if spec.kind == "fuzzy":
            if len(value) < FUZZY_MIN:
                raise self._fail(
                    f"{name}_too_short", f"{name} needs at least {FUZZY_MIN} characters."
                )
            return value.lower()
        return value

    def _operand(self, operand: Any) -> tuple[Filter[T], Any]:
        if not isinstance(operand, dict) or "filter_name" not in operand:
            raise self._fail("missing_filter_name", "Each operand needs a filter_name.")
        name = operand["filter_name"]
        if not isinstance(name, str):
            raise self._fail("filter_name_must_be_string", "filter_name must be a string.")
        spec = self.filters.get(name)
        if spec is None:
            known = ", ".join(self.filters)
            raise self._fail(
                "filter_name_not_recognized",
                f"Unknown filter_name {name!r}; the filters are {known}.",
            )
        if operand.get("filter_value") is None:
            raise self._fail("missing_filter_value", f"{name} needs a filter_value.")
        return spec, self._value(name, spec, operand["filter_value"])

    def operands(self, query: JSON | None) -> tuple[str, list[tuple[Filter[T], Any]]]:
        """The operator and the checked operands of ``query`` (``AND`` of none when absent)."""
        if query is None:
            return "AND", []
        operator = query.get("operator")
        if operator not in ("AND", "OR"):
            raise bad_request("query.operator must be AND or OR.", "user_search_invalid_operator")
        raw = query.get("operands")
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise self._fail("missing_filter_name", "query.operands must be a list of operands.")
        return operator, [self._operand(o) for o in raw]

    def matcher(self, query: JSON | None) -> Callable[[T], bool]:
        """A predicate keeping the records ``query`` selects."""
        return self.select(*self.operands(query))

    @staticmethod
    def select(operator: str, checked: list[tuple[Filter[T], Any]]) -> Callable[[T], bool]:
        """A predicate combining checked operands with ``operator``."""
        if not checked:
            return lambda record: True
        combine = all if operator == "AND" else any
        return lambda record: combine(spec.match(record, value) for spec, value in checked)


def search_limit(p: Params) -> int:
    """A search's ``limit``: default 100 (also for 0, Stytch's unset value), at most 1000."""
    limit = p.opt_int("limit")
    if limit is None or limit == 0:
        return 100
    if not 1 <= limit <= 1000:
        raise bad_request("limit must be between 0 and 1000.", "user_search_invalid_limit")
    return limit


def search_cursor(p: Params) -> int:
    """The record number a search's ``cursor`` points after (0 without one)."""
    cursor = p.opt_str("cursor")
    if not cursor:
        return 0
    try:
        return decode_cursor(cursor)
    except EmulatorError:
        raise bad_request(
            "The cursor is not one this server returned.", "user_search_invalid_cursor"
        ) from None


def search_page(
    hits: Sequence[T], seq_of: Callable[[T], int], after: int, limit: int
) -> tuple[list[T], JSON]:
    """The page of ``hits`` (sorted by record number, ``seq_of``) after the cursor's record
    ``after``, at most ``limit`` long, and the search's ``results_metadata``: the total
    of hits, and a cursor to the next page when more hits follow this one."""
    rest = [h for h in hits if seq_of(h) > after]
    page = rest[:limit]
    more = len(rest) > limit
    return page, {
        "total": len(hits),
        "next_cursor": encode_cursor(seq_of(page[-1])) if more else None,
    }


def page_limit(p: Params) -> int:
    """``limit`` of a non-search list (default 100, at most 1000)."""
    limit = p.opt_int("limit")
    if limit is None:
        return 100
    if not 1 <= limit <= 1000:
        raise bad_request("limit must be between 1 and 1000.")
    return limit


def any_in(values: Sequence[str], wanted: Sequence[str]) -> bool:
    """Whether some of ``values`` is among ``wanted``, ignoring case."""
    folded = {w.lower() for w in wanted}
    return any(v.lower() in folded for v in values)
