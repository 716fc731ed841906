"""The webhook routes: URL and event checks, private targets refused without the flag, the
deliveries log's filter and cursor, and isolation between tenants."""

from __future__ import annotations

import uuid

import httpx
import pytest

from keylight_actors.api.app import create_app
from keylight_actors.api.ingress_context import IngressContext
from keylight_actors.domain.errors import InvalidInput
from keylight_actors.integrations.webhook_targets import checked_target

from .test_webhooks_events import hook
from .webhook_receiver import deliveries, set_webhook, wait_for_delivery

PRIVATE_URLS = ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/hook",
                "https://10.0.0.7/hook", "http://192.168.1.20/hook",
                "http://169.254.169.254/latest/meta-data"]


@pytest.fixture
async def strict_app(settings, base_url):
    """The same API in this process, with private webhook targets not allowed."""
    services = await IngressContext.start(settings.with_changes(allow_private_webhook_urls=False))
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://keylight") as client:
        yield client
    await services.pool.close()


async def test_a_loopback_or_private_url_is_refused_without_the_flag(strict_app, tenant):
    for url in PRIVATE_URLS:
        answer = await strict_app.put(f"/api/{tenant.tenant_id}/webhook",
                                      headers=tenant.headers, json={"url": url})
        assert (answer.status_code, answer.json()["code"]) == (400, "PRIVATE_WEBHOOK_URL"), url
        assert "KEYLIGHT_ALLOW_PRIVATE_WEBHOOK_URLS" in answer.json()["error"]
    listed = await strict_app.get(f"/api/{tenant.tenant_id}/webhook", headers=tenant.headers)
    assert listed.status_code == 404  # nothing was stored


async def test_the_check_refuses_private_targets_and_passes_them_with_the_flag():
    for url in PRIVATE_URLS:
        with pytest.raises(InvalidInput):
            await checked_target(url, allow_private=False)
        assert (await checked_target(url, allow_private=True)).url == url


def test_a_loopback_url_is_accepted_with_the_flag_and_bad_urls_never(http, tenant,
                                                                     webhook_receiver):
    for url in ("ftp://example.com/hook", "example.com/hook", "https://u:p@example.com/h",
                "http://exa mple.com/"):
        answer = set_webhook(http, tenant, url)
        assert (answer.status_code, answer.json()["code"]) == (400, "INVALID_WEBHOOK_URL"), url
    assert set_webhook(http, tenant, "http://127.0.0.1:9/hook").status_code == 201


def test_event_toggles_are_checked_and_answered_in_full(http, tenant, webhook_receiver):
    url = webhook_receiver.route()
    refused = set_webhook(http, tenant, url, {"license.created": False})
    assert (refused.status_code, refused.json()["code"]) == (400, "WEBHOOK_EVENT_ALWAYS_ON")
    unknown = set_webhook(http, tenant, url, {"license.exploded": True})
    assert (unknown.status_code, unknown.json()["code"]) == (400, "UNKNOWN_WEBHOOK_EVENT")
    assert set_webhook(http, tenant, url, {"license.created": "yes"}).status_code == 400

    created = set_webhook(http, tenant, url)
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    assert created.json()["events"] == {
        "license.created": True, "license.activated": False, "license.deactivated": False,
        "license.expired": True, "license.refunded": True, "license.revoked": True,
        "license.reinstated": True, "subscription.renewed": True}
    listed = set_webhook(http, tenant, url, ["license.activated"])
    assert listed.status_code == 200 and "secret" not in listed.json()
    assert [e for e, on in listed.json()["events"].items() if on] == [
        "license.created", "license.activated"]
    audit = http.get(f"/api/{tenant.tenant_id}/audit", headers=tenant.headers).json()["data"]
    assert [e["action"] for e in audit][:2] == ["webhook.update", "webhook.create"]


def test_the_deliveries_log_filters_by_status_and_pages_newest_first(
    http, tenant, catalog, mint, webhook_receiver
):
    hook(http, tenant, webhook_receiver)
    for _ in range(3):
        mint(catalog)
    wait_for_delivery(http, tenant, lambda item: item["status"] == "delivered")
    first = http.get(f"/api/{tenant.tenant_id}/deliveries", headers=tenant.headers,
                     params={"limit": 2}).json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    rest = http.get(f"/api/{tenant.tenant_id}/deliveries", headers=tenant.headers,
                    params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(rest["data"]) == 1 and rest["next_cursor"] is None
    pages = first["data"] + rest["data"]
    assert len({item["delivery_id"] for item in pages}) == 3
    assert [item["created_at"] for item in pages] == sorted(
        (item["created_at"] for item in pages), reverse=True)
    assert deliveries(http, tenant, status="failed") == []
    bad = http.get(f"/api/{tenant.tenant_id}/deliveries", headers=tenant.headers,
                   params={"status": "lost"})
    assert bad.status_code == 400
    one = http.get(f"/api/{tenant.tenant_id}/deliveries/{pages[0]['delivery_id']}",
                   headers=tenant.headers)
    assert one.status_code == 200 and one.json()["delivery_id"] == pages[0]["delivery_id"]
    for missing in (str(uuid.uuid4()), "not-a-uuid"):
        assert http.get(f"/api/{tenant.tenant_id}/deliveries/{missing}",
                        headers=tenant.headers).status_code == 404
        assert http.post(f"/api/{tenant.tenant_id}/deliveries/{missing}/redeliver",
                         headers=tenant.headers).status_code == 404


def test_another_tenant_can_neither_see_nor_touch_a_tenants_webhook(
    http, tenant, catalog, mint, make_tenant, webhook_receiver
):
    hook(http, tenant, webhook_receiver)
    mint(catalog)
    [delivery] = deliveries(http, tenant)
    other = make_tenant()
    t, d = tenant.tenant_id, delivery["delivery_id"]
    for method, path, body in (
        ("PUT", f"/api/{t}/webhook", {"url": webhook_receiver.route()}),
        ("GET", f"/api/{t}/webhook", None),
        ("POST", f"/api/{t}/webhook/rotate-secret", None),
        ("GET", f"/api/{t}/deliveries", None),
        ("GET", f"/api/{t}/deliveries/{d}", None),
        ("POST", f"/api/{t}/deliveries/{d}/redeliver", None),
    ):
        answer = http.request(method, path, headers=other.headers, json=body)
        assert answer.status_code == 403, (method, path, answer.status_code)
    own_path = f"/api/{other.tenant_id}/deliveries/{d}"
    assert http.get(own_path, headers=other.headers).status_code == 404
    assert http.post(f"{own_path}/redeliver", headers=other.headers).status_code == 404
