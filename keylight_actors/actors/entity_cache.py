"""Resident entities of one host: per-entity input gates, an LRU cap and idle eviction."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

E = TypeVar("E")


@dataclass
class _Gate:
    lock: asyncio.Lock
    waiting: int = 0


class EntityCache(Generic[E]):
    """Entities in memory, at most ``max_entities``, evicted after ``idle_seconds``.

    An entity whose gate is held is never evicted: the operation in flight owns it.
    """

    def __init__(
        self,
        max_entities: int,
        idle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entities = max_entities
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._entries: OrderedDict[str, tuple[E, float]] = OrderedDict()
        self._gates: dict[str, _Gate] = {}
        self.hits = 0
        self.loads = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, entity_id: str) -> bool:
        return entity_id in self._entries

    @asynccontextmanager
    async def gate(self, entity_id: str) -> AsyncIterator[None]:
        """Run operations on one entity strictly one at a time."""
        gate = self._gates.get(entity_id)
        if gate is None:
            gate = self._gates[entity_id] = _Gate(asyncio.Lock())
        gate.waiting += 1
        try:
            async with gate.lock:
                yield
        finally:
            gate.waiting -= 1
            if gate.waiting == 0:
                del self._gates[entity_id]
        self._enforce_cap()

    def entities(self) -> Iterator[E]:
        """The resident entities as their host keeps them (perhaps packed), least recently
        used first; not to be kept across awaits."""
        return (entity for entity, _ in self._entries.values())

    def get(self, entity_id: str) -> E | None:
        entry = self._entries.get(entity_id)
        if entry is None:
            return None
        self.hits += 1
        self._entries[entity_id] = (entry[0], self._clock())
        self._entries.move_to_end(entity_id)
        return entry[0]

    def put(self, entity_id: str, entity: E, *, loaded: bool = False) -> None:
        if loaded:
            self.loads += 1
        self._entries[entity_id] = (entity, self._clock())
        self._entries.move_to_end(entity_id)
        self._enforce_cap()

    def drop(self, entity_id: str) -> None:
        self._entries.pop(entity_id, None)

    def _evictable(self, entity_id: str) -> bool:
        return entity_id not in self._gates

    def _enforce_cap(self) -> None:
        excess = len(self._entries) - self.max_entities
        if excess <= 0:
            return
        victims = []
        for entity_id in self._entries:  # least recently used first
            if len(victims) == excess:
                break
            if self._evictable(entity_id):
                victims.append(entity_id)
        for entity_id in victims:
            del self._entries[entity_id]
        self.evictions += len(victims)

    def evict_idle(self) -> int:
        horizon = self._clock() - self.idle_seconds
        idle = [
            entity_id
            for entity_id, (_, last_used) in self._entries.items()
            if last_used <= horizon and self._evictable(entity_id)
        ]
        for entity_id in idle:
            del self._entries[entity_id]
        self.evictions += len(idle)
        return len(idle)
