"""What the stats route's per-day counters (migration 0019) cost the activation path.

    python -m keylight_actors.bench.counter_cost [--saves 1500] [--rounds 6] [--admin-url URL]

On a fresh database (created on the PostgreSQL at ``--admin-url``, dropped afterwards) it
times the license host's own group save (``store.licenses.save_licenses``: one statement
that updates the license and inserts its new device, then a commit) for one activation per
save, the worst case for a statement trigger, with the counting trigger on
``license_instances`` enabled and disabled in alternated rounds, and prints the median
microseconds per save of each. The figures for this machine are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import psycopg

from ..domain.catalog import KeyType
from ..domain.license import LicenseEntity
from ..store.licenses import LicenseSave, insert_license, save_licenses
from ..store.migrate import apply_migrations

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TENANT = "counter-cost"
KEY_TYPE = KeyType(product_id="app", key_type_id="std", display_name="Std",
                   activation_limit=1_000_000, churn_limit_per_day=1_000_000)
TRIGGER = "license_instances_counted"


async def _setup(conn: psycopg.AsyncConnection) -> LicenseEntity:
    await conn.execute("INSERT INTO tenants (tenant_id, name, lifecycle, management_token_hash,"
                       " checkout_key_hash) VALUES (%s, 'Bench', 'active', 'x', 'y')",
                       (TENANT,))
    await conn.execute("INSERT INTO products (tenant_id, product_id, display_name, key_prefix)"
                       " VALUES (%s, 'app', 'App', 'BNCH')", (TENANT,))
    await conn.execute("INSERT INTO key_types (tenant_id, product_id, key_type_id, "
                       "display_name, activation_limit) VALUES (%s, 'app', 'std', 'Std', "
                       "1000000)", (TENANT,))
    license_, _ = LicenseEntity.mint(license_id=str(uuid.uuid4()), tenant_id=TENANT,
                                     key_prefix="BNCH", key_type=KEY_TYPE,
                                     customer_email=None, now=int(time.time()))
    await insert_license(conn, license_, source="manual")
    return license_


async def _timed_saves(conn: psycopg.AsyncConnection, license_: LicenseEntity, saves: int
                       ) -> tuple[LicenseEntity, float]:
    """``saves`` activations of ``license_``, each saved and committed alone; the median
    microseconds per save."""
    took = []
    for _ in range(saves):
        draft = license_.copy()
        draft.version = license_.version + 1
        now = int(time.time())
        draft.activate(new_instance_id=str(uuid.uuid4()), name="bench",
                       machine_hash=uuid.uuid4().hex, now=now)
        started = time.perf_counter()
        async with conn.transaction():
            [stale] = await save_licenses(conn, [LicenseSave(draft, license_.version, (),
                                                             now)])
        took.append(time.perf_counter() - started)
        assert stale is None, stale
        license_ = draft
    return license_, statistics.median(took) * 1e6


async def measure(url: str, saves: int, rounds: int) -> dict[str, list[float]]:
    medians: dict[str, list[float]] = {"enabled": [], "disabled": []}
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        license_ = await _setup(conn)
        for round_number in range(rounds):
            order = ("enabled", "disabled") if round_number % 2 == 0 else ("disabled",
                                                                           "enabled")
            for state in order:
                action = "ENABLE" if state == "enabled" else "DISABLE"
                await conn.execute(f"ALTER TABLE license_instances {action} TRIGGER {TRIGGER}")
                license_, median = await _timed_saves(conn, license_, saves)
                medians[state].append(median)
        await conn.execute(f"ALTER TABLE license_instances ENABLE TRIGGER {TRIGGER}")
    return medians


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m keylight_actors.bench.counter_cost",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=1500, help="saves per round (1500)")
    parser.add_argument("--rounds", type=int, default=6, help="alternated rounds (6)")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL,
                        help="PostgreSQL to create the database on")
    args = parser.parse_args(argv)
    name = f"keylight_counter_cost_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(args.admin_url, dbname=name)
    try:
        apply_migrations(url)
        medians = asyncio.run(measure(url, args.saves, args.rounds))
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for state, values in medians.items():
        print(f"counting trigger {state:8}: median µs per save and commit, by round: "
              + ", ".join(f"{value:.0f}" for value in values)
              + f"; median {statistics.median(values):.0f}")
    cost = statistics.median(medians["enabled"]) - statistics.median(medians["disabled"])
    print(f"the counters cost {cost:.0f} µs per save with one new device")


if __name__ == "__main__":
    main()
