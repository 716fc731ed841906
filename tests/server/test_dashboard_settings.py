"""The dashboard's settings pages in a real browser: webhooks and the deliveries log,
integrations (credential rotation), the audit log, editing a license, a priced key type."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
from playwright.sync_api import expect

from keylight_actors.dashboard.pages_settings import AUDIT_PAGE

from .conftest import WEBHOOK_RETRY_SCHEDULE
from .dashboard_browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    page_fixture,
    screenshot,
    sign_in,
)
from .webhook_receiver import wait_for_delivery

pytestmark = pytest.mark.server

ATTEMPTS = len(WEBHOOK_RETRY_SCHEDULE) + 1
HOSTILE_SNIPPET = '<script>document.title="owned"</script><b>nope</b>'


def token_of(tenant) -> str:
    return tenant.credentials["management_token"]


def dashboard_audit(http, tenant) -> list[dict]:
    answer = http.get(f"/api/{tenant.tenant_id}/audit", headers=tenant.headers)
    return [entry for entry in answer.json()["data"]
            if entry["actor"] == f"dashboard:tenant:{tenant.tenant_id}"]


class HostileReceiver:
    """Answers 500 with an HTML body (the snippet the log shows) until told to accept."""

    def __init__(self) -> None:
        self.accept = threading.Event()
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.requests += 1
                status, body = ((200, b"ok") if receiver.accept.is_set()
                                else (500, HOSTILE_SNIPPET.encode()))
                self.send_response(status)
                self.send_header("content-type", "text/html")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile_receiver():
    receiver = HostileReceiver()
    yield receiver
    receiver.stop()


def test_webhook_setup_secret_once_deliveries_and_redeliver(page, make_tenant, make_catalog,
                                                            mint, http, hostile_receiver):
    tenant = make_tenant()
    catalog = make_catalog(tenant)
    sign_in(page, tenant.tenant_id, token_of(tenant))
    page.get_by_role("link", name="Webhooks").click()
    assert page.get_by_text("No webhook yet").is_visible()
    page.get_by_label("Webhook URL").fill(hostile_receiver.url)
    page.get_by_label("license.activated").check()
    page.get_by_role("button", name="Save webhook").click()
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("whsec_")
    # Shown once: the settings page (and a reload of it) never shows it again.
    page.get_by_role("link", name="Back to webhooks").click()
    page.reload()
    assert secret not in page.content()
    assert page.get_by_label("Webhook URL").input_value() == hostile_receiver.url
    assert page.get_by_label("license.activated").is_checked()
    assert page.get_by_label("license.created").is_disabled()
    endpoint = http.get(f"/api/{tenant.tenant_id}/webhook", headers=tenant.headers).json()
    assert endpoint["events"]["license.activated"] is True

    # A delivery the receiver refuses, with an HTML body, until it fails for good.
    mint(catalog)
    failed = wait_for_delivery(http, tenant, lambda item: item["status"] == "failed",
                               timeout=60)
    page.reload()
    row = page.locator(f"#delivery-{failed['delivery_id']}")
    assert row.locator(".status").inner_text() == "failed"
    assert row.locator(".last-status").inner_text() == "500"
    assert row.locator(".attempt-count").inner_text() == str(ATTEMPTS)
    row.get_by_text("Attempts and responses").click()
    expect(row.locator("pre.snippet")).to_have_count(ATTEMPTS)
    assert row.locator("pre.snippet").first.inner_text() == HOSTILE_SNIPPET  # text, not HTML
    assert page.locator("#deliveries script, #deliveries b").count() == 0
    assert page.title() != "owned"
    screenshot(page, "webhooks")

    # The receiver is fixed; redeliver sends the same delivery again.
    hostile_receiver.accept.set()
    row.get_by_role("button", name="Redeliver").click()
    assert page.get_by_role("status").inner_text() == (
        "The delivery is queued to be sent again now.")
    delivered = wait_for_delivery(http, tenant, lambda item: item["status"] == "delivered")
    assert delivered["delivery_id"] == failed["delivery_id"]
    assert delivered["attempt_count"] == ATTEMPTS + 1
    page.reload()
    assert page.locator(f"#delivery-{failed['delivery_id']} .status").inner_text() == (
        "delivered")

    # Rotating the secret shows the new one once.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate the signing secret").click()
    rotated = page.locator("#new-secret").inner_text()
    assert rotated.startswith("whsec_") and rotated != secret
    assert "24 hours" in page.get_by_role("status").inner_text()
    actions = {entry["action"] for entry in dashboard_audit(http, tenant)}
    assert {"webhook.create", "webhook.redeliver", "webhook.rotate_secret"} <= actions


def test_integrations_rotate_the_sdk_key_and_the_management_token(page, make_tenant, http):
    tenant = make_tenant()
    sign_in(page, tenant.tenant_id, token_of(tenant))
    page.get_by_role("link", name="Integrations").click()
    assert page.locator("#stripe").get_by_text("Not connected to Stripe").is_visible()
    screenshot(page, "integrations")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate the SDK key").click()
    new_key = page.locator("#new-secret").inner_text()
    assert new_key != tenant.credentials["sdk_key"]
    assert "24 hours" in page.get_by_role("status").inner_text()
    page.get_by_role("link", name="Back to integrations").click()
    assert new_key not in page.content()  # shown once
    assert page.locator("#sdk-key").get_by_text("The previous key works until").is_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate the signing key").click()
    kid = page.locator("#new-kid").inner_text()
    keyset = http.get(f"/{tenant.tenant_id}/.well-known/keylight-keys").json()
    assert keyset["primary_kid"] == kid

    # A new management token ends this session: sign in with the new one.
    page.goto(f"/dashboard/tenants/{tenant.tenant_id}/integrations")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate the management token").click()
    token = page.locator("#new-secret").inner_text()
    assert token.startswith("kmt_") and token != token_of(tenant)
    assert "sign in again with the new token" in page.get_by_role("status").inner_text()
    page.goto(f"/dashboard/tenants/{tenant.tenant_id}/overview")
    assert "/dashboard/login" in page.url
    sign_in(page, tenant.tenant_id, token)
    assert page.url.endswith(f"/dashboard/tenants/{tenant.tenant_id}/overview")
    audit = http.get(f"/api/{tenant.tenant_id}/audit",
                     headers={"Authorization": f"Bearer {token}"}).json()["data"]
    actions = {entry["action"] for entry in audit}
    assert {"credential.rotate.sdk_key", "credential.rotate.management_token",
            "signing_key.rotate"} <= actions


def test_audit_log_pages_and_records_sign_in_and_out(page, make_tenant, http, database_url):
    tenant = make_tenant()
    with psycopg.connect(database_url, autocommit=True) as conn:
        for n in range(AUDIT_PAGE + 5):
            conn.execute("INSERT INTO audit_log (tenant_id, actor, action, target) "
                         "VALUES (%s, 'api:test', 'test.filler', %s)",
                         (tenant.tenant_id, f"<i>{n}</i>"))
    sign_in(page, tenant.tenant_id, token_of(tenant))
    page.get_by_role("link", name="Audit log").click()
    rows = page.locator("#audit tbody tr")
    expect(rows).to_have_count(AUDIT_PAGE)
    first = rows.first
    assert first.locator(".action").inner_text() == "dashboard.sign_in"
    assert first.locator(".actor").inner_text() == f"dashboard:tenant:{tenant.tenant_id}"
    assert page.locator("#audit i").count() == 0  # a target is text
    screenshot(page, "audit")
    page.get_by_role("link", name="Older").click()
    expect(rows.filter(has_text="test.filler")).to_have_count(6)  # 49 on the first page
    assert page.get_by_text("<i>0</i>").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/dashboard/login?signed_out=1")
    actions = [entry["action"] for entry in dashboard_audit(http, tenant)]
    assert actions[:2] == ["dashboard.sign_out", "dashboard.sign_in"], actions


def test_edit_a_license_and_a_priced_key_type(page, make_tenant, make_catalog, mint, http):
    tenant = make_tenant()
    catalog = make_catalog(tenant)
    minted = mint(catalog, customer_email="old@example.com")
    sign_in(page, tenant.tenant_id, token_of(tenant))
    page.goto(f"/dashboard/tenants/{tenant.tenant_id}/licenses/{minted['license_id']}")
    page.get_by_role("link", name="Edit limit, expiry, email").click()
    page.get_by_label("Devices per license").fill("7")
    page.get_by_label("Expires (ISO 8601 time, UTC unless it names an offset; empty: never)"
                      ).fill("2031-02-03T04:05:06Z")
    page.get_by_label("Customer email (empty: none)").fill("new@example.com")
    screenshot(page, "license-edit")
    page.get_by_role("button", name="Save changes").click()
    assert page.get_by_role("status").inner_text() == "The license is changed."
    detail = http.get(f"/api/{tenant.tenant_id}/licenses/{minted['license_id']}",
                      headers=tenant.headers).json()
    assert detail["activation_limit"] == 7
    assert detail["expires_at"].startswith("2031-02-03T04:05:06")
    assert detail["customer_email"] == "new@example.com"
    edits = [entry for entry in dashboard_audit(http, tenant)
             if entry["action"].startswith("license.")]
    assert edits, dashboard_audit(http, tenant)
    # A bad expiry is shown on the form.
    page.get_by_role("link", name="Edit limit, expiry, email").click()
    page.get_by_label("Expires (ISO 8601 time, UTC unless it names an offset; empty: never)"
                      ).fill("next tuesday")
    page.get_by_role("button", name="Save changes").click()
    assert "expires_at" in page.get_by_role("alert").inner_text()

    # A key type with a price, through the same function as the API.
    page.goto(f"/dashboard/tenants/{tenant.tenant_id}/products")
    page.get_by_label("Key type id").fill("yearly")
    page.locator("#kt_name").fill("Yearly")
    page.get_by_label("Devices per license").fill("2")
    page.get_by_label("Price in cents").fill("4900")
    page.get_by_label("Currency (3 letters)").fill("eur")
    page.get_by_label("Billing").select_option("year")
    page.get_by_role("button", name="Create key type").click()
    assert page.get_by_role("status").inner_text() == "The key type is created."
    product = http.get(f"/api/{tenant.tenant_id}/products/{catalog.product_id}",
                       headers=tenant.headers).json()
    yearly = next(kt for kt in product["key_types"] if kt["key_type_id"] == "yearly")
    assert (yearly["price_in_cents"], yearly["currency"], yearly["recurring_interval"]) == (
        4900, "eur", "year")
    assert "49.00 eur / year" in page.locator(f"#product-{catalog.product_id}").inner_text()


def test_integrations_set_manual_stripe_keys_never_shown_back(page, make_tenant):
    tenant = make_tenant()
    secret_key = "sk_test_DashboardManualKey12345"
    webhook_secret = "whsec_DashboardManualWebhook12345"
    sign_in(page, tenant.tenant_id, token_of(tenant))
    page.goto(f"/dashboard/tenants/{tenant.tenant_id}/integrations")
    # A malformed key is refused with the API body's rule, and not echoed.
    page.get_by_label("Stripe secret key (sk_… or rk_…)").fill("pk_test_nope")
    page.get_by_label("Stripe webhook signing secret (whsec_…)").fill(webhook_secret)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Save the Stripe keys").click()
    assert "secret_key" in page.get_by_role("alert").inner_text()
    assert "pk_test_nope" not in page.content()
    assert webhook_secret not in page.content()

    page.get_by_label("Stripe secret key (sk_… or rk_…)").fill(secret_key)
    page.get_by_label("Stripe webhook signing secret (whsec_…)").fill(webhook_secret)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Save the Stripe keys").click()
    assert page.get_by_role("status").inner_text() == (
        "Manual mode is set: checkout uses your Stripe keys.")
    assert page.locator("#stripe").get_by_text("Manual mode is set").is_visible()
    page.reload()
    assert secret_key not in page.content()
    assert webhook_secret not in page.content()


def test_integrations_stop_requiring_the_sdk_key(page, make_tenant, http, operator_headers):
    tenant = make_tenant()
    sign_in(page, tenant.tenant_id, token_of(tenant))
    page.goto(f"/dashboard/tenants/{tenant.tenant_id}/integrations")
    assert page.locator("#sdk-key").get_by_text("C++ SDK 0.1.x").is_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Stop requiring an SDK key").click()
    assert page.get_by_role("status").inner_text() == "The SDK key is no longer required."
    assert page.locator("#sdk-key").get_by_text("Not required").is_visible()
    view = http.get(f"/api/admin/tenants/{tenant.tenant_id}", headers=operator_headers).json()
    assert view["sdk_key_required"] is False
    actions = {entry["action"] for entry in dashboard_audit(http, tenant)}
    assert "credential.remove.sdk_key" in actions


def test_integrations_retire_a_rotated_out_signing_key(page, make_tenant, http):
    tenant = make_tenant()
    old_kid = http.get(f"/{tenant.tenant_id}/.well-known/keylight-keys").json()["primary_kid"]
    sign_in(page, tenant.tenant_id, token_of(tenant))
    page.goto(f"/dashboard/tenants/{tenant.tenant_id}/integrations")
    assert page.get_by_role("button", name=f"Retire {old_kid}").count() == 0  # the primary
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate the signing key").click()
    new_kid = page.locator("#new-kid").inner_text()
    page.goto(f"/dashboard/tenants/{tenant.tenant_id}/integrations")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Retire {old_kid}").click()
    assert page.get_by_role("status").inner_text() == (
        "The signing key is retired and no longer published.")
    assert page.locator(f"#signing-key-{old_kid}").count() == 0
    keyset = http.get(f"/{tenant.tenant_id}/.well-known/keylight-keys").json()
    assert keyset["primary_kid"] == new_kid
    assert old_kid not in {key["kid"] for key in keyset["keys"]}
    actions = {entry["action"] for entry in dashboard_audit(http, tenant)}
    assert "signing_key.retire" in actions
