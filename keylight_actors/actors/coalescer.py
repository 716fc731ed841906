"""Opportunistic batching: items that arrive while a batch is under way travel together.

No item waits on a timer to fill a batch. An item submitted when fewer than
``max_in_flight`` batches are under way leaves at the end of the current event-loop turn,
with whatever else arrived in that turn; items that arrive while the limit is reached
queue, and leave as one batch when a batch finishes. One client alone sees one item per
batch and no extra latency; many clients share the fixed cost of each batch (a Ray call,
a commit).

A batch answers when its slowest item is done, so one slow item (a license with a queue
of its own) would hold back everything queued behind it. Items that have waited
``stall_seconds`` leave anyway, beyond the limit: a stall costs them that long, at most.
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
    def __init__(self, send: SendBatch[T, R], *, max_batch: int, max_in_flight: int,
                 stall_seconds: float = 0.02) -> None:
        if max_batch < 1 or max_in_flight < 1:
            raise ValueError("max_batch and max_in_flight must be at least 1")
        self._send = send
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._stall_seconds = stall_seconds
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._flush_scheduled = False
        self._stall_timer: asyncio.TimerHandle | None = None
        self.stalls = 0
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
            self._send_next()
        if self._queue and self._stall_timer is None:
            self._stall_timer = asyncio.get_running_loop().call_later(
                self._stall_seconds, self._flush_stalled)

    def _flush_stalled(self) -> None:
        self._stall_timer = None
        if self._queue:
            self.stalls += 1
            self._send_next()
        self._flush()

    def _send_next(self) -> None:
        batch = self._queue[: self._max_batch]
        del self._queue[: self._max_batch]
        # An item whose caller gave up before it left is not sent at all.
        batch = [(item, future) for item, future in batch if not future.done()]
        if not batch:
            return
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
