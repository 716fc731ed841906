"""The webhook dispatcher: a named, detached, restartable Ray actor that sends deliveries.

It is woken by ``LISTEN`` (each event's transaction NOTIFYs on commit) and polls as a safety
net; it claims due deliveries with ``FOR UPDATE SKIP LOCKED``, never more than it has free
sending slots, posts each one signed through one shared httpx client, records the attempt and
reschedules per the retry schedule. Nothing durable lives in this process: a delivery claimed
here and not recorded falls due again after the lease, or at once when this dispatcher is
restarted (the new incarnation releases the claims of the dead one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from typing import Any

import psycopg
import ray
from psycopg_pool import AsyncConnectionPool

from ..domain.webhook_events import event_body
from ..domain.webhook_retry import decide_after_attempt
from ..integrations.webhook_sender import AttemptResult, WebhookSender
from ..integrations.webhook_signing import secret_key, signed_headers
from ..observability import WEBHOOK_ATTEMPTS, WEBHOOK_QUEUE_AGE, WEBHOOK_QUEUE_DEPTH
from ..settings import Settings
from ..store.database import open_pool
from ..store.encryption import sealer_for
from ..store.webhook_deliveries import (
    NOTIFY_CHANNEL,
    AttemptRecord,
    ClaimedDelivery,
    claim_due,
    queue_state,
    record_attempt,
    release_claims,
    seconds_until_next_due,
)
from .named_actor import durable_actor_options

log = logging.getLogger(__name__)

DISPATCHER_PREFIX = "webhook-dispatcher"
RECONNECT_SECONDS = 1.0
MIN_WAIT_SECONDS = 0.05
NO_ENDPOINT = "the tenant has no webhook endpoint any more"
QUEUE_REPORT_SECONDS = 5.0


def dispatcher_name(index: int) -> str:
    return f"{DISPATCHER_PREFIX}-{index}"


class WebhookDispatcher:
    """Plain class; ``get_or_create_dispatchers`` makes it a Ray actor."""

    async def __init__(self, settings: Settings, name: str) -> None:  # type: ignore[misc]
        assert settings.database_url, "the dispatcher needs a resolved database URL"
        assert settings.master_key, "the dispatcher needs the resolved master key"
        self.settings = settings
        self.name = name
        self.owner = f"{name}/{uuid.uuid4()}"
        self._sealer = sealer_for(settings.master_key)
        self.capacity = max(1, settings.webhook_concurrency)
        self._sender = WebhookSender(
            timeout_seconds=settings.webhook_timeout_seconds,
            max_connections=self.capacity,
            allow_private=settings.allow_private_webhook_urls,
        )
        self._pool: AsyncConnectionPool | None = None
        self._wake = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()
        self.in_flight = 0
        self.max_in_flight = 0
        self.counts = {"attempts": 0, "delivered": 0, "retrying": 0, "failed": 0, "lost": 0}
        self.released_at_start: int | None = None
        self.queue: dict[str, float] | None = None
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._run()), loop.create_task(self._listen())]
        if name == dispatcher_name(0):  # the queue is shared: one dispatcher reports it
            self._tasks.append(loop.create_task(self._report_queue()))

    # -- for operators and tests ---------------------------------------------------------

    async def pid(self) -> int:
        return os.getpid()

    async def ping(self) -> bool:
        return True

    async def stats(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pid": os.getpid(),
            "capacity": self.capacity,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "released_at_start": self.released_at_start,
            "queue": self.queue,
            **self.counts,
        }

    async def reset_max_in_flight(self) -> None:
        self.max_in_flight = self.in_flight

    async def wake(self) -> None:
        self._wake.set()

    # -- the loop --------------------------------------------------------------------------

    async def _open_pool(self) -> AsyncConnectionPool:
        if self._pool is None:
            assert self.settings.database_url
            self._pool = await open_pool(self.settings.database_url, min_size=1,
                                         max_size=max(2, min(8, self.capacity)))
        return self._pool

    async def _run(self) -> None:
        while True:
            try:
                await self._dispatch()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # storage down: try again shortly, forget nothing
                log.warning("%s: dispatching paused: %s", self.name, type(error).__name__)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _dispatch(self) -> None:
        pool = await self._open_pool()
        if self.released_at_start is None:
            async with pool.connection() as conn:
                released = await release_claims(conn, self.name, self.owner.split("/")[1])
            self.released_at_start = released
            if released:
                log.warning("%s: %d deliveries claimed before a restart are due again",
                            self.name, released)
        poll = max(MIN_WAIT_SECONDS, self.settings.webhook_poll_seconds)
        while True:
            self._wake.clear()
            free = self.capacity - self.in_flight
            wait = poll
            if free > 0:
                async with pool.connection() as conn:
                    claimed = await claim_due(conn, self.owner, free,
                                              self.settings.webhook_lease_seconds)
                    if len(claimed) < free:
                        until_due = await seconds_until_next_due(conn)
                        if until_due is not None:
                            # Due yet not claimed means locked elsewhere for a moment.
                            wait = max(MIN_WAIT_SECONDS, min(poll, until_due))
                for delivery in claimed:
                    self._launch(delivery)
                if len(claimed) == free:
                    continue  # more may be due: claim again as soon as a slot frees
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    def _launch(self, delivery: ClaimedDelivery) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        try:
            result = await self._attempt(delivery)
            number = delivery.attempt_count + 1
            decision = decide_after_attempt(number - delivery.round_start, result.succeeded,
                                            self.settings.webhook_retry_schedule)
            record = AttemptRecord(number, result.url, result.started_at, result.duration_ms,
                                   result.http_status, result.snippet, result.error)
            pool = await self._open_pool()
            async with pool.connection() as conn:
                kept = await record_attempt(conn, delivery, record, decision.status,
                                            decision.delay_seconds)
            self.counts["attempts"] += 1
            WEBHOOK_ATTEMPTS.inc(tags={"outcome": decision.status})
            if kept:
                self.counts[decision.status] += 1
            else:
                self.counts["lost"] += 1
                log.warning("%s: the claim on delivery %s ran out before its attempt was "
                            "recorded", self.name, delivery.delivery_id)
        except Exception as error:  # the lease runs out and the delivery falls due again
            log.warning("%s: delivery %s not recorded: %s", self.name, delivery.delivery_id,
                        type(error).__name__)
        finally:
            self.in_flight -= 1
            self._wake.set()

    async def _attempt(self, delivery: ClaimedDelivery) -> AttemptResult:
        """One attempt; whatever goes wrong is its result, so the retry schedule holds."""
        try:
            return await self._sign_and_send(delivery)
        except Exception as error:
            log.exception("%s: delivery %s could not be prepared", self.name,
                          delivery.delivery_id)
            return AttemptResult(delivery.url, time.time(), 0,
                                 error=f"internal error: {type(error).__name__}")

    async def _sign_and_send(self, delivery: ClaimedDelivery) -> AttemptResult:
        if delivery.secret_sealed is None:
            return AttemptResult(delivery.url, time.time(), 0, error=NO_ENDPOINT)
        sealed = [delivery.secret_sealed]
        if delivery.previous_secret_sealed is not None:
            sealed.append(delivery.previous_secret_sealed)
        # Secrets are stored as the whsec_… text the vendor saw; newest signs first.
        keys = [secret_key(self._sealer.unseal(item).decode("ascii")) for item in sealed]
        body = event_body(delivery.payload)
        headers = signed_headers(keys, delivery_id=delivery.delivery_id,
                                 event_type=delivery.event_type, timestamp=int(time.time()),
                                 body=body)
        return await self._sender.send(delivery.url, headers, body)

    # -- the queue's gauges -------------------------------------------------------------------

    async def _report_queue(self) -> None:
        while True:
            try:
                pool = await self._open_pool()
                async with pool.connection() as conn:
                    state = await queue_state(conn)
                WEBHOOK_QUEUE_DEPTH.set(state.waiting, tags={"state": "waiting"})
                WEBHOOK_QUEUE_DEPTH.set(state.due, tags={"state": "due"})
                WEBHOOK_QUEUE_AGE.set(state.oldest_seconds)
                self.queue = {"waiting": state.waiting, "due": state.due,
                              "oldest_seconds": round(state.oldest_seconds, 1)}
            except asyncio.CancelledError:
                raise
            except Exception as error:  # storage down: the dispatch loop says so too
                log.debug("%s: queue report skipped: %s", self.name, type(error).__name__)
            await asyncio.sleep(QUEUE_REPORT_SECONDS)

    # -- wake-ups ----------------------------------------------------------------------------

    async def _listen(self) -> None:
        """LISTEN on a connection of its own (never through a transaction pooler, which
        delivers no notifications); every notification wakes the loop."""
        url = self.settings.session_database_url
        assert url
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self._wake.set()  # anything committed while we were not listening
                    async for _ in conn.notifies():
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("%s: LISTEN connection lost: %s", self.name, type(error).__name__)
                await asyncio.sleep(RECONNECT_SECONDS)


def get_or_create_dispatchers(settings: Settings) -> list[ray.actor.ActorHandle]:
    """The named dispatchers, created on first use and restarted by Ray whenever they die."""
    actor_class = ray.remote(WebhookDispatcher)
    handles = []
    for index in range(max(1, settings.webhook_dispatchers)):
        name = dispatcher_name(index)
        handles.append(actor_class.options(**durable_actor_options(name), num_cpus=0)
                       .remote(settings, name))
    return handles
