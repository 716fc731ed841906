"""Keyless instances (trial and free-tier devices without a license key)."""

from __future__ import annotations

from psycopg import AsyncConnection

KEYLESS_WRITE_INTERVAL = "6 hours"


async def record_keyless_instance(
    conn: AsyncConnection, tenant_id: str, product_id: str, instance_id: str, state: str,
    machine_hash: str,
) -> None:
    """Insert, or refresh a check-in older than six hours; other processes may race us."""
    await conn.execute(
        f"""INSERT INTO keyless_instances (tenant_id, product_id, instance_id, state,
                                          machine_hash)
            VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (tenant_id, product_id, instance_id) DO UPDATE
               SET state = EXCLUDED.state, machine_hash = EXCLUDED.machine_hash,
                   last_seen_at = now()
             WHERE keyless_instances.last_seen_at < now() - interval '{KEYLESS_WRITE_INTERVAL}'""",
        (tenant_id, product_id, instance_id, state, machine_hash),
    )
