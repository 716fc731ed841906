"""Garbage collection for a host that holds many long-lived entities.

CPython's full collection walks every tracked object. With 100,000 resident licenses
that is a long pause, and a host answers nobody while it lasts. Entities live long and
form no reference cycles, so every few seconds the host collects its young generations and
moves everything that survived into the permanent generation (``gc.freeze``, which only
splices lists): the automatic collections then walk only what is new. Cyclic garbage
frozen along with the entities would never be found, so once in a while (hourly by
default) the host unfreezes and runs one full collection, and logs how long it took.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any

log = logging.getLogger(__name__)

FREEZE_EVERY_SECONDS = 5.0
FULL_COLLECTION_EVERY_SECONDS = 3600.0


class GcPauses:
    """Counts the collections of the oldest generation and how long they paused."""

    def __init__(self) -> None:
        self.full_collections = 0
        self.max_full_pause_ms = 0.0
        self._started = 0.0
        gc.callbacks.append(self._observe)

    def _observe(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.full_collections += 1
        pause_ms = (time.perf_counter() - self._started) * 1000
        self.max_full_pause_ms = max(self.max_full_pause_ms, pause_ms)

    def close(self) -> None:
        if self._observe in gc.callbacks:
            gc.callbacks.remove(self._observe)

    def stats(self) -> dict[str, Any]:
        return {"gc_full_collections": self.full_collections,
                "gc_max_full_pause_ms": round(self.max_full_pause_ms, 1),
                "gc_frozen_objects": gc.get_freeze_count()}


async def keep_long_lived_objects_frozen(
    name: str, *, freeze_every: float = FREEZE_EVERY_SECONDS,
    full_every: float = FULL_COLLECTION_EVERY_SECONDS,
) -> None:
    """Run for the host's lifetime (cancel it to stop)."""
    last_full = time.monotonic()
    while True:
        await asyncio.sleep(freeze_every)
        if time.monotonic() - last_full >= full_every:
            last_full = time.monotonic()
            gc.unfreeze()
            started = time.perf_counter()
            found = gc.collect()
            log.info("%s: full collection found %d unreachable objects in %.0f ms",
                     name, found, (time.perf_counter() - started) * 1000)
        else:
            gc.collect(1)
        gc.freeze()
