"""Delivery against a loopback receiver: retries on the schedule, failure after the last
attempt, timeouts, redelivery with the same id and body, and secret rotation."""

from __future__ import annotations

import calendar
import time
from itertools import pairwise

import psycopg
from standardwebhooks import Webhook

from .conftest import SECRETS_SEEN, WEBHOOK_RETRY_SCHEDULE, WEBHOOK_TIMEOUT_SECONDS, free_port
from .test_webhooks_events import documented_verify, hook
from .webhook_receiver import deliveries, set_webhook, wait_for_delivery

ATTEMPTS = len(WEBHOOK_RETRY_SCHEDULE) + 1
SLACK = 0.3  # seconds: the retry delays are measured between two clocks on this machine


def finished(item):
    return item["status"] in ("delivered", "failed")


def test_a_receiver_failing_three_times_gets_it_on_attempt_four_after_the_schedule(
    http, tenant, catalog, mint, webhook_receiver
):
    url, secret = hook(http, tenant, webhook_receiver)
    webhook_receiver.behaviour(url).statuses = [500, 502, 500, 200]
    mint(catalog)
    webhook_receiver.wait_for(url, 1)
    waiting = wait_for_delivery(http, tenant, lambda item: item["attempt_count"] == 1)
    assert waiting["status"] == "retrying" and waiting["next_attempt_at"] is not None
    assert waiting["last_http_status"] == 500

    delivered = wait_for_delivery(http, tenant, finished)
    assert (delivered["status"], delivered["attempt_count"]) == ("delivered", ATTEMPTS)
    assert [a["http_status"] for a in delivered["attempts"]] == [500, 502, 500, 200]
    assert [a["attempt"] for a in delivered["attempts"]] == [1, 2, 3, 4]
    assert delivered["last_http_status"] == 200 and delivered["next_attempt_at"] is None

    requests = webhook_receiver.received(url)
    assert len(requests) == ATTEMPTS
    assert {r.headers["webhook-id"] for r in requests} == {delivered["delivery_id"]}
    assert len({r.body for r in requests}) == 1
    for request in requests:
        assert documented_verify(secret, request.headers["x-keylight-signature"], request.body)
    gaps = [later.at - earlier.at for earlier, later in pairwise(requests)]
    for gap, delay in zip(gaps, WEBHOOK_RETRY_SCHEDULE, strict=True):
        assert delay - SLACK <= gap <= delay + 2.5, gaps


def test_a_receiver_that_is_down_fails_after_four_attempts_and_redelivery_sends_it_again(
    http, tenant, catalog, mint, webhook_receiver
):
    down = f"http://127.0.0.1:{free_port()}/hooks/down"
    hook(http, tenant, webhook_receiver)
    assert set_webhook(http, tenant, down).status_code == 200
    mint(catalog)
    failed = wait_for_delivery(http, tenant, finished)
    assert (failed["status"], failed["attempt_count"]) == ("failed", ATTEMPTS)
    assert failed["next_attempt_at"] is None and failed["last_http_status"] is None
    assert failed["url"] == down and "Connect" in failed["last_error"]
    assert all(a["error"] and a["http_status"] is None for a in failed["attempts"])
    assert deliveries(http, tenant, status="failed")[0]["delivery_id"] == failed["delivery_id"]

    # The vendor fixes their server (and its URL), then sends the delivery again.
    up = webhook_receiver.route()
    assert set_webhook(http, tenant, up).status_code == 200
    answer = http.post(f"/api/{tenant.tenant_id}/deliveries/{failed['delivery_id']}/redeliver",
                       headers=tenant.headers)
    assert answer.status_code == 202, answer.text
    assert answer.json()["delivery_id"] == failed["delivery_id"]
    [request] = webhook_receiver.wait_for(up, 1)
    assert request.headers["webhook-id"] == failed["delivery_id"]
    redelivered = wait_for_delivery(http, tenant, lambda item: item["status"] == "delivered")
    assert redelivered["attempt_count"] == ATTEMPTS + 1 and redelivered["url"] == up
    assert [a["url"] for a in redelivered["attempts"]] == [down] * ATTEMPTS + [up]

    # Once more by hand: the same id and the very same body.
    again = http.post(f"/api/{tenant.tenant_id}/deliveries/{failed['delivery_id']}/redeliver",
                      headers=tenant.headers)
    assert again.status_code == 202
    first, second = webhook_receiver.wait_for(up, 2)
    assert second.body == first.body
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    audit = http.get(f"/api/{tenant.tenant_id}/audit", headers=tenant.headers).json()["data"]
    assert [e["action"] for e in audit].count("webhook.redeliver") == 2


def test_a_receiver_that_hangs_past_the_timeout_counts_as_a_failure(
    http, tenant, catalog, mint, webhook_receiver
):
    url, _ = hook(http, tenant, webhook_receiver)
    webhook_receiver.behaviour(url).hang_seconds = [WEBHOOK_TIMEOUT_SECONDS + 1.5]
    mint(catalog)
    delivered = wait_for_delivery(http, tenant, finished)
    assert (delivered["status"], delivered["attempt_count"]) == ("delivered", 2)
    hung, answered = delivered["attempts"]
    assert hung["http_status"] is None and "no answer within" in hung["error"]
    assert WEBHOOK_TIMEOUT_SECONDS * 1000 * 0.9 <= hung["duration_ms"] < (
        WEBHOOK_TIMEOUT_SECONDS + 1.0) * 1000
    assert answered["http_status"] == 200


def test_after_a_rotation_both_secrets_sign_for_24_hours_then_only_the_new_one(
    http, tenant, catalog, mint, webhook_receiver, database_url
):
    url, old = hook(http, tenant, webhook_receiver)
    rotated = http.post(f"/api/{tenant.tenant_id}/webhook/rotate-secret", headers=tenant.headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    SECRETS_SEEN.add(new)
    assert new != old and new.startswith("whsec_")
    overlap_ends = calendar.timegm(time.strptime(rotated.json()["previous_secret_signs_until"],
                                                 "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(overlap_ends - (time.time() + 24 * 3600)) < 120
    shown = http.get(f"/api/{tenant.tenant_id}/webhook", headers=tenant.headers).json()
    assert shown["previous_secret_signs_until"] == rotated.json()["previous_secret_signs_until"]
    assert "secret" not in shown

    mint(catalog)
    [request] = webhook_receiver.wait_for(url, 1)
    assert request.headers["x-keylight-signature"].count("v1=") == 2
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        assert documented_verify(secret, request.headers["x-keylight-signature"], request.body)
        Webhook(secret).verify(request.body, request.headers)

    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE webhook_endpoints SET previous_secret_until = now() - "
                     "interval '1 second' WHERE tenant_id = %s", (tenant.tenant_id,))
    mint(catalog)
    _, later = webhook_receiver.wait_for(url, 2)
    assert later.headers["x-keylight-signature"].count("v1=") == 1
    assert documented_verify(new, later.headers["x-keylight-signature"], later.body)
    assert not documented_verify(old, later.headers["x-keylight-signature"], later.body)


def test_rotating_without_an_endpoint_is_404(http, tenant):
    answer = http.post(f"/api/{tenant.tenant_id}/webhook/rotate-secret", headers=tenant.headers)
    assert (answer.status_code, answer.json()["code"]) == (404, "WEBHOOK_NOT_FOUND")
    assert http.get(f"/api/{tenant.tenant_id}/webhook",
                    headers=tenant.headers).status_code == 404
