"""Webhook rules without I/O: event toggles, the body, retry decisions, URL safety."""

from __future__ import annotations

import ipaddress
import json

import pytest

from keylight_actors.domain.errors import InvalidInput
from keylight_actors.domain.webhook_events import (
    EVENT_TYPES,
    default_toggles,
    enabled_events,
    event_body,
    resolve_toggles,
    toggles_from,
)
from keylight_actors.domain.webhook_retry import (
    DELIVERED,
    FAILED,
    RETRYING,
    attempts_per_round,
    decide_after_attempt,
    is_success,
    response_snippet,
)
from keylight_actors.domain.webhook_url import (
    is_forbidden_address,
    parse_webhook_url,
    private_target_reason,
)

# -- events and toggles ----------------------------------------------------------------


def test_defaults_send_everything_but_activations_and_deactivations():
    toggles = default_toggles()
    assert set(toggles) == set(EVENT_TYPES)
    assert [event for event, on in toggles.items() if not on] == [
        "license.activated", "license.deactivated"]


def test_a_mapping_switches_events_over_the_defaults():
    toggles = resolve_toggles({"license.activated": True, "license.expired": False})
    assert toggles["license.activated"] and not toggles["license.expired"]
    assert not toggles["license.deactivated"] and toggles["license.revoked"]


def test_a_list_names_exactly_the_events_wanted_and_license_created_is_always_on():
    toggles = resolve_toggles(["license.deactivated"])
    assert enabled_events(toggles) == ["license.created", "license.deactivated"]


def test_license_created_cannot_be_switched_off():
    with pytest.raises(InvalidInput) as refused:
        resolve_toggles({"license.created": False})
    assert refused.value.code == "WEBHOOK_EVENT_ALWAYS_ON"


def test_an_unknown_event_is_refused():
    with pytest.raises(InvalidInput, match=r"license\.exploded"):
        resolve_toggles({"license.exploded": True})


def test_stored_events_read_back_as_toggles():
    assert toggles_from(["license.revoked"]) == {
        event: event in ("license.created", "license.revoked") for event in EVENT_TYPES}


def test_the_body_leads_with_the_envelope_and_is_the_same_every_time():
    payload = {"tenant_id": "acme", "key": "ACME-1", "event": "license.created",
               "id": "e1", "version": "2026-05-01", "created": 5, "customer_email": "é@x.io"}
    body = event_body(payload)
    assert body == event_body(dict(reversed(list(payload.items()))))
    assert list(json.loads(body)) == ["id", "created", "version", "event", "tenant_id",
                                      "customer_email", "key"]
    assert "é".encode() in body


# -- retries -----------------------------------------------------------------------------

SCHEDULE = (60, 300, 1800)


def test_attempt_one_then_after_one_five_and_thirty_minutes_then_failed():
    assert attempts_per_round(SCHEDULE) == 4
    decisions = [decide_after_attempt(n, False, SCHEDULE) for n in (1, 2, 3, 4)]
    assert [(d.status, d.delay_seconds) for d in decisions] == [
        (RETRYING, 60), (RETRYING, 300), (RETRYING, 1800), (FAILED, None)]


def test_a_success_on_any_attempt_is_delivered():
    for attempt in (1, 4):
        decision = decide_after_attempt(attempt, True, SCHEDULE)
        assert (decision.status, decision.delay_seconds) == (DELIVERED, None)


@pytest.mark.parametrize(("status", "ok"), [(200, True), (204, True), (299, True),
                                            (301, False), (404, False), (500, False),
                                            (None, False)])
def test_any_2xx_is_success(status, ok):
    assert is_success(status) is ok


def test_the_snippet_is_the_first_500_characters():
    assert response_snippet(("é" * 600).encode()) == "é" * 500
    assert response_snippet(b"\xff ok") == "\ufffd ok"


# -- URL safety ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "example.com/hook", "https://",
                                 "https://user:pw@example.com/", "https://exa mple.com/",
                                 "http://example.com:99999/", "https://x/" + "a" * 2048])
def test_only_absolute_http_urls_are_accepted(url):
    with pytest.raises(InvalidInput):
        parse_webhook_url(url)


def test_a_url_parses_to_its_target():
    target = parse_webhook_url("HTTPS://Hooks.Example.com./keylight?x=1")
    assert (target.scheme, target.host, target.port) == ("https", "hooks.example.com", 443)
    assert parse_webhook_url("http://[::1]:8080/").host == "::1"


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1",
                                     "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1",
                                     "fd00::1", "fe80::1", "::ffff:127.0.0.1", "224.0.0.1"])
def test_private_loopback_and_link_local_addresses_are_forbidden(address):
    assert is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are_allowed(address):
    assert not is_forbidden_address(ipaddress.ip_address(address))


def test_a_target_is_refused_for_its_name_its_literal_or_what_it_resolves_to():
    public = [ipaddress.ip_address("93.184.216.34")]
    private = [ipaddress.ip_address("10.0.0.5")]
    assert private_target_reason(parse_webhook_url("http://localhost:8000/"), public)
    assert private_target_reason(parse_webhook_url("http://app.localhost/"), public)
    assert private_target_reason(parse_webhook_url("http://127.0.0.1/"), [])
    assert private_target_reason(parse_webhook_url("https://hooks.example.com/"), private)
    assert private_target_reason(parse_webhook_url("https://hooks.example.com/"),
                                 public + private)
    assert private_target_reason(parse_webhook_url("https://hooks.example.com/"), public) is None
