"""The ingress's held-events timer: a failed pass is logged and the next one tries again; it
logs what it released; it stops cleanly when the app stops."""

from __future__ import annotations

import asyncio
import logging

from keylight_actors.api.held_retry import held_retry
from tests.services.fakes import FakeStripeInbox


def orphaned_refund_ports(failures: int) -> FakeStripeInbox:
    """A refund held for a license minted since; the first ``failures`` passes fail."""
    ports = FakeStripeInbox(accounts={"acct_1": "acme"}, bought={("acme", "pi_1"): "kh"})
    ports.kept["evt_r"] = {"status": "held", "endpoint": "connect", "tenant_id": "acme",
                           "awaits": "payment_intent:pi_1", "payload": {
                               "id": "evt_r", "type": "charge.refunded", "account": "acct_1",
                               "data": {"object": {"payment_intent": "pi_1",
                                                   "refunded": True}}}}
    found = ports.orphaned_held_events
    calls = []

    async def flaky(limit):
        calls.append(limit)
        if len(calls) <= failures:
            raise OSError("the database is away")
        return await found(limit)

    ports.orphaned_held_events = flaky
    return ports


async def wait_until(condition, timeout: float = 2.0) -> None:
    async def polled() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(polled(), timeout)


async def test_a_failed_pass_is_logged_and_the_next_pass_applies_the_event(caplog):
    caplog.set_level(logging.INFO, logger="keylight_actors.api.held_retry")
    ports = orphaned_refund_ports(failures=1)
    async with held_retry(ports, period=0.1):
        await wait_until(lambda: ports.kept["evt_r"]["status"] == "processed")
    messages = [record.getMessage() for record in caplog.records]
    assert any("failed" in message for message in messages)
    assert [m for m in messages if m.startswith("applied")] == [
        "applied 1 held Stripe event(s) whose license was minted without applying them: "
        "evt_r"]


async def test_the_timer_stops_when_the_app_stops():
    before = set(asyncio.all_tasks())
    async with held_retry(FakeStripeInbox(), period=0.1):
        [task] = set(asyncio.all_tasks()) - before - {asyncio.current_task()}
        assert task.get_name() == "held-stripe-events"
    assert task.cancelled()
