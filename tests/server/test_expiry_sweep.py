"""Licenses expire on time without an SDK call (issue 22): the server's expiry sweeper
marks a license past its expires_at and sends license.expired once, through the license's
own host; a second sweeper on the same database sends no second event."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import psycopg

from keylight_actors.actors.expiry_sweeper import ExpirySweep
from keylight_actors.actors.host_pool import HostPool
from keylight_actors.actors.license_messages import LicenseClient
from keylight_actors.domain.license_key import hash_license_key
from keylight_actors.services.licenses import ExpireLicense
from keylight_actors.store.database import open_pool

from .test_license_edits import iso, listed, patch
from .test_webhooks_events import hook, verified


def expired_events(database_url: str, license_id: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM events WHERE event_type = 'license.expired' "
            "AND payload->>'license_id' = %s", (license_id,)).fetchone()
    assert row is not None
    return int(row[0])


def expiring_soon(http, catalog, mint, seconds: int) -> tuple[dict, int]:
    """A license whose expires_at is ``seconds`` ahead (set with the management API)."""
    minted = mint(catalog)
    moment = (datetime.now(timezone.utc) + timedelta(seconds=seconds)).replace(microsecond=0)
    answer = patch(http, catalog, minted["license_id"], {"expires_at": iso(moment)})
    assert answer.status_code == 200, answer.text
    return minted, int(moment.timestamp())


def test_a_license_expires_on_time_and_is_announced_once_without_an_sdk_call(
    http, tenant, catalog, mint, webhook_receiver, database_url, settings
):
    assert settings.expiry_sweep_seconds == 1
    url, secret = hook(http, tenant, webhook_receiver)
    minted, expires_at = expiring_soon(http, catalog, mint, 3)
    assert listed(http, tenant)[minted["license_id"]]["status"] == "active"

    requests = webhook_receiver.wait_for(url, 2, timeout=15)  # license.created, .expired
    arrived = time.time()
    [request] = [r for r in requests if r.headers["x-keylight-event"] == "license.expired"]
    payload = verified(request, secret, "license.expired")
    assert payload["license_id"] == minted["license_id"]
    assert expires_at <= arrived < expires_at + 1 + 5  # a sweep period, and the delivery
    assert listed(http, tenant)[minted["license_id"]]["status"] == "expired"

    time.sleep(3 * settings.expiry_sweep_seconds)  # several more sweeps
    assert expired_events(database_url, minted["license_id"]) == 1
    assert [r.headers["x-keylight-event"] for r in webhook_receiver.received(url)
            ].count("license.expired") == 1


async def test_a_second_sweeper_on_the_same_database_sends_no_second_event(
    http, tenant, catalog, mint, database_url, settings
):
    """A plain sweeper in the test process, on the same database and the same license hosts,
    sweeps around the expiry alongside the server's: one event all the same."""
    hosts = HostPool("license", settings, settings.license_hosts)
    pool = await open_pool(database_url, min_size=1, max_size=2)
    try:
        client = LicenseClient(hosts)
        second = ExpirySweep(pool, client.expire)
        minted, expires_at = expiring_soon(http, catalog, mint, 2)
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            await second.sweep()
            await asyncio.sleep(0.05)
        assert expired_events(database_url, minted["license_id"]) == 1
        # Told again, the license's host answers that nothing was recorded.
        again = await client.expire(ExpireLicense(hash_license_key(minted["key"]),
                                                  tenant.tenant_id, expires_at))
        assert again.announced is False
        assert expired_events(database_url, minted["license_id"]) == 1
    finally:
        await pool.close()
        await hosts.close()


def test_an_expiry_moved_later_is_announced_again_when_it_passes(
    http, tenant, catalog, mint, database_url
):
    minted, _ = expiring_soon(http, catalog, mint, 1)
    deadline = time.monotonic() + 10
    while expired_events(database_url, minted["license_id"]) < 1:
        assert time.monotonic() < deadline, "the first expiry was not announced"
        time.sleep(0.2)
    later = (datetime.now(timezone.utc) + timedelta(seconds=2)).replace(microsecond=0)
    assert patch(http, catalog, minted["license_id"],
                 {"expires_at": iso(later)}).status_code == 200
    assert listed(http, tenant)[minted["license_id"]]["status"] == "active"
    deadline = time.monotonic() + 10
    while expired_events(database_url, minted["license_id"]) < 2:
        assert time.monotonic() < deadline, "the moved expiry was not announced"
        time.sleep(0.2)
    time.sleep(2)
    assert expired_events(database_url, minted["license_id"]) == 2
    assert listed(http, tenant)[minted["license_id"]]["status"] == "expired"
