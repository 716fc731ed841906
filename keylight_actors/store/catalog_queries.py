"""Read-only catalog queries for the management API: products and key types as stored.

The tenant host writes the catalog through to PostgreSQL before it answers, so these reads
see every acknowledged change.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

PRODUCT_COLUMNS = """p.product_id, p.display_name, p.key_prefix, p.status,
    p.trial_duration_days, p.free_tier_enabled,
    extract(epoch FROM p.created_at)::bigint AS created_at"""

KEY_TYPE_COLUMNS = """k.product_id, k.key_type_id, k.display_name, k.activation_limit,
    k.duration_days, k.price_in_cents, k.currency, k.recurring_interval, k.entitlements,
    k.fallback_access, k.churn_limit_per_day, k.stripe_price_id, p.status,
    extract(epoch FROM k.created_at)::bigint AS created_at,
    extract(epoch FROM k.updated_at)::bigint AS updated_at"""


async def list_products(conn: AsyncConnection, tenant_id: str, *, after: str | None,
                        limit: int) -> list[dict[str, Any]]:
    """In ``product_id`` order, starting after the ``after`` product."""
    cursor = await conn.execute(
        f"""SELECT {PRODUCT_COLUMNS} FROM products p
             WHERE p.tenant_id = %s AND (%s::text IS NULL OR p.product_id > %s)
             ORDER BY p.product_id LIMIT %s""",
        (tenant_id, after, after, limit))
    return await cursor.fetchall()


async def get_product(conn: AsyncConnection, tenant_id: str, product_id: str
                      ) -> dict[str, Any] | None:
    cursor = await conn.execute(
        f"SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant_id = %s AND p.product_id = %s",
        (tenant_id, product_id))
    return await cursor.fetchone()


async def list_key_types(conn: AsyncConnection, tenant_id: str, product_id: str, *,
                         after: str | None, limit: int) -> list[dict[str, Any]]:
    """A product's key types in ``key_type_id`` order, starting after ``after``."""
    cursor = await conn.execute(
        f"""SELECT {KEY_TYPE_COLUMNS}
              FROM key_types k JOIN products p USING (tenant_id, product_id)
             WHERE k.tenant_id = %s AND k.product_id = %s
               AND (%s::text IS NULL OR k.key_type_id > %s)
             ORDER BY k.key_type_id LIMIT %s""",
        (tenant_id, product_id, after, after, limit))
    return await cursor.fetchall()


async def get_key_type(conn: AsyncConnection, tenant_id: str, product_id: str,
                       key_type_id: str) -> dict[str, Any] | None:
    cursor = await conn.execute(
        f"""SELECT {KEY_TYPE_COLUMNS}
              FROM key_types k JOIN products p USING (tenant_id, product_id)
             WHERE k.tenant_id = %s AND k.product_id = %s AND k.key_type_id = %s""",
        (tenant_id, product_id, key_type_id))
    return await cursor.fetchone()
