"""Webhook deliveries as rows with a due time: claimed with SKIP LOCKED, each attempt kept.

A claim pushes ``next_attempt_at`` one lease ahead and names its dispatcher; if that
dispatcher dies before recording the attempt, the delivery simply falls due again (at once,
when the same dispatcher restarts and releases its predecessor's claims).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

NOTIFY_CHANNEL = "keylight_webhooks"


@dataclass(frozen=True)
class ClaimedDelivery:
    delivery_id: str
    claim_id: str
    tenant_id: str
    event_type: str
    url: str  # the endpoint's current URL (or the last one used when it has none any more)
    payload: dict[str, Any]
    attempt_count: int
    round_start: int
    secret_sealed: bytes | None
    previous_secret_sealed: bytes | None  # only while it still signs


@dataclass(frozen=True)
class AttemptRecord:
    number: int
    url: str
    started_at: float
    duration_ms: int
    http_status: int | None
    snippet: str | None
    error: str | None


async def notify_dispatchers(conn: AsyncConnection) -> None:
    """Wakes the dispatchers when the surrounding transaction commits."""
    await conn.execute("SELECT pg_notify(%s, '')", (NOTIFY_CHANNEL,))


async def claim_due(
    conn: AsyncConnection, owner: str, limit: int, lease_seconds: float
) -> list[ClaimedDelivery]:
    """Up to ``limit`` due deliveries, oldest due first, now owned by ``owner`` for a lease."""
    async with conn.transaction():
        cursor = await conn.execute(
            """WITH due AS (
                   SELECT delivery_id FROM webhook_deliveries
                    WHERE next_attempt_at <= now()
                    ORDER BY next_attempt_at
                    LIMIT %(limit)s
                      FOR UPDATE SKIP LOCKED)
               UPDATE webhook_deliveries AS d
                  SET next_attempt_at = now() + make_interval(secs => %(lease)s),
                      claimed_by = %(owner)s,
                      claim_id = gen_random_uuid()
                 FROM due
                WHERE d.delivery_id = due.delivery_id
            RETURNING d.delivery_id::text AS delivery_id, d.claim_id::text AS claim_id,
                      d.event_id, d.tenant_id, d.event_type, d.url, d.attempt_count,
                      d.round_start""",
            {"limit": limit, "lease": lease_seconds, "owner": owner},
        )
        claimed = await cursor.fetchall()
        if not claimed:
            return []
        cursor = await conn.execute(
            """SELECT d.delivery_id::text AS delivery_id, ev.payload, ep.url AS endpoint_url,
                      ep.secret_sealed,
                      CASE WHEN ep.previous_secret_until > now()
                           THEN ep.previous_secret_sealed END AS previous_secret_sealed
                 FROM webhook_deliveries d
                 JOIN events ev ON ev.event_id = d.event_id
                 LEFT JOIN webhook_endpoints ep ON ep.tenant_id = d.tenant_id
                WHERE d.delivery_id = ANY (%s::uuid[])""",
            ([row["delivery_id"] for row in claimed],),
        )
        details = {row["delivery_id"]: row for row in await cursor.fetchall()}
    return [
        ClaimedDelivery(
            delivery_id=row["delivery_id"],
            claim_id=row["claim_id"],
            tenant_id=row["tenant_id"],
            event_type=row["event_type"],
            url=details[row["delivery_id"]]["endpoint_url"] or row["url"],
            payload=details[row["delivery_id"]]["payload"],
            attempt_count=row["attempt_count"],
            round_start=row["round_start"],
            secret_sealed=details[row["delivery_id"]]["secret_sealed"],
            previous_secret_sealed=details[row["delivery_id"]]["previous_secret_sealed"],
        )
        for row in claimed
    ]


async def record_attempt(
    conn: AsyncConnection,
    claimed: ClaimedDelivery,
    attempt: AttemptRecord,
    status: str,
    delay_seconds: int | None,
) -> bool:
    """The attempt and the delivery's new state, in one transaction. False (nothing written)
    when the claim was lost: its lease ran out and another claim took the delivery."""
    async with conn.transaction():
        cursor = await conn.execute(
            """UPDATE webhook_deliveries
                  SET attempt_count = %(number)s,
                      status = %(status)s,
                      url = %(url)s,
                      last_http_status = %(http_status)s,
                      last_response_snippet = %(snippet)s,
                      last_error = %(error)s,
                      next_attempt_at = CASE WHEN %(delay)s::float8 IS NULL THEN NULL
                                             ELSE now() + make_interval(secs => %(delay)s) END,
                      delivered_at = CASE WHEN %(status)s = 'delivered' THEN now()
                                          ELSE delivered_at END,
                      claimed_by = NULL,
                      claim_id = NULL,
                      updated_at = now()
                WHERE delivery_id = %(delivery)s AND claim_id = %(claim)s
            RETURNING 1""",
            {"number": attempt.number, "status": status, "url": attempt.url,
             "http_status": attempt.http_status, "snippet": attempt.snippet,
             "error": attempt.error, "delay": delay_seconds,
             "delivery": claimed.delivery_id, "claim": claimed.claim_id},
        )
        if await cursor.fetchone() is None:
            return False
        await conn.execute(
            """INSERT INTO webhook_attempts (delivery_id, attempt_number, url, started_at,
                                             duration_ms, http_status, response_snippet, error)
               VALUES (%s, %s, %s, to_timestamp(%s), %s, %s, %s, %s)
               ON CONFLICT (delivery_id, attempt_number) DO NOTHING""",
            (claimed.delivery_id, attempt.number, attempt.url, attempt.started_at,
             attempt.duration_ms, attempt.http_status, attempt.snippet, attempt.error),
        )
    return True


async def release_claims(conn: AsyncConnection, dispatcher: str, incarnation: str) -> int:
    """Claims held by earlier incarnations of ``dispatcher`` (it restarted: they are dead)
    are due again now."""
    async with conn.transaction():
        cursor = await conn.execute(
            """UPDATE webhook_deliveries
                  SET next_attempt_at = now(), claimed_by = NULL, claim_id = NULL
                WHERE claimed_by IS NOT NULL
                  AND split_part(claimed_by, '/', 1) = %s AND claimed_by <> %s""",
            (dispatcher, f"{dispatcher}/{incarnation}"),
        )
        return cursor.rowcount


async def seconds_until_next_due(conn: AsyncConnection) -> float | None:
    cursor = await conn.execute(
        """SELECT extract(epoch FROM min(next_attempt_at) - now())::float8 AS wait
             FROM webhook_deliveries WHERE next_attempt_at IS NOT NULL""")
    row = await cursor.fetchone()
    return None if row is None or row["wait"] is None else max(0.0, row["wait"])


@dataclass(frozen=True)
class QueueState:
    waiting: int           # not yet delivered nor given up: pending, retrying or being sent
    due: int               # of those, due now and not being sent
    oldest_seconds: float  # how long the oldest waiting delivery has waited since its event


async def queue_state(conn: AsyncConnection) -> QueueState:
    cursor = await conn.execute(
        """SELECT count(*) AS waiting,
                  count(*) FILTER (WHERE next_attempt_at <= now()) AS due,
                  COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest
             FROM webhook_deliveries WHERE next_attempt_at IS NOT NULL""")
    row = await cursor.fetchone()
    assert row is not None
    return QueueState(row["waiting"], row["due"], max(0.0, row["oldest"]))


DELIVERY_COLUMNS = """
    d.delivery_id::text AS delivery_id, d.event_id::text AS event_id, d.event_type, d.url,
    d.status, d.attempt_count, d.last_http_status, d.last_response_snippet, d.last_error,
    d.claimed_by IS NOT NULL AS in_flight,
    extract(epoch FROM d.next_attempt_at)::bigint AS next_attempt_at,
    extract(epoch FROM d.delivered_at)::bigint AS delivered_at,
    extract(epoch FROM d.created_at)::bigint AS created_at,
    (extract(epoch FROM d.created_at) * 1000000)::bigint AS created_us
"""


async def list_deliveries(
    conn: AsyncConnection, tenant_id: str, *, status: str | None,
    after: tuple[int, str] | None, limit: int,
) -> list[dict[str, Any]]:
    """Newest first; ``after`` is the (created_at in microseconds, delivery_id) of the last
    row seen."""
    after_created, after_id = after if after else (None, None)
    cursor = await conn.execute(
        f"""SELECT {DELIVERY_COLUMNS}
              FROM webhook_deliveries d
             WHERE d.tenant_id = %(tenant)s
               AND (%(status)s::text IS NULL OR d.status = %(status)s)
               AND (%(after_created)s::bigint IS NULL
                    OR (d.created_at, d.delivery_id)
                       < (timestamptz 'epoch' + %(after_created)s * interval '1 microsecond',
                          %(after_id)s::uuid))
             ORDER BY d.created_at DESC, d.delivery_id DESC
             LIMIT %(limit)s""",
        {"tenant": tenant_id, "status": status, "after_created": after_created,
         "after_id": after_id, "limit": limit},
    )
    return await cursor.fetchall()


async def load_delivery(conn: AsyncConnection, tenant_id: str, delivery_id: str
                        ) -> dict[str, Any] | None:
    cursor = await conn.execute(
        f"""SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d
             WHERE d.tenant_id = %s AND d.delivery_id = %s""",
        (tenant_id, delivery_id),
    )
    return await cursor.fetchone()


async def attempts_of(conn: AsyncConnection, delivery_ids: list[str]
                      ) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {delivery_id: [] for delivery_id in delivery_ids}
    if not delivery_ids:
        return found
    cursor = await conn.execute(
        """SELECT delivery_id::text AS delivery_id, attempt_number, url,
                  extract(epoch FROM started_at)::float8 AS started_at, duration_ms,
                  http_status, response_snippet, error
             FROM webhook_attempts
            WHERE delivery_id = ANY (%s::uuid[])
            ORDER BY delivery_id, attempt_number""",
        (delivery_ids,),
    )
    for row in await cursor.fetchall():
        found[row.pop("delivery_id")].append(row)
    return found


async def redeliver(conn: AsyncConnection, tenant_id: str, delivery_id: str) -> bool:
    """Send the delivery again now. A delivered or failed one starts a new round of
    attempts (with the full retry schedule); one waiting for a retry is brought forward;
    one being sent right now is left alone. False when the tenant has no such delivery."""
    async with conn.transaction():
        cursor = await conn.execute(
            """UPDATE webhook_deliveries
                  SET status = CASE WHEN status IN ('delivered', 'failed') THEN 'pending'
                                    ELSE status END,
                      round_start = CASE WHEN status IN ('delivered', 'failed')
                                         THEN attempt_count ELSE round_start END,
                      next_attempt_at = CASE WHEN claimed_by IS NULL THEN now()
                                             ELSE next_attempt_at END,
                      updated_at = now()
                WHERE tenant_id = %s AND delivery_id = %s
            RETURNING 1""",
            (tenant_id, delivery_id),
        )
        if await cursor.fetchone() is None:
            return False
        await notify_dispatchers(conn)
    return True
