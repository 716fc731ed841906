"""The per-day counters behind the stats route (migration 0019) equal a count of the rows
they count, whoever inserts them, and never make two writers wait for each other."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import tuple_row

from keylight_actors.domain.license import LicenseEntity
from keylight_actors.store.licenses import insert_license
from keylight_actors.store.migrate import apply_migrations
from tests.conftest import fresh_database
from tests.store.conftest import KEY_TYPE, TENANT, seed_tenant

COUNTED = """SELECT day, sum(activations)::int AS activations,
                    sum(new_licenses)::int AS new_licenses
               FROM tenant_daily_counts WHERE tenant_id = %(tenant)s GROUP BY day"""
ROWS = """SELECT coalesce(a.day, n.day) AS day, coalesce(a.n, 0)::int AS activations,
                 coalesce(n.n, 0)::int AS new_licenses
            FROM (SELECT (activated_at AT TIME ZONE 'utc')::date AS day, count(*) AS n
                    FROM license_instances WHERE tenant_id = %(tenant)s GROUP BY 1) a
            FULL JOIN (SELECT (created_at AT TIME ZONE 'utc')::date AS day, count(*) AS n
                         FROM licenses WHERE tenant_id = %(tenant)s GROUP BY 1) n
              ON a.day = n.day"""


async def _counted_and_rows(conn: psycopg.AsyncConnection
                            ) -> tuple[dict[dt.date, tuple[int, int]],
                                       dict[dt.date, tuple[int, int]]]:
    """(activations, new licenses) per day, from the counters and from the rows."""
    async def by_day(query: str) -> dict[dt.date, tuple[int, int]]:
        cursor = conn.cursor(row_factory=tuple_row)
        await cursor.execute(query, {"tenant": TENANT})
        return {day: (activations, new) for day, activations, new in await cursor.fetchall()
                if (activations, new) != (0, 0)}

    return await by_day(COUNTED), await by_day(ROWS)


async def _new_license(conn: psycopg.AsyncConnection) -> str:
    license_, _ = LicenseEntity.mint(license_id=str(uuid.uuid4()), tenant_id=TENANT,
                                     key_prefix="OBXT", key_type=KEY_TYPE,
                                     customer_email=None, now=1_800_000_000)
    await insert_license(conn, license_, source="manual")
    return license_.license_id


async def _add_device(conn: psycopg.AsyncConnection, license_id: str,
                      activated_at: str = "now()") -> None:
    await conn.execute(
        f"""INSERT INTO license_instances (instance_id, license_id, tenant_id, name,
                                           activated_at)
            VALUES (%s, %s, %s, 'device', {activated_at})""",
        (str(uuid.uuid4()), license_id, TENANT))


async def test_counts_equal_the_rows_after_mints_devices_and_a_copy_on_past_days(conn):
    async with conn.transaction():
        license_id = await _new_license(conn)
        await _add_device(conn, license_id)
        await _add_device(conn, license_id, "now() - interval '2 days'")
    # An import writes with COPY, licenses and devices on the days they happened.
    old_license = str(uuid.uuid4())
    async with conn.transaction():
        async with conn.cursor().copy(
            """COPY licenses (license_id, tenant_id, product_id, key_type_id, key_hash,
                              key_display, status, activation_limit, source, created_at)
               FROM STDIN""") as copy:
            await copy.write_row((old_license, TENANT, "editor", "pro", uuid.uuid4().hex,
                                  "OBXT-…", "active", 3, "import", "2024-02-29T23:59:59Z"))
        async with conn.cursor().copy(
            """COPY license_instances (instance_id, license_id, tenant_id, name, activated_at)
               FROM STDIN""") as copy:
            for at in ("2024-03-01T00:00:00Z", "2024-03-01T23:00:00Z"):
                await copy.write_row((str(uuid.uuid4()), old_license, TENANT, "d", at))

    counted, rows = await _counted_and_rows(conn)
    assert counted == rows
    assert counted[dt.date(2024, 2, 29)] == (0, 1)
    assert counted[dt.date(2024, 3, 1)] == (2, 0)


async def test_a_rolled_back_insert_counts_nothing(conn):
    before, _ = await _counted_and_rows(conn)
    with pytest.raises(RuntimeError):
        async with conn.transaction():
            await _add_device(conn, await _new_license(conn))
            raise RuntimeError("the writer failed before its commit")
    after, rows = await _counted_and_rows(conn)
    assert after == before == rows


async def test_two_writers_counting_the_same_tenant_and_day_do_not_wait(store_database):
    connect = psycopg.AsyncConnection.connect
    async with await connect(store_database) as first, await connect(store_database) as second:
        await second.execute("SET lock_timeout = '2s'")
        async with first.transaction():
            await _add_device(first, await _new_license(first))
            # The first writer's counter row is locked until it commits; the second writes
            # its own (a lock wait would raise LockNotAvailable after 2 s).
            async with second.transaction():
                await _add_device(second, await _new_license(second))
        counted, rows = await _counted_and_rows(first)
    assert counted == rows


@pytest.fixture
def database_before_counters(postgres_admin_url: str) -> Iterator[str]:
    with fresh_database(postgres_admin_url) as url:
        apply_migrations(url, through=18)
        seed_tenant(url)
        yield url


async def test_the_migration_counts_the_rows_written_before_it(database_before_counters):
    async with await psycopg.AsyncConnection.connect(database_before_counters) as conn:
        async with conn.transaction():
            for days_ago in (0, 0, 40):
                license_id = await _new_license(conn)
                await _add_device(conn, license_id, f"now() - interval '{days_ago} days'")
        await asyncio.to_thread(apply_migrations, database_before_counters)
        counted, rows = await _counted_and_rows(conn)
        # Counting goes on after the migration, in the rows it started from.
        async with conn.transaction():
            await _add_device(conn, await _new_license(conn))
        counted_after, rows_after = await _counted_and_rows(conn)
    assert counted == rows and sum(new for _, new in counted.values()) == 3
    assert counted_after == rows_after and sum(new for _, new in rows_after.values()) == 4
