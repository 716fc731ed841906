"""Catalog reads: products and key types read back as created, per tenant."""

from __future__ import annotations

from .conftest import unique_id, unique_key_prefix


def get(http, tenant, path, **params):
    return http.get(f"/api/{tenant.tenant_id}{path}", headers=tenant.headers, params=params)


def test_a_created_product_reads_back_with_every_field_creation_accepted(http, tenant):
    body = {"product_id": unique_id("app"), "display_name": "Acme Editor",
            "key_prefix": unique_key_prefix(), "trial_duration_days": 14,
            "free_tier_enabled": True}
    assert http.post(f"/api/{tenant.tenant_id}/products", headers=tenant.headers,
                     json=body).status_code == 201
    shown = get(http, tenant, f"/products/{body['product_id']}")
    assert shown.status_code == 200, shown.text
    product = shown.json()
    assert {name: product[name] for name in body} == body
    assert product["status"] == "active"
    assert product["created_at"].endswith("Z")
    assert product["key_types"] == []


def test_the_product_list_holds_each_product_once_in_id_order(http, tenant, make_catalog):
    made = sorted(make_catalog(tenant).product_id for _ in range(3))
    listed = get(http, tenant, "/products")
    assert listed.status_code == 200
    assert [item["product_id"] for item in listed.json()["data"]] == made
    assert listed.json()["next_cursor"] is None


def test_the_product_list_pages_with_a_cursor(http, tenant, make_catalog):
    made = sorted(make_catalog(tenant).product_id for _ in range(3))
    first = get(http, tenant, "/products", limit=2).json()
    second = get(http, tenant, "/products", limit=2, cursor=first["next_cursor"]).json()
    assert [item["product_id"] for item in first["data"] + second["data"]] == made
    assert second["next_cursor"] is None


def test_a_key_type_reads_back_with_its_terms_price_and_status(http, tenant, make_catalog):
    catalog = make_catalog(tenant, duration_days=365, churn_limit_per_day=7)
    shown = get(http, tenant, f"/products/{catalog.product_id}/key-types/{catalog.key_type_id}")
    assert shown.status_code == 200, shown.text
    key_type = shown.json()
    assert key_type["key_type_id"] == catalog.key_type_id
    assert key_type["activation_limit"] == 3
    assert key_type["duration_days"] == 365
    assert key_type["churn_limit_per_day"] == 7
    assert key_type["entitlements"] == ["pro"]
    assert key_type["stripe_price_id"] is None
    assert key_type["status"] == "active"
    assert key_type["created_at"].endswith("Z")


def test_a_product_answers_with_its_key_types(http, tenant, make_catalog):
    catalog = make_catalog(tenant)
    product = get(http, tenant, f"/products/{catalog.product_id}").json()
    assert [item["key_type_id"] for item in product["key_types"]] == [catalog.key_type_id]
    listed = get(http, tenant, f"/products/{catalog.product_id}/key-types").json()
    assert listed["data"] == product["key_types"]


def test_an_unknown_product_is_404(http, tenant):
    answer = get(http, tenant, "/products/nope")
    assert answer.status_code == 404
    assert answer.json()["code"] == "PRODUCT_NOT_FOUND"
    assert get(http, tenant, "/products/nope/key-types").status_code == 404


def test_an_unknown_key_type_is_404(http, catalog):
    answer = get(http, catalog.tenant, f"/products/{catalog.product_id}/key-types/nope")
    assert answer.status_code == 404
    assert answer.json()["code"] == "KEY_TYPE_NOT_FOUND"


def test_another_tenants_product_is_404_and_never_listed(http, make_tenant, make_catalog):
    owner, other = make_tenant(), make_tenant()
    catalog = make_catalog(owner)
    assert get(http, other, f"/products/{catalog.product_id}").status_code == 404
    assert get(http, other, f"/products/{catalog.product_id}/key-types/pro").status_code == 404
    assert get(http, other, "/products").json()["data"] == []


def test_another_tenants_token_cannot_read_the_catalog(http, make_tenant, make_catalog):
    owner, other = make_tenant(), make_tenant()
    make_catalog(owner)
    answer = http.get(f"/api/{owner.tenant_id}/products", headers=other.headers)
    assert answer.status_code == 403


def test_reading_the_catalog_needs_a_token(http, catalog):
    assert http.get(f"/api/{catalog.tenant.tenant_id}/products").status_code == 401
