"""The resident set of a host: LRU cap, idle eviction, and gates that pin entities."""

from __future__ import annotations

import asyncio

from keylight_actors.actors.entity_cache import EntityCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_least_recently_used_entity_leaves_first_when_over_the_cap():
    cache: EntityCache[str] = EntityCache(max_entities=2, idle_seconds=60)
    cache.put("a", "A")
    cache.put("b", "B")
    cache.get("a")
    cache.put("c", "C")
    assert "b" not in cache
    assert "a" in cache and "c" in cache
    assert cache.evictions == 1


def test_the_resident_entities_are_listed_least_recently_used_first():
    cache: EntityCache[str] = EntityCache(max_entities=3, idle_seconds=60)
    for entity_id in "abc":
        cache.put(entity_id, entity_id.upper())
    cache.get("a")
    assert list(cache.entities()) == ["B", "C", "A"]


def test_idle_entities_are_evicted_after_the_timeout():
    clock = Clock()
    cache: EntityCache[str] = EntityCache(max_entities=10, idle_seconds=60, clock=clock)
    cache.put("old", "x")
    clock.now = 30
    cache.put("fresh", "y")
    clock.now = 61
    assert cache.evict_idle() == 1
    assert "old" not in cache and "fresh" in cache


async def test_an_entity_in_use_is_never_evicted():
    clock = Clock()
    cache: EntityCache[str] = EntityCache(max_entities=1, idle_seconds=1, clock=clock)
    async with cache.gate("busy"):
        cache.put("busy", "x")
        clock.now = 10
        assert cache.evict_idle() == 0
        cache.put("other", "y")
        assert "busy" in cache
    assert len(cache) == 1


async def test_operations_on_one_entity_run_one_at_a_time():
    cache: EntityCache[str] = EntityCache(max_entities=10, idle_seconds=60)
    inside = 0
    most_inside = 0

    async def operation() -> None:
        nonlocal inside, most_inside
        async with cache.gate("one"):
            inside += 1
            most_inside = max(most_inside, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(operation() for _ in range(20)))
    assert most_inside == 1


async def test_operations_on_different_entities_interleave():
    cache: EntityCache[str] = EntityCache(max_entities=10, idle_seconds=60)
    both_inside = asyncio.Event()
    arrived = 0

    async def operation(entity_id: str) -> None:
        nonlocal arrived
        async with cache.gate(entity_id):
            arrived += 1
            if arrived == 2:
                both_inside.set()
            await asyncio.wait_for(both_inside.wait(), 1)

    await asyncio.gather(operation("a"), operation("b"))
