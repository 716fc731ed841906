"""Tenant API: minting by hand, listing, reading, revoking, reminting, freeing seats, and
the audit log (DESIGN §5, management API table; key format in §4)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from .sdk_calls import activate

CROCKFORD_GROUP = "[0-9A-HJKMNP-TV-Z]{4}"
MINTS_PER_HOUR = 20


def key_pattern(prefix):
    return rf"^{prefix}-{CROCKFORD_GROUP}(-{CROCKFORD_GROUP}){{3}}$"


def parse_time(value):
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")


def licenses_path(tenant, suffix=""):
    return f"/api/{tenant.tenant_id}/licenses{suffix}"


def mint_request(http, catalog, **extra):
    return http.post(licenses_path(catalog.tenant), headers=catalog.tenant.headers,
                     json={"product_id": catalog.product_id,
                           "key_type_id": catalog.key_type_id, **extra})


def listed(http, tenant, query=""):
    answer = http.get(licenses_path(tenant, f"?{query}"), headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def listed_ids(http, tenant, query=""):
    return [item["license_id"] for item in listed(http, tenant, query)["data"]]


def show(http, tenant, license_id):
    answer = http.get(licenses_path(tenant, f"/{license_id}"), headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def act_on(http, tenant, license_id, action):
    return http.post(licenses_path(tenant, f"/{license_id}/{action}"), headers=tenant.headers)


def audit_actions(http, tenant):
    answer = http.get(f"/api/{tenant.tenant_id}/audit", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


# -- minting -----------------------------------------------------------------------------------

def test_minting_by_hand_is_201(http, catalog):
    answer = mint_request(http, catalog, customer_email="buyer@example.com")
    assert answer.status_code == 201, answer.text


def test_a_minted_key_is_the_prefix_and_four_crockford_groups(catalog, mint):
    assert re.fullmatch(key_pattern(catalog.key_prefix), mint(catalog)["key"])


def test_two_mints_answer_different_keys(catalog, mint):
    assert mint(catalog)["key"] != mint(catalog)["key"]


def test_a_minted_license_answers_its_terms(catalog, mint):
    minted = mint(catalog, customer_email="ada@example.com")
    assert minted["product_id"] == catalog.product_id
    assert minted["key_type_id"] == catalog.key_type_id
    assert minted["tenant_id"] == catalog.tenant.tenant_id
    assert minted["status"] == "active"
    assert minted["customer_email"] == "ada@example.com"
    assert minted["active_instances"] == 0
    assert minted["reminted_from"] is None
    assert minted["entitlements"] == ["pro"]


def test_a_minted_key_display_is_masked(catalog, mint):
    minted = mint(catalog)
    prefix, *groups = minted["key"].split("-")
    display = minted["key_display"]
    assert display.startswith(f"{prefix}-")
    assert display.endswith(groups[-1])
    assert minted["key"] not in display
    for group in groups[:3]:
        assert group not in display


def test_a_minted_license_copies_the_key_type_activation_limit(tenant, make_catalog, mint):
    assert mint(make_catalog(tenant, activation_limit=4))["activation_limit"] == 4


def test_a_key_type_with_a_duration_mints_a_license_that_expires_after_it(tenant, make_catalog,
                                                                         mint):
    minted = mint(make_catalog(tenant, duration_days=30))
    lifetime = parse_time(minted["expires_at"]) - parse_time(minted["created_at"])
    assert abs(lifetime - timedelta(days=30)) <= timedelta(seconds=5)


def test_a_key_type_without_a_duration_mints_a_perpetual_license(catalog, mint):
    assert mint(catalog)["expires_at"] is None


def test_a_minted_license_is_listed_with_only_its_masked_key(http, catalog, mint):
    minted = mint(catalog)
    page = http.get(licenses_path(catalog.tenant), headers=catalog.tenant.headers).text
    assert minted["license_id"] in page and minted["key_display"] in page
    assert minted["key"] not in page


@pytest.fixture
def exhausted(http, catalog, mint):
    """A catalog whose tenant has minted its hourly allowance by hand."""
    for _ in range(MINTS_PER_HOUR):
        mint(catalog)
    return catalog


def test_the_twenty_first_hand_mint_within_the_hour_is_429_with_retry_after(http, exhausted):
    refused = mint_request(http, exhausted)
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) > 0


def test_a_mint_refused_by_the_hourly_limit_writes_no_license(http, exhausted):
    mint_request(http, exhausted)
    assert len(listed(http, exhausted.tenant, "limit=200")["data"]) == MINTS_PER_HOUR


@pytest.mark.parametrize("lifecycle", ["pending_verification", "suspended", "closed"])
def test_minting_for_a_tenant_that_is_not_active_is_403(http, operator_headers, make_tenant,
                                                        make_catalog, lifecycle):
    moves = {"pending_verification": [], "suspended": ["active", "suspended"],
             "closed": ["active", "suspended", "closed"]}[lifecycle]
    tenant = make_tenant(active=False)
    catalog = make_catalog(tenant)
    for step in moves:
        http.patch(f"/api/admin/tenants/{tenant.tenant_id}", headers=operator_headers,
                   json={"lifecycle": step}).raise_for_status()
    answer = mint_request(http, catalog)
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "TENANT_NOT_ACTIVE"


def test_a_refused_mint_for_an_inactive_tenant_writes_no_license(http, make_tenant,
                                                                 make_catalog):
    tenant = make_tenant(active=False)
    catalog = make_catalog(tenant)
    mint_request(http, catalog)
    assert listed_ids(http, tenant) == []


def test_minting_an_unknown_key_type_is_404(http, catalog):
    answer = mint_request(http, catalog, key_type_id="nope")
    assert answer.status_code == 404
    assert answer.json()["code"] == "KEY_TYPE_NOT_FOUND"


def test_minting_for_an_unknown_product_is_404(http, catalog):
    answer = mint_request(http, catalog, product_id="nope")
    assert answer.status_code == 404
    assert answer.json()["code"] == "PRODUCT_NOT_FOUND"


def test_refused_mints_do_not_count_against_the_hourly_limit(http, catalog, mint):
    for _ in range(MINTS_PER_HOUR):
        assert mint_request(http, catalog, key_type_id="nope").status_code == 404
    mint(catalog)


# -- listing -----------------------------------------------------------------------------------

def test_the_list_is_newest_first(http, catalog, mint):
    minted = [mint(catalog)["license_id"] for _ in range(3)]
    assert listed_ids(http, catalog.tenant) == list(reversed(minted))


def test_cursor_pagination_covers_every_license_exactly_once(http, catalog, mint):
    minted = [mint(catalog)["license_id"] for _ in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        page = listed(http, catalog.tenant, "limit=2" + (f"&cursor={cursor}" if cursor else ""))
        pages += 1
        assert len(page["data"]) <= 2
        seen += [item["license_id"] for item in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(minted))
    assert pages == 3


def test_the_last_page_has_no_next_cursor(http, catalog, mint):
    mint(catalog)
    assert listed(http, catalog.tenant, "limit=2")["next_cursor"] is None


def test_the_list_filters_by_product(http, tenant, make_catalog, mint):
    first, second = make_catalog(tenant), make_catalog(tenant)
    wanted = mint(first)["license_id"]
    mint(second)
    assert listed_ids(http, tenant, f"product_id={first.product_id}") == [wanted]


def test_the_list_filters_by_status(http, catalog, mint):
    revoked = mint(catalog)["license_id"]
    active = mint(catalog)["license_id"]
    act_on(http, catalog.tenant, revoked, "revoke").raise_for_status()
    assert listed_ids(http, catalog.tenant, "status=revoked") == [revoked]
    assert listed_ids(http, catalog.tenant, "status=active") == [active]


def test_the_list_filters_by_email_ignoring_case(http, catalog, mint):
    wanted = mint(catalog, customer_email="ada@example.com")["license_id"]
    mint(catalog, customer_email="bob@example.com")
    assert listed_ids(http, catalog.tenant, "email=ADA@Example.com") == [wanted]


def test_an_unknown_status_filter_is_400(http, tenant):
    answer = http.get(licenses_path(tenant, "?status=lost"), headers=tenant.headers)
    assert answer.status_code == 400


@pytest.mark.parametrize("cursor", ["bm9wZQ", "!!!", "MTIzOm5vdC1hLXV1aWQ", "x" * 201])
def test_an_invalid_cursor_is_400(http, tenant, cursor):
    answer = http.get(licenses_path(tenant), params={"cursor": cursor}, headers=tenant.headers)
    assert answer.status_code == 400, answer.text


# -- one license -------------------------------------------------------------------------------

def test_a_license_is_shown_as_it_was_answered_at_mint(http, tenant, make_catalog, mint):
    minted = mint(make_catalog(tenant, duration_days=30), customer_email="ada@example.com")
    shown = show(http, tenant, minted["license_id"])
    for field in ("license_id", "product_id", "key_type_id", "key_display", "status",
                  "activation_limit", "customer_email", "created_at", "expires_at",
                  "entitlements"):
        assert shown[field] == minted[field]


def test_a_shown_license_never_contains_its_raw_key(http, catalog, mint):
    minted = mint(catalog)
    answer = http.get(licenses_path(catalog.tenant, f"/{minted['license_id']}"),
                      headers=catalog.tenant.headers)
    assert minted["key"] not in answer.text


def test_a_license_is_shown_with_its_active_instances(http, catalog, mint):
    minted = mint(catalog)
    activated = activate(http, catalog, minted["key"], instance_name="studio-mac")
    assert activated.status_code == 200, activated.text
    shown = show(http, catalog.tenant, minted["license_id"])
    [instance] = shown["instances"]
    assert instance["instance_id"] == activated.json()["instance_id"]
    assert instance["name"] == "studio-mac"
    assert shown["active_instances"] == 1


def test_a_license_without_activations_is_shown_with_no_instances(http, catalog, mint):
    assert show(http, catalog.tenant, mint(catalog)["license_id"])["instances"] == []


@pytest.mark.parametrize("license_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid",
                                        "1" * 300])
def test_an_unknown_or_malformed_license_id_is_404(http, tenant, license_id):
    answer = http.get(licenses_path(tenant, f"/{license_id}"), headers=tenant.headers)
    assert answer.status_code == 404
    assert answer.json()["code"] == "LICENSE_NOT_FOUND"


# -- revoking ----------------------------------------------------------------------------------

def test_revoking_a_license_answers_it_revoked(http, catalog, mint):
    answer = act_on(http, catalog.tenant, mint(catalog)["license_id"], "revoke")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "revoked"


def test_a_revoked_license_is_shown_revoked(http, catalog, mint):
    license_id = mint(catalog)["license_id"]
    act_on(http, catalog.tenant, license_id, "revoke").raise_for_status()
    assert show(http, catalog.tenant, license_id)["status"] == "revoked"


def test_revoking_twice_is_200_and_the_license_stays_revoked(http, catalog, mint):
    license_id = mint(catalog)["license_id"]
    act_on(http, catalog.tenant, license_id, "revoke").raise_for_status()
    again = act_on(http, catalog.tenant, license_id, "revoke")
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "revoked"
    assert show(http, catalog.tenant, license_id)["status"] == "revoked"


def test_a_revoked_key_no_longer_activates(http, catalog, mint):
    minted = mint(catalog)
    act_on(http, catalog.tenant, minted["license_id"], "revoke").raise_for_status()
    assert activate(http, catalog, minted["key"]).status_code == 404


def test_revoking_an_unknown_license_is_404(http, tenant):
    answer = act_on(http, tenant, "00000000-0000-4000-8000-000000000000", "revoke")
    assert answer.status_code == 404


# -- reminting ---------------------------------------------------------------------------------

def test_reminting_is_201_with_a_new_key(http, catalog, mint):
    old = mint(catalog)
    answer = act_on(http, catalog.tenant, old["license_id"], "remint")
    assert answer.status_code == 201, answer.text
    new = answer.json()
    assert new["key"] != old["key"]
    assert re.fullmatch(key_pattern(catalog.key_prefix), new["key"])
    assert new["license_id"] != old["license_id"]


def test_reminting_marks_the_old_license_reminted(http, catalog, mint):
    old = mint(catalog)
    act_on(http, catalog.tenant, old["license_id"], "remint").raise_for_status()
    assert show(http, catalog.tenant, old["license_id"])["status"] == "reminted"


def test_a_reminted_license_names_the_one_it_replaces(http, catalog, mint):
    old = mint(catalog)
    new = act_on(http, catalog.tenant, old["license_id"], "remint").json()
    assert new["reminted_from"] == old["license_id"]
    assert show(http, catalog.tenant, new["license_id"])["reminted_from"] == old["license_id"]


def test_a_reminted_license_keeps_the_terms_of_the_old_one(http, tenant, make_catalog, mint):
    catalog = make_catalog(tenant, activation_limit=4, duration_days=30)
    old = mint(catalog, customer_email="ada@example.com")
    new = act_on(http, tenant, old["license_id"], "remint").json()
    for field in ("product_id", "key_type_id", "activation_limit", "expires_at",
                  "entitlements", "customer_email"):
        assert new[field] == old[field]
    assert new["status"] == "active"


def test_a_reminted_license_is_shown_as_it_was_answered(http, catalog, mint):
    new = act_on(http, catalog.tenant, mint(catalog)["license_id"], "remint").json()
    shown = show(http, catalog.tenant, new["license_id"])
    for field in ("license_id", "key_display", "status", "activation_limit", "created_at",
                  "expires_at", "reminted_from"):
        assert shown[field] == new[field]


def test_after_reminting_the_old_key_stops_and_the_new_key_activates(http, catalog, mint):
    old = mint(catalog)
    new = act_on(http, catalog.tenant, old["license_id"], "remint").json()
    assert activate(http, catalog, old["key"]).status_code == 404
    assert activate(http, catalog, new["key"]).status_code == 200


def test_reminting_a_revoked_license_is_409(http, catalog, mint):
    license_id = mint(catalog)["license_id"]
    act_on(http, catalog.tenant, license_id, "revoke").raise_for_status()
    answer = act_on(http, catalog.tenant, license_id, "remint")
    assert answer.status_code == 409
    assert answer.json()["code"] == "LICENSE_NOT_ACTIVE"


def test_reminting_a_revoked_license_issues_no_license(http, catalog, mint):
    license_id = mint(catalog)["license_id"]
    act_on(http, catalog.tenant, license_id, "revoke").raise_for_status()
    act_on(http, catalog.tenant, license_id, "remint")
    assert listed_ids(http, catalog.tenant) == [license_id]


def test_reminting_a_license_twice_is_409(http, catalog, mint):
    license_id = mint(catalog)["license_id"]
    act_on(http, catalog.tenant, license_id, "remint").raise_for_status()
    assert act_on(http, catalog.tenant, license_id, "remint").status_code == 409


# -- freeing seats -----------------------------------------------------------------------------

def test_deactivating_an_instance_frees_its_seat(http, catalog, mint):
    minted = mint(catalog)
    instance_id = activate(http, catalog, minted["key"]).json()["instance_id"]
    answer = act_on(http, catalog.tenant, minted["license_id"],
                    f"instances/{instance_id}/deactivate")
    assert answer.status_code == 200, answer.text
    assert answer.json()["instance_id"] == instance_id
    shown = show(http, catalog.tenant, minted["license_id"])
    assert shown["instances"] == [] and shown["active_instances"] == 0


def test_deactivating_an_unknown_instance_is_404(http, catalog, mint):
    license_id = mint(catalog)["license_id"]
    answer = act_on(http, catalog.tenant, license_id, "instances/no-such-instance/deactivate")
    assert answer.status_code == 404
    assert answer.json()["code"] == "INSTANCE_NOT_FOUND"


def test_deactivating_an_instance_twice_is_404_the_second_time(http, catalog, mint):
    minted = mint(catalog)
    instance_id = activate(http, catalog, minted["key"]).json()["instance_id"]
    path = f"instances/{instance_id}/deactivate"
    act_on(http, catalog.tenant, minted["license_id"], path).raise_for_status()
    assert act_on(http, catalog.tenant, minted["license_id"], path).status_code == 404


# -- audit -------------------------------------------------------------------------------------

@pytest.fixture
def audited(http, tenant, make_catalog, mint):
    """A tenant that has taken every kind of management action once."""
    catalog = make_catalog(tenant)
    http.patch(f"/api/{tenant.tenant_id}/products/{catalog.product_id}/key-types/"
               f"{catalog.key_type_id}", headers=tenant.headers,
               json={"activation_limit": 5}).raise_for_status()
    revoked = mint(catalog)
    act_on(http, tenant, revoked["license_id"], "revoke").raise_for_status()
    reminted = mint(catalog)
    act_on(http, tenant, reminted["license_id"], "remint").raise_for_status()
    seated = mint(catalog)
    instance_id = activate(http, catalog, seated["key"]).json()["instance_id"]
    act_on(http, tenant, seated["license_id"],
           f"instances/{instance_id}/deactivate").raise_for_status()
    return tenant, {"revoked": revoked["license_id"], "reminted": reminted["license_id"],
                    "seated": seated["license_id"]}


@pytest.mark.parametrize("action", [
    "tenant.create", "tenant.lifecycle", "product.create", "key_type.create", "key_type.update",
    "license.mint", "license.revoke", "license.remint", "license.instance_deactivate",
])
def test_the_audit_log_lists_each_management_action_taken(http, audited, action):
    tenant, _ = audited
    assert action in {entry["action"] for entry in audit_actions(http, tenant)}


def test_the_audit_log_names_who_acted_on_what(http, audited):
    tenant, licenses = audited
    entries = audit_actions(http, tenant)
    [revoke] = [entry for entry in entries if entry["action"] == "license.revoke"]
    assert revoke["target"] == licenses["revoked"]
    assert revoke["actor"] == f"tenant:{tenant.tenant_id}"
    [created] = [entry for entry in entries if entry["action"] == "tenant.create"]
    assert created["actor"] == "operator"


def test_the_audit_log_has_one_mint_entry_per_license_minted(http, audited):
    tenant, _ = audited
    mints = [entry for entry in audit_actions(http, tenant) if entry["action"] == "license.mint"]
    assert len(mints) == 3


def test_the_audit_log_is_newest_first(http, audited):
    tenant, _ = audited
    entries = audit_actions(http, tenant)
    assert entries[-1]["action"] == "tenant.create"
    assert [entry["audit_id"] for entry in entries] == sorted(
        (entry["audit_id"] for entry in entries), reverse=True)
