"""Key-guessing defence: count failed license lookups, lock out addresses that fail often.

Counts are per ingress replica and in memory: a guesser spread over replicas is slowed by
each; the tenant-level count raises an alarm (an audit entry) rather than locking out a
tenant's honest customers.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from .rate_limit import SlidingWindowLimit


@dataclass(frozen=True)
class GuardPolicy:
    failures_per_address: int = 20
    failures_per_tenant: int = 500
    window_seconds: float = 600.0
    lockout_seconds: float = 900.0
    max_tracked: int = 100_000


class GuessGuard:
    def __init__(self, policy: GuardPolicy, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.policy = policy
        self._clock = clock
        self._failures: OrderedDict[Hashable, SlidingWindowLimit] = OrderedDict()
        self._locked_until: dict[Hashable, float] = {}

    def retry_after(self, address: str) -> int:
        """Seconds this address stays locked out; 0 when it may look keys up."""
        until = self._locked_until.get(address)
        if until is None:
            return 0
        remaining = until - self._clock()
        if remaining <= 0:
            del self._locked_until[address]
            return 0
        return max(1, int(remaining + 0.999))

    def _count(self, key: Hashable, limit: int) -> bool:
        """Record a failure under ``key``; True when this one reaches the limit."""
        now = self._clock()
        window = self._failures.get(key)
        if window is None:
            window = self._failures[key] = SlidingWindowLimit(limit, self.policy.window_seconds)
        self._failures.move_to_end(key)
        while len(self._failures) > self.policy.max_tracked:
            self._failures.popitem(last=False)
        reached = window.retry_after(now) == 0 and len(window.hits) == limit - 1
        window.record(now)
        return reached

    def record_failure(self, address: str, tenant_id: str) -> tuple[bool, bool]:
        """Answers (address now locked out, tenant alarm raised) for this failure."""
        locked = self._count(("address", address), self.policy.failures_per_address)
        if locked:
            self._locked_until[address] = self._clock() + self.policy.lockout_seconds
        alarm = self._count(("tenant", tenant_id), self.policy.failures_per_tenant)
        return locked, alarm
