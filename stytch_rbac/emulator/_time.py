"""The emulator's clock (movable with ``advance_time``) and Stytch's timestamp format."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from ..clock import Clock, ManualClock, SystemClock

__all__ = ["ManualClock", "ShiftedClock", "movable_clock", "rfc3339"]


class ShiftedClock:
    """A clock reading another clock plus an offset that only grows (``advance``)."""

    __slots__ = ("_base", "_lock", "_offset")

    def __init__(self, base: Clock | None = None) -> None:
        self._base: Clock = base if base is not None else SystemClock()
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        """The base clock's time plus every ``advance`` so far."""
        return self._base.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move time forward (never backward)."""
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._offset += seconds


def movable_clock(clock: Clock | None) -> ManualClock | ShiftedClock:
    """``clock`` itself when it can be advanced, else a :class:`ShiftedClock` over it."""
    if isinstance(clock, (ManualClock, ShiftedClock)):
        return clock
    return ShiftedClock(clock)


def rfc3339(epoch: float) -> str:
    """``2024-01-01T00:00:00Z`` (whole seconds, UTC), Stytch's timestamp form."""
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
