"""Helpers for payment tests: connected catalogs, checkouts and signed Stripe deliveries."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx

from tests.stripe_standin import stripe_event, stripe_signature

from .conftest import CONNECT_WEBHOOK_SECRET, Catalog, Tenant


def connect(http: httpx.Client, operator_headers: dict[str, str], tenant: Tenant) -> str:
    account = "acct_" + secrets.token_hex(8)
    answer = http.put(f"/api/admin/tenants/{tenant.tenant_id}/stripe", headers=operator_headers,
                      json={"stripe_account_id": account})
    assert answer.status_code == 200, answer.text
    return account


def checkout(http: httpx.Client, catalog: Catalog, **overrides: Any) -> httpx.Response:
    body = {"product_id": catalog.product_id, "key_type_id": catalog.key_type_id,
            "success_url": "https://vendor.example/thanks",
            "cancel_url": "https://vendor.example/cancel",
            "customer_email": "buyer@example.com", **overrides}
    token = catalog.tenant.credentials["checkout_api_key"]
    return http.post(f"/api/{catalog.tenant.tenant_id}/checkout", json=body,
                     headers={"Authorization": f"Bearer {token}"})


def deliver(http: httpx.Client, event: dict[str, Any], *, secret: str = CONNECT_WEBHOOK_SECRET,
            path: str = "/api/stripe/webhook/connect", timestamp: int | None = None
            ) -> httpx.Response:
    payload = json.dumps(event).encode()
    return http.post(path, content=payload, headers={
        "Stripe-Signature": stripe_signature(payload, secret, timestamp),
        "Content-Type": "application/json"})


def completed_session(catalog: Catalog, *, account: str | None, payment_status: str = "paid",
                      mode: str = "payment", event_type: str = "checkout.session.completed",
                      session_id: str | None = None, **fields: Any) -> dict[str, Any]:
    session = {
        "id": session_id or "cs_test_" + secrets.token_hex(12),
        "object": "checkout.session",
        "mode": mode,
        "payment_status": payment_status,
        "status": "complete",
        "customer_email": "buyer@example.com",
        "payment_intent": "pi_" + secrets.token_hex(10) if mode == "payment" else None,
        "subscription": "sub_" + secrets.token_hex(10) if mode == "subscription" else None,
        "customer": "cus_" + secrets.token_hex(8),
        "metadata": {"tenant_id": catalog.tenant.tenant_id, "product_id": catalog.product_id,
                     "key_type_id": catalog.key_type_id},
        **fields,
    }
    return stripe_event(event_type, session, account=account)


def licenses_of(http: httpx.Client, tenant: Tenant) -> list[dict[str, Any]]:
    answer = http.get(f"/api/{tenant.tenant_id}/licenses", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]
