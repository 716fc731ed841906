"""The event outbox: rows written in the same transaction as the change they announce."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

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
        """INSERT INTO events (event_id, tenant_id, event_type, payload, created_at)
           VALUES (%s, %s, %s, %s, to_timestamp(%s))""",
        (event_id, event.tenant_id, event.event_type, Jsonb(payload), now),
    )
    return event_id
