"""Pauses in the long pure-Python loops of compiling a policy, for threads waiting for the GIL.

A policy is compiled in a worker thread so that the event loop keeps running, but a
thread that wants the GIL waits for the interpreter's switch interval (5 ms) before it
asks for it, and waits again whenever the GIL changed hands meanwhile: beside a busy
worker, the loop wakes 5 to 10 ms late. Here the worker naps briefly every
millisecond of work (a real sleep, so that a waiting thread gets the GIL rather than
the worker taking it straight back): the loop waits about a millisecond instead, and
the compile costs a few percent more.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Final, TypeVar

__all__ = ["pace", "paced"]

T = TypeVar("T")

#: Work between two naps, in seconds.
SPAN: Final = 0.001
#: A nap: long enough for a thread waiting for the GIL to wake and take it.
NAP: Final = 0.00002

_clock = time.perf_counter
_sleep = time.sleep
# When the next nap is due. Shared by every thread: two compiling at once nap half as
# often each, and the GIL still changes hands every SPAN.
_due = 0.0


def pace() -> None:
    """Nap if :data:`SPAN` has passed since the last nap: call it once per item of work."""
    global _due
    if _clock() >= _due:
        _sleep(NAP)
        _due = _clock() + SPAN


def paced(items: Iterable[T]) -> Iterator[T]:
    """``items``, with :func:`pace` called before each."""
    for item in items:
        pace()
        yield item
