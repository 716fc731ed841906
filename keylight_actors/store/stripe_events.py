"""The inbox of Stripe events: every verified event is kept, with what became of it.

An event's effects and its ``processed`` mark are written in one transaction, so an
event id is acted on exactly once however often Stripe delivers it.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from ..domain.errors import Conflict
from ..domain.stripe_events import EVENT_ALREADY_PROCESSED


async def record_received(
    conn: AsyncConnection, event: dict[str, Any], *, endpoint: str, tenant_id: str | None
) -> str:
    """Keep the event; answers its status (``received`` when new)."""
    cursor = await conn.execute(
        """INSERT INTO stripe_events (event_id, endpoint, account, tenant_id, event_type,
                                      payload, status)
           VALUES (%s, %s, %s, %s, %s, %s, 'received')
           ON CONFLICT (event_id) DO UPDATE SET event_id = EXCLUDED.event_id
           RETURNING status""",
        (event["id"], endpoint, event.get("account"), tenant_id, event.get("type", ""),
         Jsonb(event)),
    )
    row = await cursor.fetchone()
    assert row is not None
    return row["status"]


async def mark_processed(conn: AsyncConnection, event_id: str, tenant_id: str) -> None:
    """In the effect's transaction: claim the event, or refuse if it was already acted on."""
    cursor = await conn.execute(
        """UPDATE stripe_events SET status = 'processed', reason = NULL, tenant_id = %s,
                                    processed_at = now()
            WHERE event_id = %s AND status <> 'processed'
           RETURNING event_id""",
        (tenant_id, event_id),
    )
    # A returned row, not rowcount: it is known in pipeline mode too.
    if await cursor.fetchone() is None:
        raise Conflict("this Stripe event was already processed", code=EVENT_ALREADY_PROCESSED)


async def mark_outcome(
    conn: AsyncConnection, event_id: str, status: str, reason: str | None,
    tenant_id: str | None = None,
) -> None:
    await conn.execute(
        """UPDATE stripe_events SET status = %s, reason = %s,
                                    tenant_id = coalesce(%s, tenant_id), processed_at = now()
            WHERE event_id = %s AND status <> 'processed'""",
        (status, reason, tenant_id, event_id),
    )


async def hold(conn: AsyncConnection, event_id: str, reason: str, tenant_id: str,
               awaits: str) -> None:
    """Keep an event that needs a license not minted yet, with what it waits for."""
    await conn.execute(
        """UPDATE stripe_events SET status = 'held', reason = %s, tenant_id = %s, awaits = %s,
                                    processed_at = now()
            WHERE event_id = %s AND status <> 'processed'""",
        (reason, tenant_id, awaits, event_id),
    )


async def held_events(conn: AsyncConnection, tenant_id: str, awaits: list[str]
                      ) -> list[dict[str, Any]]:
    """The tenant's events held for any of ``awaits``, in the order they came."""
    cursor = await conn.execute(
        """SELECT event_id, endpoint, payload FROM stripe_events
            WHERE status = 'held' AND awaits = ANY(%s) AND tenant_id = %s
            ORDER BY received_at, event_id""",
        (awaits, tenant_id),
    )
    return await cursor.fetchall()


async def orphaned_held_events(conn: AsyncConnection, limit: int) -> list[dict[str, Any]]:
    """Held events whose license exists now, in the same tenant (its mint committed but did
    not apply them: the process died in between), oldest first, at most ``limit``
    (``{event_id, endpoint, payload}``). Read-only. The held events are few (the partial
    index ``stripe_events_held``); each is one probe of the license index for its kind (two
    correlated EXISTS, never a join over all licenses)."""
    cursor = await conn.execute(
        """SELECT e.event_id, e.endpoint, e.payload FROM stripe_events AS e
            WHERE e.status = 'held'
              AND (EXISTS (SELECT 1 FROM licenses AS l
                            WHERE e.awaits LIKE 'payment_intent:%%'
                              AND l.stripe_payment_intent_id = split_part(e.awaits, ':', 2)
                              AND l.tenant_id = e.tenant_id)
                OR EXISTS (SELECT 1 FROM licenses AS l
                            WHERE e.awaits LIKE 'subscription:%%'
                              AND l.stripe_subscription_id = split_part(e.awaits, ':', 2)
                              AND l.tenant_id = e.tenant_id))
            ORDER BY e.received_at, e.event_id
            LIMIT %s""",
        (limit,),
    )
    return await cursor.fetchall()


# A held event is shown as unmatched once it has waited this long: no mint came for it (it
# stays held, so a late mint still applies it, and the operator can replay it).
UNMATCHED_AFTER = "7 days"
SHOWN_STATUS = (f"(CASE WHEN status = 'held' AND received_at < now() - interval "
                f"'{UNMATCHED_AFTER}' THEN 'unmatched' ELSE status END)")


async def held_counts(conn: AsyncConnection, tenant_id: str) -> dict[str, int]:
    """A tenant's Stripe events still waiting for their license: ``held`` and ``unmatched``
    (held longer than UNMATCHED_AFTER)."""
    cursor = await conn.execute(
        f"""SELECT {SHOWN_STATUS} AS status, count(*) AS n FROM stripe_events
             WHERE status = 'held' AND tenant_id = %s GROUP BY 1""", (tenant_id,))
    return {"held": 0, "unmatched": 0} | {row["status"]: row["n"]
                                          for row in await cursor.fetchall()}


async def load_event(conn: AsyncConnection, event_id: str) -> dict[str, Any] | None:
    cursor = await conn.execute(
        "SELECT endpoint, status, payload FROM stripe_events WHERE event_id = %s", (event_id,)
    )
    return await cursor.fetchone()


async def list_events(
    conn: AsyncConnection, *, status: str | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first; a held event that waited longer than UNMATCHED_AFTER is shown, and
    filtered, as ``unmatched`` (read-only: nothing is written)."""
    stored = "held" if status == "unmatched" else status
    cursor = await conn.execute(
        f"""SELECT event_id, endpoint, account, tenant_id, event_type,
                   {SHOWN_STATUS} AS status, reason, awaits,
                   extract(epoch FROM received_at)::bigint AS received_at
              FROM stripe_events
             WHERE %(stored)s::text IS NULL
                OR (status = %(stored)s AND {SHOWN_STATUS} = %(status)s)
             ORDER BY received_at DESC, event_id
             LIMIT %(limit)s""",
        {"stored": stored, "status": status, "limit": limit},
    )
    return await cursor.fetchall()
