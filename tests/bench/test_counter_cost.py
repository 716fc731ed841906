"""The counters' cost benchmark really compares the trigger on and off, and leaves it on."""

from __future__ import annotations

import psycopg

from keylight_actors.bench.counter_cost import TENANT, TRIGGER, measure
from keylight_actors.store.migrate import apply_migrations
from tests.conftest import fresh_database


async def test_the_rounds_alternate_the_counting_trigger_and_leave_it_enabled(
    postgres_admin_url
):
    with fresh_database(postgres_admin_url) as url:
        apply_migrations(url)
        medians = await measure(url, saves=4, rounds=3)
        with psycopg.connect(url) as conn:
            [counted] = conn.execute(
                "SELECT coalesce(sum(activations), 0) FROM tenant_daily_counts "
                "WHERE tenant_id = %s", (TENANT,)).fetchone()
            [devices] = conn.execute(
                "SELECT count(*) FROM license_instances WHERE tenant_id = %s",
                (TENANT,)).fetchone()
            [enabled] = conn.execute(
                "SELECT tgenabled FROM pg_trigger WHERE tgname = %s", (TRIGGER,)).fetchone()
    assert [len(values) for values in medians.values()] == [3, 3]
    assert all(value > 0 for values in medians.values() for value in values)
    # Only the saves made while it was enabled were counted: half of them.
    assert devices == 4 * 3 * 2 and counted == 4 * 3
    assert enabled == "O"
