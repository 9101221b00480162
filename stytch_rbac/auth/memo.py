"""Verified session JWTs remembered until they expire: bounded, scan-resistant, O(1) a hit.

Keyed by the token string itself. A look-up hashes the string once (Python caches a
str's hash on the object) and compares the match in full (a memcmp), and the key is the
very string the Principal already holds as ``session_jwt``, so it costs no memory. A
SHA-256 key would cost more per hit (~1 µs to hash a Stytch JWT) than the whole look-up.
Python's string hashing is keyed per process, so an attacker cannot craft tokens that
collide, and a collision could only cost time: keys are compared in full.

At most ``size`` tokens (0: none), in two segments (segmented LRU):

* **probation**: tokens verified and not asked for since. When the memo is full, the
  newest tenth of probation gives way: the tokens already there stay, so more tokens
  than ``size`` asked for in turn (clients polling one after the other) still hit for
  about ``size / tokens`` of them, where evicting the oldest hits for none;
* **protected** (at most 4/5 of ``size``): tokens asked for again while remembered, in
  least-recently-used order; the least recently used goes back to probation when it is
  full. A few busy sessions among many stay remembered, and a burst of new tokens (or of
  forgeries, which are never remembered) cannot push them out.

Expired entries go first: a heap of expiry times finds them at each insertion, before
any live entry is evicted, and a read of an expired entry drops it.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Collection
from typing import Generic, TypeVar

__all__ = ["TokenMemo"]

V = TypeVar("V")


class TokenMemo(Generic[V]):
    """``token -> value`` until a deadline, at most ``size`` of them (see the module docs).

    ``value`` is what a hit returns (a Principal); ``kid`` is the signing key the token
    was verified with, for :meth:`forget`.
    """

    def __init__(self, size: int) -> None:
        #: At most this many tokens are kept (0: none); read at every insertion.
        self.size = size
        # token -> (value, valid until, kid)
        self._probation: dict[str, tuple[V, float, str]] = {}
        self._protected: OrderedDict[str, tuple[V, float, str]] = OrderedDict()
        # (valid until, token) for every token put; entries of tokens gone since are
        # skipped when they come up.
        self._expiries: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._probation) + len(self._protected)

    def __contains__(self, token: object) -> bool:
        return token in self._protected or token in self._probation

    def _protected_max(self) -> int:
        return self.size - max(1, self.size // 5)

    def get(self, token: str, now: float) -> V | None:
        """The value of ``token`` if it is remembered and valid at ``now``, else None."""
        protected = self._protected
        hit = protected.get(token)
        if hit is not None:
            if now < hit[1]:
                protected.move_to_end(token)
                return hit[0]
            del protected[token]
            return None
        hit = self._probation.pop(token, None)
        if hit is None:
            return None
        if now >= hit[1]:
            return None
        protected[token] = hit  # asked for again: promoted
        if len(protected) > self._protected_max():
            oldest, demoted = protected.popitem(last=False)
            self._probation[oldest] = demoted
        return hit[0]

    def put(self, token: str, value: V, valid_until: float, kid: str, now: float) -> None:
        """Remember ``token`` until ``valid_until``, making room if the memo is full."""
        size = self.size
        if size <= 0 or valid_until <= now:
            return
        self._drop_expired(now)
        probation, protected = self._probation, self._protected
        entry = (value, valid_until, kid)
        if token in protected:
            protected[token] = entry
            return
        if token not in probation and len(probation) + len(protected) >= size:
            # The newest tenth of probation gives way; amortized O(1) per insertion.
            for _ in range(min(len(probation), max(1, size // 10))):
                probation.popitem()
            while protected and len(probation) + len(protected) >= size:
                protected.popitem(last=False)  # only once ``size`` was lowered
        probation[token] = entry
        heapq.heappush(self._expiries, (valid_until, token))
        if len(self._expiries) > 2 * size + 64:
            # Entries of evicted tokens linger until they expire: rebuild from what is
            # held (O(size), at most once per ``size`` insertions).
            self._expiries = [(e[1], t) for d in (probation, protected) for t, e in d.items()]
            heapq.heapify(self._expiries)

    def _drop_expired(self, now: float) -> None:
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            _, token = heapq.heappop(expiries)
            for held in (self._probation, self._protected):
                entry = held.get(token)
                if entry is not None and entry[1] <= now:
                    del held[token]

    def forget(self, kids: Collection[str] | None = None) -> None:
        """Drop the tokens verified with one of ``kids`` (every token with None)."""
        for held in (self._probation, self._protected):
            if kids is None:
                held.clear()
            else:
                for token in [t for t, (_, _, kid) in held.items() if kid in kids]:
                    del held[token]
        if kids is None:
            self._expiries.clear()
