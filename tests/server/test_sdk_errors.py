"""Every status code of the SDK contract, from real HTTP through Ray Serve (DESIGN §4)."""

from __future__ import annotations

import base64
import uuid

import psycopg
import pytest
from keylight_sdk.lease import Lease, verify_lease
from nacl.signing import VerifyKey

from keylight_actors.domain.license_key import hash_license_key
from keylight_actors.domain.product_config import verify_product_config

from .sdk_calls import activate, machine_hash, sdk_headers, sdk_path, validate


def expire(database_url: str, key: str) -> None:
    """Move a license's expiry into the past, before any host has loaded it."""
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE licenses SET expires_at = now() - interval '1 day', "
                     "version = version + 1 WHERE key_hash = %s", (hash_license_key(key),))


def trusted_keys(http, tenant_id: str) -> dict[str, bytes]:
    keyset = http.get(f"/{tenant_id}/.well-known/keylight-keys").json()
    return {item["kid"]: base64.b64decode(item["public_key"]) for item in keyset["keys"]}


def assert_error(answer, status: int, code: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert isinstance(body["error"], str) and body["error"]
    if code is not None:
        assert body["code"] == code


def test_malformed_json_is_400(http, catalog):
    answer = http.post(sdk_path(catalog, "activate"), content=b"{not json",
                       headers={**sdk_headers(catalog), "content-type": "application/json"})
    assert_error(answer, 400, "INVALID_JSON")


def test_a_missing_license_key_is_400(http, catalog):
    answer = http.post(sdk_path(catalog, "activate"), json={"instance_name": "x"},
                       headers=sdk_headers(catalog))
    assert_error(answer, 400)


@pytest.mark.parametrize(("field", "length"), [("sdk_version", 65), ("app_version", 65),
                                               ("platform", 33), ("sdk", 17)])
def test_one_over_long_telemetry_field_fails_the_whole_request(http, catalog, mint, field,
                                                               length):
    key = mint(catalog)["key"]
    assert_error(activate(http, catalog, key, **{field: "x" * length}), 400)
    assert activate(http, catalog, key, **{field: "x" * (length - 1)}).status_code == 200


def test_a_machine_hash_that_is_not_64_lowercase_hex_is_400(http, catalog, mint):
    key = mint(catalog)["key"]
    assert_error(activate(http, catalog, key, machine_hash="ABC" * 21 + "D"), 400)


def test_a_missing_or_wrong_sdk_key_is_401(http, catalog, mint):
    key = mint(catalog)["key"]
    body = {"license_key": key, "instance_name": "x"}
    assert_error(http.post(sdk_path(catalog, "activate"), json=body), 401)
    assert_error(http.post(sdk_path(catalog, "activate"), json=body,
                           headers={"X-Keylight-SDK-Key": "sdk_live_" + "0" * 64}), 401)


def test_a_tenant_without_an_sdk_key_accepts_requests_without_one(http, make_tenant,
                                                                   make_catalog, mint):
    catalog = make_catalog(make_tenant(sdk_key=False))
    key = mint(catalog)["key"]
    answer = http.post(sdk_path(catalog, "activate"),
                       json={"license_key": key, "instance_name": "x"})
    assert answer.status_code == 200, answer.text
    wrong = http.post(sdk_path(catalog, "activate"), json={"license_key": key,
                      "instance_name": "x"}, headers={"X-Keylight-SDK-Key": "sdk_live_x"})
    assert_error(wrong, 401)


def test_another_tenants_sdk_key_is_401(http, catalog, make_tenant, mint):
    key = mint(catalog)["key"]
    other = make_tenant()
    answer = http.post(sdk_path(catalog, "activate"), json={"license_key": key,
                       "instance_name": "x"},
                       headers={"X-Keylight-SDK-Key": other.credentials["sdk_key"]})
    assert_error(answer, 401)


def test_activation_beyond_the_limit_is_402(http, make_catalog, tenant, mint):
    catalog = make_catalog(tenant, activation_limit=1)
    key = mint(catalog)["key"]
    assert activate(http, catalog, key, machine_hash=machine_hash()).status_code == 200
    assert_error(activate(http, catalog, key, machine_hash=machine_hash()), 402,
                 "ACTIVATION_LIMIT_REACHED")


def test_a_suspended_tenant_refuses_activation_but_still_validates(
    http, catalog, mint, operator_headers
):
    key = mint(catalog)["key"]
    instance_id = activate(http, catalog, key).json()["instance_id"]
    http.patch(f"/api/admin/tenants/{catalog.tenant.tenant_id}", headers=operator_headers,
               json={"lifecycle": "suspended"}).raise_for_status()
    assert_error(activate(http, catalog, key), 403)
    assert validate(http, catalog, key, instance_id).status_code == 200


def test_a_closed_tenant_answers_only_403(http, catalog, mint, operator_headers):
    key = mint(catalog)["key"]
    instance_id = activate(http, catalog, key).json()["instance_id"]
    for lifecycle in ("suspended", "closed"):
        http.patch(f"/api/admin/tenants/{catalog.tenant.tenant_id}", headers=operator_headers,
                   json={"lifecycle": lifecycle}).raise_for_status()
    assert_error(activate(http, catalog, key), 403)
    assert_error(validate(http, catalog, key, instance_id), 403)
    assert_error(http.get(sdk_path(catalog, "config"), headers=sdk_headers(catalog)), 403)


def test_unknown_tenant_product_or_key_is_404(http, catalog, mint):
    key = mint(catalog)["key"]
    body = {"license_key": key, "instance_name": "x"}
    headers = sdk_headers(catalog)
    assert_error(http.post(f"/nobody-here/{catalog.product_id}/activate", json=body,
                           headers=headers), 404)
    assert_error(http.post(f"/{catalog.tenant.tenant_id}/no-such-app/activate", json=body,
                           headers=headers), 404)
    assert_error(activate(http, catalog, f"{catalog.key_prefix}-0000-0000-0000-0000"), 404,
                 "LICENSE_NOT_FOUND")


def test_a_key_of_another_product_is_404(http, tenant, make_catalog, mint):
    first, second = make_catalog(tenant), make_catalog(tenant)
    key = mint(first)["key"]
    assert_error(activate(http, second, key), 404, "LICENSE_NOT_FOUND")


def test_a_revoked_key_is_404_on_activate_and_422_without_lease_on_validate(http, catalog,
                                                                              mint):
    minted = mint(catalog)
    instance_id = activate(http, catalog, minted["key"]).json()["instance_id"]
    http.post(f"/api/{catalog.tenant.tenant_id}/licenses/{minted['license_id']}/revoke",
              headers=catalog.tenant.headers).raise_for_status()
    assert_error(activate(http, catalog, minted["key"]), 404, "LICENSE_NOT_FOUND")
    answer = validate(http, catalog, minted["key"], instance_id)
    assert_error(answer, 422)
    assert answer.json()["error"] == "License has been revoked"
    assert "lease" not in answer.json()


def test_an_expired_license_is_422_on_activate(http, catalog, mint, database_url):
    key = mint(catalog)["key"]
    expire(database_url, key)
    assert_error(activate(http, catalog, key), 422, "LICENSE_EXPIRED")


def with_stored_instance(database_url: str, key: str) -> str:
    """An instance written straight to Postgres, as if activated before the license expired."""
    instance_id = str(uuid.uuid4())
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO license_instances (instance_id, license_id, tenant_id, "
                     "name, activated_at) SELECT %s, license_id, tenant_id, 'old', now() "
                     "FROM licenses WHERE key_hash = %s", (instance_id, hash_license_key(key)))
    return instance_id


def test_an_expired_license_validates_422_with_a_signed_expired_lease(http, catalog, mint,
                                                                      database_url):
    key = mint(catalog)["key"]
    expire(database_url, key)
    instance_id = with_stored_instance(database_url, key)
    answer = validate(http, catalog, key, instance_id)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["valid"] is False and body["error"]
    lease = Lease.from_wire(body["lease"])
    assert lease.status == "expired" and lease.entitlements == ()
    assert verify_lease(lease, trusted_keys(http, catalog.tenant.tenant_id),
                        lease.issued_at).ok


def test_an_expired_license_with_fallback_access_gets_a_fallback_lease(
    http, tenant, make_catalog, mint, database_url
):
    catalog = make_catalog(tenant, fallback_access=True)
    key = mint(catalog)["key"]
    expire(database_url, key)
    instance_id = with_stored_instance(database_url, key)
    answer = validate(http, catalog, key, instance_id)
    assert answer.status_code == 422, answer.text
    assert answer.json()["lease"]["status"] == "fallback"
    assert answer.json()["lease"]["entitlements"] == []


def test_expiry_found_by_the_sdk_is_recorded_as_one_license_expired_event(
    http, catalog, mint, database_url
):
    minted = mint(catalog)
    expire(database_url, minted["key"])
    for _ in range(3):
        assert activate(http, catalog, minted["key"]).status_code == 422
    with psycopg.connect(database_url) as conn:
        events = conn.execute(
            "SELECT count(*) FROM events WHERE event_type = 'license.expired' "
            "AND payload->>'license_id' = %s", (minted["license_id"],)).fetchone()[0]
    assert events == 1


def test_validating_an_instance_that_is_not_active_is_422(http, catalog, mint):
    key = mint(catalog)["key"]
    activate(http, catalog, key)
    answer = validate(http, catalog, key, "00000000-0000-4000-8000-000000000000")
    assert_error(answer, 422, "INSTANCE_NOT_ACTIVE")


def test_the_request_id_is_echoed(http, catalog, mint):
    key = mint(catalog)["key"]
    answer = http.post(sdk_path(catalog, "activate"),
                       json={"license_key": key, "instance_name": "x"},
                       headers={**sdk_headers(catalog), "X-Keylight-Request-Id": "0a1b2c3d"})
    assert answer.headers["X-Keylight-Request-Id"] == "0a1b2c3d"


def test_config_is_signed_by_the_tenants_primary_key(http, catalog):
    answer = http.get(sdk_path(catalog, "config"), headers=sdk_headers(catalog))
    assert answer.status_code == 200, answer.text
    config = answer.json()
    assert config["expires_at"] - config["issued_at"] == 24 * 3600
    assert verify_product_config(config, tenant_id=catalog.tenant.tenant_id,
                                 product_id=catalog.product_id,
                                 trusted_keys=trusted_keys(http, catalog.tenant.tenant_id),
                                 now=config["issued_at"])


def test_keyless_check_ins_answer_the_config_and_are_stored_once(http, catalog, database_url):
    body = {"instance_id": "trial-device-1", "state": "trial", "machine_hash": machine_hash()}
    for _ in range(3):
        answer = http.post(sdk_path(catalog, "keyless"), json=body, headers=sdk_headers(catalog))
        assert answer.status_code == 200, answer.text
        assert answer.json()["signature"]
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT state, first_seen_at = last_seen_at FROM keyless_instances "
                            "WHERE tenant_id = %s", (catalog.tenant.tenant_id,)).fetchall()
    assert rows == [("trial", True)]


@pytest.mark.parametrize("body", [
    {"instance_id": "", "state": "trial", "machine_hash": "a" * 64},
    {"instance_id": "x" * 129, "state": "trial", "machine_hash": "a" * 64},
    {"instance_id": "d", "state": "paid", "machine_hash": "a" * 64},
    {"instance_id": "d", "state": "trial", "machine_hash": "g" * 64},
])
def test_keyless_bodies_outside_the_contract_are_400(http, catalog, body):
    answer = http.post(sdk_path(catalog, "keyless"), json=body, headers=sdk_headers(catalog))
    assert_error(answer, 400)


def test_the_keyset_verifies_with_plain_pynacl(http, catalog, mint):
    key = mint(catalog)["key"]
    lease = activate(http, catalog, key).json()["lease"]
    keys = trusted_keys(http, catalog.tenant.tenant_id)
    VerifyKey(keys[lease["kid"]]).verify(
        Lease.from_wire(lease).signing_message(), base64.b64decode(lease["signature"]))
