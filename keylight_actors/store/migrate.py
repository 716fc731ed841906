"""Numbered SQL migrations, applied once each, safely from many processes at once."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

log = logging.getLogger(__name__)

# Any fixed 64-bit number: every process serialises on it while migrating.
MIGRATION_LOCK_ID = 0x6B65796C69676874
MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    folder = resources.files("keylight_actors.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = MIGRATION_FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text("utf-8")))
    return sorted(found, key=lambda migration: migration.number)


def apply_migrations(database_url: str, *, through: int | None = None) -> list[int]:
    """Apply what is pending (up to migration ``through`` when given); answers the numbers
    applied by this call.

    Everything happens in one transaction under a transaction-scoped advisory lock: a
    second process waits, then finds nothing to do; a failure applies nothing; and the lock
    cannot outlive the transaction (so it also holds through a transaction-mode pooler).
    """
    applied_now: list[int] = []
    with psycopg.connect(database_url) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   number integer PRIMARY KEY,
                   name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {row[0] for row in conn.execute("SELECT number FROM schema_migrations")}
        for migration in available_migrations():
            if migration.number in done:
                continue
            if through is not None and migration.number > through:
                break
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO schema_migrations (number, name) VALUES (%s, %s)",
                (migration.number, migration.name),
            )
            log.info("applied migration %04d_%s", migration.number, migration.name)
            applied_now.append(migration.number)
    return applied_now
