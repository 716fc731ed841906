"""Sliding-window rate limits kept as a short log of recent hit times.

The log holds at most ``limit`` timestamps, so it is small and exact: the window
can be rebuilt from durable records (for example recent mints) after a restart.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class SlidingWindowLimit:
    limit: int
    window_seconds: float
    hits: deque[float] = field(default_factory=deque)

    @classmethod
    def from_history(
        cls, limit: int, window_seconds: float, hit_times: Iterable[float]
    ) -> SlidingWindowLimit:
        recent = sorted(hit_times)[-limit:] if limit > 0 else []
        return cls(limit, window_seconds, deque(recent))

    def _forget_before(self, now: float) -> None:
        horizon = now - self.window_seconds
        while self.hits and self.hits[0] <= horizon:
            self.hits.popleft()

    def retry_after(self, now: float) -> int:
        """Seconds until one more hit is allowed; 0 when one is allowed now."""
        self._forget_before(now)
        if len(self.hits) < self.limit:
            return 0
        return max(1, math.ceil(self.hits[0] + self.window_seconds - now))

    def record(self, now: float) -> None:
        self._forget_before(now)
        self.hits.append(now)
        while len(self.hits) > self.limit:
            self.hits.popleft()

    def copy(self) -> SlidingWindowLimit:
        return SlidingWindowLimit(self.limit, self.window_seconds, deque(self.hits))
