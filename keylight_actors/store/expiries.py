"""The expiry sweep's due rows: licenses past an expires_at not yet announced.

A license is due when it is active, its ``expires_at`` has passed and
``expiry_announced_for`` is not that expiry (the partial index ``licenses_expiry_due``
holds exactly the active licenses whose current expiry is unannounced, so an idle pass is
one index probe). A claim is a lease (``expiry_claimed_until``): rows are locked only for
the claim's own short transaction, never while the license host is asked, and a claim
whose sweeper died runs out and is claimed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection

DUE = """l.status = 'active' AND l.expires_at IS NOT NULL
         AND l.expiry_announced_for IS DISTINCT FROM l.expires_at"""


@dataclass(frozen=True, slots=True)
class DueExpiry:
    license_id: str
    key_hash: str
    tenant_id: str
    expires_at: int  # Unix seconds: the expiry this claim is for
    claimed_until: datetime  # the claim's own mark, to release only this claim


CLAIM_DUE = f"""
    WITH due AS (
        SELECT l.license_id FROM licenses l
         WHERE {DUE} AND l.expires_at <= now()
           AND (l.expiry_claimed_until IS NULL OR l.expiry_claimed_until <= now())
         ORDER BY l.expires_at
         LIMIT %(limit)s
           FOR UPDATE SKIP LOCKED)
    UPDATE licenses AS l
       SET expiry_claimed_until = clock_timestamp() + make_interval(secs => %(lease)s)
      FROM due
     WHERE l.license_id = due.license_id
 RETURNING l.license_id::text AS license_id, l.key_hash, l.tenant_id,
           extract(epoch FROM l.expires_at)::bigint AS expires_at,
           l.expiry_claimed_until AS claimed_until"""


async def claim_due_expiries(conn: AsyncConnection, limit: int, lease_seconds: float
                             ) -> list[DueExpiry]:
    """Up to ``limit`` due licenses, earliest expiry first, claimed for a lease."""
    async with conn.transaction():
        cursor = await conn.execute(CLAIM_DUE, {"limit": limit, "lease": lease_seconds})
        rows = await cursor.fetchall()
    return [DueExpiry(row["license_id"], row["key_hash"], row["tenant_id"],
                      row["expires_at"], row["claimed_until"]) for row in rows]


async def release_expiry_claims(conn: AsyncConnection, claims: list[DueExpiry]) -> int:
    """Clear these claims (each only while it is still this claim): a license the host
    declined (renewed, suspended, its expiry moved meanwhile) is due again at once if it
    still is due; one announced has left the due rows anyway."""
    if not claims:
        return 0
    async with conn.transaction():
        cursor = await conn.execute(
            """UPDATE licenses AS l SET expiry_claimed_until = NULL
                 FROM unnest(%s::uuid[], %s::timestamptz[]) AS c(license_id, claimed_until)
                WHERE l.license_id = c.license_id
                  AND l.expiry_claimed_until = c.claimed_until""",
            ([claim.license_id for claim in claims],
             [claim.claimed_until for claim in claims]))
    return cursor.rowcount


async def seconds_until_next_expiry(conn: AsyncConnection) -> float | None:
    """How long until the next unannounced expiry still ahead (one probe of the due index);
    None when there is none."""
    cursor = await conn.execute(
        f"""SELECT extract(epoch FROM min(l.expires_at) - now())::float8 AS seconds
              FROM licenses l WHERE {DUE} AND l.expires_at > now()""")
    row = await cursor.fetchone()
    seconds = row["seconds"] if isinstance(row, dict) else (row[0] if row else None)
    return None if seconds is None else max(0.0, float(seconds))
