"""Request bodies: read within a size bound, parsed as strict JSON within a depth bound.

A client of the emulator may be careless or hostile; either way it gets Stytch's
error envelope (400 ``bad_request``, or 413 for a body over the limit), never a
500, a stored 20 MB record or a clock set to NaN.
"""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any, Final

from starlette.requests import Request

from ._errors import EmulatorError, bad_request

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "MAX_JSON_DEPTH", "parse_json", "read_body"]

DEFAULT_MAX_REQUEST_BYTES: Final = 1_048_576
"""Largest request body the emulator reads by default (1 MiB); ``Emulator(max_request_bytes=)``."""

MAX_JSON_DEPTH: Final = 64
"""Deepest nesting of arrays and objects a body may have (the body's own object is level 1).

Far more than any Stytch request needs, far less than what makes ``json.loads``
(about 1,000 levels) or the code handling the value run out of stack.
"""


def _too_large(limit: int) -> EmulatorError:
    # Stytch documents no error type for an oversized body: its generic ``bad_request``,
    # with HTTP's own status for the case.
    return EmulatorError(413, "bad_request", f"The request body is larger than {limit} bytes.")


def _not_json(reason: str) -> EmulatorError:
    return bad_request(f"The request body is not valid JSON: {reason}.", "bad_request")


def _too_deep() -> EmulatorError:
    return bad_request(
        f"The request body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels.",
        "bad_request",
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed ``limit`` bytes.

    A ``Content-Length`` over the limit is refused before a byte is read; a body
    without one (chunked) is read chunk by chunk and refused when the running
    total passes the limit, so no more than ``limit`` bytes are ever held.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    # aclosing: leaving the stream early must close it here, not in the garbage collector
    # (trio reports an async generator finalized there).
    async with contextlib.aclosing(request.stream()) as stream:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    return b"".join(chunks)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is outside the range of a number")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels in ``value`` (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def parse_json(raw: bytes) -> Any:
    """``raw`` as JSON: strict (no ``NaN``/``Infinity``, no number overflowing a float)
    and at most :data:`MAX_JSON_DEPTH` levels deep; 400 ``bad_request`` otherwise."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise _too_deep() from None
    except json.JSONDecodeError as exc:
        raise _not_json(exc.msg) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise _not_json(str(exc)) from None
    # Each level needs one bracket: fewer brackets than the bound cannot nest past it.
    if (
        raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH
        and isinstance(value, (dict, list))
        and _deeper_than(value, MAX_JSON_DEPTH)
    ):
        raise _too_deep()
    return value
