"""A host's garbage collection: long-lived objects frozen out of the automatic collections,
and garbage frozen with them found by the periodic full collection."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref

import pytest

from keylight_actors.actors.gc_policy import GcPauses, keep_long_lived_objects_frozen


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def unfrozen_afterwards():
    yield
    gc.unfreeze()


async def run_for(seconds: float, **timing: float) -> None:
    task = asyncio.get_running_loop().create_task(
        keep_long_lived_objects_frozen("test-host", **timing))
    await asyncio.sleep(seconds)
    task.cancel()


async def test_objects_that_survive_are_moved_out_of_the_automatic_collections(
    unfrozen_afterwards
):
    kept = [Node() for _ in range(1000)]
    await run_for(0.15, freeze_every=0.05, full_every=3600)
    assert gc.get_freeze_count() >= len(kept)
    collected_over = {id(tracked) for tracked in gc.get_objects()}
    assert not any(id(node) in collected_over for node in kept)


async def test_young_garbage_is_collected_before_it_could_be_frozen(unfrozen_afterwards):
    first, second = Node(), Node()
    first.other, second.other = second, first
    gone = weakref.ref(first)
    del first, second
    await run_for(0.08, freeze_every=0.05, full_every=3600)
    assert gone() is None


async def test_garbage_frozen_with_the_rest_is_found_by_the_periodic_full_collection(
    unfrozen_afterwards, caplog
):
    first, second = Node(), Node()
    first.other, second.other = second, first
    gone = weakref.ref(first)
    gc.freeze()  # the cycle was frozen while still in use
    del first, second
    gc.collect()
    assert gone() is not None  # frozen: the automatic collections never see it
    with caplog.at_level(logging.INFO):
        await run_for(0.25, freeze_every=0.05, full_every=0.1)
    assert gone() is None
    assert "test-host: full collection found" in caplog.text


def test_full_collections_and_their_longest_pause_are_counted():
    pauses = GcPauses()
    try:
        gc.collect(1)
        assert pauses.stats()["gc_full_collections"] == 0
        gc.collect()
        gc.collect()
        stats = pauses.stats()
        assert stats["gc_full_collections"] == 2
        assert stats["gc_max_full_pause_ms"] > 0
    finally:
        pauses.close()
