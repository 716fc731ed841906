"""The lease a license host signs for the SDK's activate and validate answers.

The use cases themselves are services/activation.py; the host signs the lease after the
commit, from their typed result (actors/license_host.py).
"""

from __future__ import annotations

from typing import Any

from keylight_sdk.lease import LEASE_LIFETIME_SECONDS, lease_expiry, sign_lease

from ..domain.license import LicenseEntity
from ..store.signing_keys import SigningKeyring


class LeaseSigner:
    def __init__(self, keyring: SigningKeyring) -> None:
        self._keyring = keyring

    async def lease(
        self, license_: LicenseEntity, instance_id: str, kid: str, now: int, *, status: str
    ) -> dict[str, Any]:
        if status == "active":
            expires_at = lease_expiry(now, license_.expires_at)
        else:
            # An expired or fallback lease states what holds now, for a normal lease life.
            expires_at = now + LEASE_LIFETIME_SECONDS
        signed = sign_lease(
            await self._keyring.key(license_.tenant_id, kid),
            kid=kid,
            license_key_hash=license_.key_hash,
            instance_id=instance_id,
            issued_at=now,
            expires_at=expires_at,
            status=status,
            entitlements=license_.entitlements,
        )
        return signed.to_wire()
