"""Stripe webhooks: mint, refund, dispute, renew and expire, each exactly once."""

from __future__ import annotations

import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.stripe_standin import stripe_event, stripe_signature

from .payments import completed_session, deliver, licenses_of
from .sdk_calls import activate, validate


def created_events(database_url, tenant_id):
    with psycopg.connect(database_url) as conn:
        return [row[0] for row in conn.execute(
            "SELECT payload FROM events WHERE tenant_id = %s AND event_type = "
            "'license.created'", (tenant_id,))]


def stored_event(database_url, event_id):
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT status, reason FROM stripe_events WHERE event_id = %s",
                            (event_id,)).fetchone()


def test_a_paid_session_mints_one_license_announced_with_its_key(http, shop, database_url):
    catalog, account = shop
    event = completed_session(catalog, account=account)
    answer = deliver(http, event)
    assert answer.status_code == 200, answer.text
    [license_] = licenses_of(http, catalog.tenant)
    assert license_["customer_email"] == "buyer@example.com"
    [created] = created_events(database_url, catalog.tenant.tenant_id)
    assert created["session_id"] == event["data"]["object"]["id"]
    assert created["license_id"] == license_["license_id"]
    assert created["key"].startswith(catalog.key_prefix + "-")
    assert activate(http, catalog, created["key"]).status_code == 200


def test_the_same_session_delivered_five_times_at_once_and_its_async_success_mint_once(
    http, shop, database_url
):
    catalog, account = shop
    event = completed_session(catalog, account=account)
    async_success = stripe_event("checkout.session.async_payment_succeeded",
                                 event["data"]["object"], account=account)
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda e: deliver(http, e), [event] * 5 + [async_success]))
    assert [a.status_code for a in answers] == [200] * 6
    assert len(licenses_of(http, catalog.tenant)) == 1
    assert len(created_events(database_url, catalog.tenant.tenant_id)) == 1


def test_an_unpaid_session_waits_for_async_payment_succeeded(http, shop, database_url):
    catalog, account = shop
    event = completed_session(catalog, account=account, payment_status="unpaid")
    assert deliver(http, event).status_code == 200
    assert licenses_of(http, catalog.tenant) == []
    assert stored_event(database_url, event["id"])[0] == "ignored"
    paid = stripe_event("checkout.session.async_payment_succeeded",
                        {**event["data"]["object"], "payment_status": "paid"}, account=account)
    assert deliver(http, paid).status_code == 200
    assert len(licenses_of(http, catalog.tenant)) == 1


def test_a_session_without_our_metadata_is_stored_as_ignored_with_the_reason(
    http, shop, database_url
):
    catalog, account = shop
    event = completed_session(catalog, account=account, metadata={})
    assert deliver(http, event).status_code == 200
    status, reason = stored_event(database_url, event["id"])
    assert status == "ignored" and "metadata" in reason
    assert licenses_of(http, catalog.tenant) == []


def minted_key(http, catalog, account, database_url, **session_fields):
    event = completed_session(catalog, account=account, **session_fields)
    assert deliver(http, event).status_code == 200
    [created] = created_events(database_url, catalog.tenant.tenant_id)
    return created["key"], event["data"]["object"]


@pytest.mark.parametrize("event_type", ["charge.refunded", "charge.dispute.created"])
def test_a_refund_or_dispute_revokes_the_license(http, shop, database_url, event_type):
    catalog, account = shop
    key, session = minted_key(http, catalog, account, database_url)
    instance_id = activate(http, catalog, key).json()["instance_id"]
    obj = ({"id": "ch_" + secrets.token_hex(8), "object": "charge", "amount": 2500,
            "amount_refunded": 2500, "refunded": True, "payment_intent": session["payment_intent"]}
           if event_type == "charge.refunded" else
           {"id": "dp_" + secrets.token_hex(8), "object": "dispute", "amount": 2500,
            "payment_intent": session["payment_intent"], "charge": "ch_x"})
    assert deliver(http, stripe_event(event_type, obj, account=account)).status_code == 200
    [license_] = licenses_of(http, catalog.tenant)
    assert license_["status"] == "revoked"
    assert activate(http, catalog, key).status_code == 404
    assert validate(http, catalog, key, instance_id).status_code == 422
    with psycopg.connect(database_url) as conn:
        refunded = conn.execute("SELECT count(*) FROM events WHERE event_type = "
                                "'license.refunded' AND tenant_id = %s",
                                (catalog.tenant.tenant_id,)).fetchone()[0]
    assert refunded == 1


def test_a_partial_refund_leaves_the_license_active(http, shop, database_url):
    catalog, account = shop
    _, session = minted_key(http, catalog, account, database_url)
    charge = {"id": "ch_1", "object": "charge", "amount": 2500, "amount_refunded": 500,
              "refunded": False, "payment_intent": session["payment_intent"]}
    assert deliver(http, stripe_event("charge.refunded", charge, account=account)
                   ).status_code == 200
    assert licenses_of(http, catalog.tenant)[0]["status"] == "active"


def invoice_paid(session, account, invoice_id):
    invoice = {"id": invoice_id, "object": "invoice", "billing_reason": "subscription_cycle",
               "subscription": session["subscription"], "status": "paid"}
    return stripe_event("invoice.paid", invoice, account=account)


def expiry_of(http, catalog):
    return licenses_of(http, catalog.tenant)[0]["expires_at"]


def test_a_renewal_extends_the_expiry_once_per_invoice(http, subscription_shop, database_url):
    catalog, account = subscription_shop
    _, session = minted_key(http, catalog, account, database_url, mode="subscription")
    before = expiry_of(http, catalog)
    renewal = invoice_paid(session, account, "in_" + secrets.token_hex(8))
    for event in (renewal, renewal, {**renewal, "id": "evt_" + secrets.token_hex(12)}):
        assert deliver(http, event).status_code == 200
    after = expiry_of(http, catalog)
    days = (time.mktime(time.strptime(after, "%Y-%m-%dT%H:%M:%SZ"))
            - time.mktime(time.strptime(before, "%Y-%m-%dT%H:%M:%SZ"))) / 86400
    assert days == 30
    with psycopg.connect(database_url) as conn:
        renewed = conn.execute("SELECT count(*) FROM events WHERE event_type = "
                               "'subscription.renewed' AND tenant_id = %s",
                               (catalog.tenant.tenant_id,)).fetchone()[0]
    assert renewed == 1


def test_a_cancelled_subscription_expires_the_license(http, subscription_shop, database_url):
    catalog, account = subscription_shop
    key, session = minted_key(http, catalog, account, database_url, mode="subscription")
    instance_id = activate(http, catalog, key).json()["instance_id"]
    cancelled = stripe_event("customer.subscription.deleted",
                             {"id": session["subscription"], "object": "subscription",
                              "status": "canceled"}, account=account)
    assert deliver(http, cancelled).status_code == 200
    answer = validate(http, catalog, key, instance_id)
    assert answer.status_code == 422
    assert answer.json()["lease"]["status"] == "expired"
    with psycopg.connect(database_url) as conn:
        expired = conn.execute("SELECT count(*) FROM events WHERE event_type = "
                               "'license.expired' AND tenant_id = %s",
                               (catalog.tenant.tenant_id,)).fetchone()[0]
    assert expired == 1


def test_a_bad_or_missing_signature_is_400_and_changes_nothing(http, shop, database_url):
    catalog, account = shop
    event = completed_session(catalog, account=account)
    payload = json.dumps(event).encode()
    for headers in ({}, {"Stripe-Signature": stripe_signature(payload, "whsec_wrong")},
                    {"Stripe-Signature": "t=1,v1=deadbeef"}):
        answer = http.post("/api/stripe/webhook/connect", content=payload, headers=headers)
        assert answer.status_code == 400, answer.text
    assert stored_event(database_url, event["id"]) is None
    assert licenses_of(http, catalog.tenant) == []


def test_a_signature_older_than_five_minutes_is_400(http, shop, database_url):
    catalog, account = shop
    event = completed_session(catalog, account=account)
    answer = deliver(http, event, timestamp=int(time.time()) - 301)
    assert answer.status_code == 400
    assert stored_event(database_url, event["id"]) is None


def test_a_signed_body_that_is_not_json_is_400(http):
    from .conftest import CONNECT_WEBHOOK_SECRET

    payload = b"{not json"
    answer = http.post("/api/stripe/webhook/connect", content=payload, headers={
        "Stripe-Signature": stripe_signature(payload, CONNECT_WEBHOOK_SECRET)})
    assert answer.status_code == 400


def test_an_event_for_an_unknown_account_is_kept_and_mints_after_connect_and_replay(
    http, operator_headers, tenant, make_catalog, database_url
):
    catalog = make_catalog(tenant, price_in_cents=700, currency="usd")
    account = "acct_" + secrets.token_hex(8)
    event = completed_session(catalog, account=account)
    assert deliver(http, event).status_code == 200
    assert stored_event(database_url, event["id"])[0] == "unroutable"
    listed = http.get("/api/admin/stripe/events?status=unroutable", headers=operator_headers)
    assert event["id"] in {item["event_id"] for item in listed.json()["data"]}

    http.put(f"/api/admin/tenants/{tenant.tenant_id}/stripe", headers=operator_headers,
             json={"stripe_account_id": account}).raise_for_status()
    replayed = http.post(f"/api/admin/stripe/events/{event['id']}/replay",
                         headers=operator_headers)
    assert replayed.status_code == 200 and replayed.json()["status"] == "processed"
    assert len(licenses_of(http, catalog.tenant)) == 1
    again = http.post(f"/api/admin/stripe/events/{event['id']}/replay",
                      headers=operator_headers)
    assert again.json()["status"] == "processed"
    assert len(licenses_of(http, catalog.tenant)) == 1


def test_metadata_naming_another_tenant_never_mints_there(http, shop, make_tenant,
                                                          make_catalog, database_url):
    catalog, account = shop
    victim = make_catalog(make_tenant())
    event = completed_session(catalog, account=account,
                              metadata={"tenant_id": victim.tenant.tenant_id,
                                        "product_id": victim.product_id,
                                        "key_type_id": victim.key_type_id})
    assert deliver(http, event).status_code == 200
    assert licenses_of(http, victim.tenant) == []
    assert licenses_of(http, catalog.tenant) == []
    assert stored_event(database_url, event["id"])[0] == "ignored"
