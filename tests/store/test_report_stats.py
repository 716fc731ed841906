"""A tenant's stats count its devices through their own tenant_id (migration 0017), and
read the same through a pool (the four counts at once) as through one connection."""

from __future__ import annotations

import datetime as dt
import uuid

from keylight_actors.domain.license import LicenseEntity
from keylight_actors.store.database import open_pool
from keylight_actors.store.licenses import insert_license
from keylight_actors.store.reports import tenant_stats
from tests.store.conftest import KEY_TYPE, TENANT

NOW = int(dt.datetime.now(dt.timezone.utc).timestamp())


async def test_stats_count_the_tenants_devices_alike_through_a_pool_and_a_connection(
    conn, store_database
):
    before = await tenant_stats(conn, TENANT, 7)
    license_, _ = LicenseEntity.mint(license_id=str(uuid.uuid4()), tenant_id=TENANT,
                                     key_prefix="OBXT", key_type=KEY_TYPE,
                                     customer_email=None, now=NOW)
    async with conn.transaction():
        await insert_license(conn, license_, source="manual")
        await conn.execute(
            "INSERT INTO license_instances (instance_id, license_id, tenant_id, name, "
            "activated_at) VALUES (%s, %s, %s, 'laptop', now())",
            (str(uuid.uuid4()), license_.license_id, TENANT))

    through_connection = await tenant_stats(conn, TENANT, 7)
    pool = await open_pool(store_database, max_size=4)
    try:
        through_pool = await tenant_stats(pool, TENANT, 7)
    finally:
        await pool.close()

    assert through_pool == through_connection
    assert len(through_pool.activations_per_day) == 7
    assert (through_pool.activations_per_day[-1].count
            == before.activations_per_day[-1].count + 1)
    assert (through_pool.new_licenses_per_day[-1].count
            == before.new_licenses_per_day[-1].count + 1)
