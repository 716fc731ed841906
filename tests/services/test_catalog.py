"""Use cases of the catalog: products and key types."""

from __future__ import annotations

import pytest

from keylight_actors.domain.catalog import KeyType, Product
from keylight_actors.domain.errors import Conflict, InvalidInput, NotFound
from keylight_actors.services.catalog import (
    CreateKeyType,
    CreateProduct,
    UpdateKeyType,
    create_key_type,
    create_product,
    update_key_type,
)
from keylight_actors.services.unit_of_work import KeyTypeSaved, ProductAdded

from .memory import InMemoryUnitOfWork, a_tenant


def test_a_new_product_is_added_to_the_tenant_and_stored_beside_it():
    uow = InMemoryUnitOfWork(a_tenant())
    product = Product("tool", "The Tool", "TOOL")
    assert create_product(CreateProduct("acme", product, "tenant:acme"), uow) == product
    assert uow.entity.products["tool"] == product and uow.saved
    assert uow.records == [ProductAdded(product)]
    assert uow.audit_actions() == ["product.create"]


def test_a_product_key_prefix_must_be_four_uppercase_characters():
    uow = InMemoryUnitOfWork(a_tenant())
    with pytest.raises(InvalidInput):
        create_product(CreateProduct("acme", Product("tool", "T", "to"), "tenant:acme"), uow)
    assert not uow.writes_anything


def test_a_product_id_cannot_be_taken_twice():
    uow = InMemoryUnitOfWork(a_tenant())
    with pytest.raises(Conflict):
        create_product(CreateProduct("acme", Product("app", "Again", "AGN1"), "t"), uow)


def test_a_key_type_needs_its_product():
    uow = InMemoryUnitOfWork(a_tenant())
    with pytest.raises(NotFound):
        create_key_type(CreateKeyType("acme", KeyType("nope", "std", "Std", 1), "t"), uow)


def test_a_new_key_type_is_stored_and_audited_with_its_terms():
    uow = InMemoryUnitOfWork(a_tenant())
    key_type = KeyType("app", "std", "Standard", 2, entitlements=("base",))
    create_key_type(CreateKeyType("acme", key_type, "tenant:acme"), uow)
    assert uow.records == [KeyTypeSaved(key_type)]
    [entry] = uow.audits
    assert entry.target == "app/std" and entry.details["entitlements"] == ["base"]


def test_a_new_price_forgets_the_old_stripe_price_unless_one_is_given():
    uow = InMemoryUnitOfWork(a_tenant())
    changed = update_key_type(UpdateKeyType("acme", "app", "pro", {"price_in_cents": 100},
                                            "t"), uow)
    assert changed.price_in_cents == 100 and changed.stripe_price_id is None
    assert uow.entity.key_types[("app", "pro")] == changed


def test_changed_entitlements_are_kept_as_a_tuple():
    uow = InMemoryUnitOfWork(a_tenant())
    changed = update_key_type(UpdateKeyType("acme", "app", "pro",
                                            {"entitlements": ["a", "b"]}, "t"), uow)
    assert changed.entitlements == ("a", "b")
    assert uow.audits[0].details == {"entitlements": ["a", "b"]}


def test_changing_an_unknown_key_type_is_not_found():
    uow = InMemoryUnitOfWork(a_tenant())
    with pytest.raises(NotFound):
        update_key_type(UpdateKeyType("acme", "app", "gold", {"display_name": "G"}, "t"), uow)
