"""The dashboard in a real browser: sign in, the overview, products and key types, licenses
(search, free a device, suspend, reinstate, revoke, remint), sign out."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from .dashboard_browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    page_fixture,
    screenshot,
    session_cookie,
    sign_in,
)
from .sdk_calls import activate, machine_hash

pytestmark = pytest.mark.server


def tenant_token(tenant) -> str:
    return tenant.credentials["management_token"]


def test_sign_in_overview_and_sign_out(page, base_url, make_tenant, make_catalog, mint, http):
    tenant = make_tenant()
    catalog = make_catalog(tenant)
    keys = [mint(catalog, customer_email=f"buyer{n}@example.com")["key"] for n in range(3)]
    assert activate(http, catalog, keys[0], machine_hash=machine_hash()).status_code == 200
    revoked = mint(catalog)
    http.post(f"/api/{tenant.tenant_id}/licenses/{revoked['license_id']}/revoke",
              headers=tenant.headers).raise_for_status()

    sign_in(page, tenant.tenant_id, tenant_token(tenant))
    assert page.url.endswith(f"/dashboard/tenants/{tenant.tenant_id}/overview")
    counts = page.locator("#licenses-by-status")
    assert counts.locator("td[data-status=active]").inner_text() == "3"
    assert counts.locator("td[data-status=revoked]").inner_text() == "1"
    assert page.locator("#deliveries-by-status td[data-status=pending]").count() == 1
    # Both charts: 30 bars each, today's bar labelled with its count.
    assert page.locator("svg.bars").count() == 2
    assert page.locator("svg.bars").first.locator("rect.bar").count() == 30
    assert page.locator("figure.chart", has_text="New licenses per day").locator(
        "text.count").last.text_content() == "4"
    assert page.locator("figure.chart", has_text="Activations per day").locator(
        "text.count").last.text_content() == "1"
    screenshot(page, "overview")

    old_cookie = session_cookie(page)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/dashboard/login?signed_out=1")
    assert page.get_by_text("You are signed out.").is_visible()
    # The old cookie no longer opens anything: the session row is gone.
    answer = httpx.get(f"{base_url}/dashboard/tenants/{tenant.tenant_id}/overview",
                       cookies={"keylight_session": old_cookie["value"]},
                       follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login"


def test_wrong_token_is_refused(page, make_tenant):
    tenant = make_tenant()
    page.goto("/dashboard/login")
    screenshot(page, "sign-in")
    sign_in(page, tenant.tenant_id, "kmt_" + "0" * 64)
    assert page.get_by_role("alert").inner_text() == "wrong tenant id or token"
    assert "/dashboard/login" in page.url


def test_products_and_key_types(page, make_tenant, http):
    tenant = make_tenant()
    sign_in(page, tenant.tenant_id, tenant_token(tenant))
    page.get_by_role("link", name="Products").click()
    page.get_by_label("Product id").fill("editor")
    page.get_by_label("Name", exact=True).first.fill("Acme <Editor>")
    page.get_by_label("Key prefix (4 capitals or digits)").fill("ED" + tenant.tenant_id[-2:]
                                                                .upper().replace("0", "Q")
                                                                .replace("1", "R"))
    page.get_by_role("button", name="Create product").click()
    assert page.get_by_role("status").inner_text() == "The product is created."
    assert page.locator("#product-editor h2").inner_text().startswith("Acme <Editor>")

    page.get_by_label("Key type id").fill("pro")
    page.locator("#kt_name").fill("Pro")
    page.get_by_label("Devices per license").fill("2")
    page.get_by_label("Duration in days (empty: perpetual)").fill("365")
    page.get_by_label("Entitlements (comma-separated)").fill("pro, export")
    page.get_by_role("button", name="Create key type").click()
    assert page.get_by_role("status").inner_text() == "The key type is created."
    row = page.locator("#product-editor tbody tr").first
    assert re.sub(r"\s+", " ", row.inner_text()).startswith("pro Pro 2 365 days")
    # The JSON API sees the same catalog, and the audit log names the dashboard.
    product = http.get(f"/api/{tenant.tenant_id}/products/editor", headers=tenant.headers)
    assert product.json()["key_types"][0]["entitlements"] == ["pro", "export"]
    audit = http.get(f"/api/{tenant.tenant_id}/audit", headers=tenant.headers).json()["data"]
    catalog_actors = {entry["actor"] for entry in audit
                      if entry["action"] in {"product.create", "key_type.create"}}
    assert catalog_actors == {f"dashboard:tenant:{tenant.tenant_id}"}, audit
    # A form error is shown on the page, not as JSON.
    page.get_by_label("Key type id").fill("pro")
    page.locator("#kt_name").fill("Again")
    page.get_by_role("button", name="Create key type").click()
    assert "exists" in page.get_by_role("alert").inner_text()
    screenshot(page, "products")


def test_find_a_license_and_act_on_it(page, make_tenant, make_catalog, mint, http):
    tenant = make_tenant()
    catalog = make_catalog(tenant)
    minted = mint(catalog, customer_email="Findme@Example.com")
    for _ in range(2):
        mint(catalog, customer_email="other@example.com")
    machine = machine_hash()
    activated = activate(http, catalog, minted["key"], machine_hash=machine,
                         instance_name="studio-mac")
    assert activated.status_code == 200, activated.text

    sign_in(page, tenant.tenant_id, tenant_token(tenant))
    page.get_by_role("link", name="Licenses").click()
    expect(page.locator("#licenses tbody tr")).to_have_count(3)
    screenshot(page, "licenses")
    page.get_by_label("Customer email").fill("findme@example.com")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#licenses tbody tr")).to_have_count(1)
    # By its full key, too.
    page.get_by_label("Customer email").fill("")
    page.get_by_label("Full license key").fill(minted["key"])
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#licenses tbody tr")).to_have_count(1)
    page.locator("#licenses tbody tr a").first.click()
    assert page.locator("#license-status").inner_text() == "active"
    assert page.locator("#devices .device-name").inner_text() == "studio-mac"
    screenshot(page, "license")

    page.get_by_role("button", name="Free this device").click()
    assert page.get_by_role("status").inner_text() == "The device is freed."
    assert page.get_by_text("No active devices.").is_visible()

    page.get_by_role("button", name="Suspend").click()
    assert page.locator("#license-status").inner_text() == "suspended"
    page.get_by_role("button", name="Reinstate").click()
    assert page.locator("#license-status").inner_text() == "active"

    # Revoke asks first (our own script): dismissed, nothing happens; accepted, revoked.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Revoke").click()
    assert page.locator("#license-status").inner_text() == "active"
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    assert page.get_by_role("status").inner_text() == "The license is revoked."
    assert page.locator("#license-status").inner_text() == "revoked"
    detail = http.get(f"/api/{tenant.tenant_id}/licenses/{minted['license_id']}",
                      headers=tenant.headers).json()
    assert detail["status"] == "revoked"
    audit = http.get(f"/api/{tenant.tenant_id}/audit", headers=tenant.headers).json()["data"]
    actions = [entry["action"] for entry in audit
               if entry["actor"] == f"dashboard:tenant:{tenant.tenant_id}"
               and entry["action"] != "dashboard.sign_in"]
    assert len(actions) == 4, audit  # free, suspend, reinstate, revoke


def test_revoke_without_script_is_a_plain_form(browser, base_url, make_tenant, make_catalog,
                                               mint):
    tenant = make_tenant()
    minted = mint(make_catalog(tenant))
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    try:
        tab = context.new_page()
        sign_in(tab, tenant.tenant_id, tenant_token(tenant))
        tab.goto(f"/dashboard/tenants/{tenant.tenant_id}/licenses/{minted['license_id']}")
        tab.get_by_role("button", name="Revoke").click()
        tab.wait_for_load_state()
        assert tab.locator("#license-status").inner_text() == "revoked"
    finally:
        context.close()


def test_remint_shows_the_new_key_once(page, make_tenant, make_catalog, mint, http):
    tenant = make_tenant()
    catalog = make_catalog(tenant)
    minted = mint(catalog)
    sign_in(page, tenant.tenant_id, tenant_token(tenant))
    page.goto(f"/dashboard/tenants/{tenant.tenant_id}/licenses/{minted['license_id']}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remint (new key)").click()
    new_key = page.locator("#new-key").inner_text()
    assert new_key.startswith(catalog.key_prefix) and new_key != minted["key"]
    assert activate(http, catalog, new_key, machine_hash=machine_hash()).status_code == 200
    assert activate(http, catalog, minted["key"], machine_hash=machine_hash()).status_code != 200
    page.get_by_role("link", name="Open the new license").click()
    assert page.locator("#license-status").inner_text() == "active"
    assert new_key not in page.content()  # shown once: the detail page has only its display


def test_operator_signs_in_and_opens_a_tenant(page, make_tenant, settings):
    tenant = make_tenant()
    sign_in(page, "", settings.admin_token)
    page.get_by_label("Open a tenant by its id").fill(tenant.tenant_id)
    page.get_by_role("button", name="Open").click()
    assert page.url.endswith(f"/dashboard/tenants/{tenant.tenant_id}/overview")
    assert page.get_by_role("heading", name="Overview").is_visible()


def test_the_overview_lists_what_is_failing(page, http, shop, database_url, mint):
    """A failed webhook delivery links to the deliveries to fix; a Stripe event held for a
    purchase not minted yet is counted."""
    import psycopg

    from tests.stripe_standin import stripe_event

    from .payments import completed_session, deliver

    catalog, account = shop
    tenant = catalog.tenant
    sign_in(page, tenant.tenant_id, tenant_token(tenant))
    assert page.locator("#attention").get_by_text("Nothing is failing.").is_visible()

    assert http.put(f"/api/{tenant.tenant_id}/webhook", headers=tenant.headers,
                    json={"url": "http://127.0.0.1:9/hook"}).status_code in (200, 201)
    mint(catalog)
    # The license.created delivery goes to a closed port; the test server's retries (1, 2 and
    # 3 s) run out within seconds and it is failed.
    with psycopg.connect(database_url, autocommit=True) as conn:
        for _ in range(300):
            if conn.execute("SELECT 1 FROM webhook_deliveries WHERE tenant_id = %s "
                            "AND status = 'failed'", (tenant.tenant_id,)).fetchone():
                break
            time.sleep(0.1)
    session = completed_session(catalog, account=account)
    refund = stripe_event("charge.refunded", {
        "id": "ch_overview", "object": "charge", "amount": 2500, "amount_refunded": 2500,
        "refunded": True, "payment_intent": session["data"]["object"]["payment_intent"]},
        account=account)
    assert deliver(http, refund).status_code == 200

    page.reload()
    attention = page.locator("#attention")
    failed = attention.get_by_role("link", name=re.compile(r"1 failed webhook delivery"))
    assert failed.get_attribute("href").endswith("/webhooks?status=failed")
    assert attention.locator("li[data-held='1']").is_visible()
