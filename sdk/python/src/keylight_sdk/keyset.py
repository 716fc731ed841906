"""The tenant's published signing keys: ``GET {base}/{tenant}/.well-known/keylight-keys``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from .errors import KeysetError
from .lease import PUBLIC_KEY_BYTES, decode_public_key
from .transport import Transport, api_error

ALGORITHM = "ed25519"


@dataclass(frozen=True)
class Keyset:
    primary_kid: str
    keys: Mapping[str, bytes] = field(default_factory=dict)  # kid -> raw 32-byte public key


def fetch_keyset(transport: Transport, base_url: str, tenant_id: str) -> Keyset:
    url = f"{base_url.rstrip('/')}/{quote(tenant_id, safe='')}/.well-known/keylight-keys"
    response = transport.request("GET", url)
    if response.status_code != httpx.codes.OK:
        raise KeysetError(f"fetching the keyset failed: {api_error(response)}")
    try:
        return parse_keyset(response.json())
    except ValueError as exc:
        raise KeysetError(f"the keyset is not JSON: {exc}") from exc


def parse_keyset(data: object) -> Keyset:
    """Strict parse of the keyset document. Keys of other algorithms are skipped."""
    if not isinstance(data, dict):
        raise KeysetError("keyset must be a JSON object")
    primary_kid, entries = data.get("primary_kid"), data.get("keys")
    if not isinstance(primary_kid, str) or not isinstance(entries, list):
        raise KeysetError("keyset needs primary_kid (string) and keys (list)")
    keys: dict[str, bytes] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            raise KeysetError("each keyset entry needs a kid")
        if entry.get("alg") != ALGORITHM:
            continue
        try:
            keys[entry["kid"]] = decode_public_key(entry.get("public_key"))
        except ValueError as exc:
            raise KeysetError(f"key {entry['kid']!r}: {exc}") from exc
    return Keyset(primary_kid=primary_kid, keys=keys)


def normalise_trusted_keys(keys: Mapping[str, bytes | str]) -> dict[str, bytes]:
    """Pinned keys as raw 32 bytes, given either raw or as base64 text."""
    normalised: dict[str, bytes] = {}
    for kid, key in keys.items():
        raw = decode_public_key(key) if isinstance(key, str) else bytes(key)
        if len(raw) != PUBLIC_KEY_BYTES:
            raise ValueError(f"pinned key {kid!r} must be {PUBLIC_KEY_BYTES} bytes")
        normalised[kid] = raw
    return normalised
