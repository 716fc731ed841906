"""Stored first answers for Idempotency-Key replays."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import AsyncConnection

REPLAY_WINDOW = "24 hours"


@dataclass(frozen=True)
class StoredAnswer:
    request_hash: str
    status_code: int | None  # None while the first request is still running
    response_sealed: bytes | None


async def claim(conn: AsyncConnection, scope: str, key: str, request_hash: str
                ) -> StoredAnswer | None:
    """Claim the key for this request; answers what is stored when someone already has."""
    await conn.execute(
        f"""DELETE FROM idempotency_keys WHERE scope = %s AND idempotency_key = %s
             AND created_at < now() - interval '{REPLAY_WINDOW}'""",
        (scope, key),
    )
    cursor = await conn.execute(
        """INSERT INTO idempotency_keys (scope, idempotency_key, request_hash)
           VALUES (%s, %s, %s) ON CONFLICT DO NOTHING""",
        (scope, key, request_hash),
    )
    if cursor.rowcount == 1:
        return None
    cursor = await conn.execute(
        """SELECT request_hash, status_code, response_sealed FROM idempotency_keys
            WHERE scope = %s AND idempotency_key = %s""",
        (scope, key),
    )
    row = await cursor.fetchone()
    assert row is not None
    sealed = row["response_sealed"]
    return StoredAnswer(row["request_hash"], row["status_code"],
                        bytes(sealed) if sealed is not None else None)


async def complete(conn: AsyncConnection, scope: str, key: str, status_code: int,
                   response_sealed: bytes) -> None:
    await conn.execute(
        """UPDATE idempotency_keys SET status_code = %s, response_sealed = %s
            WHERE scope = %s AND idempotency_key = %s""",
        (status_code, response_sealed, scope, key),
    )


async def release(conn: AsyncConnection, scope: str, key: str) -> None:
    """Forget a claim whose request failed in a way worth retrying."""
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE scope = %s AND idempotency_key = %s",
        (scope, key),
    )
