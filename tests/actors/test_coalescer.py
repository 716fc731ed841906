"""Opportunistic batching: what travels together, what waits, and who hears of failures."""

from __future__ import annotations

import asyncio

import pytest

from keylight_actors.actors.coalescer import Coalescer


class Recorder:
    """A batch sender that records each batch and answers when told to."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.under_way = 0
        self.most_under_way = 0

    async def send(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        self.under_way += 1
        self.most_under_way = max(self.most_under_way, self.under_way)
        try:
            await self.release.wait()
            return [ValueError(f"no {item}") if item < 0 else item * 10 for item in items]
        finally:
            self.under_way -= 1


async def test_a_lone_item_travels_alone_and_gets_its_answer():
    recorder = Recorder()
    coalescer = Coalescer(recorder.send, max_batch=8, max_in_flight=1)
    assert await coalescer.submit(3) == 30
    assert recorder.batches == [[3]]


async def test_items_arriving_while_a_batch_is_under_way_leave_together():
    recorder = Recorder()
    recorder.release.clear()
    coalescer = Coalescer(recorder.send, max_batch=64, max_in_flight=1, stall_seconds=10)
    first = asyncio.create_task(coalescer.submit(1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    rest = [asyncio.create_task(coalescer.submit(n)) for n in range(2, 12)]
    await asyncio.sleep(0.01)
    assert recorder.batches == [[1]]
    recorder.release.set()
    assert await first == 10
    assert await asyncio.gather(*rest) == [n * 10 for n in range(2, 12)]
    assert recorder.batches == [[1], list(range(2, 12))]


async def test_items_submitted_in_the_same_turn_share_a_batch():
    recorder = Recorder()
    coalescer = Coalescer(recorder.send, max_batch=64, max_in_flight=4)
    answers = await asyncio.gather(*(coalescer.submit(n) for n in range(5)))
    assert answers == [0, 10, 20, 30, 40]
    assert recorder.batches == [[0, 1, 2, 3, 4]]


async def test_no_more_batches_are_under_way_than_allowed():
    recorder = Recorder()
    recorder.release.clear()
    coalescer = Coalescer(recorder.send, max_batch=2, max_in_flight=2, stall_seconds=10)
    calls = [asyncio.create_task(coalescer.submit(n)) for n in range(9)]
    await asyncio.sleep(0.01)
    assert recorder.under_way == 2
    recorder.release.set()
    await asyncio.gather(*calls)
    assert recorder.most_under_way == 2


async def test_a_batch_never_carries_more_than_its_limit():
    recorder = Recorder()
    coalescer = Coalescer(recorder.send, max_batch=3, max_in_flight=1)
    await asyncio.gather(*(coalescer.submit(n) for n in range(10)))
    assert max(len(batch) for batch in recorder.batches) == 3
    assert sorted(item for batch in recorder.batches for item in batch) == list(range(10))


async def test_an_items_own_failure_reaches_only_its_caller():
    recorder = Recorder()
    coalescer = Coalescer(recorder.send, max_batch=8, max_in_flight=1)
    answers = await asyncio.gather(coalescer.submit(1), coalescer.submit(-1),
                                   coalescer.submit(2), return_exceptions=True)
    assert answers[0] == 10 and answers[2] == 20
    assert isinstance(answers[1], ValueError)
    assert len(recorder.batches) == 1


async def test_a_failed_batch_fails_every_item_in_it_and_later_batches_still_go():
    failing = True

    async def send(items: list[int]) -> list[int | BaseException]:
        if failing:
            raise ConnectionError("host gone")
        return items

    coalescer = Coalescer(send, max_batch=8, max_in_flight=1)
    answers = await asyncio.gather(*(coalescer.submit(n) for n in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(answer, ConnectionError) for answer in answers)
    failing = False
    assert await coalescer.submit(7) == 7


async def test_a_caller_that_gave_up_before_its_item_left_is_not_sent():
    recorder = Recorder()
    recorder.release.clear()
    coalescer = Coalescer(recorder.send, max_batch=8, max_in_flight=1, stall_seconds=10)
    first = asyncio.create_task(coalescer.submit(1))
    await asyncio.sleep(0.01)
    abandoned = asyncio.create_task(coalescer.submit(2))
    kept = asyncio.create_task(coalescer.submit(3))
    await asyncio.sleep(0.01)
    abandoned.cancel()
    recorder.release.set()
    assert await first == 10
    assert await kept == 30
    assert recorder.batches == [[1], [3]]


async def test_a_sender_answering_the_wrong_number_of_items_fails_them_all():
    async def send(items: list[int]) -> list[int | BaseException]:
        return items[:-1]

    coalescer = Coalescer(send, max_batch=8, max_in_flight=1)
    answers = await asyncio.gather(coalescer.submit(1), coalescer.submit(2),
                                   return_exceptions=True)
    assert all(isinstance(answer, RuntimeError) for answer in answers)


def test_limits_below_one_are_refused():
    with pytest.raises(ValueError):
        Coalescer(Recorder().send, max_batch=0, max_in_flight=1)


async def test_a_stalled_batch_holds_later_items_back_only_for_the_stall_time():
    stuck = asyncio.Event()

    async def send(items: list[int]) -> list[int | BaseException]:
        if 0 in items:
            await stuck.wait()  # a slow item: its whole batch answers late
        return items

    coalescer = Coalescer(send, max_batch=8, max_in_flight=1, stall_seconds=0.01)
    slow = asyncio.create_task(coalescer.submit(0))
    await asyncio.sleep(0)
    assert await asyncio.wait_for(coalescer.submit(5), timeout=1) == 5
    assert coalescer.stalls == 1
    stuck.set()
    assert await slow == 0
