"""Stytch's OpenAPI description of the B2B API, read for the conformance checks.

The description (``openapi/stytch-b2b.openapi.yml``, a copy of Stytch's published
one) is loaded once per test process. Response bodies are validated with
``openapi-schema-validator``'s OpenAPI 3.0 read validator (jsonschema underneath),
against the ``200`` schema of the operation that serves the request path.

Two readings are applied to the description before validating:

- Stytch never marks a field ``nullable``, yet its own pages say an absent optional
  value is ``null`` (``results_metadata.next_cursor`` "is null" on the last page;
  optional model fields are ``Optional[...] = None`` in Stytch's SDKs). So a property
  that is not in its schema's ``required`` list may be ``null``; a required one may not.
- Stricter than OpenAPI's default: an object whose schema lists ``properties`` may
  carry no other field (unless the schema says ``additionalProperties``), so the
  emulator cannot send fields Stytch does not document. The envelope's ``request_id``
  and ``status_code``, which every Stytch response carries, are allowed on every
  success body even where a response schema forgets them.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT4

__all__ = [
    "DESCRIPTION",
    "MANAGEMENT",
    "Description",
    "Operation",
    "description",
    "management_description",
]

JSON = dict[str, Any]

DESCRIPTION = Path(__file__).resolve().parent / "openapi" / "stytch-b2b.openapi.yml"
#: The Management API's (``/pwa/v3/...``), whose path parameters are written ``:name``.
MANAGEMENT = Path(__file__).resolve().parent / "openapi" / "stytch-management.openapi.yml"
_URI = "urn:stytch-b2b-openapi"
_METHODS = ("get", "put", "post", "delete", "patch")
_NULL: JSON = {"enum": [None]}
_ENVELOPE: JSON = {"request_id": {"type": "string"}, "status_code": {"type": "integer"}}


def _read_strictly(node: Any) -> None:
    """Let every non-required property of every schema in ``node`` also be ``null``, and
    close every object schema that lists its properties."""
    if isinstance(node, list):
        for item in node:
            _read_strictly(item)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _read_strictly(value)
    properties = node.get("properties")
    if isinstance(properties, dict):
        node.setdefault("additionalProperties", False)
        required = set(node.get("required", ()))
        for name, schema in properties.items():
            if name not in required:
                properties[name] = {"anyOf": [schema, _NULL]}


@dataclass(frozen=True)
class Operation:
    """One path + method of the description."""

    method: str
    path: str
    spec: JSON = field(repr=False)

    @property
    def segments(self) -> tuple[str, ...]:
        """The path template split on ``/``."""
        return tuple(self.path.strip("/").split("/"))

    @property
    def operation_id(self) -> str:
        """Stytch's ``operationId``."""
        return str(self.spec.get("operationId", ""))

    def parameters(self, where: str) -> list[JSON]:
        """The parameters declared ``in`` ``where`` (``path``, ``query``, ``header``)."""
        return [p for p in self.spec.get("parameters", []) if p.get("in") == where]

    def request_schema(self) -> JSON | None:
        """The JSON request-body schema (a ``$ref`` or inline), if the operation has one."""
        body = self.spec.get("requestBody")
        if body is None:
            return None
        schema: JSON = body["content"]["application/json"]["schema"]
        return schema

    def response_schema(self, status: int) -> JSON | None:
        """The JSON schema documented for ``status``, if any."""
        response = self.spec.get("responses", {}).get(str(status))
        if not response:
            return None
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        return schema if isinstance(schema, dict) else None


class Description:
    """The parsed description: operations by method and path, schemas, validators."""

    def __init__(self, path: Path = DESCRIPTION) -> None:
        with path.open("rb") as stream:
            raw: JSON = yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        # The Management description writes a path parameter ``:name``; read it as ``{name}``.
        raw["paths"] = {re.sub(r"/:(\w+)", r"/{\1}", k): v for k, v in raw["paths"].items()}
        self.raw = raw
        document = copy.deepcopy(raw)
        schemas = document["components"]["schemas"]
        for item in raw["paths"].values():
            for spec in item.values():
                ref = spec.get("responses", {}).get("200", {}).get("content", {})
                ref = ref.get("application/json", {}).get("schema", {}).get("$ref", "")
                if ref:
                    target = schemas[ref.rsplit("/", 1)[-1]]
                    target.setdefault("properties", {})
                    for name, schema in _ENVELOPE.items():
                        target["properties"].setdefault(name, schema)
        _read_strictly(schemas)
        self._document = document
        self._registry: Registry[Any] = Registry().with_resource(
            _URI, DRAFT4.create_resource(document)
        )
        self.operations: dict[tuple[str, str], Operation] = {
            (method.upper(), path): Operation(method.upper(), path, spec)
            for path, item in raw["paths"].items()
            for method, spec in item.items()
            if method in _METHODS
        }
        by_shape: dict[tuple[str, int], list[Operation]] = {}
        for op in self.operations.values():
            by_shape.setdefault((op.method, len(op.segments)), []).append(op)
        for candidates in by_shape.values():
            candidates.sort(key=lambda o: tuple(s.startswith("{") for s in o.segments))
        self._by_shape = by_shape
        self._validators: dict[tuple[str, str, int], Any] = {}  # jsonschema validators

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations.values())

    def find(self, method: str, raw_path: str) -> Operation | None:
        """The operation serving a concrete request path (literal segments win)."""
        segments = [unquote(s) for s in raw_path.split("?")[0].strip("/").split("/")]
        for op in self._by_shape.get((method.upper(), len(segments)), ()):
            if all(
                (want.startswith("{") and bool(got)) or want == got
                for want, got in zip(op.segments, segments, strict=True)
            ):
                return op
        return None

    def has(self, method: str, template: str) -> bool:
        """Whether the description has this method on this path template (names aside)."""
        shape = re.sub(r"\{[^}]+\}", "{}", template)
        return any(
            op.method == method.upper() and re.sub(r"\{[^}]+\}", "{}", op.path) == shape
            for op in self
        )

    def schema(self, name: str) -> JSON:
        """A component schema as Stytch wrote it."""
        schema: JSON = self.raw["components"]["schemas"][name]
        return schema

    def resolve(self, schema: JSON) -> JSON:
        """``schema`` with a top-level ``$ref`` followed (in the untouched description)."""
        while "$ref" in schema:
            schema = self.schema(str(schema["$ref"]).rsplit("/", 1)[-1])
        return schema

    def _validator(self, op: Operation, status: int) -> Any:
        key = (op.method, op.path, status)
        if key not in self._validators:
            schema = op.response_schema(status)
            if schema is not None and "$ref" in schema:
                schema = {"$ref": _URI + str(schema["$ref"])}
            self._validators[key] = (
                None
                if schema is None
                else OAS30ReadValidator(
                    schema, registry=self._registry, format_checker=oas30_format_checker
                )
            )
        return self._validators[key]

    def response_problems(self, op: Operation, status: int, body: Any) -> list[str]:
        """Why ``body`` does not fit the schema documented for ``status`` (empty: it does,
        or nothing is documented for that status)."""
        validator = self._validator(op, status)
        if validator is None:
            return []
        return [
            f"{'.'.join(str(p) for p in error.absolute_path) or '(body)'}: {error.message}"
            for error in sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        ]


@functools.cache
def description() -> Description:
    """The description, parsed once per process."""
    return Description()


@functools.cache
def management_description() -> Description:
    """The Management API's description, parsed once per process."""
    return Description(MANAGEMENT)
