"""Per-tenant SDK call quotas, handed out to ingress replicas as token leases.

The tenant's host owns the count for the current fixed window; each ingress takes a lease
of several tokens at a time, so activation traffic does not funnel through one actor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

QUOTA_WINDOW_SECONDS = 60
LEASE_FRACTION = 20  # a lease holds at most 1/20 of the window's quota


@dataclass
class QuotaWindow:
    limit: int
    window_seconds: int = QUOTA_WINDOW_SECONDS
    window_start: float = 0.0
    granted: int = 0

    def lease(self, want: int, now: float) -> tuple[int, float]:
        """Grant up to ``want`` tokens; answers (granted, when the window ends)."""
        start = math.floor(now / self.window_seconds) * self.window_seconds
        if start != self.window_start:
            self.window_start, self.granted = start, 0
        granted = max(0, min(want, self.limit - self.granted))
        self.granted += granted
        return granted, start + self.window_seconds


def lease_size(limit: int) -> int:
    return max(1, limit // LEASE_FRACTION)
