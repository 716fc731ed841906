"""Licenses → Import in a real browser: a file with a bad row (the report lists it, nothing
is imported), then the fixed file (checked, imported, the generated key shown once)."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from .conftest import SECRETS_SEEN
from .dashboard_browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    page_fixture,
    screenshot,
    sign_in,
)
from .payments import licenses_of

pytestmark = pytest.mark.server


def csv_file(lines: list[str]) -> dict:
    return {"name": "licenses.csv", "mimeType": "text/csv",
            "buffer": ("\n".join(lines) + "\n").encode()}


def test_import_a_file_with_a_bad_row_then_the_fixed_file(page, make_tenant, make_catalog,
                                                          http):
    tenant = make_tenant()
    catalog = make_catalog(tenant)
    old_key = "OLD-" + uuid.uuid4().hex[:16].upper()
    header = "product_id,key_type_id,license_key,customer_email"
    good = f"{catalog.product_id},{catalog.key_type_id},{old_key},kept@example.com"
    generated = f"{catalog.product_id},{catalog.key_type_id},,fresh@example.com"
    bad = f"{catalog.product_id},<b>nope</b>,,bad@example.com"

    sign_in(page, tenant.tenant_id, tenant.credentials["management_token"])
    page.get_by_role("link", name="Licenses", exact=True).click()
    page.get_by_role("link", name="Import licenses from a file").click()
    page.get_by_label("File (CSV or JSON)").set_input_files(csv_file([header, good, bad]))
    page.get_by_role("button", name="Check the file").click()
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(1)
    cells = errors.first.locator("td")
    assert cells.nth(0).inner_text() == "2"  # the second data row
    assert cells.nth(1).inner_text() == "key_type_id"
    assert cells.nth(2).inner_text() == "UNKNOWN_KEY_TYPE"
    assert page.locator("#import-errors b").count() == 0  # the file's text is escaped
    assert page.locator("#import-counts td[data-count=errors]").inner_text() == "1"
    assert "nothing was imported" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("button", name="Import for real").count() == 0
    screenshot(page, "import-errors")
    assert licenses_of(http, tenant) == []

    # The fixed file: checked (nothing written yet), then imported for real.
    page.get_by_label("File (CSV or JSON)").set_input_files(csv_file([header, good, generated]))
    page.get_by_role("button", name="Check the file").click()
    assert page.locator("#import-counts td[data-count=imported]").inner_text() == "2"
    assert page.get_by_role("status").inner_text() == ("The file is valid: nothing is "
                                                       "written yet.")
    assert licenses_of(http, tenant) == []
    page.get_by_role("button", name="Import for real").click()
    assert page.get_by_role("status").inner_text() == "Imported 2 licenses."
    keys = page.locator("#generated-keys tbody tr")
    expect(keys).to_have_count(1)
    assert keys.first.locator("td").first.inner_text() == "2"
    new_key = keys.first.locator("code").inner_text()
    SECRETS_SEEN.add(new_key)
    assert new_key.startswith(catalog.key_prefix)
    screenshot(page, "import")
    assert {row["customer_email"] for row in licenses_of(http, tenant)} == {
        "kept@example.com", "fresh@example.com"}
    audit = http.get(f"/api/{tenant.tenant_id}/audit", headers=tenant.headers).json()["data"]
    assert any(entry["actor"] == f"dashboard:tenant:{tenant.tenant_id}" for entry in audit)

    # The licenses are listed; the generated key is not shown again.
    page.get_by_role("link", name="See the licenses").click()
    expect(page.locator("#licenses tbody tr")).to_have_count(2)
    assert page.locator("#licenses", has_text="fresh@example.com").count() == 1
    assert new_key not in page.content()


def test_the_import_form_needs_the_csrf_token(page, base_url, make_tenant, make_catalog,
                                              http):
    tenant = make_tenant()
    catalog = make_catalog(tenant)
    sign_in(page, tenant.tenant_id, tenant.credentials["management_token"])
    content = (f"product_id,key_type_id,license_key,customer_email\n"
               f"{catalog.product_id},{catalog.key_type_id},,x@example.com\n").encode()
    answer = page.request.post(
        f"{base_url}/dashboard/tenants/{tenant.tenant_id}/licenses/import",
        multipart={"csrf": "0" * 64, "step": "check",
                   "file": {"name": "a.csv", "mimeType": "text/csv", "buffer": content}})
    assert answer.status == 403
    assert licenses_of(http, tenant) == []
