"""A burst of 1,000 events is delivered in full, never more than the bound at once."""

from __future__ import annotations

import time
import uuid

import psycopg
import ray
from psycopg.rows import dict_row

from keylight_actors.actors.named_actor import NAMESPACE
from keylight_actors.actors.webhook_dispatcher import dispatcher_name
from keylight_actors.store.events import OutboundEvent, insert_event

from .conftest import WEBHOOK_CONCURRENCY
from .test_webhooks_events import hook

BURST = 1000


def delivered_count(database_url: str, tenant_id: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM webhook_deliveries WHERE tenant_id = %s "
                            "AND status = 'delivered'", (tenant_id,)).fetchone()[0]


async def test_a_thousand_events_committed_at_once_are_all_delivered_within_the_bound(
    http, tenant, webhook_receiver, database_url
):
    url, _ = hook(http, tenant, webhook_receiver)
    behaviour = webhook_receiver.behaviour(url)
    behaviour.delay_seconds = 0.005  # a receiver that takes a moment: requests overlap
    dispatcher = ray.get_actor(dispatcher_name(0), namespace=NAMESPACE)
    await dispatcher.reset_max_in_flight.remote()

    now = int(time.time())
    async with await psycopg.AsyncConnection.connect(
        database_url, row_factory=dict_row
    ) as conn, conn.transaction():
        for n in range(BURST):
            await insert_event(conn, OutboundEvent(tenant.tenant_id, "license.created", {
                "license_id": str(uuid.uuid4()), "key": f"BRST-{n:04d}",
                "product_id": "app", "key_type_id": "pro", "customer_email": None,
                "session_id": None}), now)

    deadline = time.monotonic() + 120
    while delivered_count(database_url, tenant.tenant_id) < BURST:
        assert time.monotonic() < deadline, "the burst was not delivered in 120 s"
        time.sleep(0.25)

    requests = webhook_receiver.received(url)
    with psycopg.connect(database_url) as conn:
        ids = {row[0] for row in conn.execute(
            "SELECT delivery_id::text FROM webhook_deliveries WHERE tenant_id = %s",
            (tenant.tenant_id,))}
    assert len(ids) == BURST
    assert len(requests) == BURST  # each exactly once
    assert {r.headers["webhook-id"] for r in requests} == ids
    stats = await dispatcher.stats.remote()
    assert 2 <= behaviour.max_in_flight <= WEBHOOK_CONCURRENCY
    assert stats["max_in_flight"] <= WEBHOOK_CONCURRENCY == stats["capacity"]
