"""Sliding-window rate limits kept as a short log of recent hit times.

The log holds at most ``limit`` timestamps, so it is small and exact: the window
can be rebuilt from durable records (for example recent mints) after a restart.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(slots=True)
class SlidingWindowLimit:
    limit: int
    window_seconds: float
    # A packed array, not a deque or a list of floats: at most ``limit`` entries at 8 bytes
    # each, in every license that changed devices today, which hosts pack with its bytes.
    hits: array[float] = field(default_factory=lambda: array("d"))

    @classmethod
    def from_history(
        cls, limit: int, window_seconds: float, hit_times: Iterable[float]
    ) -> SlidingWindowLimit:
        recent = sorted(hit_times)[-limit:] if limit > 0 else []
        return cls(limit, window_seconds, array("d", recent))

    def _forget_before(self, now: float) -> None:
        horizon = now - self.window_seconds
        stale = 0
        while stale < len(self.hits) and self.hits[stale] <= horizon:
            stale += 1
        if stale:
            del self.hits[:stale]

    def retry_after(self, now: float) -> int:
        """Seconds until one more hit is allowed; 0 when one is allowed now."""
        self._forget_before(now)
        if len(self.hits) < self.limit:
            return 0
        return max(1, math.ceil(self.hits[0] + self.window_seconds - now))

    def record(self, now: float) -> None:
        self._forget_before(now)
        self.hits.append(now)
        if len(self.hits) > self.limit:
            del self.hits[: len(self.hits) - self.limit]

    def copy(self) -> SlidingWindowLimit:
        return SlidingWindowLimit(self.limit, self.window_seconds, array("d", self.hits))
