"""The operator's console in a real browser: tenants (create, lifecycle moves, an illegal
move refused, connect Stripe), the Stripe event inbox (filter, replay); a vendor's session
finds none of it."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from .conftest import SECRETS_SEEN, unique_id
from .dashboard_browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    page_fixture,
    screenshot,
    sign_in,
)
from .payments import completed_session, deliver, licenses_of

pytestmark = pytest.mark.server


def test_operator_creates_and_suspends_a_tenant(page, settings, http, operator_headers):
    sign_in(page, "", settings.admin_token)
    page.get_by_role("link", name="Tenants", exact=True).click()
    tenant_id = unique_id("dash")
    page.get_by_label("New tenant id").fill(tenant_id)
    page.get_by_label("Tenant name").fill("Acme <Tools>")
    page.get_by_role("button", name="Create tenant").click()
    token = page.locator("#management-token").inner_text()
    SECRETS_SEEN.update({token, page.locator("#checkout-key").inner_text()})
    assert token.startswith("kmt_")
    screenshot(page, "operator-tenant-created")
    shown = http.get(f"/api/admin/tenants/{tenant_id}", headers=operator_headers).json()
    assert shown["name"] == "Acme <Tools>" and shown["lifecycle"] == "pending_verification"

    page.get_by_role("link", name="Open the tenant").click()
    assert page.locator("#tenant-lifecycle").inner_text() == "pending_verification"
    page.get_by_label("Move to").select_option("active")
    page.get_by_role("button", name="Change lifecycle").click()
    assert page.get_by_role("status").inner_text() == "The lifecycle is changed."
    assert page.locator("#tenant-lifecycle").inner_text() == "active"
    # An illegal move is refused with its reason, and nothing changes.
    page.get_by_label("Move to").select_option("closed")
    page.get_by_role("button", name="Change lifecycle").click()
    assert page.get_by_role("alert").inner_text() == ("a tenant cannot move from active to "
                                                      "closed")
    assert page.locator("#tenant-lifecycle").inner_text() == "active"
    page.get_by_label("Move to").select_option("suspended")
    page.get_by_role("button", name="Change lifecycle").click()
    assert page.locator("#tenant-lifecycle").inner_text() == "suspended"
    screenshot(page, "operator-tenant")
    shown = http.get(f"/api/admin/tenants/{tenant_id}", headers=operator_headers).json()
    assert shown["lifecycle"] == "suspended"

    # The list, filtered by lifecycle, and finding a tenant by its id.
    page.get_by_role("link", name="Tenants", exact=True).click()
    page.get_by_label("Lifecycle").select_option("suspended")
    page.get_by_role("button", name="Filter").click()
    row = page.locator(f"#tenants tr[data-tenant='{tenant_id}']")
    expect(row).to_have_count(1)
    assert "Acme <Tools>" in row.inner_text()
    for lifecycle in page.locator("#tenants tbody .status").all_inner_texts():
        assert lifecycle == "suspended"
    screenshot(page, "operator-tenants")
    page.get_by_label("Tenant id", exact=True).fill(tenant_id)
    page.get_by_role("button", name="Find").click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Tenant {tenant_id}"


def test_operator_connects_stripe_and_replays_an_unroutable_event(
        page, settings, http, make_tenant, make_catalog):
    catalog = make_catalog(make_tenant())
    account = "acct_" + secrets.token_hex(8)
    event = completed_session(catalog, account=account)
    assert deliver(http, event).status_code == 200

    sign_in(page, "", settings.admin_token)
    page.get_by_role("link", name="Stripe events").click()
    page.get_by_label("State").select_option("unroutable")
    page.get_by_role("button", name="Filter").click()
    row = page.locator(f"#events tr[data-event='{event['id']}']")
    assert row.locator("[data-state]").inner_text() == "unroutable"
    screenshot(page, "operator-stripe-events")

    # Connect the account the event came from, then replay it: the license is minted.
    page.get_by_role("link", name="Tenants", exact=True).click()
    page.get_by_label("Tenant id", exact=True).fill(catalog.tenant.tenant_id)
    page.get_by_role("button", name="Find").click()
    page.get_by_label("Connected account id (acct_…)").fill(account)
    page.get_by_role("button", name="Connect Stripe account").click()
    assert page.get_by_role("status").inner_text() == "The Stripe account is connected."
    assert page.locator("#tenant-stripe").inner_text() == account

    page.get_by_role("link", name="Stripe events").click()
    page.get_by_label("State").select_option("unroutable")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("button", name=f"Replay {event['id']}").click()
    notice = page.get_by_role("status").inner_text()
    assert re.fullmatch(rf"Event {event['id']} replayed: now processed\.", notice), notice
    assert page.locator(f"#events tr[data-event='{event['id']}']").count() == 0
    assert len(licenses_of(http, catalog.tenant)) == 1


def test_a_vendor_session_finds_no_operator_page(page, base_url, make_tenant, http,
                                                 operator_headers):
    tenant = make_tenant()
    sign_in(page, tenant.tenant_id, tenant.credentials["management_token"])
    assert page.get_by_role("link", name="Stripe events").count() == 0
    csrf = page.locator("input[name=csrf]").first.input_value()
    for path in ("/dashboard/operator/tenants", "/dashboard/operator/stripe-events",
                 f"/dashboard/operator/tenants/{tenant.tenant_id}",
                 f"/dashboard/operator/find?tenant_id={tenant.tenant_id}"):
        answer = page.request.get(f"{base_url}{path}", max_redirects=0)
        assert answer.status == 404, (path, answer.status)
    new_id = unique_id("nope")
    for path, form in (("/dashboard/operator/tenants", {"tenant_id": new_id, "name": "X"}),
                       (f"/dashboard/operator/tenants/{tenant.tenant_id}/lifecycle",
                        {"lifecycle": "suspended"}),
                       ("/dashboard/operator/stripe-events/evt_x/replay", {})):
        answer = page.request.post(f"{base_url}{path}", form={"csrf": csrf, **form},
                                   max_redirects=0)
        assert answer.status == 404, (path, answer.status)
    assert http.get(f"/api/admin/tenants/{new_id}", headers=operator_headers).status_code == 404
    shown = http.get(f"/api/admin/tenants/{tenant.tenant_id}", headers=operator_headers)
    assert shown.json()["lifecycle"] == "active"


def listed_tenants(page) -> list[str]:
    return page.locator("#tenants tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.tenant)")


def test_the_search_box_filters_the_tenant_list_by_part_of_the_id_or_name(
        page, settings, make_tenant):
    word = secrets.token_hex(5)
    hostile_name = f"<img src=x onerror=alert(1)> {word}"
    hostile = make_tenant(name=hostile_name)
    other_case = make_tenant(name=f"Plain {word.upper()}")
    make_tenant()
    sign_in(page, "", settings.admin_token)
    page.get_by_role("link", name="Tenants", exact=True).click()
    page.get_by_label("Id or name contains").fill(word)
    page.get_by_role("button", name="Filter").click()
    assert listed_tenants(page) == sorted([hostile.tenant_id, other_case.tenant_id])
    assert page.get_by_label("Id or name contains").input_value() == word
    # The customer's name is text on the page, never markup.
    row = page.locator(f"#tenants tr[data-tenant='{hostile.tenant_id}']")
    assert row.locator("td").nth(1).inner_text() == hostile_name
    expect(page.locator("#tenants img")).to_have_count(0)
    # Part of an id finds its tenant too.
    page.get_by_label("Id or name contains").fill(other_case.tenant_id[2:])
    page.get_by_role("button", name="Filter").click()
    assert listed_tenants(page) == [other_case.tenant_id]


def test_the_pager_keeps_the_search(page, base_url, settings, make_tenant):
    word = secrets.token_hex(5)
    matching = sorted(make_tenant(active=False, name=f"Many {word}").tenant_id
                      for _ in range(51))
    sign_in(page, "", settings.admin_token)
    page.goto(f"{base_url}/dashboard/operator/tenants?q={word}")
    assert listed_tenants(page) == matching[:50]
    page.get_by_role("link", name="Next page").click()
    assert listed_tenants(page) == matching[50:]
    assert page.get_by_label("Id or name contains").input_value() == word
    page.get_by_role("link", name="First page").click()
    assert listed_tenants(page) == matching[:50]


def test_find_lists_the_matches_when_no_tenant_has_exactly_that_id(
        page, settings, make_tenant):
    word = secrets.token_hex(5)
    named = make_tenant(name=f"Found {word}")
    sign_in(page, "", settings.admin_token)
    page.get_by_role("link", name="Tenants", exact=True).click()
    page.get_by_label("Tenant id", exact=True).fill(word)
    page.get_by_role("button", name="Find").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Tenants"
    assert listed_tenants(page) == [named.tenant_id]
    assert page.get_by_label("Id or name contains").input_value() == word
