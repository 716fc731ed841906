"""What each Stripe event asks of us, decided from its JSON alone."""

from __future__ import annotations

import pytest

from keylight_actors.domain.platform_fee import application_fee_cents, application_fee_percent
from keylight_actors.domain.stripe_events import (
    ExpireSubscription,
    Ignore,
    MintForSession,
    RenewSubscription,
    RevokeForPayment,
    decide,
)

METADATA = {"tenant_id": "acme", "product_id": "app", "key_type_id": "pro"}


def event(kind: str, **obj) -> dict:
    return {"id": "evt_1", "type": kind, "data": {"object": obj}}


def session(**fields) -> dict:
    return {"id": "cs_1", "metadata": METADATA, "payment_status": "paid",
            "payment_intent": "pi_1", "customer_email": "a@b.co", **fields}


def test_a_paid_completed_session_mints():
    action = decide(event("checkout.session.completed", **session()), "acme")
    assert action == MintForSession("cs_1", "app", "pro", "a@b.co", "pi_1", None, None)


def test_a_free_session_mints():
    action = decide(event("checkout.session.completed",
                          **session(payment_status="no_payment_required")), "acme")
    assert isinstance(action, MintForSession)


def test_an_unpaid_completed_session_waits():
    action = decide(event("checkout.session.completed", **session(payment_status="unpaid")),
                    "acme")
    assert isinstance(action, Ignore) and "async" in action.reason


def test_async_payment_success_mints_whatever_the_payment_status_said():
    action = decide(event("checkout.session.async_payment_succeeded",
                          **session(payment_status="unpaid")), "acme")
    assert isinstance(action, MintForSession)


@pytest.mark.parametrize("metadata", [{}, {"tenant_id": "acme"}, None,
                                      {**METADATA, "product_id": 5}])
def test_a_session_without_our_metadata_is_ignored(metadata):
    action = decide(event("checkout.session.completed", **session(metadata=metadata)), "acme")
    assert isinstance(action, Ignore)


def test_metadata_for_another_tenant_is_ignored():
    action = decide(event("checkout.session.completed", **session()), "other")
    assert isinstance(action, Ignore)


def test_a_full_refund_revokes_and_a_partial_one_does_not():
    full = decide(event("charge.refunded", amount=100, amount_refunded=100,
                        payment_intent="pi_1"), "acme")
    partial = decide(event("charge.refunded", amount=100, amount_refunded=40,
                           refunded=False, payment_intent="pi_1"), "acme")
    assert full == RevokeForPayment("pi_1", "refund")
    assert isinstance(partial, Ignore)


def test_a_dispute_revokes():
    assert decide(event("charge.dispute.created", payment_intent="pi_9"), "acme") == (
        RevokeForPayment("pi_9", "dispute"))


def test_only_a_subscription_cycle_invoice_renews():
    renewal = decide(event("invoice.paid", id="in_1", billing_reason="subscription_cycle",
                           subscription="sub_1"), "acme")
    first = decide(event("invoice.paid", id="in_0", billing_reason="subscription_create",
                         subscription="sub_1"), "acme")
    assert renewal == RenewSubscription("sub_1", "in_1")
    assert isinstance(first, Ignore)


def test_the_newer_invoice_shape_names_its_subscription_under_parent():
    action = decide(event("invoice.paid", id="in_2", billing_reason="subscription_cycle",
                          parent={"subscription_details": {"subscription": "sub_2"}}), "acme")
    assert action == RenewSubscription("sub_2", "in_2")


def test_a_deleted_subscription_expires():
    assert decide(event("customer.subscription.deleted", id="sub_3"), "acme") == (
        ExpireSubscription("sub_3"))


def test_other_events_and_shapes_are_ignored():
    assert isinstance(decide(event("customer.created", id="cus_1"), "acme"), Ignore)
    assert isinstance(decide({"id": "evt", "type": "charge.refunded", "data": []}, "acme"),
                      Ignore)


@pytest.mark.parametrize(("price", "bps", "fee"), [(1999, 50, 10), (99, 50, 0), (100, 50, 1),
                                                   (12345, 50, 62), (1000, 0, 0), (333, 150, 5)])
def test_the_fee_is_rounded_to_the_nearest_cent_halves_up(price, bps, fee):
    assert application_fee_cents(price, bps) == fee


def test_the_subscription_fee_is_a_percent():
    assert application_fee_percent(50) == 0.5


def test_a_dispute_carries_its_id_and_its_closing_says_won_or_lost():
    from keylight_actors.domain.stripe_events import SettleDispute

    assert decide(event("charge.dispute.created", id="dp_1", payment_intent="pi_9"),
                  "acme") == RevokeForPayment("pi_9", "dispute", "dp_1")
    for status, won in (("won", True), ("lost", False)):
        assert decide(event("charge.dispute.closed", id="dp_1", payment_intent="pi_9",
                            status=status), "acme") == SettleDispute("pi_9", "dp_1", won)
    assert isinstance(decide(event("charge.dispute.closed", id="dp_1", payment_intent="pi_9",
                                   status="warning_closed"), "acme"), Ignore)
