"""Use cases of payments: checkout authorisation, manual Stripe keys, minting for a session."""

from __future__ import annotations

import pytest

from keylight_actors.domain.errors import Conflict, Forbidden, Unprocessable
from keylight_actors.domain.lifecycle import Lifecycle
from keylight_actors.services.payments import (
    AuthorizeCheckout,
    MintFromCheckout,
    SetManualStripe,
    authorize_checkout,
    mint_from_checkout,
    set_manual_stripe,
)
from keylight_actors.services.unit_of_work import (
    LicenseAdded,
    ManualStripeSecrets,
    StripeEventProcessed,
)

from .memory import InMemoryUnitOfWork, a_tenant

CHECKOUT = AuthorizeCheckout("acme", "app", "pro", platform_ready=True)
PAID = MintFromCheckout("acme", "evt_1", "cs_1", "app", "pro", "buyer@example.com",
                        "pi_1", None, "cus_1")


def test_a_connected_tenant_may_check_out_a_priced_key_type():
    uow = InMemoryUnitOfWork(a_tenant(stripe_account_id="acct_1"))
    terms = authorize_checkout(CHECKOUT, uow)
    assert terms.key_type.stripe_price_id == "price_1" and terms.product_name == "The App"
    assert (terms.stripe_account_id, terms.manual) == ("acct_1", False)
    assert not uow.writes_anything


def test_a_tenant_not_connected_to_stripe_cannot_check_out():
    with pytest.raises(Conflict):
        authorize_checkout(CHECKOUT, InMemoryUnitOfWork(a_tenant()))


def test_connect_mode_needs_the_platform_key():
    uow = InMemoryUnitOfWork(a_tenant(stripe_account_id="acct_1"))
    with pytest.raises(Conflict):
        authorize_checkout(AuthorizeCheckout("acme", "app", "pro", platform_ready=False), uow)


def test_a_key_type_without_a_stripe_price_cannot_be_checked_out():
    tenant = a_tenant(stripe_account_id="acct_1")
    tenant.replace_key_type(tenant.key_type("app", "pro").changed(price_in_cents=10))
    with pytest.raises(Unprocessable):
        authorize_checkout(CHECKOUT, InMemoryUnitOfWork(tenant))


def test_manual_stripe_keys_are_recorded_to_be_sealed_and_the_tenant_goes_manual():
    uow = InMemoryUnitOfWork(a_tenant())
    snapshot = set_manual_stripe(SetManualStripe("acme", "sk_x", "whsec_y", "t"), uow)
    assert uow.entity.stripe_manual and uow.saved and snapshot.tenant_id == "acme"
    assert uow.records == [ManualStripeSecrets("sk_x", "whsec_y")]


def test_the_manual_stripe_command_does_not_show_its_secrets():
    assert "sk_x" not in repr(SetManualStripe("acme", "sk_x", "whsec_y", "t"))


async def test_a_paid_session_mints_one_license_with_its_stripe_ids():
    uow = InMemoryUnitOfWork(a_tenant())
    mint = await mint_from_checkout(PAID, uow)
    assert mint.minted
    [claim, added] = uow.records
    assert claim == StripeEventProcessed("evt_1")
    assert isinstance(added, LicenseAdded) and added.license.license_id == mint.license_id
    assert added.checkout_session_id == "cs_1"
    assert dict(added.stripe_ids)["payment_intent"] == "pi_1"


async def test_a_paid_session_announces_license_created_with_its_session():
    uow = InMemoryUnitOfWork(a_tenant())
    await mint_from_checkout(PAID, uow)
    [event] = uow.events
    assert event.event_type == "license.created" and event.fields["session_id"] == "cs_1"
    assert uow.audits[0].actor == "stripe"


async def test_a_session_that_minted_already_mints_nothing_but_claims_the_event():
    uow = InMemoryUnitOfWork(a_tenant(), sessions={"cs_1": "lic-1"})
    mint = await mint_from_checkout(PAID, uow)
    assert (mint.license_id, mint.minted) == ("lic-1", False)
    assert uow.records == [StripeEventProcessed("evt_1")] and not uow.events


async def test_a_closed_tenant_mints_nothing_for_a_paid_session():
    uow = InMemoryUnitOfWork(a_tenant(lifecycle=Lifecycle.CLOSED))
    with pytest.raises(Forbidden):
        await mint_from_checkout(PAID, uow)


async def test_a_suspended_tenant_still_mints_what_was_paid_for():
    uow = InMemoryUnitOfWork(a_tenant(lifecycle=Lifecycle.SUSPENDED))
    assert (await mint_from_checkout(PAID, uow)).minted
