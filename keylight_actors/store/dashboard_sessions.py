"""The dashboard's sessions and failed sign-ins (migration 0015); SQL only, no decisions."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection


async def create_session(conn: AsyncConnection, *, session_hash: str, role: str,
                         tenant_id: str | None, token_hash: str,
                         absolute_seconds: int) -> None:
    await conn.execute(
        """INSERT INTO dashboard_sessions (session_hash, role, tenant_id, token_hash, expires_at)
           VALUES (%s, %s, %s, %s, now() + %s * interval '1 second')""",
        (session_hash, role, tenant_id, token_hash, absolute_seconds))


async def live_session(conn: AsyncConnection, session_hash: str, *, idle_seconds: int,
                       touch_after_seconds: int) -> dict[str, Any] | None:
    """The session if neither its idle nor its absolute expiry has passed; its last use is
    moved to now when it is older than ``touch_after_seconds`` (not a write per page)."""
    cursor = await conn.execute(
        """SELECT session_hash, role, tenant_id, token_hash,
                  last_seen_at < now() - %(touch)s * interval '1 second' AS stale
             FROM dashboard_sessions
            WHERE session_hash = %(hash)s AND expires_at > now()
              AND last_seen_at > now() - %(idle)s * interval '1 second'""",
        {"hash": session_hash, "idle": idle_seconds, "touch": touch_after_seconds})
    row = await cursor.fetchone()
    if row is not None and row["stale"]:
        await conn.execute(
            "UPDATE dashboard_sessions SET last_seen_at = now() WHERE session_hash = %s",
            (session_hash,))
    return row


async def delete_session(conn: AsyncConnection, session_hash: str) -> None:
    await conn.execute("DELETE FROM dashboard_sessions WHERE session_hash = %s",
                       (session_hash,))


async def delete_dead_sessions(conn: AsyncConnection, *, idle_seconds: int) -> None:
    await conn.execute(
        """DELETE FROM dashboard_sessions
            WHERE expires_at <= now() OR last_seen_at <= now() - %s * interval '1 second'""",
        (idle_seconds,))


async def recent_failures(conn: AsyncConnection, address: str, window_seconds: int
                          ) -> tuple[int, float]:
    """How many sign-ins failed from ``address`` within the window, and the seconds until
    the oldest of them leaves it."""
    cursor = await conn.execute(
        """SELECT count(*) AS n,
                  coalesce(extract(epoch FROM min(failed_at)
                                   + %(window)s * interval '1 second' - now()), 0) AS wait
             FROM dashboard_signin_failures
            WHERE address = %(address)s
              AND failed_at > now() - %(window)s * interval '1 second'""",
        {"address": address, "window": window_seconds})
    row = await cursor.fetchone()
    return int(row["n"]), float(row["wait"])


async def record_failure(conn: AsyncConnection, address: str, *, keep_seconds: int) -> None:
    await conn.execute("INSERT INTO dashboard_signin_failures (address) VALUES (%s)",
                       (address,))
    await conn.execute(
        "DELETE FROM dashboard_signin_failures WHERE failed_at < now() - %s * interval '1 second'",
        (keep_seconds,))
