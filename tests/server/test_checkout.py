"""POST /api/{tenant}/checkout: the request Stripe receives, and every error code."""

from __future__ import annotations

import psycopg
import pytest

from .conftest import PLATFORM_STRIPE_KEY
from .hosts import kill_host_process
from .payments import checkout, connect


@pytest.fixture
def connected(http, operator_headers, tenant):
    return connect(http, operator_headers, tenant)


@pytest.fixture
def priced_catalog(connected, tenant, make_catalog):
    return make_catalog(tenant, price_in_cents=1999, currency="usd")


def last_session_request(stripe_standin):
    return stripe_standin.requests_to("/v1/checkout/sessions")[-1]


def test_a_priced_key_type_on_a_connected_tenant_gets_a_stripe_price(
    http, priced_catalog, connected, stripe_standin
):
    price_request = stripe_standin.requests_to("/v1/prices")[-1]
    assert price_request.headers["stripe-account"] == connected
    assert price_request.form["unit_amount"] == "1999"
    assert price_request.form["currency"] == "usd"
    assert price_request.form["metadata"]["key_type_id"] == priced_catalog.key_type_id


def test_checkout_creates_a_session_on_the_connected_account(
    http, priced_catalog, connected, stripe_standin
):
    answer = checkout(http, priced_catalog)
    assert answer.status_code == 200, answer.text
    assert answer.json()["url"].startswith("https://checkout.stripe.com/")
    sent = last_session_request(stripe_standin)
    assert sent.headers["stripe-account"] == connected
    assert sent.headers["authorization"] == f"Bearer {PLATFORM_STRIPE_KEY}"
    assert sent.headers["idempotency-key"].startswith("keylight-checkout-")
    [line_item] = sent.form["line_items"]
    assert line_item["quantity"] == "1"
    price = stripe_standin.objects[line_item["price"]]
    assert (price["unit_amount"], price["metadata"]["tenant_id"]) == (
        1999, priced_catalog.tenant.tenant_id)
    assert sent.form["mode"] == "payment"
    assert sent.form["customer_email"] == "buyer@example.com"
    assert sent.form["success_url"] == "https://vendor.example/thanks"
    assert sent.form["cancel_url"] == "https://vendor.example/cancel"
    assert sent.form["metadata"] == {"tenant_id": priced_catalog.tenant.tenant_id,
                                     "product_id": priced_catalog.product_id,
                                     "key_type_id": priced_catalog.key_type_id}


def test_two_checkouts_use_different_idempotency_keys(http, priced_catalog, stripe_standin):
    checkout(http, priced_catalog)
    checkout(http, priced_catalog)
    keys = [r.headers["idempotency-key"]
            for r in stripe_standin.requests_to("/v1/checkout/sessions")[-2:]]
    assert keys[0] != keys[1]


@pytest.mark.parametrize(("price", "fee"), [(1999, 10), (1000, 5), (101, 1), (100, 1), (99, 0),
                                            (12345, 62)])
def test_the_platform_fee_is_half_a_percent_rounded_to_the_nearest_cent(
    http, connected, tenant, make_catalog, stripe_standin, price, fee
):
    catalog = make_catalog(tenant, price_in_cents=price, currency="eur")
    assert checkout(http, catalog).status_code == 200
    sent = last_session_request(stripe_standin)
    assert sent.form["payment_intent_data"]["application_fee_amount"] == str(fee)


def test_a_subscription_price_takes_the_fee_as_a_percent(http, connected, tenant, make_catalog,
                                                         stripe_standin):
    catalog = make_catalog(tenant, price_in_cents=900, currency="usd", recurring_interval="month",
                           duration_days=31)
    assert checkout(http, catalog).status_code == 200
    sent = last_session_request(stripe_standin)
    assert sent.form["mode"] == "subscription"
    assert sent.form["subscription_data"]["application_fee_percent"] == "0.5"
    assert "payment_intent_data" not in sent.form


def test_a_missing_or_wrong_checkout_key_is_401(http, priced_catalog):
    path = f"/api/{priced_catalog.tenant.tenant_id}/checkout"
    body = {"product_id": priced_catalog.product_id, "key_type_id": "pro",
            "success_url": "https://a.example/", "cancel_url": "https://a.example/"}
    assert http.post(path, json=body).status_code == 401
    assert http.post(path, json=body, headers={"Authorization": "Bearer ck_live_nope"}
                     ).status_code == 401
    management = priced_catalog.tenant.headers
    assert http.post(path, json=body, headers=management).status_code == 401


def test_a_suspended_tenant_cannot_check_out(http, priced_catalog, operator_headers):
    http.patch(f"/api/admin/tenants/{priced_catalog.tenant.tenant_id}",
               headers=operator_headers, json={"lifecycle": "suspended"}).raise_for_status()
    answer = checkout(http, priced_catalog)
    assert answer.status_code == 403 and answer.json()["code"] == "TENANT_NOT_ACTIVE"


def test_unknown_product_or_key_type_is_404(http, priced_catalog):
    assert checkout(http, priced_catalog, product_id="nope").status_code == 404
    assert checkout(http, priced_catalog, key_type_id="nope").status_code == 404


def test_a_tenant_not_connected_to_stripe_is_409(http, tenant, make_catalog):
    catalog = make_catalog(tenant, price_in_cents=500, currency="usd")
    answer = checkout(http, catalog)
    assert answer.status_code == 409 and answer.json()["code"] == "STRIPE_NOT_CONNECTED"


def test_a_key_type_without_a_stripe_price_is_422(http, connected, tenant, make_catalog):
    catalog = make_catalog(tenant)
    answer = checkout(http, catalog)
    assert answer.status_code == 422 and answer.json()["code"] == "NO_STRIPE_PRICE"


def test_stripe_failing_is_502_and_records_no_session(http, priced_catalog, stripe_standin,
                                                      database_url):
    stripe_standin.fail_next = 5
    try:
        answer = checkout(http, priced_catalog)
    finally:
        stripe_standin.fail_next = 0
    assert answer.status_code == 502 and answer.json()["code"] == "UPSTREAM_FAILED"
    with psycopg.connect(database_url) as conn:
        count = conn.execute("SELECT count(*) FROM checkout_sessions WHERE tenant_id = %s",
                             (priced_catalog.tenant.tenant_id,)).fetchone()[0]
    assert count == 0


@pytest.mark.parametrize("overrides", [
    {"success_url": "javascript:alert(1)"},
    {"cancel_url": "ftp://x.example/"},
    {"customer_email": "not-an-email"},
    {"success_url": "https://x.example/" + "a" * 2100},
])
def test_invalid_urls_and_emails_are_400(http, priced_catalog, overrides):
    assert checkout(http, priced_catalog, **overrides).status_code == 400


def test_the_twenty_first_checkout_in_a_minute_is_429_and_a_minute_later_allowed(
    http, priced_catalog, database_url
):
    for _ in range(20):
        assert checkout(http, priced_catalog).status_code == 200
    refused = checkout(http, priced_catalog)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # A minute passes: move the recorded sessions back, and let the tenant host rebuild
    # its window from them, as it does after any restart.
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE checkout_sessions SET created_at = created_at - interval '61 s' "
                     "WHERE tenant_id = %s", (priced_catalog.tenant.tenant_id,))
    kill_host_process("tenant-host-0")
    for _ in range(100):
        answer = checkout(http, priced_catalog)
        if answer.status_code != 503:
            break
    assert answer.status_code == 200, answer.text


def test_the_limit_survives_a_tenant_host_restart(http, priced_catalog):
    for _ in range(20):
        assert checkout(http, priced_catalog).status_code == 200
    kill_host_process("tenant-host-0")
    for _ in range(100):
        answer = checkout(http, priced_catalog)
        if answer.status_code != 503:
            break
    assert answer.status_code == 429


def test_changing_the_price_makes_a_new_stripe_price_used_by_later_checkouts(
    http, priced_catalog, stripe_standin
):
    path = (f"/api/{priced_catalog.tenant.tenant_id}/products/{priced_catalog.product_id}/"
            f"key-types/{priced_catalog.key_type_id}")
    old_price = checkout_price(http, priced_catalog, stripe_standin)
    changed = http.patch(path, headers=priced_catalog.tenant.headers,
                         json={"price_in_cents": 2999})
    assert changed.status_code == 200, changed.text
    assert changed.json()["stripe_price_id"] not in (None, old_price)
    new_price = checkout_price(http, priced_catalog, stripe_standin)
    assert new_price == changed.json()["stripe_price_id"]
    assert stripe_standin.objects[new_price]["unit_amount"] == 2999
    assert last_session_request(stripe_standin).form["payment_intent_data"][
        "application_fee_amount"] == "15"


def checkout_price(http, catalog, stripe_standin) -> str:
    assert checkout(http, catalog).status_code == 200
    return last_session_request(stripe_standin).form["line_items"][0]["price"]
