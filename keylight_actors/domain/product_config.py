"""Signed product configuration (trial length, free tier), served by `config` and `keyless`.

Wire form: ``{trial_duration_days, free_tier_enabled, issued_at, expires_at, kid, signature}``,
signed with Ed25519 over
``cfg1|<kid>|<tenant_id>|<product_id>|<issued_at>|<expires_at>|<trial_duration_days>|<true|false>``
and valid for 24 hours. Pure rules, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keylight_sdk.lease import VERIFY_SKEW_SECONDS, sign_message, signature_is_valid
from nacl.signing import SigningKey

PRODUCT_CONFIG_VERSION = "cfg1"
PRODUCT_CONFIG_LIFETIME_SECONDS = 86400


def product_config_signing_message(
    *,
    kid: str,
    tenant_id: str,
    product_id: str,
    issued_at: int,
    expires_at: int,
    trial_duration_days: int,
    free_tier_enabled: bool,
) -> bytes:
    fields = (
        PRODUCT_CONFIG_VERSION,
        kid,
        tenant_id,
        product_id,
        str(issued_at),
        str(expires_at),
        str(trial_duration_days),
        "true" if free_tier_enabled else "false",
    )
    return "|".join(fields).encode("utf-8")


def sign_product_config(
    signing_key: SigningKey,
    *,
    kid: str,
    tenant_id: str,
    product_id: str,
    trial_duration_days: int,
    free_tier_enabled: bool,
    issued_at: int,
) -> dict[str, Any]:
    """The wire dict of a product config valid from ``issued_at`` for 24 hours."""
    if not _is_int(trial_duration_days) or trial_duration_days < 0:
        raise ValueError("trial_duration_days must be a non-negative integer")
    if not isinstance(free_tier_enabled, bool):
        raise ValueError("free_tier_enabled must be a boolean")
    for value in (kid, tenant_id, product_id):
        if not value or "|" in value:
            raise ValueError(f"{value!r} must be non-empty and must not contain '|'")
    expires_at = issued_at + PRODUCT_CONFIG_LIFETIME_SECONDS
    message = product_config_signing_message(
        kid=kid,
        tenant_id=tenant_id,
        product_id=product_id,
        issued_at=issued_at,
        expires_at=expires_at,
        trial_duration_days=trial_duration_days,
        free_tier_enabled=free_tier_enabled,
    )
    return {
        "trial_duration_days": trial_duration_days,
        "free_tier_enabled": free_tier_enabled,
        "issued_at": issued_at,
        "expires_at": expires_at,
        "kid": kid,
        "signature": sign_message(signing_key, message),
    }


def verify_product_config(
    config: object,
    *,
    tenant_id: str,
    product_id: str,
    trusted_keys: Mapping[str, bytes],
    now: int,
) -> bool:
    """True when the config is well formed, signed by a trusted kid for this tenant and
    product, and not expired (with the same 300 s skew as leases)."""
    if not isinstance(config, Mapping):
        return False
    kid = config.get("kid")
    signature = config.get("signature")
    trial_days = config.get("trial_duration_days")
    free_tier = config.get("free_tier_enabled")
    issued_at = config.get("issued_at")
    expires_at = config.get("expires_at")
    if not (
        isinstance(kid, str)
        and isinstance(signature, str)
        and isinstance(free_tier, bool)
        and all(_is_int(value) for value in (trial_days, issued_at, expires_at))
    ):
        return False
    public_key = trusted_keys.get(kid)
    if public_key is None or now > expires_at + VERIFY_SKEW_SECONDS:
        return False
    message = product_config_signing_message(
        kid=kid,
        tenant_id=tenant_id,
        product_id=product_id,
        issued_at=issued_at,
        expires_at=expires_at,
        trial_duration_days=trial_days,
        free_tier_enabled=free_tier,
    )
    return signature_is_valid(public_key, message, signature)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
