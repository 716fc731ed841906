"""The SQL of a license import (services/imports.py): one transaction, a per-tenant lock,
the lookups that match rows with existing licenses, and the writes (``COPY``, so that a
hundred thousand licenses and their devices take seconds)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from ..domain.audit import AuditEntry
from ..domain.events import OutboundEvent
from ..domain.license_import import ExistingLicense, ImportRaced
from .audit import record_audit
from .events import EVENT_OUTBOX_CTES, EVENT_ROW_TYPE
from .webhook_deliveries import NOTIFY_CHANNEL

# Any fixed number, combined with the tenant: imports of one tenant run one at a time.
IMPORT_LOCK_SPACE = "keylight-license-import:"
COPY_CHUNK_BYTES = 1 << 20
EVENTS_PER_STATEMENT = 2000

EXISTING_COLUMNS = """
    l.tenant_id, l.key_hash, l.product_id, l.key_type_id, l.status, l.activation_limit,
    extract(epoch FROM l.expires_at)::bigint AS expires_at, l.customer_email, l.external_id,
    l.metadata,
    ARRAY(SELECT i.instance_id::text FROM license_instances i
           WHERE i.license_id = l.license_id) AS instance_ids
"""

LICENSE_COPY = """COPY licenses (license_id, tenant_id, product_id, key_type_id, key_hash,
    key_display, status, activation_limit, expires_at, entitlements, fallback_access,
    customer_email, source, version, created_at, expiry_announced_for, churn_limit_per_day,
    external_id, metadata) FROM STDIN"""
INSTANCE_COPY = """COPY license_instances (instance_id, license_id, tenant_id, name,
    machine_hash, activated_at) FROM STDIN"""


def _existing(row: dict[str, Any]) -> ExistingLicense:
    return ExistingLicense(
        tenant_id=row["tenant_id"], key_hash=row["key_hash"], product_id=row["product_id"],
        key_type_id=row["key_type_id"], status=row["status"],
        activation_limit=row["activation_limit"], expires_at=row["expires_at"],
        customer_email=row["customer_email"], external_id=row["external_id"],
        metadata=row["metadata"], instance_ids=frozenset(row["instance_ids"]))


class PostgresImportStore:
    """``services.imports.ImportStore`` on one connection inside its transaction."""

    def __init__(self, conn: AsyncConnection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    async def lock_tenant(self) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                                (IMPORT_LOCK_SPACE + self.tenant_id,))

    async def licenses_by_key_hash(self, key_hashes: Sequence[str]
                                   ) -> dict[str, ExistingLicense]:
        if not key_hashes:
            return {}
        cursor = await self.conn.execute(
            f"SELECT {EXISTING_COLUMNS} FROM licenses l WHERE l.key_hash = ANY(%s::text[])",
            (list(key_hashes),))
        return {row["key_hash"]: _existing(row) for row in await cursor.fetchall()}

    async def licenses_by_external_id(self, external_ids: Sequence[str]
                                      ) -> dict[str, ExistingLicense]:
        if not external_ids:
            return {}
        cursor = await self.conn.execute(
            f"""SELECT {EXISTING_COLUMNS} FROM licenses l
                 WHERE l.tenant_id = %s AND l.external_id = ANY(%s::text[])""",
            (self.tenant_id, list(external_ids)))
        return {row["external_id"]: _existing(row) for row in await cursor.fetchall()}

    async def instance_ids_taken(self, instance_ids: Sequence[str]) -> set[str]:
        if not instance_ids:
            return set()
        cursor = await self.conn.execute(
            "SELECT instance_id::text AS id FROM license_instances "
            "WHERE instance_id = ANY(%s::uuid[])", (list(instance_ids),))
        return {row["id"] for row in await cursor.fetchall()}

    async def write(self, licenses: Sequence[Any], events: Sequence[OutboundEvent],
                    audit: AuditEntry, now: int) -> None:
        """``licenses`` are ``services.imports.NewLicense``s."""
        default_time = _timestamp(now)
        try:
            await _copy(self.conn, LICENSE_COPY,
                        _license_lines(licenses, self.tenant_id, now, default_time))
            await _copy(self.conn, INSTANCE_COPY, _instance_lines(licenses, self.tenant_id))
        except psycopg.errors.UniqueViolation as violation:
            raise ImportRaced(str(violation.diag.constraint_name)) from None
        rows = [event.row(now) for event in events]
        for start in range(0, len(rows), EVENTS_PER_STATEMENT):
            await self.conn.execute(
                "WITH source AS (SELECT * FROM jsonb_to_recordset(%(events)s) AS e("
                + EVENT_ROW_TYPE + ")),"
                + EVENT_OUTBOX_CTES.format(source="source")
                + "SELECT count(*) FROM notified",
                {"events": Jsonb(rows[start:start + EVENTS_PER_STATEMENT]),
                 "notify_channel": NOTIFY_CHANNEL})
        await record_audit(self.conn, audit)


@asynccontextmanager
async def import_transaction(pool: AsyncConnectionPool, tenant_id: str
                             ) -> AsyncIterator[PostgresImportStore]:
    """A store for one import: committed when the block ends normally, rolled back when it
    raises (a dry run or a refused file wrote nothing but the lock, which goes with it)."""
    async with pool.connection() as conn, conn.transaction():
        yield PostgresImportStore(conn, tenant_id)


# ---------------------------------------------------------------- COPY text format


def _timestamp(unix_seconds: int) -> str:
    return datetime.fromtimestamp(unix_seconds, tz=timezone.utc).isoformat()


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def _text(value: str | None) -> str:
    return NULL if value is None else value.translate(_ESCAPES)


def _array(items: Iterable[str]) -> str:
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return _text("{" + ",".join(quoted) + "}")


def _license_lines(licenses: Sequence[Any], tenant_id: str, now: int, default_time: str
                   ) -> Iterator[str]:
    tenant = _text(tenant_id)
    for new in licenses:
        row = new.row
        # An import past its expiry is not announced (nor swept): it was expired already.
        announced = row.expires_at is not None and row.expires_at <= now
        yield "\t".join((
            new.license_id, tenant, _text(row.product_id), _text(row.key_type_id),
            row.key_hash, _text(row.key_display), row.status, str(row.activation_limit),
            NULL if row.expires_at is None else _timestamp(row.expires_at),
            _array(row.entitlements), "t" if row.fallback_access else "f",
            _text(row.customer_email), "import", "1",
            default_time if row.created_at is None else _timestamp(row.created_at),
            _timestamp(row.expires_at) if announced else NULL, str(row.churn_limit_per_day),
            _text(row.external_id),
            NULL if row.metadata is None else _text(json.dumps(row.metadata)),
        )) + "\n"


def _instance_lines(licenses: Sequence[Any], tenant_id: str) -> Iterator[str]:
    tenant = _text(tenant_id)
    for new in licenses:
        for instance in new.row.instances:
            yield "\t".join((instance.instance_id, new.license_id, tenant, _text(instance.name),
                             _text(instance.machine_hash),
                             _timestamp(instance.activated_at))) + "\n"


async def _copy(conn: AsyncConnection, statement: str, lines: Iterable[str]) -> None:
    async with conn.cursor().copy(statement) as copy:
        chunk: list[str] = []
        size = 0
        for line in lines:
            chunk.append(line)
            size += len(line)
            if size >= COPY_CHUNK_BYTES:
                await copy.write("".join(chunk).encode())
                chunk, size = [], 0
        if chunk:
            await copy.write("".join(chunk).encode())
