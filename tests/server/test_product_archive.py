"""PATCH a product: rename it, archive it (no new activations, checkouts or hand mints;
existing seats keep working), and put it back on sale."""

from __future__ import annotations

import pytest

from .payments import checkout, connect
from .sdk_calls import activate, deactivate, machine_hash, validate


def patch_product(http, catalog, body, *, headers=None):
    tenant = catalog.tenant
    return http.patch(f"/api/{tenant.tenant_id}/products/{catalog.product_id}",
                      headers=headers or tenant.headers, json=body)


def product_of(http, catalog):
    tenant = catalog.tenant
    return http.get(f"/api/{tenant.tenant_id}/products/{catalog.product_id}",
                    headers=tenant.headers).json()


def test_a_renamed_product_reads_back_with_its_new_name(http, catalog):
    answer = patch_product(http, catalog, {"display_name": "Acme Editor 2"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["display_name"] == "Acme Editor 2"
    assert product_of(http, catalog)["display_name"] == "Acme Editor 2"
    assert product_of(http, catalog)["status"] == "active"


def test_an_archived_product_refuses_new_activations(http, catalog, mint):
    key = mint(catalog)["key"]
    assert patch_product(http, catalog, {"status": "archived"}).json()["status"] == "archived"
    assert product_of(http, catalog)["status"] == "archived"
    refused = activate(http, catalog, key, machine_hash=machine_hash())
    assert refused.status_code == 403
    assert refused.json()["code"] == "PRODUCT_NOT_ACTIVE"


def test_an_archived_product_keeps_existing_seats_validating_and_deactivating(
        http, catalog, mint):
    key = mint(catalog)["key"]
    instance_id = activate(http, catalog, key, machine_hash=machine_hash()).json()["instance_id"]
    patch_product(http, catalog, {"status": "archived"})
    assert validate(http, catalog, key, instance_id).status_code == 200
    assert deactivate(http, catalog, instance_id, license_key=key).status_code == 200


def test_an_archived_product_refuses_hand_mints(http, catalog):
    patch_product(http, catalog, {"status": "archived"})
    tenant = catalog.tenant
    refused = http.post(f"/api/{tenant.tenant_id}/licenses", headers=tenant.headers,
                        json={"product_id": catalog.product_id,
                              "key_type_id": catalog.key_type_id})
    assert refused.status_code == 403
    assert refused.json()["code"] == "PRODUCT_NOT_ACTIVE"


def test_an_archived_product_refuses_checkout(http, operator_headers, tenant, make_catalog):
    connect(http, operator_headers, tenant)
    catalog = make_catalog(tenant, price_in_cents=1999, currency="usd")
    patch_product(http, catalog, {"status": "archived"})
    refused = checkout(http, catalog)
    assert refused.status_code == 403
    assert refused.json()["code"] == "PRODUCT_NOT_ACTIVE"


def test_archiving_is_reversible(http, catalog, mint):
    key = mint(catalog)["key"]
    patch_product(http, catalog, {"status": "archived"})
    assert patch_product(http, catalog, {"status": "active"}).status_code == 200
    assert activate(http, catalog, key, machine_hash=machine_hash()).status_code == 200


def test_a_product_change_is_audited(http, catalog):
    patch_product(http, catalog, {"status": "archived"})
    tenant = catalog.tenant
    audit = http.get(f"/api/{tenant.tenant_id}/audit", headers=tenant.headers).json()["data"]
    assert any(entry["action"] == "product.update" and entry["target"] == catalog.product_id
               for entry in audit)


@pytest.mark.parametrize("body", [{}, {"status": "deleted"}, {"status": 1},
                                  {"display_name": ""}, {"display_name": "x" * 201},
                                  {"colour": "red"}])
def test_a_bad_product_change_is_400(http, catalog, body):
    answer = patch_product(http, catalog, body)
    assert answer.status_code == 400, answer.text


def test_another_tenants_product_cannot_be_changed(http, make_tenant, make_catalog):
    owner, other = make_tenant(), make_tenant()
    catalog = make_catalog(owner)
    assert http.patch(f"/api/{other.tenant_id}/products/{catalog.product_id}",
                      headers=other.headers, json={"status": "archived"}).status_code == 404
    assert patch_product(http, catalog, {"status": "archived"},
                         headers=other.headers).status_code == 403
    assert product_of(http, catalog)["status"] == "active"
