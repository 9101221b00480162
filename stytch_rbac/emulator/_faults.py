"""Fault injection per endpoint: failures, latency, hangs, malformed bodies."""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

from ..clock import Clock

__all__ = ["Fault", "Faults"]

Kind = Literal["fail", "latency", "hang", "garbage", "truncated", "redirect"]

ANY_ENDPOINT = "*"


@dataclass(slots=True)
class Fault:
    """One injected fault; it applies while ``remaining`` and ``until`` allow."""

    kind: Kind
    endpoint: str
    status: int = 500
    seconds: float = 0.0
    retry_after: float | None = None
    error_type: str | None = None
    body: dict[str, Any] | None = None
    remaining: int | None = None
    until: float | None = None


class Faults:
    """Faults for the emulator's endpoints, keyed by endpoint name (``"*"``: every endpoint).

    Each method takes ``times=N`` (the next N matching requests) or
    ``duration=seconds`` (measured on the emulator's clock), or neither (until
    :meth:`clear`). Latency adds to whatever else happens; the first terminal
    fault (fail, hang, garbage, truncated) in the order added answers the request.
    """

    def __init__(self, clock: Clock, endpoints: Collection[str] = ()) -> None:
        self._clock = clock
        self._endpoints = frozenset(endpoints)
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.generation: int = 0

    def _add(self, fault: Fault, times: int | None, duration: float | None) -> Fault:
        endpoint = fault.endpoint
        if endpoint != ANY_ENDPOINT and self._endpoints and endpoint not in self._endpoints:
            raise ValueError(
                f"unknown endpoint {endpoint!r}; known: {', '.join(sorted(self._endpoints))}"
            )
        if times is not None and times < 1:
            raise ValueError("times must be at least 1")
        if duration is not None and duration <= 0:
            raise ValueError("duration must be positive")
        fault.remaining = times
        fault.until = None if duration is None else self._clock.time() + duration
        with self._lock:
            self._faults.append(fault)
        return fault

    def fail(
        self,
        endpoint: str,
        status: int = 500,
        *,
        times: int | None = None,
        duration: float | None = None,
        retry_after: float | None = None,
        error_type: str | None = None,
    ) -> Fault:
        """Answer with a Stytch error envelope of ``status`` (``Retry-After`` if given)."""
        if not 400 <= status <= 599:
            raise ValueError("a failure status must be 4xx or 5xx")
        fault = Fault(
            "fail", endpoint, status=status, retry_after=retry_after, error_type=error_type
        )
        return self._add(fault, times, duration)

    def latency(
        self,
        endpoint: str,
        seconds: float,
        *,
        times: int | None = None,
        duration: float | None = None,
    ) -> Fault:
        """Delay responses by ``seconds`` (real time) before answering normally."""
        if seconds < 0:
            raise ValueError("latency must not be negative")
        return self._add(Fault("latency", endpoint, seconds=seconds), times, duration)

    def hang(
        self, endpoint: str, *, times: int | None = None, duration: float | None = None
    ) -> Fault:
        """Never answer (until the client gives up, :meth:`clear`, or the server stops)."""
        return self._add(Fault("hang", endpoint), times, duration)

    def garbage(
        self,
        endpoint: str,
        *,
        status: int = 200,
        times: int | None = None,
        duration: float | None = None,
    ) -> Fault:
        """Answer with a body that is not JSON at all (labelled ``application/json``)."""
        return self._add(Fault("garbage", endpoint, status=status), times, duration)

    def truncated(
        self,
        endpoint: str,
        *,
        status: int = 200,
        times: int | None = None,
        duration: float | None = None,
    ) -> Fault:
        """Answer with the real JSON body cut in half."""
        return self._add(Fault("truncated", endpoint, status=status), times, duration)

    def redirect(
        self,
        endpoint: str,
        status: int = 302,
        *,
        body: dict[str, Any] | None = None,
        times: int | None = None,
        duration: float | None = None,
    ) -> Fault:
        """Answer with a 3xx status (``Location: /``) and a JSON body: ``body``, or the real
        answer's. Stytch never redirects; a client must not read such an answer as a success."""
        if not 300 <= status <= 399:
            raise ValueError("a redirection status must be 3xx")
        return self._add(Fault("redirect", endpoint, status=status, body=body), times, duration)

    def clear(self, endpoint: str | None = None) -> None:
        """Remove every fault (or those of one endpoint) and release hanging requests."""
        with self._lock:
            if endpoint is None:
                self._faults.clear()
            else:
                self._faults = [f for f in self._faults if f.endpoint != endpoint]
        self.release_hangs()

    def release_hangs(self) -> None:
        """Let every request currently hanging finish (with a 503)."""
        with self._lock:
            self.generation += 1

    @property
    def active(self) -> list[Fault]:
        """The faults still in force."""
        now = self._clock.time()
        with self._lock:
            return [f for f in self._faults if f.until is None or f.until > now]

    def take(self, endpoint: str) -> tuple[float, Fault | None]:
        """For one request: total latency to add, and the terminal fault that answers it."""
        now = self._clock.time()
        delay = 0.0
        terminal: Fault | None = None
        with self._lock:
            if not self._faults:
                return 0.0, None
            keep: list[Fault] = []
            for fault in self._faults:
                if fault.until is not None and fault.until <= now:
                    continue
                applies = fault.endpoint in (endpoint, ANY_ENDPOINT)
                if applies and (fault.kind == "latency" or terminal is None):
                    if fault.kind == "latency":
                        delay += fault.seconds
                    else:
                        terminal = fault
                    if fault.remaining is not None:
                        fault.remaining -= 1
                if fault.remaining is None or fault.remaining > 0:
                    keep.append(fault)
            self._faults = keep
        return delay, terminal
