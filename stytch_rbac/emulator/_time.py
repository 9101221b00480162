"""The emulator's clock (movable with ``advance_time``) and Stytch's timestamp format."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime
from typing import Final

from ..clock import Clock, ManualClock, SystemClock

__all__ = ["LATEST", "ManualClock", "ShiftedClock", "check_advance", "movable_clock", "rfc3339"]

LATEST: Final = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
"""The last second a Stytch timestamp (and Python's ``datetime``) can show."""


def check_advance(now: float, seconds: object) -> None:
    """``ValueError`` unless moving a clock reading ``now`` by ``seconds`` is possible:
    a finite number >= 0 that keeps the clock at or before :data:`LATEST`."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ValueError(f"seconds must be a number, got {type(seconds).__name__}")
    try:
        finite = math.isfinite(seconds)
    except OverflowError:  # an int too large for a float
        finite = False
    if not finite or seconds < 0:
        raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
    if seconds > LATEST - now:
        raise ValueError(
            f"seconds={seconds!r} would move the clock past the year 9999, "
            "the last time Stytch's timestamps can show"
        )


class ShiftedClock:
    """A clock reading another clock plus an offset that only grows (``advance``).

    The offset is what a state snapshot keeps, so a restored emulator is as far
    ahead of its base clock as the saved one was.
    """

    __slots__ = ("_base", "_lock", "_offset")

    def __init__(self, base: Clock | None = None) -> None:
        self._base: Clock = base if base is not None else SystemClock()
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        """The base clock's time plus every ``advance`` so far."""
        return self._base.time() + self._offset

    @property
    def offset(self) -> float:
        """Seconds this clock is ahead of its base clock."""
        return self._offset

    def advance(self, seconds: float) -> None:
        """Move time forward (never backward; see :func:`check_advance`)."""
        with self._lock:
            check_advance(self.time(), seconds)
            self._offset += seconds


def movable_clock(clock: Clock | None) -> ManualClock | ShiftedClock:
    """``clock`` itself when it can be advanced, else a :class:`ShiftedClock` over it."""
    if isinstance(clock, (ManualClock, ShiftedClock)):
        return clock
    return ShiftedClock(clock)


def rfc3339(epoch: float) -> str:
    """``2024-01-01T00:00:00Z`` (whole seconds, UTC), Stytch's timestamp form."""
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
