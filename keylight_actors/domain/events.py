"""An event a change announces to the tenant's webhook: what happened, to which tenant.

Use cases record events on their unit of work; the store writes them to the outbox in the
same transaction as the change (store/events.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

EVENT_ENVELOPE_VERSION = "2026-05-01"


def iso_time(unix_seconds: int | None) -> str | None:
    """A time as events and the management API show it: ISO 8601, UTC, to the second."""
    if unix_seconds is None:
        return None
    return datetime.fromtimestamp(unix_seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
