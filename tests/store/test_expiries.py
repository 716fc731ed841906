"""The expiry sweep's due rows (issue 22) against PostgreSQL: claimed with SKIP LOCKED and
held by a lease, released, found through the partial index; and two sweeps over the same
licenses, each asking a stand-in host, write one license.expired per expiry."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from keylight_actors.actors.expiry_sweeper import ExpirySweep
from keylight_actors.domain.license import LicenseEntity
from keylight_actors.services.licenses import ExpireLicense, ExpiryOutcome, expire_license
from keylight_actors.store.expiries import (
    CLAIM_DUE,
    claim_due_expiries,
    release_expiry_claims,
    seconds_until_next_expiry,
)
from keylight_actors.store.licenses import LicenseSave, insert_license, load_licenses, save_licenses
from tests.services.memory import InMemoryUnitOfWork
from tests.store.conftest import KEY_TYPE, TENANT


@pytest.fixture
async def conn(store_database: str) -> AsyncIterator[psycopg.AsyncConnection]:
    """Autocommit, as the sweeper's pool connections are: now() is each statement's."""
    async with await psycopg.AsyncConnection.connect(
            store_database, row_factory=dict_row, autocommit=True) as connection:
        yield connection


async def _stored(conn: psycopg.AsyncConnection, expires_in: int | None, *,
                  status: str = "active", announced: bool = False) -> LicenseEntity:
    now = int(time.time())
    license_, _ = LicenseEntity.mint(license_id=str(uuid.uuid4()), tenant_id=TENANT,
                                     key_prefix="OBXT", key_type=KEY_TYPE,
                                     customer_email=None, now=now)
    license_.expires_at = None if expires_in is None else now + expires_in
    async with conn.transaction():
        await insert_license(conn, license_, source="manual")
        await conn.execute(
            "UPDATE licenses SET status = %s, expiry_announced_for = CASE WHEN %s THEN "
            "expires_at END WHERE license_id = %s", (status, announced, license_.license_id))
    return license_


async def _claimed_ids(conn: psycopg.AsyncConnection, lease: float = 60.0) -> set[str]:
    return {claim.license_id for claim in await claim_due_expiries(conn, 1000, lease)}


async def test_only_active_licenses_past_an_unannounced_expiry_are_claimed(conn):
    due = await _stored(conn, -5)
    others = [await _stored(conn, 3600), await _stored(conn, None),
              await _stored(conn, -5, announced=True), await _stored(conn, -5, status="suspended"),
              await _stored(conn, -5, status="revoked")]
    claimed = await claim_due_expiries(conn, 1000, 60.0)
    mine = [claim for claim in claimed if claim.license_id == due.license_id]
    assert [(claim.key_hash, claim.tenant_id, claim.expires_at) for claim in mine] == [
        (due.key_hash, TENANT, due.expires_at)]
    assert not {other.license_id for other in others} & {c.license_id for c in claimed}
    await release_expiry_claims(conn, claimed)


async def test_a_claim_holds_until_released_or_its_lease_runs_out(conn):
    license_ = await _stored(conn, -5)
    [claim] = [c for c in await claim_due_expiries(conn, 1000, 60.0)
               if c.license_id == license_.license_id]
    assert license_.license_id not in await _claimed_ids(conn)  # another sweeper's pass
    assert await release_expiry_claims(conn, [claim]) == 1
    assert license_.license_id in await _claimed_ids(conn, lease=0.2)
    await asyncio.sleep(0.3)  # that sweeper died: its lease runs out
    again = await claim_due_expiries(conn, 1000, 60.0)
    assert license_.license_id in {c.license_id for c in again}
    # A stale claim's release clears nothing of the newer claim.
    assert await release_expiry_claims(conn, [claim]) == 0
    await release_expiry_claims(conn, again)


async def test_concurrent_claims_skip_each_others_locked_rows(store_database):
    async with await psycopg.AsyncConnection.connect(
            store_database, row_factory=dict_row, autocommit=True) as setup:
        ids = {(await _stored(setup, -5)).license_id for _ in range(20)}
    connections = [await psycopg.AsyncConnection.connect(
        store_database, row_factory=dict_row, autocommit=True) for _ in range(4)]
    try:
        results = await asyncio.gather(*(claim_due_expiries(c, 5, 60.0) for c in connections))
        seen = [claim.license_id for batch in results for claim in batch
                if claim.license_id in ids]
        assert len(seen) == len(set(seen))  # never claimed twice
        for c, batch in zip(connections, results, strict=True):
            await release_expiry_claims(c, batch)
    finally:
        for c in connections:
            await c.close()


async def test_the_next_expiry_ahead_is_found(conn):
    await _stored(conn, 2)
    until = await seconds_until_next_expiry(conn)
    assert until is not None and 0 < until <= 2


async def test_the_due_scan_is_a_probe_of_the_partial_index(conn):
    await conn.execute("ANALYZE licenses")
    await conn.execute("SET enable_seqscan = off")  # a tiny table: ask which index serves it
    cursor = await conn.execute("EXPLAIN " + CLAIM_DUE, {"limit": 200, "lease": 60.0})
    plan = "\n".join(row["QUERY PLAN"] for row in await cursor.fetchall())
    await conn.execute("RESET enable_seqscan")
    assert "licenses_expiry_due" in plan, plan


# -- two sweeps over the same licenses, each through a stand-in host ------------------------


class StandInHost:
    """The license host's part: one operation per license at a time, the use case on the
    stored license, its write fenced on the version (as ``save_licenses`` does)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self.locks: dict[str, asyncio.Lock] = {}

    async def expire(self, command: ExpireLicense) -> ExpiryOutcome:
        async with self.locks.setdefault(command.key_hash, asyncio.Lock()):
            async with self.pool.connection() as conn:
                license_ = (await load_licenses(conn, [command.key_hash]))[command.key_hash]
                version = license_.version
                uow = InMemoryUnitOfWork(license_, now=int(time.time()))
                outcome = expire_license(command, uow)
                if uow.saved:
                    [stale] = await save_licenses(conn, [LicenseSave(
                        license_, version, tuple(uow.events), uow.now)])
                    assert stale is None
            return outcome


@pytest.fixture
async def pool(store_database: str) -> AsyncIterator[AsyncConnectionPool]:
    async with AsyncConnectionPool(store_database, min_size=1, max_size=6, open=False,
                                   kwargs={"row_factory": dict_row}) as opened:
        yield opened


async def test_two_sweeps_announce_each_expiry_once(conn, pool):
    due = [await _stored(conn, -5) for _ in range(30)]
    host = StandInHost(pool)
    first, second = ExpirySweep(pool, host.expire, batch=7), ExpirySweep(pool, host.expire,
                                                                          batch=7)
    await asyncio.gather(first.sweep(), second.sweep())
    await asyncio.gather(first.sweep(), second.sweep())  # nothing is due any more
    cursor = await conn.execute(
        """SELECT e.payload->>'license_id' AS license_id, count(*) AS n FROM events e
            WHERE e.event_type = 'license.expired' AND e.payload->>'license_id' = ANY(%s)
            GROUP BY 1""", ([license_.license_id for license_ in due],))
    counts = {row["license_id"]: row["n"] for row in await cursor.fetchall()}
    assert counts == {license_.license_id: 1 for license_ in due}
    assert first.counts.announced + second.counts.announced >= len(due)  # + earlier tests
    cursor = await conn.execute(
        "SELECT count(*) AS n FROM licenses WHERE license_id = ANY(%s) "
        "AND expiry_announced_for = expires_at AND expiry_claimed_until IS NULL",
        ([license_.license_id for license_ in due],))
    assert (await cursor.fetchone())["n"] == len(due)


async def test_a_sweeper_killed_mid_pass_loses_nothing(conn, pool):
    """The first sweeper claims, then dies while its hosts are asked (nothing released);
    once its lease runs out the next sweeper expires every license, each once."""
    due = [await _stored(conn, -5) for _ in range(10)]
    asked = asyncio.Event()

    async def hangs(command: ExpireLicense) -> ExpiryOutcome:
        asked.set()
        await asyncio.sleep(3600)
        raise AssertionError("never answers")

    doomed = asyncio.create_task(ExpirySweep(pool, hangs, batch=1000, lease_seconds=1).sweep())
    await asyncio.wait_for(asked.wait(), 10)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    ids = [license_.license_id for license_ in due]
    cursor = await conn.execute(
        "SELECT count(*) AS n FROM licenses WHERE license_id = ANY(%s) "
        "AND expiry_claimed_until IS NOT NULL", (ids,))
    assert (await cursor.fetchone())["n"] == len(due)  # the dead sweeper's claims remain

    await asyncio.sleep(1.2)  # its lease runs out
    survivor = ExpirySweep(pool, StandInHost(pool).expire, batch=1000)
    await survivor.sweep()
    await survivor.sweep()
    cursor = await conn.execute(
        """SELECT e.payload->>'license_id' AS license_id, count(*) AS n FROM events e
            WHERE e.event_type = 'license.expired' AND e.payload->>'license_id' = ANY(%s)
            GROUP BY 1""", (ids,))
    assert {row["license_id"]: row["n"] for row in await cursor.fetchall()} == dict.fromkeys(
        ids, 1)
