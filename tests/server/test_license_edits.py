"""The vendor's management of one license (issue 20), against the live server: PATCH its
limit, expiry, email and metadata; suspend and reinstate it; the list's filters; the
detail's devices with their last check-in."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from .sdk_calls import activate, deactivate, machine_hash, validate


def path(catalog, license_id, suffix=""):
    return f"/api/{catalog.tenant.tenant_id}/licenses/{license_id}{suffix}"


def patch(http, catalog, license_id, body, *, headers=None):
    return http.patch(path(catalog, license_id), json=body,
                      headers=headers or catalog.tenant.headers)


def post(http, catalog, license_id, action, *, headers=None):
    return http.post(path(catalog, license_id, f"/{action}"),
                     headers=headers or catalog.tenant.headers)


def detail(http, catalog, license_id):
    answer = http.get(path(catalog, license_id), headers=catalog.tenant.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def audit_actions(http, tenant):
    answer = http.get(f"/api/{tenant.tenant_id}/audit", headers=tenant.headers)
    return [row["action"] for row in answer.json()["data"]]


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def listed(http, tenant, **filters):
    answer = http.get(f"/api/{tenant.tenant_id}/licenses", headers=tenant.headers,
                      params=filters)
    assert answer.status_code == 200, answer.text
    return {row["license_id"]: row for row in answer.json()["data"]}


# -- PATCH ------------------------------------------------------------------------------


def test_a_patch_changes_every_field_and_reads_back(http, catalog, mint):
    minted = mint(catalog)
    expires = iso(datetime.now(timezone.utc) + timedelta(days=90))
    answer = patch(http, catalog, minted["license_id"], {
        "activation_limit": 7, "expires_at": expires, "customer_email": "ana@example.com",
        "metadata": {"crm_id": "C-42", "seats": [1, 2]}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["activation_limit"], body["expires_at"], body["customer_email"]) == (
        7, expires, "ana@example.com")
    assert body["metadata"] == {"crm_id": "C-42", "seats": [1, 2]}
    assert body["over_limit_by"] == 0 and "notice" not in body
    again = detail(http, catalog, minted["license_id"])
    assert (again["activation_limit"], again["expires_at"], again["customer_email"],
            again["metadata"]) == (7, expires, "ana@example.com", body["metadata"])
    assert "license.edit" in audit_actions(http, catalog.tenant)


def test_an_expiry_of_null_makes_the_license_perpetual(http, catalog, mint):
    minted = mint(catalog)
    patch(http, catalog, minted["license_id"],
          {"expires_at": iso(datetime.now(timezone.utc) + timedelta(days=1))})
    answer = patch(http, catalog, minted["license_id"], {"expires_at": None})
    assert answer.status_code == 200 and answer.json()["expires_at"] is None


@pytest.mark.parametrize(("body", "field"), [
    ({"colour": "red"}, "colour"),
    ({"activation_limit": "5"}, "activation_limit"),
    ({"activation_limit": 0}, "activation_limit"),
    ({"activation_limit": None}, "activation_limit"),
    ({"expires_at": "next tuesday"}, "expires_at"),
    ({"expires_at": 1_900_000_000}, "expires_at"),
    ({"customer_email": "x" * 250 + "@example.com"}, "customer_email"),
    ({"metadata": {"notes": "x" * 4_100}}, "metadata"),
    ({"metadata": ["not", "an", "object"]}, "metadata"),
    ({"metadata": None}, "metadata"),
], ids=["unknown", "limit-type", "limit-zero", "limit-null", "expiry-unparsed",
        "expiry-type", "email-long", "metadata-big", "metadata-list", "metadata-null"])
def test_bad_input_is_400_naming_the_field(http, catalog, mint, body, field):
    minted = mint(catalog)
    answer = patch(http, catalog, minted["license_id"], body)
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["error"]


def test_an_empty_patch_is_400(http, catalog, mint):
    assert patch(http, catalog, mint(catalog)["license_id"], {}).status_code == 400


@pytest.mark.parametrize("end", ["revoke", "remint"])
def test_a_revoked_or_reminted_license_cannot_be_edited(http, catalog, mint, end):
    minted = mint(catalog)
    assert post(http, catalog, minted["license_id"], end).status_code in (200, 201)
    answer = patch(http, catalog, minted["license_id"], {"activation_limit": 5})
    assert answer.status_code == 409, answer.text


def test_a_limit_below_the_active_devices_keeps_them_and_refuses_new_ones(
        http, catalog, mint):
    minted = mint(catalog)
    key = minted["key"]
    seats = [activate(http, catalog, key, machine_hash=machine_hash()).json()["instance_id"]
             for _ in range(3)]
    answer = patch(http, catalog, minted["license_id"], {"activation_limit": 1})
    assert answer.status_code == 200, answer.text
    assert answer.json()["over_limit_by"] == 2 and "keep working" in answer.json()["notice"]
    for instance_id in seats:
        assert validate(http, catalog, key, instance_id).status_code == 200
    assert activate(http, catalog, key, machine_hash=machine_hash()).status_code == 402
    for instance_id in seats[1:]:
        assert deactivate(http, catalog, instance_id, license_key=key).status_code == 200
    assert activate(http, catalog, key, machine_hash=machine_hash()).status_code == 402
    assert deactivate(http, catalog, seats[0], license_key=key).status_code == 200
    assert activate(http, catalog, key, machine_hash=machine_hash()).status_code == 200


def test_an_expiry_in_the_past_expires_at_once_and_one_in_the_future_revives(
        http, catalog, mint):
    minted = mint(catalog)
    key = minted["key"]
    instance_id = activate(http, catalog, key, machine_hash=machine_hash()).json()[
        "instance_id"]  # resident in its host from here on
    past = iso(datetime.now(timezone.utc) - timedelta(minutes=1))
    assert patch(http, catalog, minted["license_id"], {"expires_at": past}).status_code == 200
    expired = validate(http, catalog, key, instance_id)
    assert expired.status_code == 422 and expired.json()["code"] == "LICENSE_EXPIRED"
    future = iso(datetime.now(timezone.utc) + timedelta(days=30))
    assert patch(http, catalog, minted["license_id"],
                 {"expires_at": future}).status_code == 200
    assert validate(http, catalog, key, instance_id).status_code == 200
    assert activate(http, catalog, key, machine_hash=machine_hash()).status_code == 200


# -- suspend and reinstate --------------------------------------------------------------


def test_a_suspended_license_refuses_the_sdk_until_reinstated(http, catalog, mint):
    minted = mint(catalog)
    key = minted["key"]
    instance_id = activate(http, catalog, key, machine_hash=machine_hash()).json()[
        "instance_id"]  # resident in its host from here on
    suspended = post(http, catalog, minted["license_id"], "suspend")
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"
    assert len(suspended.json()["instances"]) == 1

    refused = activate(http, catalog, key, machine_hash=machine_hash())
    assert refused.status_code == 403 and refused.json()["code"] == "LICENSE_SUSPENDED"
    invalid = validate(http, catalog, key, instance_id)
    assert invalid.status_code == 422
    assert invalid.json() == {"valid": False, "error": invalid.json()["error"],
                              "code": "LICENSE_SUSPENDED"}

    reinstated = post(http, catalog, minted["license_id"], "reinstate")
    assert reinstated.status_code == 200 and reinstated.json()["status"] == "active"
    assert validate(http, catalog, key, instance_id).json()["valid"] is True
    assert activate(http, catalog, key, machine_hash=machine_hash()).status_code == 200
    assert {"license.suspend", "license.reinstate"} <= set(audit_actions(http,
                                                                         catalog.tenant))


def test_a_suspended_license_still_deactivates_a_device(http, catalog, mint):
    minted = mint(catalog)
    key = minted["key"]
    instance_id = activate(http, catalog, key, machine_hash=machine_hash()).json()[
        "instance_id"]
    post(http, catalog, minted["license_id"], "suspend")
    assert deactivate(http, catalog, instance_id, license_key=key).status_code == 200
    assert detail(http, catalog, minted["license_id"])["instances"] == []


@pytest.mark.parametrize("end", ["revoke", "remint"])
@pytest.mark.parametrize("action", ["suspend", "reinstate"])
def test_revoked_and_reminted_licenses_stay_final(http, catalog, mint, end, action):
    minted = mint(catalog)
    post(http, catalog, minted["license_id"], end)
    assert post(http, catalog, minted["license_id"], action).status_code == 409


@pytest.mark.parametrize("action", ["suspend", "reinstate"])
def test_another_tenants_license_is_not_found(http, make_tenant, catalog, mint, action):
    minted = mint(catalog)
    other = make_tenant()
    answer = http.post(f"/api/{other.tenant_id}/licenses/{minted['license_id']}/{action}",
                       headers=other.headers)
    assert answer.status_code == 404
    patched = http.patch(f"/api/{other.tenant_id}/licenses/{minted['license_id']}",
                         headers=other.headers, json={"activation_limit": 1})
    assert patched.status_code == 404
    assert detail(http, catalog, minted["license_id"])["status"] == "active"


# -- the list's filters, the export and the stats ---------------------------------------


def test_the_list_filters_by_status_key_email_product_key_type_and_source(
        http, tenant, make_catalog, mint):
    catalog, other_catalog = make_catalog(tenant), make_catalog(tenant)
    plain = mint(catalog, customer_email="plain@example.com")
    suspended = mint(catalog)
    post(http, catalog, suspended["license_id"], "suspend")
    expired = mint(catalog)
    patch(http, catalog, expired["license_id"],
          {"expires_at": iso(datetime.now(timezone.utc) - timedelta(minutes=1))})
    revoked = mint(catalog)
    post(http, catalog, revoked["license_id"], "revoke")
    reminted = mint(other_catalog)
    successor = post(http, other_catalog, reminted["license_id"], "remint").json()

    assert set(listed(http, tenant, status="suspended")) == {suspended["license_id"]}
    shown = listed(http, tenant, status="expired")
    assert set(shown) == {expired["license_id"]}
    assert shown[expired["license_id"]]["status"] == "expired"
    assert set(listed(http, tenant, status="revoked")) == {revoked["license_id"]}
    assert set(listed(http, tenant, status="reminted")) == {reminted["license_id"]}
    assert set(listed(http, tenant, status="active")) == {
        plain["license_id"], successor["license_id"]}
    assert set(listed(http, tenant, key=plain["key"])) == {plain["license_id"]}
    assert set(listed(http, tenant, email="PLAIN@example.com")) == {plain["license_id"]}
    assert set(listed(http, tenant, product_id=other_catalog.product_id)) == {
        reminted["license_id"], successor["license_id"]}
    assert len(listed(http, tenant, key_type_id=catalog.key_type_id)) == 6
    assert len(listed(http, tenant, source="manual")) == 5  # the remint is its own source
    assert listed(http, tenant, source="stripe") == {}


def test_an_unknown_status_filter_is_400_naming_the_field(http, tenant):
    answer = http.get(f"/api/{tenant.tenant_id}/licenses", headers=tenant.headers,
                      params={"status": "sleeping"})
    assert answer.status_code == 400 and "status" in answer.json()["error"]


def test_the_export_and_the_stats_count_a_suspended_license(http, catalog, mint):
    minted = mint(catalog)
    mint(catalog)
    post(http, catalog, minted["license_id"], "suspend")
    tenant = catalog.tenant
    exported = http.get(f"/api/{tenant.tenant_id}/licenses/export.csv",
                        headers=tenant.headers, params={"status": "suspended"})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(row["license_id"], row["status"]) for row in rows] == [
        (minted["license_id"], "suspended")]
    stats = http.get(f"/api/{tenant.tenant_id}/stats", headers=tenant.headers).json()
    assert stats["licenses_by_status"]["suspended"] == 1
    assert stats["licenses_by_status"]["active"] == 1


# -- the detail's devices ---------------------------------------------------------------


def test_the_detail_shows_each_device_with_its_last_check_in(http, catalog, mint):
    minted = mint(catalog)
    key, device_hash = minted["key"], machine_hash()
    instance_id = activate(http, catalog, key, machine_hash=device_hash,
                           instance_name="Ana's laptop").json()["instance_id"]
    assert validate(http, catalog, key, instance_id).status_code == 200
    [device] = detail(http, catalog, minted["license_id"])["instances"]
    assert device["instance_id"] == instance_id
    assert device["instance_name"] == "Ana's laptop"
    assert device["machine_hash"] == device_hash
    assert device["activated_at"] is not None
    assert device["last_validated_at"] == device["activated_at"]  # within the hour
