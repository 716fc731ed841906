"""The guess guard's record: failures counted, a lockout and an alarm audited once each."""

from __future__ import annotations

from keylight_actors.services.lookup_guard import FailedLookup, note_failed_lookup

from .fakes import InMemoryLookupGuard

FAILED = FailedLookup("acme", "203.0.113.7")


async def test_a_failure_under_the_limits_writes_nothing():
    ports = InMemoryLookupGuard(failures_per_address=3)
    await note_failed_lookup(FAILED, ports)
    assert ports.audits == []
    assert ports.guard.retry_after("203.0.113.7") == 0


async def test_the_failure_that_locks_an_address_out_is_audited_against_it():
    ports = InMemoryLookupGuard(failures_per_address=2)
    for _ in range(2):
        await note_failed_lookup(FAILED, ports)
    assert [(a.actor, a.action, a.tenant_id, a.target) for a in ports.audits] == [
        ("address:203.0.113.7", "sdk.lookup_lockout", "acme", "203.0.113.7")]
    assert ports.guard.retry_after("203.0.113.7") > 0


async def test_failures_across_addresses_raise_the_tenants_key_guessing_alarm():
    ports = InMemoryLookupGuard(failures_per_address=100, failures_per_tenant=3)
    for number in range(3):
        await note_failed_lookup(FailedLookup("acme", f"203.0.113.{number}"), ports)
    assert [a.action for a in ports.audits] == ["sdk.key_guessing_alarm"]
