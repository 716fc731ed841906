"""The Stripe event inbox: keep, route to the tenant, decide, apply once, record."""

from __future__ import annotations

from keylight_actors.domain.errors import Conflict, Forbidden
from keylight_actors.domain.stripe_events import EVENT_ALREADY_PROCESSED
from keylight_actors.services.payments import (
    CloseDispute,
    ExpireForCancellation,
    MintFromCheckout,
    RenewForInvoice,
    RevokeForRefund,
)
from keylight_actors.services.stripe_inbox import (
    CONNECT_ENDPOINT,
    process_event,
    receive_event,
    release_orphaned_held,
)
from keylight_actors.services.tenants import TenantSnapshot

from .fakes import FakeStripeInbox
from .memory import a_tenant

METADATA = {"tenant_id": "acme", "product_id": "app", "key_type_id": "pro"}


def session_completed(event_id: str = "evt_1", **changes) -> dict:
    session = {"id": "cs_1", "payment_status": "paid", "metadata": METADATA,
               "customer_email": "buyer@example.com", "payment_intent": "pi_1",
               "customer": "cus_1", **changes}
    return {"id": event_id, "type": "checkout.session.completed", "account": "acct_1",
            "data": {"object": session}}


def connected(**changes) -> FakeStripeInbox:
    return FakeStripeInbox(accounts={"acct_1": "acme"}, **changes)


async def test_a_paid_session_on_the_connect_endpoint_mints_for_the_connected_tenant():
    ports = connected()
    assert await receive_event(session_completed(), CONNECT_ENDPOINT, ports) == "processed"
    assert ports.sent == [MintFromCheckout("acme", "evt_1", "cs_1", "app", "pro",
                                           "buyer@example.com", "pi_1", None, "cus_1")]
    assert ports.outcomes == []


async def test_an_event_is_kept_before_it_is_processed():
    ports = connected()
    await receive_event(session_completed(), CONNECT_ENDPOINT, ports)
    assert ports.kept["evt_1"]["endpoint"] == CONNECT_ENDPOINT


async def test_an_event_kept_as_processed_is_not_processed_again():
    ports = connected()
    ports.kept["evt_1"] = {"status": "processed", "endpoint": CONNECT_ENDPOINT}
    assert await receive_event(session_completed(), CONNECT_ENDPOINT, ports) == "processed"
    assert ports.sent == []


async def test_an_account_no_tenant_is_connected_to_is_unroutable():
    ports = FakeStripeInbox()
    assert await receive_event(session_completed(), CONNECT_ENDPOINT, ports) == "unroutable"
    assert ports.outcomes[0][1] == "unroutable" and ports.sent == []


async def test_a_manual_mode_endpoint_is_its_tenant():
    ports = FakeStripeInbox()
    event = session_completed()
    del event["account"]
    assert await receive_event(event, "acme", ports) == "processed"
    assert ports.sent[0].tenant_id == "acme"


async def test_an_unhandled_event_type_is_recorded_as_ignored():
    ports = connected()
    event = {"id": "evt_2", "type": "customer.created", "account": "acct_1",
             "data": {"object": {"id": "cus_1"}}}
    assert await receive_event(event, CONNECT_ENDPOINT, ports) == "ignored"
    assert ports.outcomes == [("evt_2", "ignored", "event type 'customer.created' is not "
                               "handled", "acme")]


async def test_a_claim_refused_as_already_processed_answers_processed_recording_nothing():
    ports = connected(refusal=Conflict("again", code=EVENT_ALREADY_PROCESSED))
    assert await process_event(session_completed(), CONNECT_ENDPOINT, ports) == "processed"
    assert ports.outcomes == []


async def test_an_invoice_that_renewed_already_is_ignored():
    ports = connected(bought={("acme", "sub_1"): "kh"}, tenant=TenantSnapshot.of(a_tenant()),
                      licenses={"kh": {"product_id": "app", "key_type_id": "pro"}},
                      refusal=Conflict("renewed", code="INVOICE_ALREADY_APPLIED"))
    event = {"id": "evt_3", "type": "invoice.paid", "account": "acct_1", "data": {"object": {
        "id": "in_1", "billing_reason": "subscription_cycle", "subscription": "sub_1"}}}
    assert await process_event(event, CONNECT_ENDPOINT, ports) == "ignored"


async def test_a_domain_refusal_is_recorded_as_failed_with_its_message():
    ports = connected(refusal=Forbidden("the tenant is closed", code="TENANT_CLOSED"))
    assert await process_event(session_completed(), CONNECT_ENDPOINT, ports) == "failed"
    assert ports.outcomes == [("evt_1", "failed", "the tenant is closed", "acme")]


async def test_an_unexpected_error_is_recorded_as_failed_by_its_type():
    ports = connected(refusal=RuntimeError("boom"))
    assert await process_event(session_completed(), CONNECT_ENDPOINT, ports) == "failed"
    assert ports.outcomes[0][2] == "RuntimeError"


async def test_a_full_refund_revokes_the_license_the_payment_bought():
    ports = connected(bought={("acme", "pi_1"): "kh"})
    event = {"id": "evt_4", "type": "charge.refunded", "account": "acct_1",
             "data": {"object": {"payment_intent": "pi_1", "refunded": True}}}
    assert await process_event(event, CONNECT_ENDPOINT, ports) == "processed"
    assert ports.sent == [RevokeForRefund("kh", "acme", "evt_4", "refund")]


async def test_a_refund_of_a_payment_that_bought_no_license_yet_is_held():
    ports = connected()
    event = {"id": "evt_5", "type": "charge.refunded", "account": "acct_1",
             "data": {"object": {"payment_intent": "pi_9", "refunded": True}}}
    assert await receive_event(event, CONNECT_ENDPOINT, ports) == "held"
    assert "payment_intent pi_9" in ports.outcomes[0][2]
    assert ports.kept["evt_5"]["status"] == "held"
    assert ports.kept["evt_5"]["awaits"] == "payment_intent:pi_9"
    assert ports.sent == []


def refund(event_id: str = "evt_r", payment_intent: str = "pi_1") -> dict:
    return {"id": event_id, "type": "charge.refunded", "account": "acct_1",
            "data": {"object": {"payment_intent": payment_intent, "refunded": True}}}


async def test_held_events_are_applied_once_in_order_right_after_the_mint():
    ports = connected()
    dispute = {"id": "evt_d", "type": "charge.dispute.created", "account": "acct_1",
               "data": {"object": {"id": "dp_1", "payment_intent": "pi_1"}}}
    other = refund("evt_other", "pi_2")
    for event in (refund(), dispute, other):
        assert await receive_event(event, CONNECT_ENDPOINT, ports) == "held"
    assert await receive_event(session_completed(), CONNECT_ENDPOINT, ports) == "processed"
    assert ports.sent[1:] == [RevokeForRefund("kh", "acme", "evt_r", "refund"),
                              RevokeForRefund("kh", "acme", "evt_d", "dispute", "dp_1")]
    assert [ports.kept[e]["status"] for e in ("evt_r", "evt_d", "evt_other")] == [
        "processed", "processed", "held"]
    # The same mint delivered again, a redelivery and a replay of the held one: nothing more.
    await process_event(session_completed(), CONNECT_ENDPOINT, ports)
    await receive_event(refund(), CONNECT_ENDPOINT, ports)
    await process_event(refund(), CONNECT_ENDPOINT, ports)
    assert [type(c).__name__ for c in ports.sent].count("RevokeForRefund") == 3  # 1 refused
    assert ports.kept["evt_r"]["status"] == "processed"


async def test_an_event_held_while_the_mint_committed_is_applied_by_its_own_second_look():
    ports = connected()

    async def hold(event_id, reason, tenant_id, awaits):
        await FakeStripeInbox.hold(ports, event_id, reason, tenant_id, awaits)
        ports.bought[("acme", "pi_1")] = "kh"  # the mint committed meanwhile

    ports.hold = hold
    assert await receive_event(refund(), CONNECT_ENDPOINT, ports) == "processed"
    assert ports.sent == [RevokeForRefund("kh", "acme", "evt_r", "refund")]


async def test_a_closed_dispute_settles_it_on_the_license():
    ports = connected(bought={("acme", "pi_1"): "kh"})
    event = {"id": "evt_c", "type": "charge.dispute.closed", "account": "acct_1",
             "data": {"object": {"id": "dp_1", "payment_intent": "pi_1", "status": "won"}}}
    assert await process_event(event, CONNECT_ENDPOINT, ports) == "processed"
    assert ports.sent == [CloseDispute("kh", "acme", "evt_c", "dp_1", True)]


async def test_a_renewal_extends_by_the_key_types_term():
    ports = connected(bought={("acme", "sub_1"): "kh"}, tenant=TenantSnapshot.of(a_tenant()),
                      licenses={"kh": {"product_id": "app", "key_type_id": "pro"}})
    event = {"id": "evt_6", "type": "invoice.paid", "account": "acct_1", "data": {"object": {
        "id": "in_1", "billing_reason": "subscription_cycle", "subscription": "sub_1"}}}
    assert await process_event(event, CONNECT_ENDPOINT, ports) == "processed"
    assert ports.sent == [RenewForInvoice("kh", "acme", "evt_6", "in_1", 365)]


async def test_a_cancelled_subscription_expires_its_license():
    ports = connected(bought={("acme", "sub_1"): "kh"})
    event = {"id": "evt_7", "type": "customer.subscription.deleted", "account": "acct_1",
             "data": {"object": {"id": "sub_1"}}}
    assert await process_event(event, CONNECT_ENDPOINT, ports) == "processed"
    assert ports.sent == [ExpireForCancellation("kh", "acme", "evt_7")]


# -- held events whose mint died before applying them (release_orphaned_held) -------------


def dispute_created(event_id: str = "evt_d", payment_intent: str = "pi_1") -> dict:
    return {"id": event_id, "type": "charge.dispute.created", "account": "acct_1",
            "data": {"object": {"id": "dp_1", "payment_intent": payment_intent}}}


async def held_then_minted_without_release(*events: dict) -> FakeStripeInbox:
    """Events held, then their license minted by a process that died before applying them
    (the license exists: ``bought``; the events are still held)."""
    ports = connected()
    for event in events:
        assert await receive_event(event, CONNECT_ENDPOINT, ports) == "held"
    ports.bought[("acme", "pi_1")] = "kh"
    return ports


async def test_held_events_whose_license_exists_are_applied_oldest_first():
    ports = await held_then_minted_without_release(refund(), dispute_created())
    release = await release_orphaned_held(ports)
    assert release.released == ("evt_r", "evt_d")
    assert ports.sent == [RevokeForRefund("kh", "acme", "evt_r", "refund"),
                          RevokeForRefund("kh", "acme", "evt_d", "dispute", "dp_1")]
    assert ports.kept["evt_r"]["status"] == ports.kept["evt_d"]["status"] == "processed"


async def test_an_event_held_for_a_license_not_minted_yet_stays_held():
    ports = await held_then_minted_without_release(refund("evt_other", "pi_2"))
    release = await release_orphaned_held(ports)
    assert release.outcomes == () and ports.sent == []
    assert ports.kept["evt_other"]["status"] == "held"


async def test_a_pass_applies_at_most_its_batch_and_the_next_pass_the_rest():
    ports = await held_then_minted_without_release(refund("evt_1"), refund("evt_2"),
                                                   refund("evt_3"))
    assert (await release_orphaned_held(ports, limit=2)).released == ("evt_1", "evt_2")
    assert (await release_orphaned_held(ports, limit=2)).released == ("evt_3",)
    assert (await release_orphaned_held(ports, limit=2)).outcomes == ()


async def test_a_pass_racing_another_applies_nothing_twice():
    ports = await held_then_minted_without_release(refund())
    seen_by_the_other_replica = await ports.orphaned_held_events(10)
    await release_orphaned_held(ports)

    async def stale(limit):
        return seen_by_the_other_replica  # it read before the first pass applied them

    ports.orphaned_held_events = stale
    release = await release_orphaned_held(ports)
    assert release.outcomes == (("evt_r", "processed"),)  # refused by the claim
    assert ports.kept["evt_r"]["status"] == "processed"
    assert [outcome[1] for outcome in ports.outcomes] == ["held"]  # nothing else recorded


async def test_an_event_that_fails_when_retried_is_recorded_failed_not_released():
    ports = await held_then_minted_without_release(refund())
    ports.refusal = RuntimeError("boom")
    release = await release_orphaned_held(ports)
    assert release.outcomes == (("evt_r", "failed"),) and release.released == ()
