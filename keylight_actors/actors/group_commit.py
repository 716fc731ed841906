"""Group commit: the writes a host has ready at the same moment share one transaction.

Each entity's operations are already serialized by its gate, so the writes of one group
touch different entities and cannot conflict with each other; what they share is the
transaction's round trips and the commit's WAL flush. Every caller still hears only once
its own write is durable.

Writes run in psycopg's pipeline mode: a statement whose result nobody reads yet does not
wait for its round trip. A write may also be a ``BatchedWrite``: the group's writes of one
kind then run as one statement (each license save of a group, with its events, is one row
of one UPDATE), which answers per item whether that item was written.

A group whose writes are all one batch is that one statement, run in autocommit: the
statement is the transaction.

When one write of a group fails, the group is rolled back and each write is committed on
its own, so the failure reaches only the caller it belongs to. When the commit itself
fails, nobody can tell whether it happened: every caller of the group hears the failure,
and hosts reload the entities from PostgreSQL before they touch them again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from .coalescer import Coalescer

log = logging.getLogger(__name__)

Write = Callable[[AsyncConnection], Awaitable[None]]
PoolSource = Callable[[], Awaitable[AsyncConnectionPool]]
# Writes every item given in one statement; answers, per item, None when it was written
# or the exception its caller hears when nothing of it was (a fenced-out version, say).
WriteBatch = Callable[[AsyncConnection, list[Any]], Awaitable[list[BaseException | None]]]


@dataclass(frozen=True, slots=True)
class BatchedWrite:
    """A write that shares one statement with the group's other items of ``run_batch``."""

    run_batch: WriteBatch
    item: Any


GroupWrite = Write | BatchedWrite


class _WriteFailed(Exception):
    """A write of the group failed before the commit: the group can be retried apart."""


class GroupCommit:
    def __init__(self, pool: PoolSource, *, max_group: int, max_in_flight: int) -> None:
        self._pool = pool
        self._coalescer: Coalescer[GroupWrite, None] = Coalescer(
            self._commit_group, max_batch=max_group, max_in_flight=max_in_flight
        )
        self.split_groups = 0

    async def commit(self, write: GroupWrite) -> None:
        """Run ``write`` in a transaction and commit it, possibly alongside others; raises
        what a batched write's statement answered for it."""
        await self._coalescer.submit(write)

    @property
    def mean_group(self) -> float:
        return self._coalescer.mean_batch

    async def _commit_group(self, writes: list[GroupWrite]) -> list[BaseException | None]:
        if len(writes) == 1:
            return [await self._commit_alone(writes[0])]
        try:
            return await self._transaction(writes)
        except _WriteFailed as failed:
            self.split_groups += 1
            log.info("a group of %d writes had a failing write (%s); committing them apart",
                     len(writes), type(failed.__cause__).__name__)
            return [await self._commit_alone(write) for write in writes]
        except Exception as error:
            return [error] * len(writes)

    async def _commit_alone(self, write: GroupWrite) -> BaseException | None:
        try:
            [outcome] = await self._transaction([write])
        except _WriteFailed as failed:
            return failed.__cause__
        except Exception as error:
            return error
        return outcome

    async def _transaction(self, writes: list[GroupWrite]) -> list[BaseException | None]:
        """Run ``writes`` in one transaction and commit it; answers each write's own
        outcome. A write's failure is raised as ``_WriteFailed`` (nothing was committed);
        a failure of COMMIT itself as it is."""
        outcomes: list[BaseException | None] = [None] * len(writes)
        batches: dict[WriteBatch, list[int]] = {}
        for index, write in enumerate(writes):
            if isinstance(write, BatchedWrite):
                batches.setdefault(write.run_batch, []).append(index)
        if len(batches) == 1 and all(isinstance(write, BatchedWrite) for write in writes):
            [run_batch] = batches
            return await self._one_statement(
                run_batch, [write.item for write in writes])  # type: ignore[union-attr]
        pool = await self._pool()
        async with (pool.connection() as conn, conn.pipeline() as pipeline,
                    conn.transaction()):
            try:
                for run_batch, indexes in batches.items():
                    answers = await run_batch(
                        conn, [writes[index].item for index in indexes])  # type: ignore[union-attr]
                    for index, answer in zip(indexes, answers, strict=True):
                        outcomes[index] = answer
                for write in writes:
                    if not isinstance(write, BatchedWrite):
                        await write(conn)
                # Every statement's outcome is known before COMMIT is sent.
                await pipeline.sync()
            except Exception as error:
                raise _WriteFailed from error
        return outcomes

    async def _one_statement(self, run_batch: WriteBatch, items: list[Any]
                             ) -> list[BaseException | None]:
        """A group that is one batch is one statement, and one statement in autocommit is
        a transaction of its own: no BEGIN and no COMMIT to send, one round trip."""
        pool = await self._pool()
        async with pool.connection() as conn:
            await conn.set_autocommit(True)
            try:
                return await run_batch(conn, items)
            except psycopg.OperationalError:
                # The connection failed with the statement, which was also the commit:
                # whether it happened is unknown, so it must not be retried.
                raise
            except Exception as error:
                raise _WriteFailed from error
            finally:
                with contextlib.suppress(psycopg.Error):
                    await conn.set_autocommit(False)
