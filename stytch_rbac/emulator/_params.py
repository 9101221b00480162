"""Typed reading of request parameters, answering Stytch-style 400s for bad input."""

from __future__ import annotations

from typing import Any

from ._errors import bad_request

__all__ = ["Params"]

_MISSING = object()


class Params:
    """Path parameters merged with the query string (GET) or the JSON body (POST/PUT).

    Query values are always strings, so booleans and integers are parsed from
    their text there; body values must already have the right JSON type.
    """

    __slots__ = ("_data", "_from_query")

    def __init__(self, data: dict[str, Any], *, from_query: bool = False) -> None:
        self._data = data
        self._from_query = from_query

    def __contains__(self, key: str) -> bool:
        return self._data.get(key) is not None

    def items(self) -> list[tuple[str, Any]]:
        """Every parameter as sent."""
        return list(self._data.items())

    def given(self, *keys: str) -> list[str]:
        """The keys among ``keys`` that carry a non-null value."""
        return [k for k in keys if self._data.get(k) is not None]

    def raw(self, key: str) -> Any:
        """The value as sent (``None`` when absent)."""
        return self._data.get(key)

    def required(self, key: str) -> str:
        """A required non-empty string."""
        value = self._data.get(key)
        if value is None or value == "":
            raise bad_request(f"{key} is required.")
        if not isinstance(value, str):
            raise bad_request(f"{key} must be a string.")
        return value

    def opt_str(self, key: str) -> str | None:
        """An optional string."""
        value = self._data.get(key)
        if value is not None and not isinstance(value, str):
            raise bad_request(f"{key} must be a string.")
        return value

    def opt_bool(self, key: str) -> bool | None:
        """An optional boolean (``true``/``false`` text in a query string)."""
        value = self._data.get(key)
        if value is None:
            return None
        if self._from_query and isinstance(value, str):
            if value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise bad_request(f"{key} must be a boolean.")
        if not isinstance(value, bool):
            raise bad_request(f"{key} must be a boolean.")
        return value

    def strings(self, *keys: str) -> dict[str, str]:
        """The optional strings among ``keys`` that were sent, by key."""
        return {key: value for key in keys if (value := self.opt_str(key)) is not None}

    def flags(self, *keys: str) -> dict[str, bool]:
        """The optional booleans among ``keys`` that were sent, by key."""
        return {key: flag for key in keys if (flag := self.opt_bool(key)) is not None}

    def opt_int(self, key: str) -> int | None:
        """An optional integer."""
        value = self._data.get(key)
        if value is None:
            return None
        if self._from_query and isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                raise bad_request(f"{key} must be an integer.") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(f"{key} must be an integer.")
        return value

    def opt_str_list(self, key: str) -> list[str] | None:
        """An optional list of strings."""
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad_request(f"{key} must be a list of strings.")
        return list(value)

    def opt_dict(self, key: str) -> dict[str, Any] | None:
        """An optional JSON object."""
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise bad_request(f"{key} must be an object.")
        return value

    def opt_dict_list(self, key: str, fields: tuple[str, ...]) -> list[dict[str, Any]] | None:
        """An optional list of objects, each with string ``fields``."""
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise bad_request(f"{key} must be a list of objects.")
        out: list[dict[str, Any]] = []
        for item in value:
            if not isinstance(item, dict):
                raise bad_request(f"{key} must be a list of objects.")
            for name in fields:
                if not isinstance(item.get(name), str) or not item[name]:
                    raise bad_request(f"each item of {key} needs a string {name}.")
            out.append({name: item[name] for name in fields})
        return out

    def choice(self, key: str, allowed: tuple[str, ...]) -> str | None:
        """An optional string from a closed set."""
        value = self.opt_str(key)
        if value is not None and value not in allowed:
            raise bad_request(f"{key} must be one of {', '.join(allowed)}.")
        return value
