"""The offline decision: what a cached lease allows at a given wall-clock time.

Rules, in order:

1. no cached activation, or a cache that cannot be read: ``invalid``;
2. the wall clock is more than 1 h behind the latest time recorded: ``invalid`` (rollback);
3. the lease is not signed by a trusted key, or is not for this key and instance: ``invalid``;
4. the lease was issued more than 15 days ago (the longest the app may stay offline):
   ``expired``. As with an expired lease, the cure is to go online, so both share a state;
   ``invalid`` stays for what cannot be trusted;
5. the lease is expired beyond the 300 s skew (``now > expiresAt + 300``): ``expired``;
6. otherwise by lease status: ``active`` -> ``licensed``, ``fallback`` -> ``limited``,
   ``expired`` -> ``expired``.
"""

from __future__ import annotations

from collections.abc import Mapping

from .cache import CacheRecord
from .lease import Lease, verify_lease
from .license_key import hash_license_key
from .state import LicenseState, LicenseStatus

MAX_OFFLINE_SECONDS = 15 * 86400
CLOCK_ROLLBACK_TOLERANCE_SECONDS = 3600
REFRESH_AFTER_SECONDS = 6 * 3600
REFRESH_BEFORE_EXPIRY_SECONDS = 86400

_BY_STATUS = {
    "active": LicenseState.LICENSED,
    "fallback": LicenseState.LIMITED,
    "expired": LicenseState.EXPIRED,
}


def evaluate(
    record: CacheRecord | None, trusted_keys: Mapping[str, bytes], now: int
) -> LicenseStatus:
    if record is None:
        return LicenseStatus(LicenseState.INVALID, "not activated")
    lease = record.lease
    if record.last_seen - now > CLOCK_ROLLBACK_TOLERANCE_SECONDS:
        return LicenseStatus(LicenseState.INVALID, "system clock turned back")
    check = verify_lease(lease, trusted_keys, now)
    if not check.kid_known:
        return LicenseStatus(LicenseState.INVALID, f"lease signed by unknown key {lease.kid!r}")
    if not check.signature_valid:
        return LicenseStatus(LicenseState.INVALID, "lease signature is not valid")
    if not lease_belongs_to(lease, record.license_key, record.instance_id):
        return LicenseStatus(LicenseState.INVALID, "lease is for another license or instance")
    if now - lease.issued_at > MAX_OFFLINE_SECONDS:
        return LicenseStatus(LicenseState.EXPIRED, "offline for longer than 15 days", lease)
    if check.expired:
        return LicenseStatus(LicenseState.EXPIRED, "lease expired", lease)
    return LicenseStatus(_BY_STATUS[lease.status], f"lease status {lease.status}", lease)


def refresh_due(lease: Lease, now: int) -> bool:
    """Validate again once the lease is 6 h old, or within its last 24 h."""
    return (
        now - lease.issued_at >= REFRESH_AFTER_SECONDS
        or lease.expires_at - now <= REFRESH_BEFORE_EXPIRY_SECONDS
    )


def lease_belongs_to(lease: Lease, license_key: str, instance_id: str) -> bool:
    return lease.license_key_hash == hash_license_key(license_key) and (
        lease.instance_id == instance_id
    )
