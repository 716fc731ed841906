"""Licenses minted by hand on the management API, and the event every new license sends."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ..domain.audit import AuditEntry
from ..domain.events import OutboundEvent
from ..domain.license import LicenseEntity
from ..domain.webhook_events import LICENSE_CREATED
from .unit_of_work import LicenseAdded, TenantUnitOfWork


def license_created(license_: LicenseEntity, raw_key: str, session_id: str | None
                    ) -> OutboundEvent:
    """``license.created``: the only event that carries the raw key."""
    return OutboundEvent(license_.tenant_id, LICENSE_CREATED, {
        "license_id": license_.license_id,
        "key": raw_key,
        "product_id": license_.product_id,
        "key_type_id": license_.key_type_id,
        "customer_email": license_.customer_email,
        "session_id": session_id,
    })


@dataclass(frozen=True, slots=True)
class MintLicense:
    tenant_id: str
    product_id: str
    key_type_id: str
    customer_email: str | None
    actor: str


@dataclass(frozen=True, slots=True)
class MintedLicense:
    """A new license and its raw key, which this answer alone shows."""

    license: LicenseEntity
    key: str


def mint_license(command: MintLicense, uow: TenantUnitOfWork) -> MintedLicense:
    """Mint by hand: counted against the hourly limit, announced as license.created."""
    tenant = uow.entity
    key_type = tenant.authorize_mint(command.product_id, command.key_type_id, uow.now)
    license_, raw_key = LicenseEntity.mint(
        license_id=str(uuid.uuid4()),
        tenant_id=command.tenant_id,
        key_prefix=tenant.product(command.product_id).key_prefix,
        key_type=key_type,
        customer_email=command.customer_email,
        now=uow.now,
    )
    uow.save()
    uow.record(LicenseAdded(license_, source="manual"))
    uow.emit(license_created(license_, raw_key, session_id=None))
    uow.audit(AuditEntry(command.actor, "license.mint", command.tenant_id, license_.license_id,
                         {"product_id": command.product_id,
                          "key_type_id": command.key_type_id}))
    return MintedLicense(license_, raw_key)
