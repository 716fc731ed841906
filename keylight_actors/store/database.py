"""Connection pools for the processes that talk to PostgreSQL."""

from __future__ import annotations

import os

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

PREPARE_THRESHOLD_ENV = "KEYLIGHT_DB_PREPARE_THRESHOLD"
DEFAULT_PREPARE_THRESHOLD = 5  # psycopg's own default


class StaleVersion(Exception):
    """A fenced write found another version: another owner wrote first."""


def prepare_threshold() -> int | None:
    """Executions of a query on a connection before psycopg prepares it server-side.

    ``KEYLIGHT_DB_PREPARE_THRESHOLD=none`` disables prepared statements, for a pooler in
    transaction mode that does not keep them (PgBouncer before 1.21, or 1.21+ with
    ``max_prepared_statements = 0``): there the next transaction may run on another server
    connection, which never saw the statement. Read from the environment of each process
    that opens a pool (ingress replicas, entity hosts, webhook dispatchers).
    """
    raw = os.environ.get(PREPARE_THRESHOLD_ENV, "").strip().lower()
    if raw == "":
        return DEFAULT_PREPARE_THRESHOLD
    if raw in {"none", "off", "disabled"}:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(
            f"{PREPARE_THRESHOLD_ENV} must be a whole number >= 0 or 'none', got {raw!r}"
        )
    return value


async def open_pool(
    database_url: str, *, min_size: int = 1, max_size: int = 4
) -> AsyncConnectionPool:
    pool = AsyncConnectionPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": False,
                "prepare_threshold": prepare_threshold()},
        open=False,
        name="keylight",
    )
    await pool.open(wait=True, timeout=30)
    return pool
