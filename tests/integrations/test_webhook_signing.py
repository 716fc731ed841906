"""Delivery signatures: our documented scheme and Standard Webhooks, one or two secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from keylight_actors.integrations.webhook_signing import (
    generate_secret,
    secret_key,
    signed_headers,
    verify_keylight_signature,
)

BODY = b'{"id":"e1","event":"license.created"}'


def headers_for(*secrets: str, timestamp: int | None = None) -> dict[str, str]:
    return signed_headers([secret_key(secret) for secret in secrets], delivery_id="d-1",
                          event_type="license.created",
                          timestamp=timestamp or int(time.time()), body=BODY)


def test_a_secret_is_whsec_and_32_random_bytes():
    secret = generate_secret()
    assert secret.startswith("whsec_") and len(secret_key(secret)) == 32
    assert generate_secret() != secret


def test_the_keylight_signature_is_hex_hmac_of_timestamp_dot_body():
    secret = generate_secret()
    headers = headers_for(secret, timestamp=1_700_000_000)
    expected = hmac.new(secret_key(secret), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert headers["x-keylight-signature"] == f"t=1700000000,v1={expected}"
    assert headers["webhook-id"] == headers["x-keylight-delivery-id"] == "d-1"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["x-keylight-event"] == "license.created"
    standard = base64.b64encode(hmac.new(secret_key(secret), b"d-1.1700000000." + BODY,
                                         hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{standard}"


def test_our_verifier_accepts_the_right_secret_only_and_only_while_fresh():
    secret, other = generate_secret(), generate_secret()
    now = int(time.time())
    header = headers_for(secret, timestamp=now)["x-keylight-signature"]
    assert verify_keylight_signature(secret, header, BODY, now=now)
    assert not verify_keylight_signature(other, header, BODY, now=now)
    assert not verify_keylight_signature(secret, header, BODY + b" ", now=now)
    assert not verify_keylight_signature(secret, header, BODY, now=now + 301)


def test_standard_webhooks_verifies_our_headers():
    secret = generate_secret()
    headers = headers_for(secret)
    assert Webhook(secret).verify(BODY, headers) == {"id": "e1", "event": "license.created"}
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)


def test_during_a_rotation_both_secrets_sign_and_either_verifies():
    new, old = generate_secret(), generate_secret()
    headers = headers_for(new, old)
    assert headers["x-keylight-signature"].count("v1=") == 2
    assert len(headers["webhook-signature"].split(" ")) == 2
    now = int(headers["webhook-timestamp"])
    for secret in (new, old):
        assert verify_keylight_signature(secret, headers["x-keylight-signature"], BODY, now=now)
        Webhook(secret).verify(BODY, headers)
