"""The operator credential: one hashed token for the whole installation."""

from __future__ import annotations

import psycopg

from ..domain.credentials import (
    OPERATOR_TOKEN_PREFIX,
    generate_credential,
    hash_credential,
)


def ensure_operator_token(database_url: str, configured_token: str | None) -> str | None:
    """Store the configured token's hash, or generate one on first start.

    Answers a newly generated raw token (to print once), else ``None``.
    """
    with psycopg.connect(database_url) as conn:
        if configured_token:
            conn.execute(
                """INSERT INTO operator_credentials (id, token_hash) VALUES (1, %s)
                   ON CONFLICT (id) DO UPDATE SET token_hash = EXCLUDED.token_hash""",
                (hash_credential(configured_token),),
            )
            return None
        raw = generate_credential(OPERATOR_TOKEN_PREFIX)
        inserted = conn.execute(
            """INSERT INTO operator_credentials (id, token_hash) VALUES (1, %s)
               ON CONFLICT (id) DO NOTHING""",
            (hash_credential(raw),),
        ).rowcount
        return raw if inserted else None


async def operator_token_hash(conn: psycopg.AsyncConnection) -> str | None:
    cursor = await conn.execute("SELECT token_hash FROM operator_credentials WHERE id = 1")
    row = await cursor.fetchone()
    return row["token_hash"] if row else None
