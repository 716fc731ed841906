"""Each tenant's webhook endpoint: URL, wanted events, and its signing secrets (sealed)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

ENDPOINT_COLUMNS = """
    tenant_id, url, enabled_events,
    extract(epoch FROM previous_secret_until)::bigint AS previous_secret_until,
    extract(epoch FROM created_at)::bigint AS created_at,
    extract(epoch FROM updated_at)::bigint AS updated_at
"""


async def load_endpoint(conn: AsyncConnection, tenant_id: str) -> dict[str, Any] | None:
    """The endpoint without its secrets; ``previous_secret_until`` only while it still signs."""
    cursor = await conn.execute(
        f"""SELECT {ENDPOINT_COLUMNS},
                   previous_secret_until > now() AS previous_secret_signs
              FROM webhook_endpoints WHERE tenant_id = %s""",
        (tenant_id,),
    )
    row = await cursor.fetchone()
    if row is not None and not row.pop("previous_secret_signs"):
        row["previous_secret_until"] = None
    return row


async def save_endpoint(
    conn: AsyncConnection, tenant_id: str, url: str, events: list[str], sealed_secret: bytes
) -> bool:
    """Create the endpoint (with ``sealed_secret``) or change its URL and events (keeping its
    secret); answers whether it was created."""
    cursor = await conn.execute(
        """INSERT INTO webhook_endpoints (tenant_id, url, enabled_events, secret_sealed)
           VALUES (%s, %s, %s, %s)
           ON CONFLICT (tenant_id) DO UPDATE
              SET url = EXCLUDED.url, enabled_events = EXCLUDED.enabled_events,
                  updated_at = now()
           RETURNING (xmax = 0) AS created""",
        (tenant_id, url, events, sealed_secret),
    )
    row = await cursor.fetchone()
    assert row is not None
    return bool(row["created"])


async def rotate_secret(
    conn: AsyncConnection, tenant_id: str, sealed_secret: bytes, overlap_seconds: int
) -> int | None:
    """The new secret signs from now on; the current one keeps signing for the overlap.
    Answers until when (Unix seconds), or None when the tenant has no endpoint."""
    cursor = await conn.execute(
        """UPDATE webhook_endpoints
              SET previous_secret_sealed = secret_sealed,
                  previous_secret_until = now() + make_interval(secs => %s),
                  secret_sealed = %s,
                  updated_at = now()
            WHERE tenant_id = %s
        RETURNING extract(epoch FROM previous_secret_until)::bigint AS previous_secret_until""",
        (overlap_seconds, sealed_secret, tenant_id),
    )
    row = await cursor.fetchone()
    return None if row is None else int(row["previous_secret_until"])
