"""The outbox in one transaction: an event and its delivery commit together with the change,
or not at all, and the dispatchers hear of them only once committed."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest

from keylight_actors.domain.license import LicenseEntity
from keylight_actors.store.events import OutboundEvent, insert_event
from keylight_actors.store.licenses import insert_license
from keylight_actors.store.webhook_deliveries import NOTIFY_CHANNEL
from keylight_actors.store.webhook_endpoints import save_endpoint
from tests.store.conftest import KEY_TYPE, TENANT


class MintFailed(Exception):
    """Raised inside the minting transaction, after the event was written."""


async def _endpoint(conn: psycopg.AsyncConnection, events: list[str]) -> None:
    async with conn.transaction():
        await save_endpoint(conn, TENANT, "https://hooks.example.com/keylight", events,
                            b"sealed-secret")


async def _mint(conn: psycopg.AsyncConnection, *, fail: bool, license_id: str | None = None
                ) -> str:
    """The mint's writes (license row, then its license.created event) in one transaction."""
    license_, raw_key = LicenseEntity.mint(license_id=license_id or str(uuid.uuid4()),
                                           tenant_id=TENANT,
                                           key_prefix="OBXT", key_type=KEY_TYPE,
                                           customer_email="ada@example.com", now=1_800_000_000)
    async with conn.transaction():
        await insert_license(conn, license_, source="manual")
        await insert_event(conn, OutboundEvent(TENANT, "license.created", {
            "license_id": license_.license_id, "key": raw_key, "product_id": "editor",
            "key_type_id": "pro", "customer_email": "ada@example.com", "session_id": None,
        }), 1_800_000_000)
        if fail:
            raise MintFailed
    return license_.license_id


async def _count(conn: psycopg.AsyncConnection, sql: str, *params: object) -> int:
    cursor = await conn.execute(sql, params)
    row = await cursor.fetchone()
    assert row is not None
    return int(row["count"])


async def _rows_for(conn: psycopg.AsyncConnection, license_id: str) -> tuple[int, int, int]:
    licenses = await _count(conn, "SELECT count(*) FROM licenses WHERE license_id = %s",
                            license_id)
    events = await _count(conn, "SELECT count(*) FROM events WHERE payload->>'license_id' = %s",
                          license_id)
    deliveries = await _count(
        conn, "SELECT count(*) FROM webhook_deliveries d JOIN events e USING (event_id) "
              "WHERE e.payload->>'license_id' = %s", license_id)
    return licenses, events, deliveries


async def test_a_mint_that_rolls_back_leaves_no_license_event_or_delivery(conn):
    await _endpoint(conn, ["license.created"])
    license_id = str(uuid.uuid4())
    with pytest.raises(MintFailed):
        await _mint(conn, fail=True, license_id=license_id)
    assert await _rows_for(conn, license_id) == (0, 0, 0)


async def test_a_mint_that_commits_always_has_its_event_and_one_pending_delivery(conn):
    await _endpoint(conn, ["license.created"])
    for _ in range(20):
        license_id = await _mint(conn, fail=False)
        assert await _rows_for(conn, license_id) == (1, 1, 1)
    cursor = await conn.execute(
        "SELECT d.status, d.attempt_count, d.url, d.next_attempt_at <= now() AS due, "
        "d.event_type FROM webhook_deliveries d JOIN events e USING (event_id) "
        "WHERE e.payload->>'license_id' = %s", (license_id,))
    delivery = await cursor.fetchone()
    assert delivery == {"status": "pending", "attempt_count": 0, "due": True,
                        "url": "https://hooks.example.com/keylight",
                        "event_type": "license.created"}


async def test_an_event_the_endpoint_does_not_want_is_kept_without_a_delivery(conn):
    await _endpoint(conn, ["license.created"])
    async with conn.transaction():
        event_id = await insert_event(conn, OutboundEvent(TENANT, "license.activated", {
            "license_id": str(uuid.uuid4())}), 1_800_000_000)
    assert await _count(conn, "SELECT count(*) FROM events WHERE event_id = %s", event_id) == 1
    assert await _count(conn, "SELECT count(*) FROM webhook_deliveries WHERE event_id = %s",
                        event_id) == 0


async def test_the_dispatchers_are_notified_on_commit_and_never_on_rollback(
    conn, store_database
):
    await _endpoint(conn, ["license.created"])
    async with await psycopg.AsyncConnection.connect(store_database,
                                                     autocommit=True) as listener:
        await listener.execute(f"LISTEN {NOTIFY_CHANNEL}")

        async def first_notification() -> bool:
            async for _ in listener.notifies():
                return True
            return False

        async def heard(timeout: float) -> bool:
            try:
                return await asyncio.wait_for(first_notification(), timeout)
            except asyncio.TimeoutError:
                return False

        with pytest.raises(MintFailed):
            await _mint(conn, fail=True)
        assert not await heard(0.3)
        await _mint(conn, fail=False)
        assert await heard(5)
