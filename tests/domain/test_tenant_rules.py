"""TenantEntity rules: lifecycle moves, catalog and the hand-mint limit."""

from __future__ import annotations

import pytest

from keylight_actors.domain.catalog import KeyType, Product
from keylight_actors.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from keylight_actors.domain.lifecycle import Lifecycle, allows_validation, parse_lifecycle
from keylight_actors.domain.tenant import MINT_WINDOW_SECONDS, MINTS_PER_HOUR, TenantEntity

NOW = 1_800_000_000.0


def tenant(lifecycle: Lifecycle = Lifecycle.ACTIVE) -> TenantEntity:
    entity = TenantEntity(tenant_id="t", name="T", lifecycle=lifecycle,
                          management_token_hash="m", checkout_key_hash="c", sdk_key_hash="s")
    entity.add_product(Product("app", "App", "ACME"))
    entity.add_key_type(KeyType("app", "pro", "Pro", activation_limit=3))
    return entity


@pytest.mark.parametrize(("start", "target"), [
    (Lifecycle.PENDING_VERIFICATION, Lifecycle.ACTIVE),
    (Lifecycle.ACTIVE, Lifecycle.SUSPENDED),
    (Lifecycle.SUSPENDED, Lifecycle.ACTIVE),
    (Lifecycle.SUSPENDED, Lifecycle.CLOSED),
])
def test_legal_lifecycle_moves_are_allowed(start, target):
    entity = tenant(start)
    entity.move_to(target)
    assert entity.lifecycle is target


@pytest.mark.parametrize(("start", "target"), [
    (Lifecycle.PENDING_VERIFICATION, Lifecycle.SUSPENDED),
    (Lifecycle.ACTIVE, Lifecycle.PENDING_VERIFICATION),
    (Lifecycle.ACTIVE, Lifecycle.ACTIVE),
    (Lifecycle.CLOSED, Lifecycle.ACTIVE),
])
def test_illegal_lifecycle_moves_are_conflicts(start, target):
    entity = tenant(start)
    with pytest.raises(Conflict):
        entity.move_to(target)
    assert entity.lifecycle is start


def test_an_unknown_lifecycle_name_is_invalid_input():
    with pytest.raises(InvalidInput):
        parse_lifecycle("deleted")


def test_a_suspended_tenant_still_validates_but_a_closed_one_does_not():
    assert allows_validation(Lifecycle.SUSPENDED)
    assert not allows_validation(Lifecycle.CLOSED)


@pytest.mark.parametrize("lifecycle", [Lifecycle.PENDING_VERIFICATION, Lifecycle.SUSPENDED,
                                       Lifecycle.CLOSED])
def test_only_an_active_tenant_may_mint(lifecycle):
    with pytest.raises(Forbidden):
        tenant(lifecycle).authorize_mint("app", "pro", NOW)


def test_minting_an_unknown_key_type_is_not_found():
    with pytest.raises(NotFound):
        tenant().authorize_mint("app", "enterprise", NOW)


def test_the_twenty_first_mint_within_an_hour_is_rate_limited_with_a_retry_time():
    entity = tenant()
    for second in range(MINTS_PER_HOUR):
        entity.authorize_mint("app", "pro", NOW + second)
    with pytest.raises(RateLimited) as refused:
        entity.authorize_mint("app", "pro", NOW + 100)
    assert refused.value.retry_after == MINT_WINDOW_SECONDS - 100


def test_minting_resumes_once_the_oldest_mint_leaves_the_window():
    entity = tenant()
    for second in range(MINTS_PER_HOUR):
        entity.authorize_mint("app", "pro", NOW + second)
    entity.authorize_mint("app", "pro", NOW + MINT_WINDOW_SECONDS + 1)


def test_duplicate_products_and_key_types_are_conflicts():
    entity = tenant()
    with pytest.raises(Conflict):
        entity.add_product(Product("app", "Again", "ZZZZ"))
    with pytest.raises(Conflict):
        entity.add_key_type(KeyType("app", "pro", "Pro", activation_limit=1))


def test_a_key_type_for_an_unknown_product_is_not_found():
    with pytest.raises(NotFound):
        tenant().add_key_type(KeyType("other", "pro", "Pro", activation_limit=1))


def test_a_changed_price_forgets_the_old_stripe_price():
    priced = KeyType("app", "pro", "Pro", activation_limit=1, price_in_cents=900,
                     currency="usd", stripe_price_id="price_1")
    assert priced.changed(price_in_cents=1200).stripe_price_id is None
    assert priced.changed(display_name="Pro+").stripe_price_id == "price_1"


@pytest.mark.parametrize("terms", [
    {"activation_limit": 0},
    {"price_in_cents": 100},
    {"recurring_interval": "month"},
    {"entitlements": ("a", "a")},
])
def test_key_type_terms_that_make_no_sense_are_invalid(terms):
    with pytest.raises(InvalidInput):
        KeyType(**{"product_id": "app", "key_type_id": "k", "display_name": "K",
                   "activation_limit": 1, **terms})


def test_a_copy_leaves_the_original_catalog_and_limits_alone():
    entity = tenant()
    draft = entity.copy()
    draft.add_product(Product("second", "Second", "SCND"))
    draft.authorize_mint("app", "pro", NOW)
    assert "second" not in entity.products
    assert entity.mint_limit.retry_after(NOW) == 0 and len(entity.mint_limit.hits) == 0
