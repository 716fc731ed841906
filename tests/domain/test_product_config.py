"""Signed product config: cfg1 message, 24 h validity, bound to tenant and product."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from keylight_sdk.lease import VERIFY_SKEW_SECONDS
from nacl.signing import SigningKey, VerifyKey

from keylight_actors.domain.product_config import (
    PRODUCT_CONFIG_LIFETIME_SECONDS,
    product_config_signing_message,
    sign_product_config,
    verify_product_config,
)

ISSUED_AT = 1_781_076_246
KEY = SigningKey.generate()
TRUSTED = {"k1": bytes(KEY.verify_key)}


def _config(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "kid": "k1",
        "tenant_id": "acme",
        "product_id": "editor",
        "trial_duration_days": 14,
        "free_tier_enabled": True,
        "issued_at": ISSUED_AT,
        **overrides,
    }
    return sign_product_config(KEY, **fields)


def _verify(config: Any, now: int = ISSUED_AT, **overrides: Any) -> bool:
    scope = {"tenant_id": "acme", "product_id": "editor", **overrides}
    return verify_product_config(config, trusted_keys=TRUSTED, now=now, **scope)


def test_wire_form_has_exactly_the_design_fields() -> None:
    assert set(_config()) == {
        "trial_duration_days",
        "free_tier_enabled",
        "issued_at",
        "expires_at",
        "kid",
        "signature",
    }


def test_config_is_valid_for_24_hours() -> None:
    config = _config()
    assert config["expires_at"] - config["issued_at"] == PRODUCT_CONFIG_LIFETIME_SECONDS == 86400


def test_signing_message_is_the_cfg1_pipe_string() -> None:
    message = product_config_signing_message(
        kid="k1",
        tenant_id="acme",
        product_id="editor",
        issued_at=10,
        expires_at=20,
        trial_duration_days=14,
        free_tier_enabled=False,
    )
    assert message == b"cfg1|k1|acme|editor|10|20|14|false"


def test_signature_verifies_with_plain_pynacl_over_the_cfg1_message() -> None:
    config = _config(free_tier_enabled=True)
    message = f"cfg1|k1|acme|editor|{config['issued_at']}|{config['expires_at']}|14|true".encode()
    VerifyKey(TRUSTED["k1"]).verify(message, base64.b64decode(config["signature"]))


def test_fresh_config_verifies() -> None:
    assert _verify(_config())


def test_config_for_another_tenant_does_not_verify() -> None:
    assert not _verify(_config(), tenant_id="globex")


def test_config_for_another_product_does_not_verify() -> None:
    assert not _verify(_config(), product_id="viewer")


def test_config_still_verifies_within_the_skew_after_expiry() -> None:
    config = _config()
    assert _verify(config, now=config["expires_at"] + VERIFY_SKEW_SECONDS)


def test_config_does_not_verify_beyond_the_skew_after_expiry() -> None:
    config = _config()
    assert not _verify(config, now=config["expires_at"] + VERIFY_SKEW_SECONDS + 1)


def test_config_from_an_unknown_kid_does_not_verify() -> None:
    assert not _verify(_config(kid="k2"))


def test_config_signed_by_another_key_does_not_verify() -> None:
    forged = sign_product_config(
        SigningKey.generate(),
        kid="k1",
        tenant_id="acme",
        product_id="editor",
        trial_duration_days=14,
        free_tier_enabled=True,
        issued_at=ISSUED_AT,
    )
    assert not _verify(forged)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("trial_duration_days", 365),
        ("free_tier_enabled", False),
        ("issued_at", ISSUED_AT - 1),
        ("expires_at", ISSUED_AT + 30 * 86400),
    ],
)
def test_tampered_config_does_not_verify(field: str, value: Any) -> None:
    config = _config()
    config[field] = value
    assert not _verify(config)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("trial_duration_days", "14"),
        ("trial_duration_days", True),
        ("free_tier_enabled", 1),
        ("issued_at", None),
        ("signature", 7),
        ("kid", None),
    ],
)
def test_malformed_config_does_not_verify(field: str, value: Any) -> None:
    config = _config()
    config[field] = value
    assert not _verify(config)


def test_a_config_that_is_not_an_object_does_not_verify() -> None:
    assert not _verify(["not", "a", "config"])


def test_signing_rejects_a_negative_trial() -> None:
    with pytest.raises(ValueError, match="trial_duration_days"):
        _config(trial_duration_days=-1)


def test_signing_rejects_ids_that_would_blur_the_message() -> None:
    with pytest.raises(ValueError):
        _config(product_id="editor|pro")
