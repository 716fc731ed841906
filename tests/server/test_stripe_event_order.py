"""Stripe events in any order: every order of one purchase's events ends in the same license
and the same announcements as Stripe's own order; events that come before the mint are held
(visible in the operator's inbox), then applied once; a held event no mint came for is
unmatched after 7 days; dispute outcomes; a suspended tenant's customers still get their
license."""

from __future__ import annotations

import secrets
import time
from itertools import permutations

import psycopg

from tests.stripe_standin import stripe_event

from .payments import completed_session, deliver, licenses_of

DAY = 86_400


def seconds(iso: str | None) -> int | None:
    return None if iso is None else int(time.mktime(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")))


def refunded(session, account):
    return stripe_event("charge.refunded", {
        "id": "ch_" + secrets.token_hex(8), "object": "charge", "amount": 2500,
        "amount_refunded": 2500, "refunded": True,
        "payment_intent": session["payment_intent"]}, account=account)


def dispute(session, account, kind, dispute_id, status="needs_response"):
    return stripe_event(kind, {
        "id": dispute_id, "object": "dispute", "amount": 2500, "status": status,
        "payment_intent": session["payment_intent"], "charge": "ch_x"}, account=account)


def invoice_paid(session, account):
    return stripe_event("invoice.paid", {
        "id": "in_" + secrets.token_hex(8), "object": "invoice",
        "billing_reason": "subscription_cycle", "subscription": session["subscription"],
        "status": "paid"}, account=account)


def subscription_deleted(session, account):
    return stripe_event("customer.subscription.deleted", {
        "id": session["subscription"], "object": "subscription", "status": "canceled"},
        account=account)


def purchase(catalog, account, names, *, dispute_outcome="won"):
    """One fresh purchase's events by name."""
    mode = "subscription" if "invoice.paid" in names else "payment"
    completed = completed_session(catalog, account=account, mode=mode)
    session = completed["data"]["object"]
    dispute_id = "dp_" + secrets.token_hex(8)
    makers = {
        "completed": lambda: completed,
        "refunded": lambda: refunded(session, account),
        "dispute.created": lambda: dispute(session, account, "charge.dispute.created",
                                           dispute_id),
        "dispute.closed": lambda: dispute(session, account, "charge.dispute.closed",
                                          dispute_id, dispute_outcome),
        "invoice.paid": lambda: invoice_paid(session, account),
        "subscription.deleted": lambda: subscription_deleted(session, account),
    }
    return session["id"], {name: makers[name]() for name in names}


def outcome(http, catalog, database_url, session_id):
    """The license the session minted: (shown status, expiry in days after its creation,
    the set of its outbound event types)."""
    with psycopg.connect(database_url) as conn:
        license_id = conn.execute("SELECT license_id::text FROM licenses "
                                  "WHERE checkout_session_id = %s", (session_id,)).fetchone()[0]
        types = {row[0] for row in conn.execute(
            "SELECT event_type FROM events WHERE payload->>'license_id' = %s", (license_id,))}
    [license_] = [item for item in licenses_of(http, catalog.tenant)
                  if item["license_id"] == license_id]
    expires, created = seconds(license_["expires_at"]), seconds(license_["created_at"])
    days = None if expires is None else round((expires - created) / DAY)
    return license_["status"], days, types


def deliver_all(http, events):
    for event in events:
        answer = deliver(http, event)
        assert answer.status_code == 200, answer.text


def assert_every_order_converges(http, catalog, account, database_url, names, **options):
    session_id, events = purchase(catalog, account, names, **options)
    deliver_all(http, events.values())
    natural = outcome(http, catalog, database_url, session_id)
    for order in permutations(names):
        session_id, events = purchase(catalog, account, names, **options)
        deliver_all(http, [events[name] for name in order])
        assert outcome(http, catalog, database_url, session_id) == natural, order
    return natural


def test_a_refund_in_any_order_converges(http, shop, database_url):
    catalog, account = shop
    natural = assert_every_order_converges(http, catalog, account, database_url,
                                           ("completed", "refunded"))
    assert natural == ("revoked", None, {"license.created", "license.refunded"})


def test_a_renewal_and_a_cancellation_in_any_order_converge(http, subscription_shop,
                                                            database_url):
    catalog, account = subscription_shop
    natural = assert_every_order_converges(
        http, catalog, account, database_url,
        ("completed", "invoice.paid", "subscription.deleted"))
    assert natural == ("expired", 0, {"license.created", "subscription.renewed",
                                      "license.expired"})


def test_a_won_dispute_in_any_order_converges(http, shop, database_url):
    catalog, account = shop
    natural = assert_every_order_converges(
        http, catalog, account, database_url,
        ("completed", "dispute.created", "dispute.closed"))
    assert natural == ("active", None, {"license.created", "license.refunded",
                                        "license.reinstated"})


def test_a_lost_dispute_leaves_the_license_revoked(http, shop, database_url):
    catalog, account = shop
    natural = assert_every_order_converges(
        http, catalog, account, database_url,
        ("completed", "dispute.created", "dispute.closed"), dispute_outcome="lost")
    assert natural == ("revoked", None, {"license.created", "license.refunded"})


def test_a_won_dispute_does_not_reinstate_a_refunded_license(http, shop, database_url):
    catalog, account = shop
    session_id, events = purchase(catalog, account,
                                  ("completed", "refunded", "dispute.created",
                                   "dispute.closed"))
    deliver_all(http, events.values())
    assert outcome(http, catalog, database_url, session_id) == (
        "revoked", None, {"license.created", "license.refunded"})


def inbox(http, operator_headers, state):
    answer = http.get(f"/api/admin/stripe/events?state={state}&limit=200",
                      headers=operator_headers)
    assert answer.status_code == 200, answer.text
    return {item["event_id"]: item for item in answer.json()["data"]}


def test_an_event_before_its_mint_is_held_in_the_inbox_then_applied_once(
    http, shop, operator_headers, database_url
):
    catalog, account = shop
    session_id, events = purchase(catalog, account, ("completed", "refunded"))
    refund = events["refunded"]
    assert deliver(http, refund).json()["status"] == "held"
    held = inbox(http, operator_headers, "held")[refund["id"]]
    assert held["state"] == held["status"] == "held"
    assert held["awaits"].startswith("payment_intent:") and "held" in held["reason"]
    assert deliver(http, events["completed"]).json()["status"] == "processed"
    assert refund["id"] not in inbox(http, operator_headers, "held")
    # Stripe's redelivery and the operator's replay of the applied event change nothing.
    assert deliver(http, refund).json()["status"] == "processed"
    replayed = http.post(f"/api/admin/stripe/events/{refund['id']}/replay",
                         headers=operator_headers)
    assert replayed.json()["status"] == "processed"
    assert outcome(http, catalog, database_url, session_id) == (
        "revoked", None, {"license.created", "license.refunded"})
    with psycopg.connect(database_url) as conn:
        refunds = conn.execute("SELECT count(*) FROM events WHERE event_type = "
                               "'license.refunded' AND tenant_id = %s",
                               (catalog.tenant.tenant_id,)).fetchone()[0]
    assert refunds == 1


def test_a_held_event_older_than_seven_days_is_unmatched_and_replayable(
    http, shop, operator_headers, database_url
):
    catalog, account = shop
    _, events = purchase(catalog, account, ("completed", "refunded"))
    refund = events["refunded"]
    assert deliver(http, refund).json()["status"] == "held"
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE stripe_events SET received_at = now() - interval '8 days' "
                     "WHERE event_id = %s", (refund["id"],))
    assert inbox(http, operator_headers, "unmatched")[refund["id"]]["state"] == "unmatched"
    assert refund["id"] not in inbox(http, operator_headers, "held")
    replayed = http.post(f"/api/admin/stripe/events/{refund['id']}/replay",
                         headers=operator_headers)
    assert replayed.status_code == 200 and replayed.json()["status"] == "held"
    assert inbox(http, operator_headers, "unmatched")[refund["id"]]["state"] == "unmatched"


def test_a_suspended_tenant_still_mints_and_announces_what_was_paid_for(
    http, shop, operator_headers, database_url
):
    catalog, account = shop
    answer = http.patch(f"/api/admin/tenants/{catalog.tenant.tenant_id}",
                        headers=operator_headers, json={"lifecycle": "suspended"})
    assert answer.status_code == 200, answer.text
    session_id, events = purchase(catalog, account, ("completed",))
    assert deliver(http, events["completed"]).json()["status"] == "processed"
    assert outcome(http, catalog, database_url, session_id) == (
        "active", None, {"license.created"})
