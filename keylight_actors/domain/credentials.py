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
