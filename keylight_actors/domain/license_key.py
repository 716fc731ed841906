"""License keys: generation, normalisation, hashing and the masked display form.

A key is ``<PREFIX>-XXXX-XXXX-XXXX-XXXX``: the product's 4-character prefix and
16 Crockford base32 characters (80 random bits). The server keeps only the hash.
Normalising and hashing come from :mod:`keylight_sdk.license_key`, so the server and the
SDK compute a lease's ``licenseKeyHash`` with the same code.
"""

from __future__ import annotations

import re
import secrets

from keylight_sdk.license_key import hash_license_key, normalise_license_key

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
KEY_PREFIX_PATTERN = re.compile(r"^[A-Z0-9]{4}$")
LICENSE_KEY_MAX_LENGTH = 64

__all__ = [
    "CROCKFORD_ALPHABET",
    "KEY_PREFIX_PATTERN",
    "LICENSE_KEY_MAX_LENGTH",
    "generate_license_key",
    "hash_license_key",
    "is_valid_key_prefix",
    "mask_license_key",
    "normalise_license_key",
]


def is_valid_key_prefix(prefix: str) -> bool:
    return bool(KEY_PREFIX_PATTERN.match(prefix))


def generate_license_key(prefix: str) -> str:
    if not is_valid_key_prefix(prefix):
        raise ValueError(f"key prefix must be 4 uppercase alphanumerics, got {prefix!r}")
    value = secrets.randbits(80)
    chars = [CROCKFORD_ALPHABET[(value >> (5 * i)) & 0x1F] for i in range(16)]
    groups = ["".join(chars[i : i + 4]) for i in range(0, 16, 4)]
    return "-".join([prefix, *groups])


def mask_license_key(raw_key: str) -> str:
    """Display form that identifies a key to a human without revealing it."""
    key = normalise_license_key(raw_key)
    prefix, _, rest = key.partition("-")
    return f"{prefix}-XXXX-…-{rest[-4:]}"
