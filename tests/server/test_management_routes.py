"""Every management route: its happy path and each error it names (DESIGN §5)."""

from __future__ import annotations

import base64
import re

import pytest

from .conftest import unique_id, unique_key_prefix

KEY_PATTERN = r"^{prefix}(-[0-9A-HJKMNP-TV-Z]{{4}}){{4}}$"


def tenant_body(**extra):
    return {"tenant_id": unique_id("t"), "name": "Acme Apps", **extra}


# -- tenants --------------------------------------------------------------------------------

def test_creating_a_tenant_answers_its_credentials_and_keyset_once(http, operator_headers):
    answer = http.post("/api/admin/tenants", headers=operator_headers, json=tenant_body())
    assert answer.status_code == 201
    body = answer.json()
    assert body["lifecycle"] == "pending_verification"
    assert re.fullmatch(r"sdk_live_[0-9a-f]{64}", body["sdk_key"])
    assert body["checkout_api_key"] and body["management_token"]
    assert body["keyset"]["primary_kid"] == "k1"
    [key] = body["keyset"]["keys"]
    assert key["alg"] == "ed25519" and len(base64.b64decode(key["public_key"])) == 32
    shown = http.get(f"/api/admin/tenants/{body['tenant_id']}", headers=operator_headers)
    assert body["management_token"] not in shown.text and body["sdk_key"] not in shown.text


def test_a_tenant_may_be_created_without_an_sdk_key(http, operator_headers):
    answer = http.post("/api/admin/tenants", headers=operator_headers,
                       json=tenant_body(sdk_key=False))
    assert answer.status_code == 201 and answer.json()["sdk_key"] is None


def test_a_duplicate_tenant_id_is_409(http, operator_headers, tenant):
    answer = http.post("/api/admin/tenants", headers=operator_headers,
                       json={"tenant_id": tenant.tenant_id, "name": "Again"})
    assert answer.status_code == 409 and answer.json()["code"] == "TENANT_EXISTS"


@pytest.mark.parametrize("reserved", ["api", "docs", "healthz"])
def test_reserved_tenant_ids_are_refused(http, operator_headers, reserved):
    answer = http.post("/api/admin/tenants", headers=operator_headers,
                       json={"tenant_id": reserved, "name": "x"})
    assert answer.status_code == 400


def test_legal_lifecycle_moves_succeed_and_illegal_ones_are_409(http, operator_headers,
                                                                make_tenant):
    tenant_id = make_tenant(active=False).tenant_id
    path = f"/api/admin/tenants/{tenant_id}"

    def move(to):
        return http.patch(path, headers=operator_headers, json={"lifecycle": to})

    assert move("suspended").status_code == 409
    for legal in ("active", "suspended", "active", "suspended", "closed"):
        answer = move(legal)
        assert answer.status_code == 200 and answer.json()["lifecycle"] == legal
    assert move("active").status_code == 409
    assert move("deleted").status_code == 400


def test_connecting_stripe_and_the_same_account_twice_is_409(http, operator_headers,
                                                              make_tenant):
    first, second = make_tenant(), make_tenant()
    account = {"stripe_account_id": "acct_" + unique_id("x").replace("-", "")}
    ok = http.put(f"/api/admin/tenants/{first.tenant_id}/stripe", headers=operator_headers,
                  json=account)
    assert ok.status_code == 200 and ok.json()["stripe_account_id"] == account[
        "stripe_account_id"]
    taken = http.put(f"/api/admin/tenants/{second.tenant_id}/stripe",
                     headers=operator_headers, json=account)
    assert taken.status_code == 409


def test_operator_routes_on_an_unknown_tenant_are_404(http, operator_headers):
    for answer in (
        http.get("/api/admin/tenants/nobody", headers=operator_headers),
        http.patch("/api/admin/tenants/nobody", headers=operator_headers,
                   json={"lifecycle": "active"}),
        http.put("/api/admin/tenants/nobody/stripe", headers=operator_headers,
                 json={"stripe_account_id": "acct_1"}),
    ):
        assert answer.status_code == 404


def test_operator_routes_refuse_missing_wrong_and_tenant_tokens_with_401(http, tenant):
    body = tenant_body()
    for headers in ({}, {"Authorization": "Bearer kop_wrong"},
                    {"Authorization": "Basic abc"}, tenant.headers):
        assert http.post("/api/admin/tenants", headers=headers, json=body).status_code == 401
    assert http.get(f"/api/admin/tenants/{body['tenant_id']}",
                    headers={"Authorization": "Bearer x"}).status_code == 401


# -- catalog ----------------------------------------------------------------------------------

def create_product(http, tenant, **body):
    body = {"product_id": unique_id("app"), "display_name": "App",
            "key_prefix": unique_key_prefix(), **body}
    return http.post(f"/api/{tenant.tenant_id}/products", headers=tenant.headers, json=body)


def test_a_product_is_created_with_its_prefix(http, tenant):
    answer = create_product(http, tenant, trial_duration_days=14, free_tier_enabled=True)
    assert answer.status_code == 201
    assert answer.json()["trial_duration_days"] == 14 and answer.json()["free_tier_enabled"]


def test_a_duplicate_product_or_a_prefix_taken_by_any_tenant_is_409(http, tenant,
                                                                    make_tenant):
    first = create_product(http, tenant).json()
    again = create_product(http, tenant, product_id=first["product_id"])
    assert again.status_code == 409 and again.json()["code"] == "PRODUCT_EXISTS"
    elsewhere = create_product(http, make_tenant(), key_prefix=first["key_prefix"])
    assert elsewhere.status_code == 409 and elsewhere.json()["code"] == "KEY_PREFIX_TAKEN"


@pytest.mark.parametrize("prefix", ["ab1", "abcd", "ABCDE", "AB-D"])
def test_a_prefix_that_is_not_four_uppercase_alphanumerics_is_400(http, tenant, prefix):
    assert create_product(http, tenant, key_prefix=prefix).status_code == 400


def key_type_body(**extra):
    return {"key_type_id": "pro", "display_name": "Pro", "activation_limit": 2, **extra}


def test_a_key_type_is_created_and_its_terms_answered(http, catalog):
    path = f"/api/{catalog.tenant.tenant_id}/products/{catalog.product_id}/key-types"
    answer = http.post(path, headers=catalog.tenant.headers,
                       json=key_type_body(key_type_id="team", duration_days=30,
                                          entitlements=["a", "b"]))
    assert answer.status_code == 201
    assert answer.json()["duration_days"] == 30 and answer.json()["entitlements"] == ["a", "b"]


def test_key_type_errors_unknown_product_404_and_duplicate_409(http, catalog):
    base = f"/api/{catalog.tenant.tenant_id}/products"
    headers = catalog.tenant.headers
    assert http.post(f"{base}/nope/key-types", headers=headers,
                     json=key_type_body()).status_code == 404
    assert http.post(f"{base}/{catalog.product_id}/key-types", headers=headers,
                     json=key_type_body()).status_code == 409


def test_changing_a_key_type_applies_to_later_mints(http, catalog, mint):
    path = (f"/api/{catalog.tenant.tenant_id}/products/{catalog.product_id}/key-types/"
            f"{catalog.key_type_id}")
    changed = http.patch(path, headers=catalog.tenant.headers, json={"activation_limit": 7})
    assert changed.status_code == 200 and changed.json()["activation_limit"] == 7
    assert mint(catalog)["activation_limit"] == 7


def test_changing_an_unknown_key_type_is_404_and_nulling_a_required_term_400(http, catalog):
    base = f"/api/{catalog.tenant.tenant_id}/products/{catalog.product_id}/key-types"
    headers = catalog.tenant.headers
    assert http.patch(f"{base}/nope", headers=headers,
                      json={"activation_limit": 2}).status_code == 404
    assert http.patch(f"{base}/{catalog.key_type_id}", headers=headers,
                      json={"activation_limit": None}).status_code == 400
    assert http.patch(f"{base}/{catalog.key_type_id}", headers=headers, json={}
                      ).status_code == 400


# -- licenses ---------------------------------------------------------------------------------

def test_a_minted_license_answers_its_raw_key_once(http, catalog, mint):
    minted = mint(catalog)
    assert re.fullmatch(KEY_PATTERN.format(prefix=catalog.key_prefix), minted["key"])
    assert minted["activation_limit"] == 3 and minted["status"] == "active"
    shown = http.get(f"/api/{catalog.tenant.tenant_id}/licenses/{minted['license_id']}",
                     headers=catalog.tenant.headers)
    assert minted["key"] not in shown.text
    assert shown.json()["key_display"].endswith(minted["key"][-4:])


def test_a_key_type_with_a_duration_mints_a_license_that_expires(http, tenant, make_catalog,
                                                                 mint):
    minted = mint(make_catalog(tenant, duration_days=30))
    assert minted["expires_at"] is not None


def test_the_twenty_first_hand_mint_in_an_hour_is_429_and_writes_nothing(http, catalog, mint):
    for _ in range(20):
        mint(catalog)
    refused = http.post(f"/api/{catalog.tenant.tenant_id}/licenses",
                        headers=catalog.tenant.headers,
                        json={"product_id": catalog.product_id,
                              "key_type_id": catalog.key_type_id})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    listed = http.get(f"/api/{catalog.tenant.tenant_id}/licenses?limit=200",
                      headers=catalog.tenant.headers).json()["data"]
    assert len(listed) == 20


@pytest.mark.parametrize("lifecycle", ["pending_verification", "suspended"])
def test_minting_for_a_tenant_that_is_not_active_is_403(http, make_tenant, make_catalog,
                                                        operator_headers, lifecycle):
    tenant = make_tenant()
    catalog = make_catalog(tenant)
    if lifecycle == "suspended":
        http.patch(f"/api/admin/tenants/{tenant.tenant_id}", headers=operator_headers,
                   json={"lifecycle": "suspended"}).raise_for_status()
    else:
        tenant = make_tenant(active=False)
        catalog = make_catalog(tenant)
    answer = http.post(f"/api/{tenant.tenant_id}/licenses", headers=tenant.headers,
                       json={"product_id": catalog.product_id, "key_type_id": "pro"})
    assert answer.status_code == 403


def test_minting_an_unknown_product_or_key_type_is_404(http, catalog):
    path = f"/api/{catalog.tenant.tenant_id}/licenses"
    for body in ({"product_id": "nope", "key_type_id": "pro"},
                 {"product_id": catalog.product_id, "key_type_id": "nope"}):
        assert http.post(path, headers=catalog.tenant.headers, json=body).status_code == 404


def test_listing_pages_newest_first_through_every_license_exactly_once(http, catalog, mint):
    minted = [mint(catalog)["license_id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = http.get(f"/api/{catalog.tenant.tenant_id}/licenses{query}",
                        headers=catalog.tenant.headers).json()
        seen += [item["license_id"] for item in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(minted) and len(seen) == 5
    assert seen[0] == minted[-1]


def test_listing_filters_by_product_status_and_email(http, tenant, make_catalog, mint):
    first, second = make_catalog(tenant), make_catalog(tenant)
    a = mint(first, customer_email="ada@example.com")
    mint(second, customer_email="bob@example.com")
    http.post(f"/api/{tenant.tenant_id}/licenses/{a['license_id']}/revoke",
              headers=tenant.headers).raise_for_status()

    def ids(query):
        return [item["license_id"] for item in http.get(
            f"/api/{tenant.tenant_id}/licenses?{query}", headers=tenant.headers).json()["data"]]

    assert ids(f"product_id={first.product_id}") == [a["license_id"]]
    assert ids("status=revoked") == [a["license_id"]]
    assert ids("email=ADA@example.com") == [a["license_id"]]
    assert http.get(f"/api/{tenant.tenant_id}/licenses?status=lost",
                    headers=tenant.headers).status_code == 400
    assert http.get(f"/api/{tenant.tenant_id}/licenses?cursor=bm9wZQ",
                    headers=tenant.headers).status_code == 400


def test_an_unknown_or_malformed_license_id_is_404(http, tenant):
    for license_id in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        assert http.get(f"/api/{tenant.tenant_id}/licenses/{license_id}",
                        headers=tenant.headers).status_code == 404


def test_revoking_is_idempotent(http, catalog, mint):
    path = f"/api/{catalog.tenant.tenant_id}/licenses/{mint(catalog)['license_id']}/revoke"
    for _ in range(2):
        answer = http.post(path, headers=catalog.tenant.headers)
        assert answer.status_code == 200 and answer.json()["status"] == "revoked"


def test_reminting_issues_a_new_key_and_retires_the_old_one(http, catalog, mint):
    old = mint(catalog)
    base = f"/api/{catalog.tenant.tenant_id}/licenses"
    new = http.post(f"{base}/{old['license_id']}/remint", headers=catalog.tenant.headers)
    assert new.status_code == 201
    assert new.json()["key"] != old["key"] and new.json()["reminted_from"] == old["license_id"]
    assert http.get(f"{base}/{old['license_id']}", headers=catalog.tenant.headers
                    ).json()["status"] == "reminted"
    revoked = mint(catalog)
    http.post(f"{base}/{revoked['license_id']}/revoke", headers=catalog.tenant.headers)
    assert http.post(f"{base}/{revoked['license_id']}/remint", headers=catalog.tenant.headers
                     ).status_code == 409


def test_deactivating_an_instance_frees_its_seat_and_an_unknown_one_is_404(http, catalog,
                                                                            mint):
    minted = mint(catalog)
    instance_id = http.post(
        f"/{catalog.tenant.tenant_id}/{catalog.product_id}/activate",
        headers={"X-Keylight-SDK-Key": catalog.tenant.credentials["sdk_key"]},
        json={"license_key": minted["key"], "instance_name": "desk"}).json()["instance_id"]
    base = f"/api/{catalog.tenant.tenant_id}/licenses/{minted['license_id']}"
    freed = http.post(f"{base}/instances/{instance_id}/deactivate",
                      headers=catalog.tenant.headers)
    assert freed.status_code == 200 and freed.json()["instance_id"] == instance_id
    assert http.get(base, headers=catalog.tenant.headers).json()["instances"] == []
    assert http.post(f"{base}/instances/{instance_id}/deactivate",
                     headers=catalog.tenant.headers).status_code == 404


def test_every_management_action_leaves_an_audit_entry(http, catalog, mint):
    minted = mint(catalog)
    tenant = catalog.tenant
    http.post(f"/api/{tenant.tenant_id}/licenses/{minted['license_id']}/revoke",
              headers=tenant.headers)
    actions = [entry["action"] for entry in http.get(
        f"/api/{tenant.tenant_id}/audit", headers=tenant.headers).json()["data"]]
    for action in ("tenant.create", "tenant.lifecycle", "product.create", "key_type.create",
                   "license.mint", "license.revoke"):
        assert action in actions
