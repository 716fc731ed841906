"""Keylight v3 leases: the Ed25519-signed proof that an instance may run.

Pure rules, no I/O. The signed message is the UTF-8 string
``v3|<kid>|<licenseKeyHash>|<instanceId>|<issuedAt>|<expiresAt>|<status>|<entitlements>``
with the entitlements sorted and comma-joined; the signature is standard, padded base64.
The server signs with :func:`sign_lease`; the Python SDK checks with :func:`verify_lease`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

LEASE_VERSION = "v3"
LEASE_LIFETIME_SECONDS = 7 * 86400
VERIFY_SKEW_SECONDS = 300
LEASE_STATUSES = ("active", "fallback", "expired")
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64

_KEY_HASH = re.compile(r"^[0-9a-f]{64}$")
_WIRE_FIELDS = (
    "kid",
    "licenseKeyHash",
    "instanceId",
    "issuedAt",
    "expiresAt",
    "status",
    "signature",
    "entitlements",
)


@dataclass(frozen=True)
class Lease:
    kid: str
    license_key_hash: str
    instance_id: str
    issued_at: int
    expires_at: int
    status: str
    signature: str
    entitlements: tuple[str, ...] = ()

    def signing_message(self) -> bytes:
        return lease_signing_message(
            kid=self.kid,
            license_key_hash=self.license_key_hash,
            instance_id=self.instance_id,
            issued_at=self.issued_at,
            expires_at=self.expires_at,
            status=self.status,
            entitlements=self.entitlements,
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "licenseKeyHash": self.license_key_hash,
            "instanceId": self.instance_id,
            "issuedAt": self.issued_at,
            "expiresAt": self.expires_at,
            "status": self.status,
            "signature": self.signature,
            "entitlements": list(self.entitlements),
        }

    @classmethod
    def from_wire(cls, data: object) -> Lease:
        """Parse a wire lease; any missing field, wrong type or bad value is a ValueError.

        Only the shape is checked here, not the signature: see :func:`verify_lease`.
        """
        if not isinstance(data, Mapping):
            raise ValueError("lease must be a JSON object")
        missing = [name for name in _WIRE_FIELDS if name not in data]
        if missing:
            raise ValueError(f"lease lacks {', '.join(missing)}")
        entitlements = data["entitlements"]
        if not isinstance(entitlements, list):
            raise ValueError("lease entitlements must be a list")
        lease = cls(
            kid=_text(data, "kid"),
            license_key_hash=_text(data, "licenseKeyHash"),
            instance_id=_text(data, "instanceId"),
            issued_at=_timestamp(data, "issuedAt"),
            expires_at=_timestamp(data, "expiresAt"),
            status=_text(data, "status"),
            signature=_text(data, "signature"),
            entitlements=tuple(entitlements),
        )
        if not _KEY_HASH.match(lease.license_key_hash):
            raise ValueError("lease licenseKeyHash must be 64 lowercase hex characters")
        if lease.status not in LEASE_STATUSES:
            raise ValueError(f"lease status must be one of {LEASE_STATUSES}")
        if not all(isinstance(item, str) for item in lease.entitlements):
            raise ValueError("lease entitlements must be strings")
        _check_fields(lease.kid, lease.instance_id, lease.status, lease.entitlements)
        if decode_signature(lease.signature) is None:
            raise ValueError("lease signature must be base64 of 64 bytes")
        return lease


@dataclass(frozen=True)
class LeaseCheck:
    """What a verifier learnt about a lease; the three facts the conformance vectors name."""

    kid_known: bool
    signature_valid: bool
    expired: bool

    @property
    def ok(self) -> bool:
        return self.kid_known and self.signature_valid and not self.expired


def lease_signing_message(
    *,
    kid: str,
    license_key_hash: str,
    instance_id: str,
    issued_at: int,
    expires_at: int,
    status: str,
    entitlements: Iterable[str],
) -> bytes:
    fields = (
        LEASE_VERSION,
        kid,
        license_key_hash,
        instance_id,
        str(issued_at),
        str(expires_at),
        status,
        ",".join(sorted(entitlements)),
    )
    return "|".join(fields).encode("utf-8")


def lease_expiry(issued_at: int, license_expires_at: int | None) -> int:
    """A lease lives 7 days, and never past the license's own expiry."""
    expires_at = issued_at + LEASE_LIFETIME_SECONDS
    if license_expires_at is not None:
        expires_at = min(expires_at, license_expires_at)
    return expires_at


def sign_lease(
    signing_key: SigningKey,
    *,
    kid: str,
    license_key_hash: str,
    instance_id: str,
    issued_at: int,
    expires_at: int,
    status: str,
    entitlements: Iterable[str] = (),
) -> Lease:
    """Sign a lease. ``fallback`` and ``expired`` leases carry no entitlements."""
    if status not in LEASE_STATUSES:
        raise ValueError(f"lease status must be one of {LEASE_STATUSES}, got {status!r}")
    if not _KEY_HASH.match(license_key_hash):
        raise ValueError("license_key_hash must be 64 lowercase hex characters")
    granted = tuple(sorted(set(entitlements))) if status == "active" else ()
    _check_fields(kid, instance_id, status, granted)
    message = lease_signing_message(
        kid=kid,
        license_key_hash=license_key_hash,
        instance_id=instance_id,
        issued_at=issued_at,
        expires_at=expires_at,
        status=status,
        entitlements=granted,
    )
    return Lease(
        kid=kid,
        license_key_hash=license_key_hash,
        instance_id=instance_id,
        issued_at=issued_at,
        expires_at=expires_at,
        status=status,
        signature=sign_message(signing_key, message),
        entitlements=granted,
    )


def verify_lease(lease: Lease, trusted_keys: Mapping[str, bytes], now: int) -> LeaseCheck:
    """Check a lease against raw 32-byte public keys by kid, at Unix time ``now``."""
    public_key = trusted_keys.get(lease.kid)
    return LeaseCheck(
        kid_known=public_key is not None,
        signature_valid=public_key is not None
        and signature_is_valid(public_key, lease.signing_message(), lease.signature),
        expired=now > lease.expires_at + VERIFY_SKEW_SECONDS,
    )


def sign_message(signing_key: SigningKey, message: bytes) -> str:
    """Ed25519 signature of ``message`` as standard, padded base64."""
    return base64.b64encode(signing_key.sign(message).signature).decode("ascii")


def signature_is_valid(public_key: bytes, message: bytes, signature_b64: str) -> bool:
    signature = decode_signature(signature_b64)
    if signature is None or len(public_key) != PUBLIC_KEY_BYTES:
        return False
    try:
        VerifyKey(public_key).verify(message, signature)
    except BadSignatureError:
        return False
    return True


def decode_signature(signature_b64: str) -> bytes | None:
    signature = _b64decode(signature_b64)
    return signature if signature is not None and len(signature) == SIGNATURE_BYTES else None


def public_key_b64(signing_key: SigningKey) -> str:
    """The published form of a signing key's public half: base64 of the raw 32 bytes."""
    return base64.b64encode(bytes(signing_key.verify_key)).decode("ascii")


def decode_public_key(public_key_b64: str) -> bytes:
    """Raw 32-byte Ed25519 public key from its published base64 form (ValueError if not)."""
    raw = _b64decode(public_key_b64)
    if raw is None or len(raw) != PUBLIC_KEY_BYTES:
        raise ValueError("public key must be base64 of 32 bytes")
    return raw


def _b64decode(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def _check_fields(kid: str, instance_id: str, status: str, entitlements: Iterable[str]) -> None:
    """No field may contain the message separators, or two leases could share a message."""
    if not kid or not instance_id:
        raise ValueError("lease kid and instanceId must not be empty")
    for value in (kid, instance_id, status):
        if "|" in value:
            raise ValueError(f"lease field {value!r} must not contain '|'")
    for item in entitlements:
        if not item or "|" in item or "," in item:
            raise ValueError(f"entitlement {item!r} must be non-empty, without '|' or ','")


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise ValueError(f"lease {name} must be a string")
    return value


def _timestamp(data: Mapping[str, Any], name: str) -> int:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"lease {name} must be a non-negative integer")
    return value
