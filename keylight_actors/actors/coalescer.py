"""Opportunistic batching: items that arrive while a batch is under way travel together.

Nothing waits on a timer. An item submitted when fewer than ``max_in_flight`` batches are
under way leaves at the end of the current event-loop turn, with whatever else arrived in
that turn; items that arrive while the limit is reached queue, and leave as one batch
when a batch finishes. One client alone sees one item per batch and no extra latency;
many clients share the fixed cost of each batch (a Ray call, a commit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# What a batch answers for each item: its result, or the exception that item raises.
SendBatch = Callable[[list[T]], Awaitable[list["R | BaseException"]]]


class Coalescer(Generic[T, R]):
    def __init__(self, send: SendBatch[T, R], *, max_batch: int, max_in_flight: int) -> None:
        if max_batch < 1 or max_in_flight < 1:
            raise ValueError("max_batch and max_in_flight must be at least 1")
        self._send = send
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._flush_scheduled = False
        self.batches = 0
        self.items = 0

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._flush_scheduled = False
        while self._queue and len(self._in_flight) < self._max_in_flight:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            # An item whose caller gave up before it left is not sent at all.
            batch = [(item, future) for item, future in batch if not future.done()]
            if not batch:
                continue
            self.batches += 1
            self.items += len(batch)
            task = asyncio.get_running_loop().create_task(self._deliver(batch))
            self._in_flight.add(task)

    async def _deliver(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            answers = await self._send([item for item, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except BaseException as error:
            answers = [error] * len(batch)
        finally:
            self._in_flight.discard(asyncio.current_task())  # type: ignore[arg-type]
            if self._queue:
                self._flush()
        if len(answers) != len(batch):
            mismatch = RuntimeError(f"a batch of {len(batch)} got {len(answers)} answers")
            answers = [mismatch] * len(batch)
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():
                continue
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)

    @property
    def mean_batch(self) -> float:
        return self.items / self.batches if self.batches else 0.0
