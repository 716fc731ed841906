"""Use cases of a product's life: rename, archive, and what an archived product refuses."""

from __future__ import annotations

import pytest

from keylight_actors.domain.errors import Forbidden, InvalidInput, NotFound
from keylight_actors.services.catalog import UpdateProduct, update_product
from keylight_actors.services.licenses import MintLicense, mint_license
from keylight_actors.services.payments import AuthorizeCheckout, authorize_checkout
from keylight_actors.services.unit_of_work import ProductChanged

from .memory import InMemoryUnitOfWork, a_tenant


def archive(uow: InMemoryUnitOfWork, status: str = "archived") -> None:
    update_product(UpdateProduct("acme", "app", None, status, "tenant:acme"), uow)


def test_archiving_a_product_stores_and_audits_its_new_status():
    uow = InMemoryUnitOfWork(a_tenant())
    archive(uow)
    product = uow.entity.products["app"]
    assert product.status == "archived" and not product.on_sale
    assert uow.saved and uow.records == [ProductChanged(product)]
    assert uow.audit_actions() == ["product.update"]


def test_renaming_a_product_keeps_its_status_and_prefix():
    uow = InMemoryUnitOfWork(a_tenant())
    renamed = update_product(UpdateProduct("acme", "app", "The App 2", None, "tenant:acme"), uow)
    assert (renamed.display_name, renamed.status, renamed.key_prefix) == (
        "The App 2", "active", "ACME")


def test_an_archived_product_can_be_put_back_on_sale():
    uow = InMemoryUnitOfWork(a_tenant())
    archive(uow)
    archive(uow, "active")
    assert uow.entity.products["app"].on_sale


def test_an_unknown_status_is_refused_and_writes_nothing():
    uow = InMemoryUnitOfWork(a_tenant())
    with pytest.raises(InvalidInput):
        archive(uow, "deleted")
    assert not uow.writes_anything


def test_an_unknown_product_is_not_found():
    uow = InMemoryUnitOfWork(a_tenant())
    with pytest.raises(NotFound):
        update_product(UpdateProduct("acme", "nope", "X", None, "tenant:acme"), uow)


def test_an_archived_product_cannot_be_minted_by_hand():
    tenant = a_tenant()
    archive(InMemoryUnitOfWork(tenant))
    uow = InMemoryUnitOfWork(tenant)
    with pytest.raises(Forbidden) as refused:
        mint_license(MintLicense("acme", "app", "pro", None, "tenant:acme"), uow)
    assert refused.value.code == "PRODUCT_NOT_ACTIVE"


def test_an_archived_product_cannot_be_sold_through_checkout():
    tenant = a_tenant(stripe_account_id="acct_1")
    archive(InMemoryUnitOfWork(tenant))
    uow = InMemoryUnitOfWork(tenant)
    with pytest.raises(Forbidden) as refused:
        authorize_checkout(AuthorizeCheckout("acme", "app", "pro", True), uow)
    assert refused.value.code == "PRODUCT_NOT_ACTIVE"
