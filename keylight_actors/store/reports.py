"""Read-only report queries: a tenant's usage by day, its licenses for export, the tenant list.

Counts come from the rows the hosts write through, so they include every acknowledged change;
the per-day ones and the tenant list's license counts from counters that the inserts keep in
their own transactions (migration 0019), so they equal a count of the rows at every commit.
A license whose ``expires_at`` has passed counts as ``expired`` whatever its stored status.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

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


# Both series from the per-day counters (migration 0019), kept exact by triggers on the
# inserts they count: a range of at most a few rows per day in the counters' primary key,
# whatever the number of licenses and devices.
PER_DAY = """
    SELECT d::date AS day, coalesce(sum(c.activations), 0)::bigint AS activations,
           coalesce(sum(c.new_licenses), 0)::bigint AS new_licenses
      FROM generate_series((now() AT TIME ZONE 'utc')::date - (%(days)s - 1),
                           (now() AT TIME ZONE 'utc')::date, interval '1 day') d
      LEFT JOIN tenant_daily_counts c ON c.tenant_id = %(tenant)s AND c.day = d::date
     GROUP BY 1 ORDER BY 1"""
# SHOWN_STATUS counted without hashing a CASE per row: grouped by the stored status in the
# order of licenses_by_tenant_status (an index-only scan), the active ones past their
# expires_at split off as expired.
LICENSES_BY_STATUS = """
    SELECT l.status, count(*) AS n,
           count(*) FILTER (WHERE l.status = 'active' AND l.expires_at <= now()) AS expired
      FROM licenses l WHERE l.tenant_id = %(tenant)s GROUP BY l.status"""
DELIVERIES_BY_STATUS = """
    SELECT status, count(*) AS n FROM webhook_deliveries
     WHERE tenant_id = %(tenant)s GROUP BY 1"""
STATS_QUERIES = (PER_DAY, LICENSES_BY_STATUS, DELIVERIES_BY_STATUS)


async def _without_jit(conn: AsyncConnection) -> None:
    # At a million licenses the cost estimates turn JIT on and compiling costs more than
    # it saves (docs/performance.md); for this transaction only.
    await conn.execute("SET LOCAL jit = off")


async def _rows(conn: AsyncConnection, query: str, params: dict[str, Any]
                ) -> list[dict[str, Any]]:
    return await (await conn.execute(query, params)).fetchall()


async def _pooled_rows(pool: AsyncConnectionPool, query: str, params: dict[str, Any]
                       ) -> list[dict[str, Any]]:
    async with pool.connection() as conn, conn.transaction():
        await _without_jit(conn)
        return await _rows(conn, query, params)


async def tenant_stats(source: AsyncConnection | AsyncConnectionPool, tenant_id: str,
                       days: int) -> TenantStats:
    """Every UTC day of the last ``days`` (today included) with its count, zeros too.

    Given a pool, the three queries run at once, each on a connection of its own, so the
    answer takes as long as the slowest of them rather than their sum (each reads its own
    snapshot: they are counts of different things, a write between them shows in one and
    not yet in another). Given a connection, they run one after another in one
    transaction."""
    params = {"tenant": tenant_id, "days": days}
    if isinstance(source, AsyncConnectionPool):
        results = await asyncio.gather(
            *(_pooled_rows(source, query, params) for query in STATS_QUERIES))
    else:
        async with source.transaction():
            await _without_jit(source)
            results = [await _rows(source, query, params) for query in STATS_QUERIES]
    per_day, by_status, deliveries = results
    licenses_by_status = {status: 0 for status in LICENSE_STATUSES}
    for row in by_status:
        licenses_by_status[row["status"]] = row["n"] - row["expired"]
        licenses_by_status["expired"] += row["expired"]
    return TenantStats(
        activations_per_day=[DayCount(row["day"], row["activations"]) for row in per_day],
        new_licenses_per_day=[DayCount(row["day"], row["new_licenses"]) for row in per_day],
        licenses_by_status=licenses_by_status,
        deliveries_by_status={status: 0 for status in DELIVERY_STATUSES}
        | {row["status"]: row["n"] for row in deliveries},
    )


def contains_pattern(text: str) -> str:
    """An ILIKE pattern (``ESCAPE '\\'``) matching any value that contains ``text``
    literally: its ``%``, ``_`` and ``\\`` are escaped, not wildcards."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def tenant_page(conn: AsyncConnection, *, lifecycle: str | None, after: str | None,
                      limit: int, search: str | None = None) -> list[dict[str, Any]]:
    """Tenants in ``tenant_id`` order after ``after``, each with its license count and how it
    is connected to Stripe (``connect``, ``manual`` or ``none``); with ``search``, only those
    whose id or name contains it, case-insensitively (the keyset on ``tenant_id`` pages
    through the matches alone)."""
    cursor = await conn.execute(
        r"""SELECT t.tenant_id, t.name, t.lifecycle,
                  extract(epoch FROM t.created_at)::bigint AS created_at,
                  CASE WHEN t.stripe_account_id IS NOT NULL THEN 'connect'
                       WHEN t.stripe_manual_secret_key_sealed IS NOT NULL THEN 'manual'
                       ELSE 'none' END AS stripe_mode,
                  t.stripe_account_id,
                  -- exact: migration 0019 counts every license insert; none is ever deleted
                  (SELECT coalesce(sum(c.new_licenses), 0) FROM tenant_daily_counts c
                    WHERE c.tenant_id = t.tenant_id)::bigint AS license_count
             FROM tenants t
            WHERE (%(lifecycle)s::text IS NULL OR t.lifecycle = %(lifecycle)s)
              AND (%(pattern)s::text IS NULL
                   OR t.tenant_id ILIKE %(pattern)s ESCAPE '\'
                   OR t.name ILIKE %(pattern)s ESCAPE '\')
              AND (%(after)s::text IS NULL OR t.tenant_id > %(after)s)
            ORDER BY t.tenant_id LIMIT %(limit)s""",
        {"lifecycle": lifecycle, "after": after, "limit": limit,
         "pattern": contains_pattern(search) if search is not None else None})
    return await cursor.fetchall()
