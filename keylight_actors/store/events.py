"""The event outbox: rows written in the same transaction as the change they announce.

Each event also gets its webhook delivery (when the tenant's endpoint wants that event) in
that same transaction, and a NOTIFY that Postgres hands to the dispatchers on commit only.
"""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from ..domain.events import EVENT_ENVELOPE_VERSION, OutboundEvent
from .webhook_deliveries import NOTIFY_CHANNEL

__all__ = ["EVENT_ENVELOPE_VERSION", "EVENT_OUTBOX_CTES", "EVENT_ROW_TYPE", "OutboundEvent",
           "insert_event"]

# The outbox rows for a set of events, as common table expressions that follow a WITH
# clause naming ``{source}``: a relation of (event_id, tenant_id, event_type, payload,
# created). The statement's final SELECT must read ``notified`` (one NOTIFY at most,
# and only when a delivery was queued).
EVENT_OUTBOX_CTES = """
           event AS (
               INSERT INTO events (event_id, tenant_id, event_type, payload, created_at)
               SELECT e.event_id, e.tenant_id, e.event_type, e.payload, to_timestamp(e.created)
                 FROM {source} AS e
            RETURNING event_id, tenant_id, event_type),
           delivery AS (
               INSERT INTO webhook_deliveries
                      (delivery_id, event_id, tenant_id, event_type, url, next_attempt_at)
               SELECT gen_random_uuid(), event.event_id, event.tenant_id, event.event_type,
                      w.url, now()
                 FROM event
                 JOIN webhook_endpoints AS w
                   ON w.tenant_id = event.tenant_id AND event.event_type = ANY (w.enabled_events)
            RETURNING 1),
           notified AS (
               SELECT pg_notify(%(notify_channel)s, '')
                 FROM (SELECT 1 FROM delivery LIMIT 1) AS wanted)
"""
EVENT_ROW_TYPE = "event_id uuid, tenant_id text, event_type text, payload jsonb, created bigint"


async def insert_event(conn: AsyncConnection, event: OutboundEvent, now: int) -> str:
    row = event.row(now)
    await conn.execute(
        "WITH source AS (SELECT * FROM jsonb_to_recordset(%(events)s) AS e("
        + EVENT_ROW_TYPE + ")),"
        + EVENT_OUTBOX_CTES.format(source="source")
        + "SELECT count(*) FROM notified",
        {"events": Jsonb([row]), "notify_channel": NOTIFY_CHANNEL},
    )
    return str(row["event_id"])
