"""The event outbox: rows written in the same transaction as the change they announce.

Each event also gets its webhook delivery (when the tenant's endpoint wants that event) in
that same transaction, and a NOTIFY that Postgres hands to the dispatchers on commit only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from .webhook_deliveries import NOTIFY_CHANNEL

EVENT_ENVELOPE_VERSION = "2026-05-01"


@dataclass(frozen=True)
class OutboundEvent:
    tenant_id: str
    event_type: str
    fields: dict[str, Any]


async def insert_event(conn: AsyncConnection, event: OutboundEvent, now: int) -> str:
    event_id = str(uuid.uuid4())
    payload = {
        "id": event_id,
        "created": now,
        "version": EVENT_ENVELOPE_VERSION,
        "event": event.event_type,
        "tenant_id": event.tenant_id,
        **event.fields,
    }
    await conn.execute(
        """WITH event AS (
               INSERT INTO events (event_id, tenant_id, event_type, payload, created_at)
               VALUES (%(event_id)s, %(tenant)s, %(type)s, %(payload)s, to_timestamp(%(now)s))),
           delivery AS (
               INSERT INTO webhook_deliveries
                      (delivery_id, event_id, tenant_id, event_type, url, next_attempt_at)
               SELECT gen_random_uuid(), %(event_id)s::uuid, tenant_id, %(type)s::text, url, now()
                 FROM webhook_endpoints
                WHERE tenant_id = %(tenant)s AND %(type)s::text = ANY (enabled_events)
               RETURNING 1)
           SELECT pg_notify(%(channel)s, '') FROM (SELECT 1 FROM delivery LIMIT 1) AS wanted""",
        {"event_id": event_id, "tenant": event.tenant_id, "type": event.event_type,
         "payload": Jsonb(payload), "now": now, "channel": NOTIFY_CHANNEL},
    )
    return event_id
