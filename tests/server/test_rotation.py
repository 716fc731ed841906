"""Rotating credentials: old and new during and after the overlap."""

from __future__ import annotations

import base64
import time

import psycopg
from keylight_sdk.lease import Lease, verify_lease

from .hosts import kill_host_process
from .payments import checkout
from .sdk_calls import activate, sdk_path


def keyset(http, tenant_id):
    answer = http.get(f"/{tenant_id}/.well-known/keylight-keys")
    assert answer.status_code == 200
    return answer.json()


def trusted(http, tenant_id):
    return {key["kid"]: base64.b64decode(key["public_key"])
            for key in keyset(http, tenant_id)["keys"]}


def activate_with(http, catalog, key, sdk_key):
    return http.post(sdk_path(catalog, "activate"),
                     json={"license_key": key, "instance_name": "x"},
                     headers={"X-Keylight-SDK-Key": sdk_key} if sdk_key else {})


def wait_until_served(call):
    for _ in range(200):
        answer = call()
        if answer.status_code != 503:
            return answer
    return answer


def test_a_rotated_sdk_key_works_at_once_and_the_old_one_for_the_overlap(
    http, catalog, mint, database_url, settings
):
    tenant = catalog.tenant
    old = tenant.credentials["sdk_key"]
    rotated = http.post(f"/api/{tenant.tenant_id}/sdk-key/rotate", headers=tenant.headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["sdk_key"]
    assert new != old and new.startswith("sdk_live_")
    key = mint(catalog)["key"]
    assert activate_with(http, catalog, key, new).status_code == 200
    assert activate_with(http, catalog, key, old).status_code == 200

    with psycopg.connect(database_url) as conn:  # the overlap ends
        conn.execute("UPDATE tenants SET sdk_key_previous_until = now() - interval '1 s' "
                     "WHERE tenant_id = %s", (tenant.tenant_id,))
    kill_host_process("tenant-host-0")
    time.sleep(2 * settings.tenant_cache_seconds)  # ingress snapshots age out
    assert wait_until_served(lambda: activate_with(http, catalog, key, old)).status_code == 401
    assert activate_with(http, catalog, key, new).status_code == 200


def test_removing_the_sdk_key_admits_sdks_that_send_none(http, catalog, mint):
    tenant = catalog.tenant
    removed = http.delete(f"/api/{tenant.tenant_id}/sdk-key", headers=tenant.headers)
    assert removed.status_code == 200 and removed.json()["sdk_key_required"] is False
    key = mint(catalog)["key"]
    assert activate_with(http, catalog, key, None).status_code == 200
    assert activate_with(http, catalog, key, tenant.credentials["sdk_key"]).status_code == 401


def test_a_rotated_checkout_key_replaces_the_old_one_at_once(http, catalog):
    tenant = catalog.tenant
    rotated = http.post(f"/api/{tenant.tenant_id}/checkout-key/rotate", headers=tenant.headers)
    assert rotated.status_code == 200
    assert checkout(http, catalog).status_code == 401
    tenant.credentials["checkout_api_key"] = rotated.json()["checkout_api_key"]
    assert checkout(http, catalog).status_code == 409  # authenticated; not connected to Stripe


def test_a_rotated_management_token_replaces_the_old_one_at_once(http, tenant):
    rotated = http.post(f"/api/{tenant.tenant_id}/management-token/rotate",
                        headers=tenant.headers)
    assert rotated.status_code == 200
    assert http.get(f"/api/{tenant.tenant_id}/licenses", headers=tenant.headers
                    ).status_code == 401
    new = {"Authorization": f"Bearer {rotated.json()['management_token']}"}
    assert http.get(f"/api/{tenant.tenant_id}/licenses", headers=new).status_code == 200


def test_a_new_signing_key_signs_and_leases_of_the_old_one_still_verify_until_retired(
    http, catalog, mint
):
    tenant = catalog.tenant
    old_lease = Lease.from_wire(activate(http, catalog, mint(catalog)["key"]).json()["lease"])
    assert old_lease.kid == "k1"
    rotated = http.post(f"/api/{tenant.tenant_id}/signing-keys/rotate", headers=tenant.headers)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["primary_kid"] == "k2"
    assert {key["kid"] for key in keyset(http, tenant.tenant_id)["keys"]} == {"k1", "k2"}

    new_lease = Lease.from_wire(activate(http, catalog, mint(catalog)["key"]).json()["lease"])
    assert new_lease.kid == "k2"
    keys = trusted(http, tenant.tenant_id)
    assert verify_lease(old_lease, keys, old_lease.issued_at).ok
    assert verify_lease(new_lease, keys, new_lease.issued_at).ok

    assert http.delete(f"/api/{tenant.tenant_id}/signing-keys/k2", headers=tenant.headers
                       ).status_code == 409
    retired = http.delete(f"/api/{tenant.tenant_id}/signing-keys/k1", headers=tenant.headers)
    assert retired.status_code == 200
    keys = trusted(http, tenant.tenant_id)
    assert set(keys) == {"k2"}
    assert not verify_lease(old_lease, keys, old_lease.issued_at).ok
    assert http.delete(f"/api/{tenant.tenant_id}/signing-keys/k1", headers=tenant.headers
                       ).status_code == 404


def test_rotations_are_audited_without_the_secrets(http, tenant):
    rotated = http.post(f"/api/{tenant.tenant_id}/sdk-key/rotate", headers=tenant.headers)
    audit = http.get(f"/api/{tenant.tenant_id}/audit", headers=tenant.headers).text
    assert "credential.rotate.sdk_key" in audit
    assert rotated.json()["sdk_key"] not in audit
