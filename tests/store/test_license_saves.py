"""A group's license saves in one statement: each fenced on its own version, its instance
changes and events written only with it."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest

from keylight_actors.domain.license import LicenseEntity
from keylight_actors.store.database import StaleVersion
from keylight_actors.store.events import OutboundEvent
from keylight_actors.store.licenses import (
    LicenseSave,
    insert_license,
    load_licenses,
    save_licenses,
)
from keylight_actors.store.webhook_deliveries import NOTIFY_CHANNEL
from keylight_actors.store.webhook_endpoints import save_endpoint
from tests.store.conftest import KEY_TYPE, TENANT

NOW = 1_800_000_000


async def _stored_license(conn: psycopg.AsyncConnection) -> LicenseEntity:
    license_, _ = LicenseEntity.mint(license_id=str(uuid.uuid4()), tenant_id=TENANT,
                                     key_prefix="OBXT", key_type=KEY_TYPE,
                                     customer_email=None, now=NOW)
    async with conn.transaction():
        await insert_license(conn, license_, source="manual")
    return license_


def _activated(license_: LicenseEntity, device: str) -> tuple[LicenseSave, str]:
    """A draft with one more device, saved with its license.activated event."""
    draft = license_.copy()
    draft.version = license_.version + 1
    instance, _ = draft.activate(new_instance_id=str(uuid.uuid4()), name=device,
                                 machine_hash=f"hash-{device}", now=NOW)
    event = OutboundEvent(TENANT, "license.activated", {
        "license_id": draft.license_id, "instance_id": instance.instance_id})
    return LicenseSave(draft, license_.version, (event,), NOW), instance.instance_id


async def _saved(conn: psycopg.AsyncConnection, saves: list[LicenseSave]
                 ) -> list[StaleVersion | None]:
    async with conn.transaction():
        return await save_licenses(conn, saves)


async def _stored(conn: psycopg.AsyncConnection, license_id: str) -> dict[str, object]:
    cursor = await conn.execute(
        """SELECT l.version,
                  (SELECT array_agg(name ORDER BY name) FROM license_instances i
                    WHERE i.license_id = l.license_id AND i.deactivated_at IS NULL) AS devices,
                  (SELECT count(*) FROM events e
                    WHERE e.payload->>'license_id' = l.license_id::text) AS events
             FROM licenses l WHERE l.license_id = %s""", (license_id,))
    row = await cursor.fetchone()
    assert row is not None
    return dict(row)


async def test_every_save_of_a_group_is_written_with_its_instances_and_events(conn):
    licenses = [await _stored_license(conn) for _ in range(3)]
    saves = [_activated(license_, f"device-{n}")[0] for n, license_ in enumerate(licenses)]

    assert await _saved(conn, saves) == [None, None, None]

    for n, license_ in enumerate(licenses):
        assert await _stored(conn, license_.license_id) == {
            "version": license_.version + 1, "devices": [f"device-{n}"], "events": 1}


async def test_a_fenced_out_save_writes_nothing_of_its_own_and_the_others_are_written(conn):
    kept, moved_on = await _stored_license(conn), await _stored_license(conn)
    await conn.execute("UPDATE licenses SET version = version + 5 WHERE license_id = %s",
                       (moved_on.license_id,))
    await conn.commit()

    answers = await _saved(conn, [_activated(kept, "laptop")[0],
                                  _activated(moved_on, "desktop")[0]])

    assert answers[0] is None
    assert isinstance(answers[1], StaleVersion)
    assert await _stored(conn, kept.license_id) == {
        "version": kept.version + 1, "devices": ["laptop"], "events": 1}
    assert await _stored(conn, moved_on.license_id) == {
        "version": moved_on.version + 5, "devices": None, "events": 0}


async def test_a_removed_instance_is_marked_deactivated_by_whoever_freed_it(conn):
    license_ = await _stored_license(conn)
    save, instance_id = _activated(license_, "laptop")
    await _saved(conn, [save])
    draft = save.license.copy()
    draft.version += 1
    draft.deactivate(instance_id, NOW + 60, by_device=True)

    assert await _saved(conn, [LicenseSave(draft, save.license.version)]) == [None]

    cursor = await conn.execute(
        "SELECT extract(epoch FROM deactivated_at)::bigint AS at, deactivated_by_device "
        "FROM license_instances WHERE instance_id = %s", (instance_id,))
    assert await cursor.fetchone() == {"at": NOW + 60, "deactivated_by_device": True}


async def test_events_of_a_group_queue_deliveries_and_notify_the_dispatchers_once_committed(
    conn, store_database
):
    async with conn.transaction():
        await save_endpoint(conn, TENANT, "https://hooks.example.com/saves",
                            ["license.activated"], b"sealed-secret")
    licenses = [await _stored_license(conn) for _ in range(2)]
    async with await psycopg.AsyncConnection.connect(store_database,
                                                     autocommit=True) as listener:
        await listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        await _saved(conn, [_activated(license_, "laptop")[0] for license_ in licenses])

        async def first_notification() -> bool:
            async for _ in listener.notifies():
                return True
            return False

        assert await asyncio.wait_for(first_notification(), 5)
    cursor = await conn.execute(
        "SELECT count(*) FROM webhook_deliveries d JOIN events e USING (event_id) "
        "WHERE d.url = 'https://hooks.example.com/saves' "
        "AND e.payload->>'license_id' = ANY (%s)", ([lic.license_id for lic in licenses],))
    assert (await cursor.fetchone())["count"] == 2


async def test_a_group_whose_statement_fails_writes_nothing_of_any_save(conn):
    first, bystander = await _stored_license(conn), await _stored_license(conn)
    save, instance_id = _activated(first, "laptop")
    await _saved(conn, [save])
    reusing = save.license.copy()
    reusing.version += 1
    reusing.activate(new_instance_id=instance_id, name="desktop", machine_hash=None, now=NOW)

    with pytest.raises(psycopg.errors.UniqueViolation):
        await _saved(conn, [_activated(bystander, "tablet")[0],
                            LicenseSave(reusing, save.license.version)])

    assert await _stored(conn, bystander.license_id) == {
        "version": bystander.version, "devices": None, "events": 0}
    assert await _stored(conn, first.license_id) == {
        "version": first.version + 1, "devices": ["laptop"], "events": 1}


async def test_a_device_check_in_is_stored_with_its_save_and_read_back_on_load(conn):
    license_ = await _stored_license(conn)
    save, instance_id = _activated(license_, "laptop")
    await _saved(conn, [save])
    activated = save.license
    activated.changes = ()
    checked = activated.copy()
    checked.version = activated.version + 1
    assert checked.check_in(checked.instances.get(instance_id), NOW + 7_200)

    assert await _saved(conn, [LicenseSave(checked, activated.version, (), NOW)]) == [None]

    loaded = (await load_licenses(conn, [license_.key_hash]))[license_.key_hash]
    assert loaded.instances.get(instance_id).last_validated_at == NOW + 7_200


async def test_an_activated_instance_row_carries_its_licenses_tenant(conn):
    license_ = await _stored_license(conn)
    save, instance_id = _activated(license_, "laptop")

    assert await _saved(conn, [save]) == [None]

    cursor = await conn.execute(
        "SELECT i.tenant_id, l.tenant_id AS license_tenant FROM license_instances i "
        "JOIN licenses l USING (license_id) WHERE i.instance_id = %s", (instance_id,))
    assert await cursor.fetchone() == {"tenant_id": TENANT, "license_tenant": TENANT}
