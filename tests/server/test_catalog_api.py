"""Tenant API: products and key types (DESIGN §5, management API table)."""

from __future__ import annotations

import pytest

from .conftest import unique_id, unique_key_prefix


def product_body(**extra):
    return {"product_id": unique_id("app"), "display_name": "Acme Editor",
            "key_prefix": unique_key_prefix(), **extra}


def key_type_body(**extra):
    return {"key_type_id": "team", "display_name": "Team", "activation_limit": 5, **extra}


@pytest.fixture
def create_product(http):
    def create(tenant, **extra):
        return http.post(f"/api/{tenant.tenant_id}/products", headers=tenant.headers,
                         json=product_body(**extra))

    return create


@pytest.fixture
def create_key_type(http):
    def create(catalog, product_id=None, **extra):
        product_id = product_id or catalog.product_id
        return http.post(f"/api/{catalog.tenant.tenant_id}/products/{product_id}/key-types",
                         headers=catalog.tenant.headers, json=key_type_body(**extra))

    return create


@pytest.fixture
def change_key_type(http):
    def change(catalog, body, key_type_id=None):
        key_type_id = key_type_id or catalog.key_type_id
        return http.patch(
            f"/api/{catalog.tenant.tenant_id}/products/{catalog.product_id}/key-types/"
            f"{key_type_id}", headers=catalog.tenant.headers, json=body)

    return change


def products_of(http, operator_headers, tenant):
    shown = http.get(f"/api/admin/tenants/{tenant.tenant_id}", headers=operator_headers)
    assert shown.status_code == 200, shown.text
    return shown.json()["products"]


# -- products ----------------------------------------------------------------------------------

def test_creating_a_product_is_201(create_product, tenant):
    assert create_product(tenant).status_code == 201


def test_a_created_product_answers_its_fields(http, tenant):
    body = product_body()
    answer = http.post(f"/api/{tenant.tenant_id}/products", headers=tenant.headers, json=body)
    assert answer.json() == {
        "product_id": body["product_id"],
        "display_name": "Acme Editor",
        "key_prefix": body["key_prefix"],
        "status": "active",
        "trial_duration_days": 0,
        "free_tier_enabled": False,
    }


def test_a_product_keeps_its_trial_and_free_tier_settings(create_product, tenant):
    answer = create_product(tenant, trial_duration_days=14, free_tier_enabled=True)
    assert answer.status_code == 201, answer.text
    assert answer.json()["trial_duration_days"] == 14
    assert answer.json()["free_tier_enabled"] is True


def test_a_created_product_belongs_to_the_tenant(http, operator_headers, create_product, tenant):
    product_id = create_product(tenant).json()["product_id"]
    assert product_id in products_of(http, operator_headers, tenant)


def test_a_duplicate_product_id_is_409(create_product, tenant):
    first = create_product(tenant).json()
    again = create_product(tenant, product_id=first["product_id"])
    assert again.status_code == 409
    assert again.json()["code"] == "PRODUCT_EXISTS"


def test_a_key_prefix_taken_by_another_tenant_is_409(create_product, tenant, make_tenant):
    taken = create_product(tenant).json()["key_prefix"]
    answer = create_product(make_tenant(), key_prefix=taken)
    assert answer.status_code == 409
    assert answer.json()["code"] == "KEY_PREFIX_TAKEN"


def test_a_key_prefix_taken_by_another_product_of_the_same_tenant_is_409(create_product,
                                                                         tenant):
    taken = create_product(tenant).json()["key_prefix"]
    answer = create_product(tenant, key_prefix=taken)
    assert answer.status_code == 409
    assert answer.json()["code"] == "KEY_PREFIX_TAKEN"


def test_a_product_refused_for_its_prefix_is_not_created(http, operator_headers, create_product,
                                                         tenant, make_tenant):
    taken = create_product(tenant).json()["key_prefix"]
    other = make_tenant()
    refused = create_product(other, key_prefix=taken)
    assert refused.status_code == 409
    assert products_of(http, operator_headers, other) == []


def test_a_product_id_refused_for_its_prefix_stays_free(create_product, tenant, make_tenant):
    taken = create_product(tenant).json()["key_prefix"]
    other = make_tenant()
    product_id = unique_id("app")
    assert create_product(other, product_id=product_id, key_prefix=taken).status_code == 409
    assert create_product(other, product_id=product_id).status_code == 201


@pytest.mark.parametrize("prefix", ["ab1", "abcd", "ABC", "ABCDE", "AB-D", "AB D", ""])
def test_a_key_prefix_that_is_not_four_uppercase_alphanumerics_is_400(
    http, operator_headers, create_product, tenant, prefix
):
    answer = create_product(tenant, key_prefix=prefix)
    assert answer.status_code == 400, answer.text
    assert products_of(http, operator_headers, tenant) == []


# -- key types ---------------------------------------------------------------------------------

def test_creating_a_key_type_is_201(create_key_type, catalog):
    assert create_key_type(catalog).status_code == 201


def test_a_created_key_type_answers_its_terms(create_key_type, catalog):
    answer = create_key_type(catalog, duration_days=30, entitlements=["pro", "cloud"],
                             fallback_access=True)
    assert answer.json() == {
        "product_id": catalog.product_id,
        "key_type_id": "team",
        "display_name": "Team",
        "activation_limit": 5,
        "duration_days": 30,
        "price_in_cents": None,
        "currency": None,
        "recurring_interval": None,
        "entitlements": ["pro", "cloud"],
        "fallback_access": True,
        "stripe_price_id": None,
        "churn_limit_per_day": 50,
    }


def test_a_key_type_for_an_unknown_product_is_404(create_key_type, catalog):
    answer = create_key_type(catalog, product_id=unique_id("nope"))
    assert answer.status_code == 404
    assert answer.json()["code"] == "PRODUCT_NOT_FOUND"


def test_a_duplicate_key_type_is_409(create_key_type, catalog):
    answer = create_key_type(catalog, key_type_id=catalog.key_type_id)
    assert answer.status_code == 409
    assert answer.json()["code"] == "KEY_TYPE_EXISTS"


def test_a_duplicate_key_type_leaves_the_first_one_as_it_was(create_key_type, catalog, mint):
    create_key_type(catalog, key_type_id=catalog.key_type_id, activation_limit=9)
    assert mint(catalog)["activation_limit"] == 3


def test_the_same_key_type_id_may_exist_under_two_products(http, create_key_type, tenant,
                                                           make_catalog):
    first, second = make_catalog(tenant), make_catalog(tenant)
    assert create_key_type(first, key_type_id="shared").status_code == 201
    assert create_key_type(second, key_type_id="shared").status_code == 201


def test_changing_a_key_type_answers_the_new_terms(change_key_type, catalog):
    answer = change_key_type(catalog, {"activation_limit": 7})
    assert answer.status_code == 200, answer.text
    assert answer.json()["activation_limit"] == 7
    assert answer.json()["entitlements"] == ["pro"]
    assert answer.json()["display_name"] == "Pro"


def test_licenses_minted_after_a_change_copy_the_new_activation_limit(change_key_type, catalog,
                                                                      mint):
    change_key_type(catalog, {"activation_limit": 7}).raise_for_status()
    assert mint(catalog)["activation_limit"] == 7


def test_licenses_minted_before_a_change_keep_their_activation_limit(http, change_key_type,
                                                                     catalog, mint):
    before = mint(catalog)
    change_key_type(catalog, {"activation_limit": 7}).raise_for_status()
    shown = http.get(f"/api/{catalog.tenant.tenant_id}/licenses/{before['license_id']}",
                     headers=catalog.tenant.headers)
    assert shown.json()["activation_limit"] == 3


def test_changing_an_unknown_key_type_is_404(change_key_type, catalog):
    answer = change_key_type(catalog, {"activation_limit": 2}, key_type_id="nope")
    assert answer.status_code == 404
    assert answer.json()["code"] == "KEY_TYPE_NOT_FOUND"


def test_changing_a_key_type_to_a_null_activation_limit_is_400(change_key_type, catalog, mint):
    answer = change_key_type(catalog, {"activation_limit": None})
    assert answer.status_code == 400
    assert mint(catalog)["activation_limit"] == 3


def test_changing_a_key_type_with_nothing_to_change_is_400(change_key_type, catalog):
    assert change_key_type(catalog, {}).status_code == 400
