"""Signing outbound webhooks (DESIGN §6): our own header and the Standard Webhooks headers.

The secret is shown to the vendor as ``whsec_<base64 of 32 random bytes>``. Both schemes
use the decoded bytes as the HMAC-SHA256 key:

- ``X-Keylight-Signature: t=<unix>,v1=<hex HMAC(key, "<t>.<body>")>``
- ``webhook-signature: v1,<base64 HMAC(key, "<webhook-id>.<webhook-timestamp>.<body>")>``

During a rotation's overlap each header carries one signature per secret, newest first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
DEFAULT_TOLERANCE_SECONDS = 300
USER_AGENT = "Keylight-Webhooks/1"


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_…`` secret stands for."""
    encoded = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is whsec_ followed by base64") from None


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def keylight_signature(keys: Sequence[bytes], timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return ",".join([f"t={timestamp}", *(f"v1={_hmac(key, signed).hex()}" for key in keys)])


def standard_signature(keys: Sequence[bytes], message_id: str, timestamp: int,
                       body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(f"v1,{base64.b64encode(_hmac(key, signed)).decode()}" for key in keys)


def signed_headers(
    keys: Sequence[bytes], *, delivery_id: str, event_type: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Every header a delivery carries; ``keys`` newest first, at least one."""
    if not keys:
        raise ValueError("a delivery needs at least one signing key")
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "x-keylight-event": event_type,
        "x-keylight-delivery-id": delivery_id,
        "x-keylight-signature": keylight_signature(keys, timestamp, body),
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(keys, delivery_id, timestamp, body),
    }


def verify_keylight_signature(
    secret: str, header: str, body: bytes, *, now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a vendor runs: the header is fresh and one of its v1 signatures matches."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = _hmac(secret_key(secret), f"{timestamp}.".encode() + body).hex()
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
