"""Freeing a replaced policy without holding the GIL for the whole of it.

Dropping the last reference to a 10,000-role :class:`~stytch_rbac.CompiledPolicy` frees
its tens of thousands of objects in one cascade of C calls (about 6 ms on a quiet
machine), and no other thread runs meanwhile: the event loop, waiting for the GIL,
would see that stall on top of the interpreter's switch interval. Here the policy's
large containers are first referenced from a private list of their members, so that
dropping the policy frees only the containers' shells; the members are then let go a
few hundred at a time, with a nap now and then (:mod:`._pace`) in which a thread waiting
for the GIL takes it.

Nothing is mutated: a policy still in use elsewhere (an org policy merged on it, a
request holding it) only loses the extra references, and nothing is freed until the
last one goes.
"""

from __future__ import annotations

from typing import Any, Final

from ._pace import pace

__all__ = ["release_in_pieces"]

#: Containers smaller than this are freed whole (their cascade is short).
_LARGE: Final = 256
#: References dropped between two chances for the interpreter to switch threads.
_PIECE: Final = 256


def _members(value: object) -> list[Any] | None:
    """The members of a large container (a dict's keys and values), else None."""
    if isinstance(value, dict):
        if len(value) < _LARGE:
            return None
        members = list(value.values())
        members += value.keys()
        return members
    if isinstance(value, tuple | list | frozenset | set):
        return list(value) if len(value) >= _LARGE else None
    return None


def _slots(obj: object) -> list[Any]:
    values: list[Any] = []
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            values.append(getattr(obj, name, None))
    values.extend(getattr(obj, "__dict__", {}).values())
    return values


def _pieces(holder: list[Any]) -> list[list[Any]]:
    """The members of the large containers of the objects in ``holder``.

    One level only: looking into every member would cost more than freeing them, and a
    member (a role, a row of an index) frees quickly on its own.
    """
    pieces: list[list[Any]] = []
    for obj in holder:
        for value in _slots(obj):
            members = _members(value)
            if members is not None:
                pieces.append(members)
    return pieces


def release_in_pieces(holder: list[Any]) -> None:
    """Let go of the objects in ``holder`` (emptied), in pieces; for a worker thread.

    ``holder`` must hold the caller's only references: one left elsewhere keeps its
    object whole, which is correct, only not in pieces.
    """
    pieces = _pieces(holder)  # no local is left pointing at a member of holder
    holder.clear()  # frees the objects' shells: every large container's members are held
    while pieces:
        members = pieces.pop()
        while members:
            del members[-_PIECE:]
            pace()
