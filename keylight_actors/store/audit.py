"""The audit log: one row per management action, written with the action itself."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from ..domain.audit import AuditEntry

__all__ = ["AuditEntry", "list_audit", "record_audit"]


async def record_audit(conn: AsyncConnection, entry: AuditEntry) -> None:
    await conn.execute(
        """INSERT INTO audit_log (tenant_id, actor, action, target, details)
           VALUES (%s, %s, %s, %s, %s)""",
        (entry.tenant_id, entry.actor, entry.action, entry.target, Jsonb(entry.details)),
    )


async def list_audit(
    conn: AsyncConnection, tenant_id: str, *, before_id: int | None, limit: int
) -> list[dict[str, Any]]:
    cursor = await conn.execute(
        """SELECT audit_id, actor, action, target, details,
                  extract(epoch FROM created_at)::bigint AS created_at
             FROM audit_log
            WHERE tenant_id = %s AND (%s::bigint IS NULL OR audit_id < %s)
            ORDER BY audit_id DESC
            LIMIT %s""",
        (tenant_id, before_id, before_id, limit),
    )
    return await cursor.fetchall()
