"""Payments through Stripe: a checkout session for a buyer, a Price for priced terms."""

from __future__ import annotations

import pytest

from keylight_actors.domain.catalog import KeyType
from keylight_actors.domain.errors import Conflict, Forbidden
from keylight_actors.services.checkout import (
    CreateCheckout,
    PriceForTerms,
    create_checkout,
    stripe_price_for,
)
from keylight_actors.services.payments import CheckoutTerms
from keylight_actors.services.tenants import TenantSnapshot

from .fakes import FakePayments
from .memory import a_tenant

ONCE = KeyType("app", "pro", "Pro", activation_limit=3, price_in_cents=4900, currency="usd",
               stripe_price_id="price_1")
YEARLY = KeyType("app", "pro", "Pro", activation_limit=3, price_in_cents=4900,
                 currency="usd", stripe_price_id="price_1", recurring_interval="year")
BUY = CreateCheckout("acme", "app", "pro", "https://shop.test/ok", "https://shop.test/no",
                     "buyer@example.com", "req-1")
TERMS = {"key_type_id": "pro", "display_name": "Pro", "price_in_cents": 4900,
         "currency": "usd", "recurring_interval": None}


def connected(key_type: KeyType = ONCE) -> FakePayments:
    return FakePayments(terms=CheckoutTerms(key_type, "The App", "acct_1", manual=False))


async def test_a_checkout_creates_a_session_on_the_connected_account_and_answers_its_link():
    ports = connected()
    link = await create_checkout(BUY, ports)
    (sent,) = ports.stripe.sessions
    assert (sent["api_key"], sent["account"]) == ("sk_platform", "acct_1")
    assert (link.session_id, link.url) == ("cs_1", "https://checkout.stripe.test/cs_1")


async def test_the_created_session_is_recorded_with_the_buyers_email():
    ports = connected()
    await create_checkout(BUY, ports)
    assert ports.recorded_sessions == [("cs_1", "acme", "app", "pro", "buyer@example.com")]


async def test_a_one_time_price_pays_the_platform_fee_in_cents():
    ports = connected()
    await create_checkout(BUY, ports)
    params = ports.stripe.sessions[0]["params"]
    assert params["mode"] == "payment"
    assert params["payment_intent_data"]["application_fee_amount"] == 25  # 0.5 % of 4900
    assert params["metadata"] == {"tenant_id": "acme", "product_id": "app",
                                  "key_type_id": "pro"}


async def test_a_recurring_price_is_a_subscription_with_a_fee_percent():
    ports = connected(YEARLY)
    await create_checkout(BUY, ports)
    params = ports.stripe.sessions[0]["params"]
    assert params["mode"] == "subscription"
    assert params["subscription_data"]["application_fee_percent"] == 0.5


async def test_the_clients_idempotency_key_is_scoped_to_the_tenant():
    ports = connected()
    await create_checkout(BUY, ports)
    assert ports.stripe.sessions[0]["idempotency_key"] == "keylight-checkout-acme-req-1"


async def test_the_authorisation_says_whether_the_platform_key_is_configured():
    ports = connected()
    ports.platform_secret_key = None
    ports.terms = CheckoutTerms(ONCE, "The App", None, manual=True)
    ports.manual_keys = {"acme": "sk_own"}
    await create_checkout(BUY, ports)
    assert ports.authorized[0].platform_ready is False


async def test_a_manual_mode_tenant_pays_with_its_own_key_and_no_platform_fee():
    ports = FakePayments(terms=CheckoutTerms(ONCE, "The App", None, manual=True),
                         manual_keys={"acme": "sk_own"})
    await create_checkout(BUY, ports)
    (sent,) = ports.stripe.sessions
    assert (sent["api_key"], sent["account"]) == ("sk_own", None)
    assert "application_fee_amount" not in sent["params"]["payment_intent_data"]


async def test_a_manual_mode_tenant_without_stored_keys_is_not_connected():
    ports = FakePayments(terms=CheckoutTerms(ONCE, "The App", None, manual=True))
    with pytest.raises(Conflict) as refused:
        await create_checkout(BUY, ports)
    assert refused.value.code == "STRIPE_NOT_CONNECTED" and ports.stripe.sessions == []


async def test_a_refused_authorisation_calls_stripe_for_nothing_and_records_nothing():
    ports = FakePayments(refusal=Forbidden("no", code="PRODUCT_NOT_ACTIVE"))
    with pytest.raises(Forbidden):
        await create_checkout(BUY, ports)
    assert ports.stripe.sessions == [] and ports.recorded_sessions == []


def snapshot(**changes) -> TenantSnapshot:
    return TenantSnapshot.of(a_tenant(**changes))


async def test_priced_terms_of_a_connected_tenant_get_a_price_on_its_account():
    ports = FakePayments()
    price = await stripe_price_for(
        PriceForTerms(snapshot(stripe_account_id="acct_1"), "app", TERMS), ports)
    (sent,) = ports.stripe.prices
    assert price == "price_1" and sent["account"] == "acct_1"
    assert sent["params"]["product_data"] == {"name": "The App — Pro"}
    assert sent["params"]["unit_amount"] == 4900 and "recurring" not in sent["params"]


async def test_recurring_terms_get_a_recurring_price():
    ports = FakePayments()
    await stripe_price_for(PriceForTerms(snapshot(stripe_account_id="acct_1"), "app",
                                         {**TERMS, "recurring_interval": "month"}), ports)
    assert ports.stripe.prices[0]["params"]["recurring"] == {"interval": "month"}


async def test_unpriced_terms_get_no_price():
    ports = FakePayments()
    assert await stripe_price_for(PriceForTerms(
        snapshot(stripe_account_id="acct_1"), "app", {**TERMS, "price_in_cents": None}),
        ports) is None
    assert ports.stripe.prices == []


async def test_a_manual_mode_tenant_gets_a_price_with_its_own_key():
    ports = FakePayments(manual_keys={"acme": "sk_own"})
    await stripe_price_for(PriceForTerms(snapshot(), "app", TERMS), ports)
    assert (ports.stripe.prices[0]["api_key"], ports.stripe.prices[0]["account"]) == (
        "sk_own", None)


async def test_a_tenant_not_connected_to_stripe_gets_no_price():
    ports = FakePayments()
    assert await stripe_price_for(PriceForTerms(snapshot(), "app", TERMS), ports) is None
    assert ports.stripe.prices == []
