"""Group commit: the writes a host has ready at the same moment share one transaction.

Each entity's operations are already serialized by its gate, so the writes of one group
touch different entities and cannot conflict with each other; what they share is the
transaction's round trips and the commit's WAL flush. Every caller still hears only once
its own write is durable.

Writes run in psycopg's pipeline mode: a statement whose result nobody reads yet does not
wait for its round trip, so a write's event insert travels with the next write's update.

When one write of a group fails, the group is rolled back and each write is committed on
its own, so the failure reaches only the caller it belongs to. When the commit itself
fails, nobody can tell whether it happened: every caller of the group hears the failure,
and hosts reload the entities from PostgreSQL before they touch them again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from .coalescer import Coalescer

log = logging.getLogger(__name__)

Write = Callable[[AsyncConnection], Awaitable[None]]
PoolSource = Callable[[], Awaitable[AsyncConnectionPool]]


class _WriteFailed(Exception):
    """A write of the group failed before the commit: the group can be retried apart."""


class GroupCommit:
    def __init__(self, pool: PoolSource, *, max_group: int, max_in_flight: int) -> None:
        self._pool = pool
        self._coalescer: Coalescer[Write, None] = Coalescer(
            self._commit_group, max_batch=max_group, max_in_flight=max_in_flight
        )
        self.split_groups = 0

    async def commit(self, write: Write) -> None:
        """Run ``write`` in a transaction and commit it, possibly alongside others."""
        await self._coalescer.submit(write)

    @property
    def mean_group(self) -> float:
        return self._coalescer.mean_batch

    async def _commit_group(self, writes: list[Write]) -> list[BaseException | None]:
        if len(writes) == 1:
            return [await self._commit_alone(writes[0])]
        try:
            await self._transaction(writes)
        except _WriteFailed as failed:
            self.split_groups += 1
            log.info("a group of %d writes had a failing write (%s); committing them apart",
                     len(writes), type(failed.__cause__).__name__)
            return [await self._commit_alone(write) for write in writes]
        except Exception as error:
            return [error] * len(writes)
        return [None] * len(writes)

    async def _commit_alone(self, write: Write) -> BaseException | None:
        try:
            await self._transaction([write])
        except _WriteFailed as failed:
            return failed.__cause__
        except Exception as error:
            return error
        return None

    async def _transaction(self, writes: list[Write]) -> None:
        """Run ``writes`` in one transaction and commit it. A write's failure is raised as
        ``_WriteFailed`` (nothing was committed); a failure of COMMIT itself as it is."""
        pool = await self._pool()
        async with (pool.connection() as conn, conn.pipeline() as pipeline,
                    conn.transaction()):
            try:
                for write in writes:
                    await write(conn)
                # Every statement's outcome is known before COMMIT is sent.
                await pipeline.sync()
            except Exception as error:
                raise _WriteFailed from error
