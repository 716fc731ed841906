"""The SDK operations a license host runs: activate, validate, deactivate, with leases.

Separated from the management operations in ``license_host`` because these are the hot
path and carry the lease-signing rules.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from keylight_sdk.lease import LEASE_LIFETIME_SECONDS, lease_expiry, sign_lease

from ..domain.errors import NotFound
from ..domain.instance_set import Instance
from ..domain.license import LicenseEntity
from ..store.events import OutboundEvent
from ..store.licenses import LicenseSave, save_licenses
from ..store.signing_keys import SigningKeyring
from .group_commit import BatchedWrite
from .license_view import iso_time

LICENSE_NOT_FOUND = "License key not found"


@dataclass
class Outcome:
    """What an SDK operation decided, and which events its commit must carry."""

    instance: Instance | None = None
    expired: bool = False
    events: tuple[OutboundEvent, ...] = ()


def require_license_for(draft: LicenseEntity, tenant_id: str, product_id: str) -> None:
    if draft.tenant_id != tenant_id or draft.product_id != product_id:
        raise NotFound(LICENSE_NOT_FOUND, code="LICENSE_NOT_FOUND")


def expiry_event(draft: LicenseEntity) -> OutboundEvent:
    return OutboundEvent(draft.tenant_id, "license.expired", {
        "license_id": draft.license_id,
        "product_id": draft.product_id,
        "key_type_id": draft.key_type_id,
        "expires_at": iso_time(draft.expires_at),
    })


def expired_outcome(draft: LicenseEntity, now: int) -> tuple[Outcome, bool]:
    """An expired license: announce it once (a write), otherwise change nothing."""
    announced = draft.announce_expiry(now)
    return Outcome(expired=True, events=(expiry_event(draft),) if announced else ()), announced


def instance_event(kind: str, draft: LicenseEntity, instance: Instance) -> OutboundEvent:
    return OutboundEvent(draft.tenant_id, kind, {
        "license_id": draft.license_id,
        "product_id": draft.product_id,
        "instance_id": instance.instance_id,
        "instance_name": instance.name,
        "machine_hash": instance.machine_hash,
    })


def save_with_events(draft: LicenseEntity, old_version: int, outcome: Outcome, now: int
                     ) -> BatchedWrite:
    """The license and its outcome's events, as one row of its group's save statement."""
    return BatchedWrite(save_licenses, LicenseSave(draft, old_version, outcome.events, now))


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


def new_instance_id() -> str:
    return str(uuid.uuid4())

