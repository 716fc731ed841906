"""Activation, validation and deactivation as the SDKs see them (DESIGN §4)."""

from __future__ import annotations

import base64

import psycopg
from keylight_sdk.lease import Lease, lease_signing_message
from nacl.signing import VerifyKey

from keylight_actors.domain.license_key import hash_license_key

from .sdk_calls import activate, deactivate, machine_hash, validate


def test_activation_answers_a_lease_that_verifies_against_the_published_keyset(
    http, catalog, mint
):
    key = mint(catalog)["key"]
    answer = activate(http, catalog, key, machine_hash=machine_hash())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["activated"] is True and body["error"] is None
    lease = body["lease"]
    assert lease["licenseKeyHash"] == hash_license_key(key)
    assert lease["instanceId"] == body["instance_id"]
    assert lease["status"] == "active" and lease["entitlements"] == ["pro"]
    assert lease["expiresAt"] - lease["issuedAt"] == 7 * 86400
    keyset = http.get(f"/{catalog.tenant.tenant_id}/.well-known/keylight-keys").json()
    assert lease["kid"] == keyset["primary_kid"]
    public = {item["kid"]: item["public_key"] for item in keyset["keys"]}[lease["kid"]]
    message = lease_signing_message(
        kid=lease["kid"], license_key_hash=lease["licenseKeyHash"],
        instance_id=lease["instanceId"], issued_at=lease["issuedAt"],
        expires_at=lease["expiresAt"], status=lease["status"],
        entitlements=lease["entitlements"],
    )
    VerifyKey(base64.b64decode(public)).verify(message, base64.b64decode(lease["signature"]))
    Lease.from_wire(lease)


def test_validation_of_an_active_instance_answers_a_fresh_lease(http, catalog, mint):
    key = mint(catalog)["key"]
    instance_id = activate(http, catalog, key).json()["instance_id"]
    answer = validate(http, catalog, key, instance_id)
    assert answer.status_code == 200, answer.text
    assert answer.json()["valid"] is True
    assert answer.json()["lease"]["instanceId"] == instance_id


def test_deactivation_frees_a_seat_that_a_new_device_then_takes(http, make_catalog, tenant,
                                                                mint, database_url):
    catalog = make_catalog(tenant, activation_limit=1)
    key = mint(catalog)["key"]
    first = activate(http, catalog, key, machine_hash=machine_hash()).json()["instance_id"]
    assert activate(http, catalog, key, machine_hash=machine_hash()).status_code == 402
    assert deactivate(http, catalog, first).status_code == 200
    assert activate(http, catalog, key, machine_hash=machine_hash()).status_code == 200
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT count(*) FILTER (WHERE deactivated_at IS NULL), count(*) "
            "FROM license_instances i JOIN licenses l USING (license_id) WHERE l.key_hash = %s",
            (hash_license_key(key),)).fetchone()
    assert rows == (1, 2)


def test_reactivating_the_same_device_takes_no_new_seat(http, make_catalog, tenant, mint):
    catalog = make_catalog(tenant, activation_limit=1)
    key = mint(catalog)["key"]
    device = machine_hash()
    first = activate(http, catalog, key, machine_hash=device).json()
    again = activate(http, catalog, key, machine_hash=device)
    assert again.status_code == 200
    assert again.json()["instance_id"] == first["instance_id"]
    assert activate(http, catalog, key, machine_hash=machine_hash()).status_code == 402


def test_deactivation_by_instance_id_alone_is_idempotent(http, catalog, mint):
    key = mint(catalog)["key"]
    instance_id = activate(http, catalog, key).json()["instance_id"]
    for _ in range(2):
        answer = deactivate(http, catalog, instance_id)
        assert answer.status_code == 200 and answer.json() == {"deactivated": True}
    assert validate(http, catalog, key, instance_id).status_code == 422
