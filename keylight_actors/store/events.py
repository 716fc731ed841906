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


@dataclass(frozen=True)
class OutboundEvent:
    tenant_id: str
    event_type: str
    fields: dict[str, Any]

    def row(self, now: int) -> dict[str, Any]:
        """The outbox row, with a new event id, as the outbox statements read it."""
        event_id = str(uuid.uuid4())
        return {
            "event_id": event_id,
            "tenant_id": self.tenant_id,
            "event_type": self.event_type,
            "created": now,
            "payload": {
                "id": event_id,
                "created": now,
                "version": EVENT_ENVELOPE_VERSION,
                "event": self.event_type,
                "tenant_id": self.tenant_id,
                **self.fields,
            },
        }


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
