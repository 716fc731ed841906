"""Migrations are numbered, recorded, applied once, and safe from two processes at once."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator

import psycopg
import pytest

from keylight_actors.store.migrate import apply_migrations, available_migrations
from tests.conftest import fresh_database


@pytest.fixture
def empty_database(postgres_admin_url: str) -> Iterator[str]:
    with fresh_database(postgres_admin_url) as url:
        yield url


def _tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
    return [row[0] for row in rows]


def _recorded(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT number FROM schema_migrations ORDER BY 1")]


def test_migration_files_are_numbered_without_gaps():
    numbers = [migration.number for migration in available_migrations()]
    assert numbers == list(range(1, len(numbers) + 1))


def test_first_application_creates_the_schema_and_records_each_migration(empty_database):
    applied = apply_migrations(empty_database)
    assert applied == [migration.number for migration in available_migrations()]
    assert _recorded(empty_database) == applied
    assert {"tenants", "licenses", "license_instances", "audit_log", "events"} <= set(
        _tables(empty_database)
    )


def test_applying_twice_changes_nothing(empty_database):
    apply_migrations(empty_database)
    tables = _tables(empty_database)
    assert apply_migrations(empty_database) == []
    assert _tables(empty_database) == tables
    assert _recorded(empty_database) == [m.number for m in available_migrations()]


def _apply_in_child(url: str, results: multiprocessing.Queue) -> None:
    try:
        results.put(("ok", apply_migrations(url)))
    except Exception as error:  # reported to the parent, which fails the test
        results.put(("error", repr(error)))


def test_two_processes_migrating_at_once_leave_one_schema(empty_database):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=_apply_in_child, args=(empty_database, results)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert all(status == "ok" for status, _ in outcomes), outcomes
    applied_lists = sorted((applied for _, applied in outcomes), key=len)
    assert applied_lists[0] == []
    assert applied_lists[1] == [m.number for m in available_migrations()]
    assert _recorded(empty_database) == [m.number for m in available_migrations()]


INSTANCE_TENANT_MIGRATION = 17


def _apply_up_to(url: str, last: int) -> None:
    """The migrations numbered up to ``last``, recorded as apply_migrations records them."""
    with psycopg.connect(url) as conn:
        conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                            number integer PRIMARY KEY, name text NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now())""")
        for migration in available_migrations():
            if migration.number <= last:
                conn.execute(migration.sql)
                conn.execute("INSERT INTO schema_migrations (number, name) VALUES (%s, %s)",
                             (migration.number, migration.name))


def test_the_instance_tenant_migration_backfills_every_device_from_its_license(
    empty_database
):
    _apply_up_to(empty_database, INSTANCE_TENANT_MIGRATION - 1)
    with psycopg.connect(empty_database) as conn:
        for tenant in ("acme", "globex"):
            conn.execute("INSERT INTO tenants (tenant_id, name, lifecycle, "
                         "management_token_hash, checkout_key_hash) "
                         "VALUES (%s, %s, 'active', %s, %s)",
                         (tenant, tenant, f"m-{tenant}", f"c-{tenant}"))
            conn.execute("INSERT INTO products (tenant_id, product_id, display_name, "
                         "key_prefix) VALUES (%s, 'editor', 'Editor', %s)",
                         (tenant, tenant.upper()))
            conn.execute("INSERT INTO key_types (tenant_id, product_id, key_type_id, "
                         "display_name, activation_limit) "
                         "VALUES (%s, 'editor', 'pro', 'Pro', 3)", (tenant,))
            for n in range(2):
                license_id = conn.execute(
                    "INSERT INTO licenses (license_id, tenant_id, product_id, key_type_id, "
                    "key_hash, key_display, status, activation_limit, source, created_at) "
                    "VALUES (gen_random_uuid(), %s, 'editor', 'pro', %s, 'OBXT-…', "
                    "'active', 3, 'manual', now()) RETURNING license_id",
                    (tenant, f"hash-{tenant}-{n}")).fetchone()[0]
                conn.execute("INSERT INTO license_instances (instance_id, license_id, name, "
                             "activated_at) VALUES (gen_random_uuid(), %s, 'laptop', now())",
                             (license_id,))

    assert apply_migrations(empty_database) == [
        m.number for m in available_migrations() if m.number >= INSTANCE_TENANT_MIGRATION]

    with psycopg.connect(empty_database) as conn:
        rows = conn.execute(
            "SELECT i.tenant_id, l.tenant_id FROM license_instances i "
            "JOIN licenses l USING (license_id)").fetchall()
        indexes = {row[0] for row in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'license_instances'")}
    assert len(rows) == 4
    assert all(device_tenant == license_tenant for device_tenant, license_tenant in rows)
    assert "license_instances_by_tenant_activation" in indexes
