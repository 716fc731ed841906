"""Reports: usage stats by day, the licenses as CSV, and the operator's tenant list."""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from .sdk_calls import activate, machine_hash

EXPORT_HEADER = ["license_id", "key_display", "product_id", "key_type_id", "customer_email",
                 "status", "activation_limit", "active_instances", "created_at", "expires_at",
                 "source"]


def export(http, tenant, **params):
    return http.get(f"/api/{tenant.tenant_id}/licenses/export.csv", headers=tenant.headers,
                    params=params)


def rows_of(answer) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(answer.text)))


# -- export ------------------------------------------------------------------------------------

def test_the_export_is_csv_with_a_header_and_a_row_per_license(http, catalog, mint):
    minted = [mint(catalog)["license_id"] for _ in range(3)]
    answer = export(http, catalog.tenant)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.text.splitlines()[0].split(",") == EXPORT_HEADER
    rows = rows_of(answer)
    assert [row["license_id"] for row in rows] == minted
    assert rows[0]["status"] == "active"
    assert rows[0]["source"] == "manual"
    assert rows[0]["active_instances"] == "0"
    assert rows[0]["customer_email"] == "buyer@example.com"


def test_the_export_counts_active_devices(http, catalog, mint):
    key = mint(catalog)["key"]
    assert activate(http, catalog, key, machine_hash=machine_hash()).status_code == 200
    assert rows_of(export(http, catalog.tenant))[0]["active_instances"] == "1"


def test_the_export_takes_the_lists_filters(http, tenant, make_catalog, mint):
    first, second = make_catalog(tenant), make_catalog(tenant)
    wanted = mint(first, customer_email="ada@example.com")
    mint(second, customer_email="bob@example.com")
    by_product = rows_of(export(http, tenant, product_id=first.product_id))
    assert [row["license_id"] for row in by_product] == [wanted["license_id"]]
    by_email = rows_of(export(http, tenant, email="ADA@example.com"))
    assert [row["license_id"] for row in by_email] == [wanted["license_id"]]
    by_key = rows_of(export(http, tenant, key=wanted["key"].lower()))
    assert [row["license_id"] for row in by_key] == [wanted["license_id"]]
    assert rows_of(export(http, tenant, source="stripe")) == []


def test_export_cells_that_a_spreadsheet_would_run_are_neutralised(http, catalog, mint):
    for email in ('=HYPERLINK("http://evil.example")@example.com', "+1+2@example.com",
                  "-3@example.com"):
        mint(catalog, customer_email=email)
    emails = [row["customer_email"] for row in rows_of(export(http, catalog.tenant))]
    assert emails == ["'=HYPERLINK(\"http://evil.example\")@example.com", "'+1+2@example.com",
                      "'-3@example.com"]


def test_an_unknown_status_filter_is_400_naming_the_field(http, tenant):
    answer = export(http, tenant, status="sleeping")
    assert answer.status_code == 400
    assert "status" in answer.json()["error"]


def test_another_tenants_token_cannot_export(http, make_tenant):
    owner, other = make_tenant(), make_tenant()
    answer = http.get(f"/api/{owner.tenant_id}/licenses/export.csv", headers=other.headers)
    assert answer.status_code == 403


# -- stats -------------------------------------------------------------------------------------

def test_stats_have_every_day_with_zeros(http, tenant):
    answer = http.get(f"/api/{tenant.tenant_id}/stats", headers=tenant.headers,
                      params={"days": 7})
    assert answer.status_code == 200, answer.text
    stats = answer.json()
    today = datetime.now(timezone.utc).date()
    expected = [(today - timedelta(days=n)).isoformat() for n in range(6, -1, -1)]
    assert [day["date"] for day in stats["activations_per_day"]] == expected
    assert [day["date"] for day in stats["new_licenses_per_day"]] == expected
    assert all(day["count"] == 0 for day in stats["activations_per_day"])


def test_stats_count_todays_licenses_activations_and_statuses(http, catalog, mint):
    keys = [mint(catalog)["key"] for _ in range(2)]
    for key in keys:
        assert activate(http, catalog, key, machine_hash=machine_hash()).status_code == 200
    revoked = mint(catalog)["license_id"]
    tenant = catalog.tenant
    assert http.post(f"/api/{tenant.tenant_id}/licenses/{revoked}/revoke",
                     headers=tenant.headers).status_code == 200
    stats = http.get(f"/api/{tenant.tenant_id}/stats", headers=tenant.headers).json()
    assert len(stats["activations_per_day"]) == 30
    assert stats["activations_per_day"][-1]["count"] == 2
    assert stats["new_licenses_per_day"][-1]["count"] == 3
    assert stats["licenses_by_status"]["active"] == 2
    assert stats["licenses_by_status"]["revoked"] == 1
    assert stats["licenses_by_status"]["expired"] == 0
    assert set(stats["deliveries_by_status"]) == {"pending", "delivered", "retrying", "failed"}


def test_stats_count_imported_licenses_and_devices_on_the_days_they_happened(
    http, catalog, mint
):
    today = datetime.now(timezone.utc).date()
    created, activated = today - timedelta(days=5), today - timedelta(days=3)
    tenant = catalog.tenant
    answer = http.post(f"/api/{tenant.tenant_id}/licenses/import", headers=tenant.headers,
                       json={"licenses": [{
                           "product_id": catalog.product_id,
                           "key_type_id": catalog.key_type_id,
                           "created_at": f"{created.isoformat()}T12:00:00Z",
                           "instances": [{"instance_id": str(uuid.uuid4()),
                                          "instance_name": "desk",
                                          "activated_at": f"{activated.isoformat()}T08:00:00Z"},
                                         {"instance_id": str(uuid.uuid4()),
                                          "instance_name": "laptop"}]}]})
    assert answer.status_code == 200, answer.text
    activate(http, catalog, mint(catalog)["key"], machine_hash=machine_hash())

    stats = http.get(f"/api/{tenant.tenant_id}/stats", headers=tenant.headers,
                     params={"days": 7}).json()
    new_licenses = {day["date"]: day["count"] for day in stats["new_licenses_per_day"]}
    activations = {day["date"]: day["count"] for day in stats["activations_per_day"]}
    # The laptop has no activated_at of its own: it was activated with its license.
    assert new_licenses == {day: 0 for day in new_licenses} | {
        created.isoformat(): 1, today.isoformat(): 1}
    assert activations == {day: 0 for day in activations} | {
        created.isoformat(): 1, activated.isoformat(): 1, today.isoformat(): 1}


def test_stats_days_out_of_range_are_400(http, tenant):
    for days in (0, 366, "many"):
        answer = http.get(f"/api/{tenant.tenant_id}/stats", headers=tenant.headers,
                          params={"days": days})
        assert answer.status_code == 400, days


def test_another_tenants_token_cannot_read_stats(http, make_tenant):
    owner, other = make_tenant(), make_tenant()
    assert http.get(f"/api/{owner.tenant_id}/stats", headers=other.headers).status_code == 403


# -- the operator's tenant list ----------------------------------------------------------------

def test_the_tenant_list_shows_lifecycle_stripe_mode_and_license_count(
        http, operator_headers, catalog, mint):
    mint(catalog)
    tenant_id = catalog.tenant.tenant_id
    listed, cursor = [], None
    while True:
        page = http.get("/api/admin/tenants", headers=operator_headers,
                        params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        listed += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ours = next(item for item in listed if item["tenant_id"] == tenant_id)
    assert ours["lifecycle"] == "active"
    assert ours["stripe_mode"] == "none"
    assert ours["license_count"] == 1
    assert ours["created_at"].endswith("Z")
    assert [item["tenant_id"] for item in listed] == sorted(item["tenant_id"] for item in listed)


def test_the_tenant_list_filters_by_lifecycle(http, operator_headers, make_tenant):
    pending = make_tenant(active=False)
    page = http.get("/api/admin/tenants", headers=operator_headers,
                    params={"lifecycle": "pending_verification", "limit": 200}).json()
    assert pending.tenant_id in [item["tenant_id"] for item in page["data"]]
    assert {item["lifecycle"] for item in page["data"]} == {"pending_verification"}


def test_the_tenant_list_is_for_the_operator_only(http, tenant):
    assert http.get("/api/admin/tenants", headers=tenant.headers).status_code == 401


# -- the tenant list's search (q) ---------------------------------------------------------------

def tenants_listed(http, operator_headers, **params) -> list[str]:
    """The ids of every tenant the list answers for these parameters, all pages."""
    listed, cursor = [], None
    while True:
        answer = http.get("/api/admin/tenants", headers=operator_headers,
                          params={"limit": 200, **params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        listed += [item["tenant_id"] for item in answer.json()["data"]]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return listed


def test_q_matches_part_of_the_id_or_of_the_name_in_any_case(http, operator_headers,
                                                              make_tenant):
    word = secrets.token_hex(5)
    by_name = make_tenant(name=f"Orchid {word} Software")
    by_id = make_tenant()
    assert tenants_listed(http, operator_headers, q=word.upper()) == [by_name.tenant_id]
    id_part = by_id.tenant_id[2:].upper()  # "t-1a2b3c4d": the random part, in upper case
    assert tenants_listed(http, operator_headers, q=id_part) == [by_id.tenant_id]
    assert tenants_listed(http, operator_headers, q=f"  {word}  ") == [by_name.tenant_id]


@pytest.mark.parametrize("wildcard", ["%", "_", "\\"])
def test_wildcards_in_q_match_literally(http, operator_headers, make_tenant, wildcard):
    word = secrets.token_hex(5)
    literal = make_tenant(name=f"{word} 10{wildcard}off")
    # What the unescaped pattern would match too: any text for % and _, nothing for \.
    make_tenant(name=f"{word} 10off" if wildcard == "\\" else f"{word} 10xoff")
    assert tenants_listed(http, operator_headers, q=f"{word} 10{wildcard}off") == [
        literal.tenant_id]


def test_q_combines_with_lifecycle(http, operator_headers, make_tenant):
    word = secrets.token_hex(5)
    pending = make_tenant(active=False, name=f"Pending {word}")
    make_tenant(name=f"Active {word}")
    assert tenants_listed(http, operator_headers, q=word,
                          lifecycle="pending_verification") == [pending.tenant_id]


def test_q_pages_through_its_matches_with_the_cursor(http, operator_headers, make_tenant):
    word = secrets.token_hex(5)
    matching = sorted(make_tenant(name=f"Paged {word}").tenant_id for _ in range(5))
    pages, cursor = [], None
    while True:
        page = http.get("/api/admin/tenants", headers=operator_headers,
                        params={"q": word, "limit": 2,
                                **({"cursor": cursor} if cursor else {})}).json()
        pages.append([item["tenant_id"] for item in page["data"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [matching[0:2], matching[2:4], matching[4:5]]


def test_an_over_long_q_is_400_naming_the_field(http, operator_headers):
    answer = http.get("/api/admin/tenants", headers=operator_headers, params={"q": "x" * 65})
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_INPUT"
    assert answer.json()["error"].startswith("q: ")


def test_a_q_of_64_characters_after_trimming_is_accepted(http, operator_headers):
    answer = http.get("/api/admin/tenants", headers=operator_headers,
                      params={"q": "  " + "x" * 64 + "  "})
    assert answer.status_code == 200 and answer.json()["data"] == []


def test_the_license_count_is_every_license_minted_or_imported(http, operator_headers,
                                                                catalog, mint):
    for _ in range(3):
        mint(catalog)
    tenant = catalog.tenant
    imported = http.post(f"/api/{tenant.tenant_id}/licenses/import", headers=tenant.headers,
                         json={"licenses": [{"product_id": catalog.product_id,
                                             "key_type_id": catalog.key_type_id}]})
    assert imported.status_code == 200, imported.text
    page = http.get("/api/admin/tenants", headers=operator_headers,
                    params={"q": tenant.tenant_id}).json()
    assert [(item["tenant_id"], item["license_count"]) for item in page["data"]] == [
        (tenant.tenant_id, 4)]
