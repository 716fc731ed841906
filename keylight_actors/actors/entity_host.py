"""The machinery every entity host shares: input gates, write-through and fencing.

A host is a plain class; ``host_pool`` turns it into a named, restartable Ray actor.
Tests may run two plain instances side by side to force a split brain.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import psycopg
import ray
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from ..domain.audit import AuditEntry
from ..domain.errors import DomainError, NotFound, Unavailable
from ..domain.events import OutboundEvent
from ..observability import ENTITY_CACHE_HITS, ENTITY_LOADS, WRITE_THROUGH_LATENCY
from ..settings import Settings
from ..store.conflicts import conflict_from
from ..store.database import StaleVersion, open_pool
from .coalescer import Coalescer
from .entity_cache import EntityCache
from .gc_policy import GcPauses, keep_long_lived_objects_frozen
from .group_commit import GroupCommit, GroupWrite
from .messages import Message, decode, decode_message, encode_error, encode_result

log = logging.getLogger(__name__)

E = TypeVar("E")
R = TypeVar("R")


LOADS_IN_FLIGHT = 2  # load queries under way per host; commits need connections too

# How a host runs a use case (``EntityHost.use_cases``): a change on a private copy,
# committed before it is kept; the creation of a new entity; or a query of the resident
# entity, which writes nothing (its in-memory counters, such as rate limits, do change).
CHANGE, CREATE, QUERY = "change", "create", "query"
UseCase = Callable[[Any, Any], Any]
# An entry of ``use_cases``: (use case, how it runs) and, optionally, an async step that
# turns its result into the answer after the commit, ``finish(command, result)``.
Route = tuple[UseCase, str] | tuple[UseCase, str, Callable[[Any, Any], Awaitable[Any]]]


class HostUnitOfWork(Generic[E]):
    """The unit of work a host gives a use case (``services.unit_of_work.UnitOfWork``):
    the entity under its gate, and what the commit will write beside it."""

    __slots__ = (
        "_entity",
        "_entity_id",
        "_host",
        "_writable",
        "audits",
        "created",
        "events",
        "instant",
        "now",
        "records",
        "saved",
    )

    def __init__(self, host: EntityHost[E], entity_id: str, entity: E | None, *,
                 writable: bool) -> None:
        self.instant = time.time()
        self.now = int(self.instant)
        self._host = host
        self._entity_id = entity_id
        self._entity = entity
        self._writable = writable
        self.created = False
        self.saved = False
        # Tuples: the empty one costs nothing, and most units of work record nothing.
        self.records: tuple[Any, ...] = ()
        self.events: tuple[OutboundEvent, ...] = ()
        self.audits: tuple[AuditEntry, ...] = ()

    @property
    def entity(self) -> E:
        if self._entity is None:
            raise self._host.not_found(self._entity_id)
        return self._entity

    @property
    def dirty(self) -> bool:
        return bool(self.created or self.saved or self.records or self.events or self.audits)

    def _writing(self) -> None:
        if not self._writable:
            raise AssertionError("a query use case cannot write")

    def add(self, entity: E) -> None:
        self._writing()
        assert self._entity is None, "add() is for an entity that does not exist yet"
        self._entity = entity
        self.created = True

    def save(self) -> None:
        self._writing()
        if not self.saved and not self.created:
            self.entity.version += 1  # type: ignore[attr-defined]
            self.saved = True

    def record(self, row: Any) -> None:
        self._writing()
        self.records += (row,)

    def emit(self, event: OutboundEvent) -> None:
        self._writing()
        self.events += (event,)

    def audit(self, entry: AuditEntry) -> None:
        self._writing()
        self.audits += (entry,)


class EntityHost(Generic[E]):
    kind = "entity"

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.cache: EntityCache[Any] = EntityCache(
            settings.host_max_entities, settings.host_idle_seconds
        )
        self._pool: AsyncConnectionPool | None = None
        self._pool_lock = asyncio.Lock()
        self._sweeper: asyncio.Task[None] | None = None
        self._freezer: asyncio.Task[None] | None = None
        self.gc_pauses = GcPauses()
        self.commits = GroupCommit(self.pool, max_group=settings.commit_group_max,
                                   max_in_flight=settings.commits_in_flight)
        # Cold entities wanted at the same moment are loaded by one query.
        self.loader: Coalescer[str, E | None] = Coalescer(
            self._load_batch, max_batch=settings.host_batch_max, max_in_flight=LOADS_IN_FLIGHT)
        self._use_cases: dict[type, Route] | None = None
        self.fenced_writes = 0
        self.batches_received = 0
        self.calls_received = 0

    # -- plumbing -------------------------------------------------------------------

    async def pool(self) -> AsyncConnectionPool:
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    assert self.settings.database_url, "hosts need a resolved database URL"
                    self._pool = await open_pool(
                        self.settings.database_url, max_size=self.settings.db_pool_size
                    )
        if self._sweeper is None:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.create_task(self._sweep_idle())
            if self.settings.host_gc_freeze_seconds > 0:
                self._freezer = loop.create_task(keep_long_lived_objects_frozen(
                    self.name, freeze_every=self.settings.host_gc_freeze_seconds))
        return self._pool

    async def _sweep_idle(self) -> None:
        interval = max(0.5, self.settings.host_idle_seconds / 4)
        while True:
            await asyncio.sleep(interval)
            evicted = self.cache.evict_idle()
            if evicted:
                log.debug("%s passivated %d idle entities", self.name, evicted)

    async def close(self) -> None:
        for task in (self._sweeper, self._freezer):
            if task is not None:
                task.cancel()
        self.gc_pauses.close()
        if self._pool is not None:
            await self._pool.close()

    def use_cases(self) -> dict[type, Route]:
        """The use case each typed command runs, and how (``CHANGE``, ``CREATE``,
        ``QUERY``)."""
        return {}

    async def _run_typed(self, payload: list[Any]) -> bytes:
        decoded = decode_message(payload)
        if self._use_cases is None:
            self._use_cases = self.use_cases()
        entry = None if decoded is None else self._use_cases.get(decoded[0].command)
        if decoded is None or entry is None:
            return encode_error(NotFound(f"unknown message {payload[0]!r}", "UNKNOWN_OP"))
        registered, command = decoded
        try:
            result = await self.run_use_case(registered, entry[0], entry[1], command)
            if len(entry) > 2:  # what the answer needs after the commit (a signed lease)
                result = await entry[2](command, result)
            return encode_result(registered.encode_result(result))
        except DomainError as error:
            return encode_error(error)
        except Exception:
            log.exception("%s failed %s", self.name, registered.tag)
            return encode_error(Unavailable("the operation failed; try again"))

    def run_use_case(self, registered: Message[Any, Any], use_case: UseCase, mode: str,
                     command: Any) -> Awaitable[Any]:
        entity_id = registered.entity_id(command)
        if mode == QUERY:
            return self.query(entity_id, use_case, command)
        return self.run(entity_id, use_case, command, creates=mode == CREATE)

    async def handle(self, payload: bytes) -> bytes:
        """One typed message (``messages.Message``) run, answered as reply bytes."""
        return await self._run_typed(decode(payload))

    async def handle_batch(self, payloads: list[bytes]) -> list[bytes]:
        self.batches_received += 1
        self.calls_received += len(payloads)
        return list(await asyncio.gather(*(self.handle(payload) for payload in payloads)))

    async def stats(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pid": os.getpid(),
            "node_id": ray.get_runtime_context().get_node_id() if ray.is_initialized() else None,
            "resident": len(self.cache),
            "max_entities": self.cache.max_entities,
            "hits": self.cache.hits,
            "loads": self.cache.loads,
            "evictions": self.cache.evictions,
            "fenced_writes": self.fenced_writes,
            "mean_call_batch": round(self.calls_received / max(1, self.batches_received), 2),
            "mean_commit_group": round(self.commits.mean_group, 2),
            "split_commit_groups": self.commits.split_groups,
            **self.gc_pauses.stats(),
        }

    async def ping(self) -> bool:
        return True

    # -- entities ---------------------------------------------------------------------

    async def load(self, conn: AsyncConnection, entity_id: str) -> E | None:
        """One entity, or None; used by the default ``load_many``."""
        raise NotImplementedError

    async def load_many(self, conn: AsyncConnection, entity_ids: list[str]) -> dict[str, E]:
        """The entities that exist among ``entity_ids``; kinds that are often loaded cold
        override this with one query."""
        found = {}
        for entity_id in entity_ids:
            loaded = await self.load(conn, entity_id)
            if loaded is not None:
                found[entity_id] = loaded
        return found

    async def _load_batch(self, entity_ids: list[str]) -> list[E | BaseException | None]:
        pool = await self.pool()
        try:
            async with pool.connection() as conn:
                found = await self.load_many(conn, list(dict.fromkeys(entity_ids)))
        except psycopg.Error as error:
            failures: list[E | BaseException | None] = []
            for _ in entity_ids:
                failure = Unavailable(f"storage unavailable: {type(error).__name__}")
                failure.__cause__ = error
                failures.append(failure)
            return failures
        return [found.get(entity_id) for entity_id in entity_ids]

    def not_found(self, entity_id: str) -> NotFound:
        return NotFound(f"no {self.kind} {entity_id!r}")

    def resident(self, entity: E) -> Any:
        """The form the cache keeps an entity in between calls; ``revived`` turns it back.
        Kinds held by the hundred thousand override both to keep them compact."""
        return entity

    def revived(self, entity_id: str, kept: Any) -> E:
        return kept  # type: ignore[no-any-return]

    def draft_of(self, current: E) -> E:
        """The copy a change is made on, so that a failed commit changes nothing."""
        return current.copy()  # type: ignore[attr-defined,no-any-return]

    async def entity(self, entity_id: str) -> E:
        """The resident entity, loaded from Postgres when it is not in memory."""
        kept = self.cache.get(entity_id)
        if kept is not None:
            ENTITY_CACHE_HITS.inc(self.kind)
            return self.revived(entity_id, kept)
        loaded = await self.loader.submit(entity_id)
        if loaded is None:
            raise self.not_found(entity_id)
        # Callers that asked together share ``loaded``; each gets its own revival of it.
        kept = self.resident(loaded)
        self.cache.put(entity_id, kept, loaded=True)
        ENTITY_LOADS.inc(tags={"kind": self.kind})
        return self.revived(entity_id, kept)

    def unit_of_work(self, entity_id: str, entity: E | None, *, writable: bool
                     ) -> HostUnitOfWork[E]:
        return HostUnitOfWork(self, entity_id, entity, writable=writable)

    def write_of(self, uow: HostUnitOfWork[E], old_version: int) -> GroupWrite:
        """What a unit of work's commit writes: the entity (inserted, or saved fenced on
        ``old_version``), the rows beside it, its events and audit entries."""
        raise NotImplementedError

    async def query(self, entity_id: str, use_case: UseCase, command: Any) -> Any:
        """Run a use case that writes nothing on the resident entity, under its gate."""
        async with self.cache.gate(entity_id):
            entity = await self.entity(entity_id)
            return use_case(command, self.unit_of_work(entity_id, entity, writable=False))

    async def run(self, entity_id: str, use_case: UseCase, command: Any, *,
                  creates: bool = False) -> Any:
        """Run a use case on a copy of the entity, commit what it recorded, and only then
        keep the copy and answer. A fenced commit reloads the entity and runs the use case
        once more; a use case that recorded nothing commits nothing."""
        async with self.cache.gate(entity_id):
            for attempt in (1, 2):
                old_version = 0
                draft: E | None = None
                if not creates:
                    current = await self.entity(entity_id)
                    old_version = current.version  # type: ignore[attr-defined]
                    draft = self.draft_of(current)
                uow = self.unit_of_work(entity_id, draft, writable=True)
                result = use_case(command, uow)
                if inspect.isawaitable(result):
                    result = await result
                if not uow.dirty:
                    return result
                if not await self._commit(entity_id, self.write_of(uow, old_version),
                                          last_attempt=attempt == 2):
                    continue
                self.cache.put(entity_id, self.resident(uow.entity))
                return result
        raise AssertionError("unreachable")

    async def _commit(self, entity_id: str, write: GroupWrite, *, last_attempt: bool) -> bool:
        """Commit ``write``; False when it was fenced out (the entity is dropped, to be
        reloaded); a failed commit drops the entity and raises a retryable error."""
        started = time.perf_counter()
        try:
            await self.commits.commit(write)
        except StaleVersion:
            self.fenced_writes += 1
            self.cache.drop(entity_id)
            log.warning("%s: %s %s was fenced; reloading", self.name, self.kind, entity_id)
            if last_attempt:
                raise Unavailable("the record changed under us; try again") from None
            return False
        except psycopg.errors.UniqueViolation as violation:
            raise conflict_from(violation) from None
        except psycopg.Error as error:
            self.cache.drop(entity_id)
            raise Unavailable(f"storage unavailable: {type(error).__name__}") from error
        WRITE_THROUGH_LATENCY.observe(time.perf_counter() - started, tags={"kind": self.kind})
        return True

def now_seconds() -> int:
    return int(time.time())
