"""Subscription renewals, recorded per invoice so that each extends a license once."""

from __future__ import annotations

from psycopg import AsyncConnection


async def record_renewal(
    conn: AsyncConnection, invoice_id: str, license_id: str, renewed_until: int | None
) -> bool:
    """False when this invoice already renewed a license."""
    cursor = await conn.execute(
        """INSERT INTO license_renewals (invoice_id, license_id, renewed_until)
           VALUES (%s, %s, to_timestamp(%s)) ON CONFLICT (invoice_id) DO NOTHING
           RETURNING invoice_id""",
        (invoice_id, license_id, renewed_until),
    )
    # A returned row, not rowcount: it is known in pipeline mode too.
    return await cursor.fetchone() is not None
