"""At most one stored write per key per interval (keyless check-ins, last-seen stamps)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class WriteThrottle:
    def __init__(self, interval_seconds: float, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_seconds = interval_seconds
        self.max_keys = max_keys
        self._clock = clock
        self._last_write: OrderedDict[Hashable, float] = OrderedDict()

    def due(self, key: Hashable) -> bool:
        """True when ``key`` should be written now; counts it as written."""
        now = self._clock()
        last = self._last_write.get(key)
        if last is not None and now - last < self.interval_seconds:
            return False
        self._last_write[key] = now
        self._last_write.move_to_end(key)
        while len(self._last_write) > self.max_keys:
            self._last_write.popitem(last=False)
        return True
