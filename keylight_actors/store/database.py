"""Connection pools for the processes that talk to PostgreSQL."""

from __future__ import annotations

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool


class StaleVersion(Exception):
    """A fenced write found another version: another owner wrote first."""


async def open_pool(
    database_url: str, *, min_size: int = 1, max_size: int = 4
) -> AsyncConnectionPool:
    pool = AsyncConnectionPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": False},
        open=False,
        name="keylight",
    )
    await pool.open(wait=True, timeout=30)
    return pool
