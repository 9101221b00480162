"""Stytch's policy response, from its bytes to a :class:`CompiledPolicy`, in small steps.

``StytchRBAC`` compiles a fetched policy in a worker thread so that the event loop
never waits for it. A worker thread only helps if it lets go of the GIL often:
``json.loads`` and one pydantic validation of a whole 10,000-role policy are each a
single C call that holds it for hundreds of milliseconds, so here the document is
decoded and validated one role, resource or scope at a time (each a few
microseconds), and the pure-Python steps between them give the interpreter its
usual chances to switch threads.

An unchanged policy costs a digest: :func:`response_digest` hashes the response
bytes without the two envelope members that change on every request
(``request_id``, ``status_code``), and :func:`compile_response` stops there when the
digest is the one it was given.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import json.decoder
import json.scanner
import re
import sys
from collections.abc import Callable
from typing import Any, Final, TypeAlias

from ..errors import PolicyError
from ._pace import pace
from .compiled import CompiledPolicy
from .models import Policy
from .problems import Owner, Resource

__all__ = ["compile_response", "loads_in_pieces", "response_digest"]

#: The envelope members of every Stytch answer, different on each request.
_ENVELOPE: Final = frozenset({"request_id", "status_code"})
#: Containers down to this depth are walked here; deeper values are decoded whole.
#: 3 reaches one role of ``{"policy": {"roles": [role, ...]}}``.
_DEPTH: Final = 3

_WS: Final = re.compile(r"[ \t\n\r]*")  # JSON's whitespace (json.decoder's own pattern)
# The json module's own C scanners (typeshed does not describe them): a value at an index,
# and a string after its opening quote, each returning the index where it ends.
_scan_once: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(
    json.JSONDecoder()  # type: ignore[arg-type]
)
_scan_string: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


#: Bytes decoded between two chances to nap (:func:`pace`): a 7 MB body is one C call
#: of a few milliseconds otherwise.
_DECODE_PIECE: Final = 1 << 18


def _decode_text(body: bytes) -> str:
    """The response text, in the encoding ``json.loads`` would detect for these bytes."""
    try:
        decoder = codecs.getincrementaldecoder(json.detect_encoding(body))()
        view = memoryview(body)
        pieces: list[str] = []
        for start in range(0, len(body), _DECODE_PIECE):
            pieces.append(decoder.decode(view[start : start + _DECODE_PIECE]))
            pace()
        pieces.append(decoder.decode(b"", final=True))
    except (UnicodeDecodeError, LookupError) as exc:
        raise PolicyError(f"policy is not valid JSON: {exc}") from None
    return "".join(pieces)


def _skip_ws(text: str, idx: int) -> int:
    match = _WS.match(text, idx)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _expected(what: str, text: str, idx: int) -> json.JSONDecodeError:
    return json.JSONDecodeError(f"Expecting {what}", text, idx)


def _value(text: str, idx: int, depth: int) -> tuple[Any, int]:
    if depth > 0 and idx < len(text):
        if text[idx] == "{":
            return _object(text, idx + 1, depth - 1)
        if text[idx] == "[":
            return _array(text, idx + 1, depth - 1)
    try:
        value, end = _scan_once(text, idx)
    except StopIteration as exc:
        raise _expected("value", text, exc.value) from None
    return value, end


def _object(text: str, idx: int, depth: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    idx = _skip_ws(text, idx)
    if text.startswith("}", idx):
        return out, idx + 1
    while True:
        if not text.startswith('"', idx):
            raise _expected("property name enclosed in double quotes", text, idx)
        key, idx = _scan_string(text, idx + 1)
        idx = _skip_ws(text, idx)
        if not text.startswith(":", idx):
            raise _expected("':' delimiter", text, idx)
        out[key], idx = _value(text, _skip_ws(text, idx + 1), depth)
        idx = _skip_ws(text, idx)
        if text.startswith("}", idx):
            return out, idx + 1
        if not text.startswith(",", idx):
            raise _expected("',' delimiter", text, idx)
        idx = _skip_ws(text, idx + 1)


def _array(text: str, idx: int, depth: int) -> tuple[list[Any], int]:
    out: list[Any] = []
    idx = _skip_ws(text, idx)
    if text.startswith("]", idx):
        return out, idx + 1
    while True:
        value, idx = _value(text, idx, depth)
        out.append(value)
        idx = _skip_ws(text, idx)
        if text.startswith("]", idx):
            return out, idx + 1
        if not text.startswith(",", idx):
            raise _expected("',' delimiter", text, idx)
        idx = _skip_ws(text, idx + 1)


def loads_in_pieces(text: str) -> Any:
    """``json.loads(text)``, with objects and arrays of the top three levels decoded one
    member at a time: the same value, and a :class:`json.JSONDecodeError` for the same
    documents (the message may differ)."""
    value, idx = _value(text, _skip_ws(text, 0), _DEPTH)
    idx = _skip_ws(text, idx)
    if idx != len(text):
        raise json.JSONDecodeError("Extra data", text, idx)
    return value


def _hashed_from(text: str) -> int:
    """Where the hashed part of a response starts: after its leading envelope members."""
    start = idx = _skip_ws(text, 0)
    if not text.startswith("{", idx):
        return start
    idx = _skip_ws(text, idx + 1)
    after_brace = idx
    while text.startswith('"', idx):
        try:
            key, end = _scan_string(text, idx + 1)
            end = _skip_ws(text, end)
            if key not in _ENVELOPE or not text.startswith(":", end):
                break
            end = _skip_ws(text, end + 1)
            if end < len(text) and text[end] in "{[":
                break
            _, end = _scan_once(text, end)
        except (ValueError, StopIteration):
            break
        end = _skip_ws(text, end)
        if not text.startswith(",", end):
            break
        idx = _skip_ws(text, end + 1)
    # The brace is hashed too, so that "{" + rest and rest never collide.
    return start if idx == after_brace else idx - 1


#: Bytes of a response read to find its leading envelope members (they are short).
_HEAD: Final = 4096


def _hashed_from_bytes(body: bytes) -> int:
    """:func:`_hashed_from` as a byte offset, found from the start of the body alone."""
    if json.detect_encoding(body) != "utf-8":
        return 0  # Stytch sends UTF-8: anything else is hashed whole
    head = body[:_HEAD]
    for cut in range(len(head), max(len(head) - 4, -1), -1):  # a character may be cut off
        try:
            text = head[:cut].decode()
        except UnicodeDecodeError:
            continue
        at = _hashed_from(text)
        return at if text.isascii() else len(text[:at].encode())
    return 0


def response_digest(body: bytes) -> str:
    """SHA-256 of a policy response, leaving out its leading ``request_id`` and
    ``status_code`` members: equal for two answers serving the same policy text.

    Only the first few KB are decoded (to find those members); the rest is hashed as
    bytes, without a copy and without holding the GIL. Any other difference (another
    order of the roles, an envelope member after the policy) gives another digest,
    which only costs a compile.
    """
    return hashlib.sha256(memoryview(body)[_hashed_from_bytes(body) :]).hexdigest()


def compile_response(
    body: bytes, *, strict: bool = True, unless: str | None = None
) -> tuple[str, CompiledPolicy | None]:
    """The digest of a ``GET /v1/b2b/rbac/policy`` response body and its compiled policy;
    ``None`` for the policy when the digest is ``unless`` (the policy did not change).

    Raises :class:`PolicyError` for a body that is not a usable policy, as
    :meth:`Policy.parse` does. Meant for a worker thread (see the module docs).
    """
    digest = response_digest(body)
    if digest == unless:
        return digest, None
    text = _decode_text(body)
    try:
        resources, roles, scopes = _policy_parts(text)
    except (_Irregular, KeyError, ValueError, StopIteration, RecursionError):
        # Not the shape Stytch sends (or not valid at all): the general path, whose
        # errors name the problem.
        return digest, _compile_document(text, strict)
    return digest, CompiledPolicy._from_parts(resources, roles, scopes, strict=strict)


def _compile_document(text: str, strict: bool) -> CompiledPolicy:
    """The policy of any document :meth:`Policy.parse` accepts, compiled; its error if not."""
    try:
        data = loads_in_pieces(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"policy is not valid JSON: {exc}") from None
    except RecursionError:
        raise PolicyError("policy is not valid JSON: nested too deeply") from None
    policy = Policy.parse(data)
    _free_in_pieces(data, _DEPTH)  # not needed to compile: less for the GC to walk
    del data
    return CompiledPolicy(policy, strict=strict)


# -- the fast path: Stytch's answer read one role, resource or scope at a time -----------------
#
# Each item is decoded, checked and reduced to tuples of (interned) strings before the next
# is read, so neither the decoded document nor a model of it ever exists whole: the
# objects the cyclic GC tracks come and go one item at a time, and a full collection
# (which walks every tracked object of the process, stopping every thread) finds no
# new crowd of survivors to walk. An item is accepted only in exactly the form
# Policy.parse accepts it with the same values; anything else (another type, a
# missing field, a repeated key) is _Irregular, and the general path decides.


class _Irregular(Exception):
    """Not the plain shape the fast path reads: the general path decides."""


_POLICY_KEYS: Final = frozenset({"roles", "resources", "scopes"})
_intern = sys.intern


def _str(value: object) -> str:
    if type(value) is not str:
        raise _Irregular
    return value


def _strs(value: object) -> tuple[str, ...]:
    if type(value) is not list:
        raise _Irregular
    for item in value:
        if type(item) is not str:
            raise _Irregular
    return tuple([_intern(item) for item in value])


def _owner(value: object, key: str) -> Owner:
    """A role or scope (its id under ``key``), flat (see :data:`Owner`)."""
    if type(value) is not dict:
        raise _Irregular
    out: list[Any] = [_intern(_str(value[key])), _str(value.get("description", ""))]
    permissions = value.get("permissions", [])
    if type(permissions) is not list:
        raise _Irregular
    for perm in permissions:
        if type(perm) is not dict:
            raise _Irregular
        out.append(_intern(_str(perm["resource_id"])))
        out.append(_strs(perm["actions"]))
    return tuple(out)


def _role(value: object) -> Owner:
    return _owner(value, "role_id")


def _scope(value: object) -> Owner:
    return _owner(value, "scope")


def _resource(value: object) -> Resource:
    if type(value) is not dict:
        raise _Irregular
    return (
        _intern(_str(value["resource_id"])),
        _str(value.get("description", "")),
        _strs(value.get("actions", [])),
    )


_READERS: Final[dict[str, Callable[[object], Any]]] = {
    "roles": _role,
    "resources": _resource,
    "scopes": _scope,
}


def _walk_object(text: str, idx: int, member: Callable[[str, int], int]) -> int:
    """Call ``member(key, index of its value)`` for each member of the object at ``idx``
    (it returns the index after the value); the index after the object."""
    if not text.startswith("{", idx):
        raise _Irregular
    seen: set[str] = set()
    idx = _skip_ws(text, idx + 1)
    if text.startswith("}", idx):
        raise _Irregular  # an empty envelope or policy: the general path's error
    while True:
        if not text.startswith('"', idx):
            raise _Irregular
        key, idx = _scan_string(text, idx + 1)
        if key in seen:
            raise _Irregular  # json.loads keeps the last one: the general path does
        seen.add(key)
        idx = _skip_ws(text, idx)
        if not text.startswith(":", idx):
            raise _Irregular
        idx = _skip_ws(text, member(key, _skip_ws(text, idx + 1)))
        if text.startswith("}", idx):
            return idx + 1
        if not text.startswith(",", idx):
            raise _Irregular
        idx = _skip_ws(text, idx + 1)


def _items(text: str, idx: int, read: Callable[[object], Any]) -> tuple[tuple[Any, ...], int]:
    """``read`` of every item of the array at ``idx``, and the index after the array."""
    if not text.startswith("[", idx):
        raise _Irregular
    out: list[Any] = []
    idx = _skip_ws(text, idx + 1)
    if text.startswith("]", idx):
        return (), idx + 1
    while True:
        value, idx = _scan_once(text, idx)
        out.append(read(value))
        del value
        pace()
        idx = _skip_ws(text, idx)
        if text.startswith("]", idx):
            return tuple(out), idx + 1
        if not text.startswith(",", idx):
            raise _Irregular
        idx = _skip_ws(text, idx + 1)


_Parts: TypeAlias = tuple[tuple[Resource, ...], tuple[Owner, ...], tuple[Owner, ...]]


def _policy_object(text: str, idx: int) -> tuple[_Parts, int]:
    parts: dict[str, tuple[Any, ...]] = {}

    def member(key: str, at: int) -> int:
        read = _READERS.get(key)
        if read is None:
            return _scan_once(text, at)[1]
        parts[key], end = _items(text, at, read)
        return end

    end = _walk_object(text, idx, member)
    if not parts:
        raise _Irregular  # no roles, resources or scopes: the general path's error
    return (parts.get("resources", ()), parts.get("roles", ()), parts.get("scopes", ())), end


def _policy_parts(text: str) -> _Parts:
    """The resources, roles and scopes of a response ``{..., "policy": {...}}`` as plain
    tuples, read one item at a time; :class:`_Irregular` for any other shape."""
    found: list[_Parts] = []

    def member(key: str, at: int) -> int:
        if key in _POLICY_KEYS:
            raise _Irregular  # a bare policy (Policy.parse's rule on which object to read)
        if key != "policy":
            return _scan_once(text, at)[1]
        parts, end = _policy_object(text, at)
        found.append(parts)
        return end

    end = _walk_object(text, _skip_ws(text, 0), member)
    if not found or _skip_ws(text, end) != len(text):
        raise _Irregular
    return found[0]


def _free_in_pieces(value: Any, depth: int) -> None:
    """Empty the containers of a decoded document one member at a time.

    Dropping the last reference to a 10,000-role document frees its hundreds of
    thousands of objects in one cascade of C calls, which holds the GIL the whole
    time; freed member by member, the interpreter can switch threads in between.
    Only for a document nothing else refers to.
    """
    if depth <= 0:
        return
    if isinstance(value, dict):
        while value:
            _free_in_pieces(value.popitem()[1], depth - 1)
    elif isinstance(value, list):
        while value:
            _free_in_pieces(value.pop(), depth - 1)
