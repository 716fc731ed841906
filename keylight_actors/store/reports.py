"""Read-only report queries: a tenant's usage by day, its licenses for export, the tenant list.

Counts come from the rows the hosts write through, so they include every acknowledged change.
A license whose ``expires_at`` has passed counts as ``expired`` whatever its stored status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from .licenses import LICENSE_STATUSES, SHOWN_STATUS, LicenseFilter

__all__ = ["LICENSE_STATUSES", "LicenseFilter", "export_rows", "tenant_page", "tenant_stats"]

EXPORT_BATCH_ROWS = 2000


EXPORT_COLUMNS = ("license_id", "key_display", "product_id", "key_type_id", "customer_email",
                  "status", "activation_limit", "active_instances", "created_at", "expires_at",
                  "source")


async def export_rows(conn: AsyncConnection, tenant_id: str, which: LicenseFilter
                      ) -> AsyncIterator[tuple[Any, ...]]:
    """The matching licenses, oldest first, as ``EXPORT_COLUMNS`` tuples, read through a
    server-side cursor so memory stays flat whatever their number."""
    condition, params = which.where()
    async with conn.transaction(), conn.cursor(name="license_export") as cursor:
        await cursor.execute(
            f"""SELECT l.license_id::text, l.key_display, l.product_id, l.key_type_id,
                       l.customer_email,
                       {SHOWN_STATUS},
                       l.activation_limit,
                       (SELECT count(*) FROM license_instances i
                         WHERE i.license_id = l.license_id AND i.deactivated_at IS NULL),
                       l.created_at, l.expires_at, l.source
                  FROM licenses l
                 WHERE {condition}
                 ORDER BY l.created_at, l.license_id""",
            {**params, "tenant": tenant_id})
        while rows := await cursor.fetchmany(EXPORT_BATCH_ROWS):
            for row in rows:
                yield tuple(row.values()) if isinstance(row, dict) else tuple(row)


@dataclass(frozen=True)
class DayCount:
    date: dt.date
    count: int


@dataclass(frozen=True)
class TenantStats:
    activations_per_day: list[DayCount]
    new_licenses_per_day: list[DayCount]
    licenses_by_status: dict[str, int]
    deliveries_by_status: dict[str, int]


DELIVERY_STATUSES = ("pending", "delivered", "retrying", "failed")


async def tenant_stats(conn: AsyncConnection, tenant_id: str, days: int) -> TenantStats:
    """Every UTC day of the last ``days`` (today included) with its count, zeros too."""
    per_day = """SELECT d::date AS day, coalesce(c.n, 0) AS n
                   FROM generate_series((now() AT TIME ZONE 'utc')::date - (%(days)s - 1),
                                        (now() AT TIME ZONE 'utc')::date, interval '1 day') d
                   LEFT JOIN ({counts}) c ON c.day = d::date
                  ORDER BY d"""
    since = "(now() AT TIME ZONE 'utc')::date - (%(days)s - 1)"
    activations = per_day.format(counts=f"""
        SELECT (i.activated_at AT TIME ZONE 'utc')::date AS day, count(*) AS n
          FROM license_instances i JOIN licenses l USING (license_id)
         WHERE l.tenant_id = %(tenant)s AND i.activated_at >= {since}
         GROUP BY 1""")
    new_licenses = per_day.format(counts=f"""
        SELECT (l.created_at AT TIME ZONE 'utc')::date AS day, count(*) AS n
          FROM licenses l
         WHERE l.tenant_id = %(tenant)s AND l.created_at >= {since}
         GROUP BY 1""")
    params = {"tenant": tenant_id, "days": days}
    # One snapshot for the four counts, and no JIT: at a million licenses the cost
    # estimates turn it on and compiling costs more than it saves (docs/performance.md).
    async with conn.transaction():
        await conn.execute("SET LOCAL jit = off")
        activation_rows = await (await conn.execute(activations, params)).fetchall()
        license_rows = await (await conn.execute(new_licenses, params)).fetchall()
        # SHOWN_STATUS counted without hashing a CASE per row: grouped by the stored status
        # in the order of licenses_by_tenant_status (an index-only scan), the active ones
        # past their expires_at split off as expired.
        by_status = await (await conn.execute(
            """SELECT l.status, count(*) AS n,
                      count(*) FILTER (WHERE l.status = 'active' AND l.expires_at <= now())
                          AS expired
                 FROM licenses l WHERE l.tenant_id = %(tenant)s GROUP BY l.status""",
            params)).fetchall()
        deliveries = await (await conn.execute(
            """SELECT status, count(*) AS n FROM webhook_deliveries
                WHERE tenant_id = %(tenant)s GROUP BY 1""", params)).fetchall()
    licenses_by_status = {status: 0 for status in LICENSE_STATUSES}
    for row in by_status:
        licenses_by_status[row["status"]] = row["n"] - row["expired"]
        licenses_by_status["expired"] += row["expired"]
    return TenantStats(
        activations_per_day=[DayCount(row["day"], row["n"]) for row in activation_rows],
        new_licenses_per_day=[DayCount(row["day"], row["n"]) for row in license_rows],
        licenses_by_status=licenses_by_status,
        deliveries_by_status={status: 0 for status in DELIVERY_STATUSES}
        | {row["status"]: row["n"] for row in deliveries},
    )


async def tenant_page(conn: AsyncConnection, *, lifecycle: str | None, after: str | None,
                      limit: int) -> list[dict[str, Any]]:
    """Tenants in ``tenant_id`` order after ``after``, each with its license count and how it
    is connected to Stripe (``connect``, ``manual`` or ``none``)."""
    cursor = await conn.execute(
        """SELECT t.tenant_id, t.name, t.lifecycle,
                  extract(epoch FROM t.created_at)::bigint AS created_at,
                  CASE WHEN t.stripe_account_id IS NOT NULL THEN 'connect'
                       WHEN t.stripe_manual_secret_key_sealed IS NOT NULL THEN 'manual'
                       ELSE 'none' END AS stripe_mode,
                  t.stripe_account_id,
                  (SELECT count(*) FROM licenses l WHERE l.tenant_id = t.tenant_id)
                      AS license_count
             FROM tenants t
            WHERE (%(lifecycle)s::text IS NULL OR t.lifecycle = %(lifecycle)s)
              AND (%(after)s::text IS NULL OR t.tenant_id > %(after)s)
            ORDER BY t.tenant_id LIMIT %(limit)s""",
        {"lifecycle": lifecycle, "after": after, "limit": limit})
    return await cursor.fetchall()
