"""Checkout sessions we created: the record behind the per-minute checkout limit."""

from __future__ import annotations

from psycopg import AsyncConnection


async def insert_checkout_session(
    conn: AsyncConnection, session_id: str, tenant_id: str, product_id: str, key_type_id: str,
    customer_email: str | None,
) -> None:
    await conn.execute(
        """INSERT INTO checkout_sessions (session_id, tenant_id, product_id, key_type_id,
                                          customer_email)
           VALUES (%s, %s, %s, %s, %s) ON CONFLICT (session_id) DO NOTHING""",
        (session_id, tenant_id, product_id, key_type_id, customer_email),
    )
