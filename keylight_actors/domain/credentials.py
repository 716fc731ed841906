"""Bearer credentials: generation, the stored SHA-256 form and constant-time checks."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SDK_KEY_PREFIX = "sdk_live_"
CHECKOUT_KEY_PREFIX = "ck_live_"
MANAGEMENT_TOKEN_PREFIX = "kmt_"
OPERATOR_TOKEN_PREFIX = "kop_"
CREDENTIAL_MAX_LENGTH = 256


def generate_credential(prefix: str) -> str:
    return prefix + secrets.token_hex(32)


def hash_credential(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def credential_matches(presented: str | None, stored_hash: str | None) -> bool:
    """Constant-time comparison of a presented credential against its stored hash."""
    if presented is None or stored_hash is None or len(presented) > CREDENTIAL_MAX_LENGTH:
        return False
    return hmac.compare_digest(hash_credential(presented), stored_hash)


def sdk_key_accepted(
    presented: str | None,
    current_hash: str | None,
    previous_hash: str | None,
    previous_until: int | None,
    now: int,
) -> bool:
    """The SDK-key rule: required while the tenant has one (the previous one during its
    overlap); a tenant without one accepts requests that send none, and no wrong one."""
    if current_hash is None and presented is None:
        return True
    if credential_matches(presented, current_hash):
        return True
    return (
        previous_until is not None
        and now < previous_until
        and credential_matches(presented, previous_hash)
    )
