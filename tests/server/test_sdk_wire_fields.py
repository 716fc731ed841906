"""Issue 18, items 1-3: license_expires_at in Unix seconds (or null), the signed product
config riding on validate, and free_tier_instance_id linking a keyless install to the
license it activated (DESIGN §4)."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest

from keylight_actors.domain.license_key import hash_license_key
from keylight_actors.domain.product_config import verify_product_config

from .sdk_calls import activate, machine_hash, sdk_headers, sdk_path, validate
from .test_sdk_contract import stored_instance
from .test_sdk_errors import expire, trusted_keys

CONFIG_KEYS = ("trial_duration_days", "free_tier_enabled", "issued_at", "expires_at", "kid",
               "signature")


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def report_keyless(http, catalog, instance_id: str, state: str = "trial") -> None:
    answer = http.post(sdk_path(catalog, "keyless"), headers=sdk_headers(catalog),
                       json={"instance_id": instance_id, "state": state,
                             "machine_hash": machine_hash()})
    assert answer.status_code == 200, answer.text


def license_detail(http, catalog, license_id: str) -> dict:
    answer = http.get(f"/api/{catalog.tenant.tenant_id}/licenses/{license_id}",
                      headers=catalog.tenant.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def stored_link(database_url: str, catalog, instance_id: str):
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT license_id::text, linked_at FROM keyless_instances "
            "WHERE tenant_id = %s AND product_id = %s AND instance_id = %s",
            (catalog.tenant.tenant_id, catalog.product_id, instance_id)).fetchone()


# -- license_expires_at -----------------------------------------------------------------

def test_perpetual_license_expires_at_is_null_on_activate_and_validate(http, catalog, mint):
    key = mint(catalog)["key"]
    activated = activate(http, catalog, key).json()
    assert "license_expires_at" in activated and activated["license_expires_at"] is None
    validated = validate(http, catalog, key, activated["instance_id"]).json()
    assert "license_expires_at" in validated and validated["license_expires_at"] is None


def test_dated_license_expires_at_is_integer_seconds_on_activate_and_validate(
        http, tenant, make_catalog, mint):
    catalog = make_catalog(tenant, duration_days=30)
    before = int(time.time())
    key = mint(catalog)["key"]
    activated = activate(http, catalog, key).json()
    validated = validate(http, catalog, key, activated["instance_id"]).json()
    for body in (activated, validated):
        assert is_int(body["license_expires_at"]), repr(body["license_expires_at"])
        assert abs(body["license_expires_at"] - (before + 30 * 86400)) < 120


def test_management_answers_keep_iso_times(http, tenant, make_catalog, mint):
    catalog = make_catalog(tenant, duration_days=30)
    minted = mint(catalog)
    activate(http, catalog, minted["key"]).raise_for_status()
    detail = license_detail(http, catalog, minted["license_id"])
    assert isinstance(detail["expires_at"], str) and detail["expires_at"].endswith("Z")


# -- validate 422 expired ----------------------------------------------------------------

def test_validate_422_expired_carries_integer_expiry_lease_and_signed_config(
        http, catalog, mint, database_url):
    key = mint(catalog)["key"]
    expire(database_url, key)  # before any host has loaded the license
    instance_id = stored_instance(database_url, key)
    answer = validate(http, catalog, key, instance_id)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["valid"] is False and body["code"] == "LICENSE_EXPIRED"
    assert is_int(body["license_expires_at"]) and body["license_expires_at"] < time.time()
    assert body["lease"]["status"] in ("expired", "fallback")
    config = {name: body[name] for name in CONFIG_KEYS}
    assert verify_product_config(config, tenant_id=catalog.tenant.tenant_id,
                                 product_id=catalog.product_id,
                                 trusted_keys=trusted_keys(http, catalog.tenant.tenant_id),
                                 now=int(time.time()))
    # The config's window, not the license's expiry.
    assert body["expires_at"] - body["issued_at"] == 24 * 3600


def test_validate_422_revoked_carries_no_lease_and_no_config(http, catalog, mint):
    minted = mint(catalog)
    instance_id = activate(http, catalog, minted["key"]).json()["instance_id"]
    http.post(f"/api/{catalog.tenant.tenant_id}/licenses/{minted['license_id']}/revoke",
              headers=catalog.tenant.headers).raise_for_status()
    body = validate(http, catalog, minted["key"], instance_id).json()
    assert body.get("lease") is None
    assert not set(CONFIG_KEYS) & body.keys()


def test_validate_200_config_matches_the_config_route(http, catalog, mint):
    key = mint(catalog)["key"]
    instance_id = activate(http, catalog, key).json()["instance_id"]
    body = validate(http, catalog, key, instance_id).json()
    config = http.get(sdk_path(catalog, "config"), headers=sdk_headers(catalog)).json()
    for name in ("trial_duration_days", "free_tier_enabled", "kid"):
        assert body[name] == config[name]
    assert abs(body["issued_at"] - int(time.time())) <= 300 + 5


# -- free_tier_instance_id ---------------------------------------------------------------

def test_free_tier_instance_id_links_the_keyless_install_to_the_license(
        http, catalog, mint, database_url):
    install = f"install-{uuid.uuid4()}"
    report_keyless(http, catalog, install, state="free_tier")
    minted = mint(catalog)
    answer = activate(http, catalog, minted["key"], free_tier_instance_id=install)
    assert answer.status_code == 200, answer.text
    assert stored_link(database_url, catalog, install)[0] == minted["license_id"]
    linked = license_detail(http, catalog, minted["license_id"])["free_tier_instances"]
    assert [item["instance_id"] for item in linked] == [install]
    assert linked[0]["state"] == "free_tier" and linked[0]["linked_at"].endswith("Z")
    listed = http.get(f"/api/{catalog.tenant.tenant_id}/keyless",
                      params={"product_id": catalog.product_id},
                      headers=catalog.tenant.headers)
    assert listed.status_code == 200, listed.text
    [row] = [row for row in listed.json()["data"] if row["instance_id"] == install]
    assert row["license_id"] == minted["license_id"]


def test_the_first_link_stands(http, catalog, mint, database_url):
    install = f"install-{uuid.uuid4()}"
    report_keyless(http, catalog, install)
    first, second = mint(catalog), mint(catalog)
    for minted in (first, second):
        assert activate(http, catalog, minted["key"],
                        free_tier_instance_id=install).status_code == 200
    assert stored_link(database_url, catalog, install)[0] == first["license_id"]
    assert license_detail(http, catalog, second["license_id"])["free_tier_instances"] == []


def test_an_unknown_free_tier_instance_id_does_not_block_the_activation(http, catalog, mint):
    minted = mint(catalog)
    answer = activate(http, catalog, minted["key"], free_tier_instance_id="never-reported")
    assert answer.status_code == 200, answer.text
    assert answer.json()["activated"] is True
    assert license_detail(http, catalog, minted["license_id"])["free_tier_instances"] == []


def test_a_null_free_tier_instance_id_is_accepted(http, catalog, mint):
    key = mint(catalog)["key"]
    assert activate(http, catalog, key, free_tier_instance_id=None).status_code == 200


@pytest.mark.parametrize("value", [42, True, ["x"], "", "x" * 129])
def test_a_free_tier_instance_id_outside_the_contract_is_400_naming_the_field(
        http, catalog, mint, value, database_url):
    key = mint(catalog)["key"]
    answer = activate(http, catalog, key, free_tier_instance_id=value)
    assert answer.status_code == 400, answer.text
    assert "free_tier_instance_id" in answer.json()["error"]
    with psycopg.connect(database_url) as conn:
        seats = conn.execute(
            "SELECT count(*) FROM license_instances i JOIN licenses l USING (license_id) "
            "WHERE l.key_hash = %s", (hash_license_key(key),)).fetchone()[0]
    assert seats == 0


def test_keyless_list_pages_and_filters(http, catalog):
    installs = [f"page-{uuid.uuid4()}" for _ in range(3)]
    for install in installs:
        report_keyless(http, catalog, install)
    report_keyless(http, catalog, f"other-{uuid.uuid4()}", state="expired")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"product_id": catalog.product_id, "state": "trial", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = http.get(f"/api/{catalog.tenant.tenant_id}/keyless", params=params,
                        headers=catalog.tenant.headers).json()
        seen.extend(row["instance_id"] for row in page["data"])
        assert all(row["state"] == "trial" and row["license_id"] is None
                   for row in page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(installs)
    route = f"/api/{catalog.tenant.tenant_id}/keyless"
    assert http.get(route, params={"state": "paid"},
                    headers=catalog.tenant.headers).status_code == 400
    assert http.get(route).status_code == 401
