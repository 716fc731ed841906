"""Use cases of the webhook endpoint: set the URL and events, rotate the secret, redeliver."""

from __future__ import annotations

import pytest

from keylight_actors.domain.errors import InvalidInput, NotFound
from keylight_actors.services.webhooks import (
    ROTATION_OVERLAP_SECONDS,
    RedeliverWebhook,
    RotateWebhookSecret,
    SetWebhookEndpoint,
    redeliver_webhook,
    rotate_webhook_secret,
    set_webhook_endpoint,
)

from .fakes import InMemoryWebhookWork

URL = "https://hooks.example.com/keylight"


async def test_the_first_set_creates_the_endpoint_and_answers_its_secret_once():
    uow = InMemoryWebhookWork()
    endpoint = await set_webhook_endpoint(SetWebhookEndpoint("acme", URL, None, "t"), uow)
    assert endpoint.created and endpoint.secret == uow.endpoints["acme"]["secret"]
    assert uow.audit_actions() == ["webhook.create"]


async def test_a_later_set_keeps_the_secret_and_does_not_answer_it():
    uow = InMemoryWebhookWork()
    await set_webhook_endpoint(SetWebhookEndpoint("acme", URL, None, "t"), uow)
    again = await set_webhook_endpoint(
        SetWebhookEndpoint("acme", URL + "/v2", None, "t"), uow)
    assert not again.created and again.secret is None
    assert uow.endpoints["acme"]["secret"] == "whsec_1"
    assert uow.endpoints["acme"]["url"] == URL + "/v2"
    assert uow.audit_actions() == ["webhook.create", "webhook.update"]


async def test_the_events_are_the_toggles_over_the_defaults_and_are_audited():
    uow = InMemoryWebhookWork()
    await set_webhook_endpoint(SetWebhookEndpoint(
        "acme", URL, {"license.activated": False, "license.revoked": True}, "t"), uow)
    events = uow.endpoints["acme"]["events"]
    assert "license.revoked" in events and "license.activated" not in events
    assert "license.created" in events  # always on
    assert uow.audits[0].details == {"url": URL, "events": events}


async def test_an_unknown_event_is_refused_before_anything_is_written():
    uow = InMemoryWebhookWork()
    with pytest.raises(InvalidInput):
        await set_webhook_endpoint(SetWebhookEndpoint("acme", URL, ["no.such"], "t"), uow)
    assert uow.endpoints == {} and uow.audits == []


async def test_a_refused_target_writes_nothing():
    uow = InMemoryWebhookWork(refused_urls=(URL,))
    with pytest.raises(InvalidInput):
        await set_webhook_endpoint(SetWebhookEndpoint("acme", URL, None, "t"), uow)
    assert uow.endpoints == {} and uow.audits == []


async def test_rotating_answers_the_new_secret_and_how_long_the_old_one_signs():
    uow = InMemoryWebhookWork(endpoints={"acme": {"url": URL, "events": [],
                                                   "secret": "whsec_old"}})
    rotated = await rotate_webhook_secret(RotateWebhookSecret("acme", "t"), uow)
    assert rotated.secret == uow.endpoints["acme"]["secret"] != "whsec_old"
    assert uow.endpoints["acme"]["previous_secret"] == "whsec_old"
    assert rotated.previous_secret_signs_until == 1_800_000_000 + ROTATION_OVERLAP_SECONDS
    assert uow.audit_actions() == ["webhook.rotate_secret"]


async def test_rotating_without_an_endpoint_is_not_found_and_audits_nothing():
    uow = InMemoryWebhookWork()
    with pytest.raises(NotFound) as refused:
        await rotate_webhook_secret(RotateWebhookSecret("acme", "t"), uow)
    assert refused.value.code == "WEBHOOK_NOT_FOUND" and uow.audits == []


async def test_redelivering_a_delivery_of_the_tenant_sends_it_again_and_audits_it():
    uow = InMemoryWebhookWork(deliveries={("acme", "d-1")})
    await redeliver_webhook(RedeliverWebhook("acme", "d-1", "t"), uow)
    assert uow.redelivered == ["d-1"]
    assert [(a.action, a.target) for a in uow.audits] == [("webhook.redeliver", "d-1")]


async def test_another_tenants_delivery_is_not_found():
    uow = InMemoryWebhookWork(deliveries={("other", "d-1")})
    with pytest.raises(NotFound) as refused:
        await redeliver_webhook(RedeliverWebhook("acme", "d-1", "t"), uow)
    assert refused.value.code == "DELIVERY_NOT_FOUND" and uow.redelivered == []
