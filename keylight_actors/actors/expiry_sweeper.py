"""The expiry sweeper: a named, detached, restartable Ray actor that announces expiries no
SDK call saw (issue 22).

Each pass claims the licenses past an unannounced expiry (``store.expiries``: due rows
claimed with ``FOR UPDATE SKIP LOCKED`` and held by a lease, not a lock) and asks each one's
license host to expire it (``services.licenses.expire_license``, through the typed
``LicenseClient.expire``). The host changes the resident license and commits its expiry
marker with the ``license.expired`` event in one fenced write, so the event is sent once per
expiry, however many sweepers claim the license or whether an SDK call saw it first. Nothing
durable lives here: a sweeper killed mid-pass leaves claims that run out after
``LEASE_SECONDS``, and the licenses are claimed again.

Between passes it sleeps until the next expiry, or ``KEYLIGHT_EXPIRY_SWEEP_SECONDS`` at
most (which also bounds how late an expiry moved earlier by an edit is seen).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import ray
from psycopg_pool import AsyncConnectionPool

from ..services.licenses import ExpireLicense, ExpiryOutcome
from ..settings import Settings
from ..store.database import open_pool
from ..store.expiries import (
    DueExpiry,
    claim_due_expiries,
    release_expiry_claims,
    seconds_until_next_expiry,
)
from .host_pool import HostPool, license_host_count
from .license_messages import LicenseClient
from .named_actor import durable_actor_options

log = logging.getLogger(__name__)

SWEEPER_PREFIX = "expiry-sweeper"
BATCH = 200  # licenses one claim takes at most
LEASE_SECONDS = 60.0  # a claim not released by then (its sweeper died) is due again
HOST_CALL_SECONDS = 30.0  # one batch's host calls; unanswered ones are retried next pass
MIN_WAIT_SECONDS = 0.05
RECONNECT_SECONDS = 1.0

Expire = Callable[[ExpireLicense], Awaitable[ExpiryOutcome]]


def sweeper_name(index: int) -> str:
    return f"{SWEEPER_PREFIX}-{index}"


@dataclass
class SweepCounts:
    claimed: int = 0
    announced: int = 0  # license.expired written by this sweeper
    declined: int = 0  # the host recorded nothing (announced already, renewed, suspended)
    failed: int = 0  # the host did not answer: released, claimed again by a later pass


class ExpirySweep:
    """The passes of one sweeper, on a connection pool and the license hosts' ``expire``
    (plain, so that a test can run one beside the server's)."""

    def __init__(self, pool: AsyncConnectionPool, expire: Expire, *, batch: int = BATCH,
                 lease_seconds: float = LEASE_SECONDS) -> None:
        self.pool = pool
        self.expire = expire
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.counts = SweepCounts()

    async def sweep(self) -> SweepCounts:
        """Claim and expire batches until fewer than a batch are due; this pass's counts."""
        counts = SweepCounts()
        while True:
            async with self.pool.connection() as conn:
                claims = await claim_due_expiries(conn, self.batch, self.lease_seconds)
            if not claims:
                break
            await self._expire_all(claims, counts)
            if len(claims) < self.batch:
                break
        for name in ("claimed", "announced", "declined", "failed"):
            setattr(self.counts, name, getattr(self.counts, name) + getattr(counts, name))
        return counts

    async def _expire_all(self, claims: list[DueExpiry], counts: SweepCounts) -> None:
        counts.claimed += len(claims)
        calls = [self.expire(ExpireLicense(claim.key_hash, claim.tenant_id, claim.expires_at))
                 for claim in claims]
        try:
            outcomes = await asyncio.wait_for(
                asyncio.gather(*calls, return_exceptions=True), HOST_CALL_SECONDS)
        except asyncio.TimeoutError:
            outcomes = [TimeoutError()] * len(claims)
        for claim, outcome in zip(claims, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                counts.failed += 1
                log.warning("expiry of license %s not announced yet: %s", claim.license_id,
                            type(outcome).__name__)
            elif outcome.announced:
                counts.announced += 1
            else:
                counts.declined += 1
        # Whatever the host answered, the claim's work is done: an announced license has
        # left the due rows, one that still is due (the host failed, or its clock is a
        # moment behind the database's) is claimed again by the next pass.
        async with self.pool.connection() as conn:
            await release_expiry_claims(conn, claims)

    async def wait_seconds(self, period: float) -> float:
        """Until the next unannounced expiry ahead, at most ``period``."""
        async with self.pool.connection() as conn:
            until = await seconds_until_next_expiry(conn)
        wait = period if until is None else min(period, until)
        return max(MIN_WAIT_SECONDS, wait)


class ExpirySweeper:
    """Plain class; ``get_or_create_sweepers`` makes it a Ray actor."""

    async def __init__(self, settings: Settings, name: str) -> None:  # type: ignore[misc]
        assert settings.database_url, "the sweeper needs a resolved database URL"
        self.settings = settings
        self.name = name
        self.passes = 0
        self._sweep: ExpirySweep | None = None
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def pid(self) -> int:
        return os.getpid()

    async def ping(self) -> bool:
        return True

    async def stats(self) -> dict[str, Any]:
        counts = self._sweep.counts if self._sweep else SweepCounts()
        return {"name": self.name, "pid": os.getpid(), "passes": self.passes,
                **counts.__dict__}

    async def _start(self) -> ExpirySweep:
        if self._sweep is None:
            assert self.settings.database_url
            pool = await open_pool(self.settings.database_url, min_size=1, max_size=2)
            hosts = HostPool("license", self.settings, license_host_count(self.settings))
            self._sweep = ExpirySweep(pool, LicenseClient(hosts).expire)
        return self._sweep

    async def _run(self) -> None:
        period = max(MIN_WAIT_SECONDS, self.settings.expiry_sweep_seconds)
        while True:
            try:
                sweep = await self._start()
                counts = await sweep.sweep()
                self.passes += 1
                if counts.announced:
                    log.info("%s: %d expiries announced", self.name, counts.announced)
                await asyncio.sleep(await sweep.wait_seconds(period))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # storage or hosts down: try again, forget nothing
                log.warning("%s: sweep paused: %s", self.name, type(error).__name__)
                await asyncio.sleep(RECONNECT_SECONDS)


def get_or_create_sweepers(settings: Settings) -> list[ray.actor.ActorHandle]:
    """The named sweepers, created on first use and restarted by Ray whenever they die."""
    actor_class = ray.remote(ExpirySweeper)
    return [actor_class.options(**durable_actor_options(sweeper_name(index)), num_cpus=0)
            .remote(settings, sweeper_name(index))
            for index in range(max(1, settings.expiry_sweepers))]
