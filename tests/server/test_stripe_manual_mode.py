"""Manual mode: the tenant's own Stripe account, keys and webhook secret."""

from __future__ import annotations

import secrets

import pytest

from .conftest import CONNECT_WEBHOOK_SECRET
from .payments import checkout, completed_session, deliver, licenses_of


@pytest.fixture
def manual_shop(http, tenant, make_catalog):
    keys = {"secret_key": "sk_test_" + secrets.token_hex(12),
            "webhook_secret": "whsec_" + secrets.token_hex(16)}
    answer = http.put(f"/api/{tenant.tenant_id}/stripe/manual", headers=tenant.headers,
                      json=keys)
    assert answer.status_code == 200, answer.text
    catalog = make_catalog(tenant, price_in_cents=1500, currency="usd")
    return catalog, keys


def test_prices_and_checkouts_use_the_tenants_own_key_without_a_platform_fee(
    http, manual_shop, stripe_standin
):
    catalog, keys = manual_shop
    price_request = stripe_standin.requests_to("/v1/prices")[-1]
    assert price_request.headers["authorization"] == f"Bearer {keys['secret_key']}"
    assert "stripe-account" not in price_request.headers
    assert checkout(http, catalog).status_code == 200
    sent = stripe_standin.requests_to("/v1/checkout/sessions")[-1]
    assert sent.headers["authorization"] == f"Bearer {keys['secret_key']}"
    assert "stripe-account" not in sent.headers
    assert "application_fee_amount" not in sent.form.get("payment_intent_data", {})


def test_the_manual_webhook_mints_with_the_tenants_secret(http, manual_shop):
    catalog, keys = manual_shop
    event = completed_session(catalog, account=None)
    answer = deliver(http, event, secret=keys["webhook_secret"],
                     path=f"/api/stripe/webhook/{catalog.tenant.tenant_id}")
    assert answer.status_code == 200, answer.text
    assert len(licenses_of(http, catalog.tenant)) == 1


def test_a_connect_signed_event_is_refused_at_the_manual_endpoint(http, manual_shop):
    catalog, _ = manual_shop
    event = completed_session(catalog, account=None)
    answer = deliver(http, event, secret=CONNECT_WEBHOOK_SECRET,
                     path=f"/api/stripe/webhook/{catalog.tenant.tenant_id}")
    assert answer.status_code == 400
    assert licenses_of(http, catalog.tenant) == []


def test_a_manual_signed_event_is_refused_at_the_connect_endpoint(http, manual_shop):
    catalog, keys = manual_shop
    event = completed_session(catalog, account="acct_whatever")
    answer = deliver(http, event, secret=keys["webhook_secret"])
    assert answer.status_code == 400
    assert licenses_of(http, catalog.tenant) == []


def test_the_manual_secrets_appear_in_no_answer_and_no_audit_entry(http, manual_shop):
    catalog, keys = manual_shop
    tenant_id = catalog.tenant.tenant_id
    audit = http.get(f"/api/{tenant_id}/audit", headers=catalog.tenant.headers).text
    assert "tenant.stripe_manual" in audit
    assert keys["secret_key"] not in audit and keys["webhook_secret"] not in audit


def test_a_tenant_without_manual_mode_has_no_manual_endpoint(http, tenant, catalog):
    event = completed_session(catalog, account=None)
    answer = deliver(http, event, secret="whsec_x", path=f"/api/stripe/webhook/{tenant.tenant_id}")
    assert answer.status_code == 404


def test_new_manual_secrets_replace_the_old_ones_at_once(http, manual_shop):
    catalog, old = manual_shop
    new = {"secret_key": "sk_test_" + secrets.token_hex(12),
           "webhook_secret": "whsec_" + secrets.token_hex(16)}
    assert http.put(f"/api/{catalog.tenant.tenant_id}/stripe/manual",
                    headers=catalog.tenant.headers, json=new).status_code == 200
    path = f"/api/stripe/webhook/{catalog.tenant.tenant_id}"
    refused = deliver(http, completed_session(catalog, account=None),
                      secret=old["webhook_secret"], path=path)
    assert refused.status_code == 400
    accepted = deliver(http, completed_session(catalog, account=None),
                       secret=new["webhook_secret"], path=path)
    assert accepted.status_code == 200
    assert len(licenses_of(http, catalog.tenant)) == 1
