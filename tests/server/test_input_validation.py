"""Hostile bodies answer 400 with {"error", "code"} and change nothing."""

from __future__ import annotations

import pytest

from .conftest import unique_id


def assert_400_error_body(answer):
    assert answer.status_code == 400, answer.text
    assert set(answer.json()) == {"error", "code"}


def test_malformed_json_is_400_invalid_json(http, operator_headers):
    answer = http.post("/api/admin/tenants", headers={**operator_headers,
                       "content-type": "application/json"}, content=b'{"tenant_id": ')
    assert_400_error_body(answer)
    assert answer.json()["code"] == "INVALID_JSON"


@pytest.mark.parametrize("body", [
    ["not", "an", "object"],
    {"tenant_id": 5, "name": "x"},
    {"tenant_id": "ok-id"},
    {"tenant_id": "ok-id", "name": "x" * 201},
    {"tenant_id": "x" * 65, "name": "x"},
    {"tenant_id": "bad id!", "name": "x"},
    {"tenant_id": "ok-id", "name": "x", "is_admin": True},
    {"tenant_id": "ok-id", "name": "x", "sdk_key": "yes"},
])
def test_tenant_bodies_outside_the_contract_are_400_and_create_nothing(
    http, operator_headers, body
):
    if isinstance(body, dict) and body.get("tenant_id") == "ok-id":
        body = {**body, "tenant_id": unique_id("t")}
    answer = http.post("/api/admin/tenants", headers=operator_headers, json=body)
    assert_400_error_body(answer)
    if isinstance(body, dict) and isinstance(body.get("tenant_id"), str):
        assert http.get(f"/api/admin/tenants/{body['tenant_id']}",
                        headers=operator_headers).status_code in (400, 404)


@pytest.mark.parametrize("terms", [
    {"activation_limit": "3"},
    {"activation_limit": 0},
    {"activation_limit": 3.5},
    {"entitlements": "pro"},
    {"entitlements": ["x" * 65]},
    {"currency": "dollars", "price_in_cents": 100},
    {"price_in_cents": -1, "currency": "usd"},
    {"display_name": ""},
])
def test_key_type_bodies_outside_the_contract_are_400_and_create_nothing(http, catalog, terms):
    base = f"/api/{catalog.tenant.tenant_id}/products/{catalog.product_id}/key-types"
    body = {"key_type_id": "bad", "display_name": "Bad", "activation_limit": 1, **terms}
    assert_400_error_body(http.post(base, headers=catalog.tenant.headers, json=body))
    assert http.patch(f"{base}/bad", headers=catalog.tenant.headers,
                      json={"display_name": "x"}).status_code == 404


def test_a_mint_with_a_bad_email_is_400_and_mints_nothing(http, catalog):
    path = f"/api/{catalog.tenant.tenant_id}/licenses"
    answer = http.post(path, headers=catalog.tenant.headers,
                       json={"product_id": catalog.product_id, "key_type_id": "pro",
                             "customer_email": "not an email"})
    assert_400_error_body(answer)
    assert http.get(path, headers=catalog.tenant.headers).json()["data"] == []


def test_an_unknown_route_is_404_with_an_error_body(http):
    answer = http.get("/api/nowhere/at/all/really")
    assert answer.status_code == 404 and set(answer.json()) == {"error", "code"}
