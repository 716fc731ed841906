"""A seat limit holds under hundreds of parallel activations, and across a host crash."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter

import httpx
import psycopg

from keylight_actors.domain.license_key import hash_license_key

from .hosts import kill_host_process, owning_license_host
from .sdk_calls import sdk_headers, sdk_path

ATTEMPTS = 200
LIMIT = 3


def active_instance_ids(database_url: str, key: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT i.instance_id::text FROM license_instances i JOIN licenses l "
            "USING (license_id) WHERE l.key_hash = %s AND i.deactivated_at IS NULL",
            (hash_license_key(key),)).fetchall()
    return {row[0] for row in rows}


async def activate_concurrently(base_url: str, catalog, key: str, *, during=None
                                ) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=ATTEMPTS)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        async def one() -> httpx.Response:
            return await client.post(
                sdk_path(catalog, "activate"), headers=sdk_headers(catalog),
                json={"license_key": key, "instance_name": "box",
                      "machine_hash": secrets.token_hex(32)})

        tasks = [asyncio.create_task(one()) for _ in range(ATTEMPTS)]
        if during is not None:
            await asyncio.sleep(0.05)
            await asyncio.to_thread(during)
        return list(await asyncio.gather(*tasks))


async def test_two_hundred_parallel_activations_take_exactly_the_limit(
    base_url, make_catalog, tenant, mint, database_url
):
    catalog = make_catalog(tenant, activation_limit=LIMIT)
    key = mint(catalog)["key"]
    answers = await activate_concurrently(base_url, catalog, key)
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {200: LIMIT, 402: ATTEMPTS - LIMIT}
    granted = {answer.json()["instance_id"] for answer in answers if answer.status_code == 200}
    assert active_instance_ids(database_url, key) == granted


async def test_a_host_killed_mid_way_never_oversells_nor_acknowledges_a_lost_seat(
    base_url, make_catalog, tenant, mint, database_url, settings
):
    catalog = make_catalog(tenant, activation_limit=LIMIT)
    key = mint(catalog)["key"]
    owner = owning_license_host(settings, hash_license_key(key))
    answers = await activate_concurrently(
        base_url, catalog, key, during=lambda: kill_host_process(owner))
    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {200, 402, 503}, statuses
    granted = {answer.json()["instance_id"] for answer in answers if answer.status_code == 200}
    stored = active_instance_ids(database_url, key)
    assert len(granted) <= LIMIT
    assert len(stored) <= LIMIT
    assert granted <= stored
