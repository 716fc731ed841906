"""Keyless instances (trial and free-tier devices without a license key)."""

from __future__ import annotations

from typing import Any

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


async def link_keyless_instance(
    conn: AsyncConnection, tenant_id: str, product_id: str, instance_id: str, key_hash: str
) -> bool:
    """Link the keyless row of this tenant, product and instance to the license of
    ``key_hash`` (of the same tenant and product); True when a row was linked. An unknown
    instance, or one already linked, is left as it is."""
    cursor = await conn.execute(
        """UPDATE keyless_instances k
              SET license_id = l.license_id, linked_at = now()
             FROM licenses l
            WHERE k.tenant_id = %s AND k.product_id = %s AND k.instance_id = %s
              AND k.license_id IS NULL
              AND l.key_hash = %s AND l.tenant_id = k.tenant_id
              AND l.product_id = k.product_id""",
        (tenant_id, product_id, instance_id, key_hash),
    )
    return cursor.rowcount > 0


async def list_keyless_instances(
    conn: AsyncConnection,
    tenant_id: str,
    *,
    product_id: str | None,
    state: str | None,
    after: tuple[int, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Newest first seen first; ``after`` is the (first_seen_at in microseconds, instance_id)
    of the last row seen. Times in Unix seconds."""
    after_seen, after_id = after if after else (None, None)
    cursor = await conn.execute(
        """SELECT product_id, instance_id, state, machine_hash,
                  license_id::text AS license_id,
                  floor(extract(epoch FROM first_seen_at))::bigint AS first_seen_at,
                  floor(extract(epoch FROM last_seen_at))::bigint AS last_seen_at,
                  floor(extract(epoch FROM linked_at))::bigint AS linked_at,
                  (extract(epoch FROM first_seen_at) * 1000000)::bigint AS first_seen_us
             FROM keyless_instances k
            WHERE tenant_id = %(tenant)s
              AND (%(product)s::text IS NULL OR product_id = %(product)s)
              AND (%(state)s::text IS NULL OR state = %(state)s)
              AND (%(after_seen)s::bigint IS NULL
                   OR (k.first_seen_at, k.instance_id)
                      < (timestamptz 'epoch' + %(after_seen)s * interval '1 microsecond',
                         %(after_id)s::text))
            ORDER BY k.first_seen_at DESC, k.instance_id DESC  -- the columns, not the
                                                               -- seconds of the same name
            LIMIT %(limit)s""",
        {"tenant": tenant_id, "product": product_id, "state": state,
         "after_seen": after_seen, "after_id": after_id, "limit": limit},
    )
    return await cursor.fetchall()


async def keyless_instances_of_license(
    conn: AsyncConnection, tenant_id: str, license_id: str
) -> list[dict[str, Any]]:
    """The keyless rows linked to a license, oldest link first (times in Unix seconds)."""
    cursor = await conn.execute(
        """SELECT instance_id, state,
                  floor(extract(epoch FROM first_seen_at))::bigint AS first_seen_at,
                  floor(extract(epoch FROM last_seen_at))::bigint AS last_seen_at,
                  floor(extract(epoch FROM linked_at))::bigint AS linked_at
             FROM keyless_instances k
            WHERE license_id = %s AND tenant_id = %s
            ORDER BY k.linked_at, k.instance_id""",
        (license_id, tenant_id),
    )
    return await cursor.fetchall()
