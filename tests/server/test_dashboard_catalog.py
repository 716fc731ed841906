"""The dashboard's last catalog and license pieces in a real browser: archive a product and
put it back on sale, edit a key type (as PATCH …/products/… and …/key-types/… do), and
download the Licenses page's filtered rows as CSV (the rows of GET …/licenses/export.csv)."""

from __future__ import annotations

import csv
import io

import pytest

from keylight_actors.store.reports import EXPORT_COLUMNS

from .dashboard_browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    page_fixture,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.server


def tenant_token(tenant) -> str:
    return tenant.credentials["management_token"]


def test_archive_a_product_and_edit_a_key_type(page, make_tenant, make_catalog, http):
    tenant = make_tenant()
    catalog = make_catalog(tenant, activation_limit=3)
    product = f"#product-{catalog.product_id}"
    sign_in(page, tenant.tenant_id, tenant_token(tenant))
    page.get_by_role("link", name="Products").click()
    assert page.locator(f"{product} h2").inner_text().endswith("active")

    page.locator(product).get_by_role("button", name="Archive").click()
    assert page.get_by_role("status").inner_text().startswith("The product is archived")
    assert page.locator(f"{product} h2").inner_text().endswith("archived")
    api = http.get(f"/api/{tenant.tenant_id}/products/{catalog.product_id}",
                   headers=tenant.headers).json()
    assert api["status"] == "archived"
    refused = http.post(f"/api/{tenant.tenant_id}/licenses", headers=tenant.headers,
                        json={"product_id": catalog.product_id,
                              "key_type_id": catalog.key_type_id})
    assert refused.status_code == 403, refused.text
    page.locator(product).get_by_role("button", name="Put back on sale").click()
    assert page.get_by_role("status").inner_text() == "The product is on sale again."
    assert page.locator(f"{product} h2").inner_text().endswith("active")

    page.locator(product).get_by_role("link", name=f"Edit {catalog.key_type_id}").click()
    assert page.get_by_label("Devices per license").input_value() == "3"
    page.get_by_label("Devices per license").fill("7")
    screenshot(page, "key-type-edit")
    page.get_by_role("button", name="Save changes").click()
    assert page.get_by_role("status").inner_text() == "The key type is changed."
    row = page.locator(f"{product} tbody tr").first
    assert row.locator("td").nth(2).inner_text() == "7"
    screenshot(page, "products-edited")
    key_type = http.get(f"/api/{tenant.tenant_id}/products/{catalog.product_id}",
                        headers=tenant.headers).json()["key_types"][0]
    assert key_type["activation_limit"] == 7
    assert key_type["entitlements"] == ["pro"]  # unchanged fields are not sent
    audit = http.get(f"/api/{tenant.tenant_id}/audit", headers=tenant.headers).json()["data"]
    mine = [entry["action"] for entry in audit
            if entry["actor"] == f"dashboard:tenant:{tenant.tenant_id}"
            and entry["action"] != "dashboard.sign_in"]
    assert len(mine) == 3, audit  # archive, put back, the key type

    # Saving with nothing changed is refused on the page, by the API's own rule.
    page.locator(product).get_by_role("link", name=f"Edit {catalog.key_type_id}").click()
    page.get_by_role("button", name="Save changes").click()
    assert "nothing to change" in page.get_by_role("alert").inner_text()


def test_licenses_csv_export_of_the_current_filters(page, make_tenant, make_catalog, mint):
    tenant = make_tenant()
    catalog = make_catalog(tenant)
    wanted = mint(catalog, customer_email="export-me@example.com")
    other = mint(catalog, customer_email="someone-else@example.com")
    sign_in(page, tenant.tenant_id, tenant_token(tenant))
    page.get_by_role("link", name="Licenses").click()
    page.get_by_label("Customer email").fill("export-me@example.com")
    page.get_by_role("button", name="Search").click()
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download these licenses as CSV").click()
    download = waiting.value
    assert download.suggested_filename == f"{tenant.tenant_id}-licenses.csv"
    with open(download.path(), encoding="utf-8", newline="") as file:
        rows = list(csv.reader(io.StringIO(file.read())))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert [row[0] for row in rows[1:]] == [wanted["license_id"]]
    assert other["license_id"] not in {row[0] for row in rows}
    assert rows[1][EXPORT_COLUMNS.index("customer_email")] == "export-me@example.com"


def test_another_tenants_export_and_a_post_without_its_token(page, make_tenant, make_catalog):
    mine, theirs = make_tenant(), make_tenant()
    their_catalog = make_catalog(theirs)
    sign_in(page, mine.tenant_id, tenant_token(mine))
    answer = page.request.get(f"/dashboard/tenants/{theirs.tenant_id}/licenses/export.csv")
    assert answer.status == 404
    mine_catalog = make_catalog(mine)
    refused = page.request.post(
        f"/dashboard/tenants/{mine.tenant_id}/products/{mine_catalog.product_id}/status",
        form={"status": "archived"}, max_redirects=0)
    assert refused.status == 403
    refused = page.request.post(
        f"/dashboard/tenants/{theirs.tenant_id}/products/{their_catalog.product_id}/status",
        form={"status": "archived"}, max_redirects=0)
    assert refused.status == 404
