"""Secrets at rest: sealed with PyNaCl SecretBox under the master key."""

from __future__ import annotations

import base64
import binascii
from functools import cache

from nacl.secret import SecretBox
from nacl.utils import random as random_bytes

MASTER_KEY_BYTES = SecretBox.KEY_SIZE


def generate_master_key() -> str:
    return base64.b64encode(random_bytes(MASTER_KEY_BYTES)).decode("ascii")


def decode_master_key(encoded: str) -> bytes:
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("KEYLIGHT_MASTER_KEY must be base64") from None
    if len(key) != MASTER_KEY_BYTES:
        raise ValueError(f"KEYLIGHT_MASTER_KEY must decode to {MASTER_KEY_BYTES} bytes")
    return key


class SecretSealer:
    def __init__(self, master_key: bytes) -> None:
        self._box = SecretBox(master_key)

    def seal(self, plaintext: bytes) -> bytes:
        return bytes(self._box.encrypt(plaintext))

    def unseal(self, sealed: bytes) -> bytes:
        return self._box.decrypt(sealed)

    def __repr__(self) -> str:
        return "SecretSealer(<master key hidden>)"


@cache
def sealer_for(master_key: str) -> SecretSealer:
    """The process's one sealer for a configured (base64) master key."""
    return SecretSealer(decode_master_key(master_key))
