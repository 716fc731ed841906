"""Every event type reaches the vendor's receiver through the real API, with the documented
payload and headers, and signatures that verify with our scheme and with standardwebhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import psycopg
from standardwebhooks import Webhook

from keylight_actors.domain.license_key import hash_license_key
from tests.stripe_standin import stripe_event

from .conftest import SECRETS_SEEN, Tenant
from .payments import completed_session, connect, deliver
from .sdk_calls import activate, deactivate, machine_hash
from .webhook_receiver import Received, WebhookReceiver, deliveries, set_webhook

ENVELOPE = {"id", "created", "version", "event", "tenant_id"}


def hook(http, tenant: Tenant, receiver: WebhookReceiver, events: Any = None
         ) -> tuple[str, str]:
    """Point the tenant's webhook at a fresh receiver path; answers (url, secret)."""
    url = receiver.route()
    answer = set_webhook(http, tenant, url, events)
    assert answer.status_code == 201, answer.text
    secret = answer.json()["secret"]
    SECRETS_SEEN.add(secret)
    return url, secret


def documented_verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The Python snippet of docs/webhooks.md, as a vendor would paste it."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    parts = [part.split("=", 1) for part in header.split(",")]
    timestamp = next(value for name, value in parts if name == "t")
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, value) for name, value in parts if name == "v1")


def verified(request: Received, secret: str, event: str) -> dict[str, Any]:
    """The payload, once the request passed every check a vendor would make."""
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-keylight-event"] == event
    assert headers["x-keylight-delivery-id"] == headers["webhook-id"]
    assert documented_verify(secret, headers["x-keylight-signature"], request.body)
    payload = Webhook(secret).verify(request.body, headers)
    assert payload == json.loads(request.body)
    assert payload["event"] == event and payload["version"] == "2026-05-01"
    assert abs(payload["created"] - time.time()) < 60
    return payload


def test_license_created_carries_the_raw_key_and_is_logged_as_delivered(
    http, tenant, catalog, mint, webhook_receiver
):
    url, secret = hook(http, tenant, webhook_receiver)
    minted = mint(catalog, customer_email="ada@example.com")
    [request] = webhook_receiver.wait_for(url, 1)
    payload = verified(request, secret, "license.created")
    assert set(payload) == ENVELOPE | {"license_id", "key", "product_id", "key_type_id",
                                       "customer_email", "session_id"}
    assert payload["tenant_id"] == tenant.tenant_id
    assert payload["key"] == minted["key"] and payload["license_id"] == minted["license_id"]
    assert (payload["product_id"], payload["key_type_id"]) == (catalog.product_id,
                                                               catalog.key_type_id)
    assert payload["customer_email"] == "ada@example.com" and payload["session_id"] is None

    [logged] = deliveries(http, tenant)
    assert logged["delivery_id"] == request.headers["webhook-id"]
    assert logged["event_id"] == payload["id"] and logged["event"] == "license.created"
    assert (logged["status"], logged["attempt_count"], logged["last_http_status"]) == (
        "delivered", 1, 200)
    assert logged["url"] == url and logged["next_attempt_at"] is None
    assert '"received": true' in logged["last_response_snippet"]
    [attempt] = logged["attempts"]
    assert (attempt["attempt"], attempt["http_status"], attempt["url"]) == (1, 200, url)
    assert attempt["error"] is None


def test_activations_and_deactivations_are_sent_only_once_switched_on(
    http, tenant, catalog, mint, webhook_receiver
):
    url, secret = hook(http, tenant, webhook_receiver)
    key = mint(catalog)["key"]
    quiet = activate(http, catalog, key, machine_hash=machine_hash()).json()["instance_id"]
    assert deactivate(http, catalog, quiet).status_code == 200
    assert [item["event"] for item in deliveries(http, tenant)] == ["license.created"]

    switched = set_webhook(http, tenant, url, {"license.activated": True,
                                               "license.deactivated": True})
    assert switched.status_code == 200 and "secret" not in switched.json()
    assert all(switched.json()["events"].values())

    device = machine_hash()
    activated = activate(http, catalog, key, machine_hash=device, instance_name="studio")
    instance_id = activated.json()["instance_id"]
    assert deactivate(http, catalog, instance_id).status_code == 200
    requests = webhook_receiver.wait_for(url, 3)
    by_event = {request.headers["x-keylight-event"]: request for request in requests}
    assert set(by_event) == {"license.created", "license.activated", "license.deactivated"}
    for event in ("license.activated", "license.deactivated"):
        payload = verified(by_event[event], secret, event)
        assert set(payload) == ENVELOPE | {"license_id", "product_id", "instance_id",
                                           "instance_name", "machine_hash"}
        assert (payload["instance_id"], payload["instance_name"], payload["machine_hash"]) == (
            instance_id, "studio", device)
        assert payload["product_id"] == catalog.product_id


def test_a_revoked_license_is_announced_as_license_revoked(
    http, tenant, catalog, mint, webhook_receiver
):
    url, secret = hook(http, tenant, webhook_receiver)
    minted = mint(catalog)
    revoked = http.post(f"/api/{tenant.tenant_id}/licenses/{minted['license_id']}/revoke",
                        headers=tenant.headers)
    assert revoked.status_code == 200, revoked.text
    requests = webhook_receiver.wait_for(url, 2)
    [request] = [r for r in requests if r.headers["x-keylight-event"] == "license.revoked"]
    payload = verified(request, secret, "license.revoked")
    assert set(payload) == ENVELOPE | {"license_id", "product_id", "key_type_id", "reason"}
    assert payload["license_id"] == minted["license_id"]
    # Revoking again changes nothing and announces nothing.
    http.post(f"/api/{tenant.tenant_id}/licenses/{minted['license_id']}/revoke",
              headers=tenant.headers)
    assert [item["event"] for item in deliveries(http, tenant)].count("license.revoked") == 1


def test_expiry_found_on_activation_is_announced_as_license_expired(
    http, tenant, catalog, mint, webhook_receiver, database_url
):
    url, secret = hook(http, tenant, webhook_receiver)
    minted = mint(catalog)
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE licenses SET expires_at = now() - interval '1 day', "
                     "version = version + 1 WHERE key_hash = %s",
                     (hash_license_key(minted["key"]),))
    assert activate(http, catalog, minted["key"]).status_code == 422
    requests = webhook_receiver.wait_for(url, 2)
    [request] = [r for r in requests if r.headers["x-keylight-event"] == "license.expired"]
    payload = verified(request, secret, "license.expired")
    assert set(payload) == ENVELOPE | {"license_id", "product_id", "key_type_id", "expires_at"}
    assert payload["license_id"] == minted["license_id"]


def test_a_stripe_purchase_and_its_renewal_are_announced(
    http, operator_headers, tenant, make_catalog, webhook_receiver
):
    account = connect(http, operator_headers, tenant)
    catalog = make_catalog(tenant, price_in_cents=900, currency="usd",
                           recurring_interval="month", duration_days=30)
    url, secret = hook(http, tenant, webhook_receiver)
    checkout = completed_session(catalog, account=account, mode="subscription")
    assert deliver(http, checkout).status_code == 200
    session = checkout["data"]["object"]
    invoice = {"id": "in_" + secrets.token_hex(8), "object": "invoice",
               "billing_reason": "subscription_cycle", "subscription": session["subscription"],
               "status": "paid"}
    assert deliver(http, stripe_event("invoice.paid", invoice, account=account)
                   ).status_code == 200
    requests = webhook_receiver.wait_for(url, 2)
    by_event = {r.headers["x-keylight-event"]: r for r in requests}

    created = verified(by_event["license.created"], secret, "license.created")
    assert created["session_id"] == session["id"]
    renewed = verified(by_event["subscription.renewed"], secret, "subscription.renewed")
    assert set(renewed) == ENVELOPE | {"license_id", "product_id", "invoice_id", "expires_at"}
    assert renewed["invoice_id"] == invoice["id"]
    assert renewed["license_id"] == created["license_id"]


def test_a_refund_is_announced_as_license_refunded(
    http, operator_headers, tenant, make_catalog, webhook_receiver
):
    account = connect(http, operator_headers, tenant)
    catalog = make_catalog(tenant, price_in_cents=2500, currency="usd")
    url, secret = hook(http, tenant, webhook_receiver)
    checkout = completed_session(catalog, account=account)
    assert deliver(http, checkout).status_code == 200
    charge = {"id": "ch_" + secrets.token_hex(8), "object": "charge", "amount": 2500,
              "amount_refunded": 2500, "refunded": True,
              "payment_intent": checkout["data"]["object"]["payment_intent"]}
    assert deliver(http, stripe_event("charge.refunded", charge, account=account)
                   ).status_code == 200
    requests = webhook_receiver.wait_for(url, 2)
    [request] = [r for r in requests if r.headers["x-keylight-event"] == "license.refunded"]
    payload = verified(request, secret, "license.refunded")
    assert set(payload) == ENVELOPE | {"license_id", "product_id", "reason"}
