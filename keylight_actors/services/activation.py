"""The SDK's use cases: activate a device, validate it, deactivate it.

These are the hot path: each runs on the license's revived copy, and a change is saved
with its events as one row of its group's save statement. The lease is signed by the
host after the commit (actors/license_host.py), from the typed result answered here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ..domain.errors import Forbidden, NotFound, Unprocessable
from ..domain.events import OutboundEvent, iso_time
from ..domain.instance_set import Instance
from ..domain.license import LicenseEntity
from ..domain.webhook_events import LICENSE_ACTIVATED, LICENSE_DEACTIVATED, LICENSE_EXPIRED
from .unit_of_work import LicenseUnitOfWork

LICENSE_NOT_FOUND = "License key not found"

ACTIVE, FALLBACK, EXPIRED = "active", "fallback", "expired"  # a lease's status


def license_not_found() -> NotFound:
    """One answer for every unknown key, whoever asks (SDK or management API)."""
    return NotFound(LICENSE_NOT_FOUND, code="LICENSE_NOT_FOUND")


def license_suspended(kind: type[Forbidden] | type[Unprocessable]
                      ) -> Forbidden | Unprocessable:
    """A suspended license: activate answers 403, validate 422; its devices keep their
    seats until the vendor reinstates it."""
    return kind("License is suspended", code="LICENSE_SUSPENDED")


def license_for(uow: LicenseUnitOfWork, tenant_id: str, product_id: str | None = None
                ) -> LicenseEntity:
    """The license, when it is this tenant's (and this product's); another tenant's
    license answers exactly like one that does not exist."""
    license_ = uow.entity
    if license_.tenant_id != tenant_id or (
            product_id is not None and license_.product_id != product_id):
        raise license_not_found()
    return license_


def instance_event(kind: str, license_: LicenseEntity, instance: Instance) -> OutboundEvent:
    return OutboundEvent(license_.tenant_id, kind, {
        "license_id": license_.license_id,
        "product_id": license_.product_id,
        "instance_id": instance.instance_id,
        "instance_name": instance.name,
        "machine_hash": instance.machine_hash,
    })


def expiry_event(license_: LicenseEntity) -> OutboundEvent:
    return OutboundEvent(license_.tenant_id, LICENSE_EXPIRED, {
        "license_id": license_.license_id,
        "product_id": license_.product_id,
        "key_type_id": license_.key_type_id,
        "expires_at": iso_time(license_.expires_at),
    })


def announce_expiry(license_: LicenseEntity, uow: LicenseUnitOfWork) -> None:
    """An expired license is announced once: the first call to see it expired saves that."""
    if license_.announce_expiry(uow.now):
        uow.save()
        uow.emit(expiry_event(license_))


# -- activate ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Activate:
    key_hash: str
    tenant_id: str
    product_id: str
    name: str
    machine_hash: str | None
    kid: str  # the tenant's primary signing key, which signs the lease


@dataclass(frozen=True, slots=True)
class Activated:
    """The device's seat, or (``instance_id`` None) an expired license."""

    license: LicenseEntity
    instance_id: str | None
    at: int  # when: the lease is issued at this time

    @property
    def expired(self) -> bool:
        return self.instance_id is None


def activate(command: Activate, uow: LicenseUnitOfWork) -> Activated:
    """Take a seat for a device; the same device (machine hash) keeps its seat."""
    license_ = license_for(uow, command.tenant_id, command.product_id)
    if license_.is_suspended:
        raise license_suspended(Forbidden)
    if not license_.is_usable:
        raise license_not_found()  # a revoked key answers as unknown on activation
    if license_.is_expired(uow.now):
        announce_expiry(license_, uow)
        return Activated(license_, None, uow.now)
    instance, is_new = license_.activate(new_instance_id=str(uuid.uuid4()), name=command.name,
                                         machine_hash=command.machine_hash, now=uow.now)
    if is_new:
        uow.save()
        uow.emit(instance_event(LICENSE_ACTIVATED, license_, instance))
    return Activated(license_, instance.instance_id, uow.now)


@dataclass(frozen=True, slots=True)
class Activation:
    """What the SDK is answered: the seat, its signed lease, the license's own expiry."""

    instance_id: str
    lease: dict[str, object]
    license_expires_at: int | None  # Unix seconds, or None for a perpetual license


# -- validate ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Validate:
    key_hash: str
    tenant_id: str
    product_id: str
    instance_id: str
    machine_hash: str | None
    kid: str


@dataclass(frozen=True, slots=True)
class Validated:
    license: LicenseEntity
    instance_id: str
    status: str  # the lease's: active, or fallback / expired for an expired license
    at: int  # when: the lease is issued at this time


def validate(command: Validate, uow: LicenseUnitOfWork) -> Validated:
    """Check a device's seat; an expired license is announced once and answered with a
    fallback or expired lease. The device's check-in is saved when the stored one is an
    hour old: within the hour a validate writes nothing."""
    license_ = license_for(uow, command.tenant_id, command.product_id)
    if license_.is_suspended:
        raise license_suspended(Unprocessable)
    if not license_.is_usable:
        raise Unprocessable("License has been revoked", code="LICENSE_REVOKED")
    if license_.is_expired(uow.now):
        announce_expiry(license_, uow)
        return Validated(license_, command.instance_id,
                         FALLBACK if license_.fallback_access else EXPIRED, uow.now)
    instance = license_.instances.get(command.instance_id)
    if instance is None or (command.machine_hash is not None
                            and instance.machine_hash not in (None, command.machine_hash)):
        raise Unprocessable("Instance is not active", code="INSTANCE_NOT_ACTIVE")
    if license_.check_in(instance, uow.now):  # at most once an hour per device
        uow.save()
    return Validated(license_, command.instance_id, ACTIVE, uow.now)


@dataclass(frozen=True, slots=True)
class Validation:
    """What the SDK is answered: whether the seat is valid, and its signed lease."""

    valid: bool
    lease: dict[str, object]
    license_expires_at: int | None


# -- deactivate -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deactivate:
    key_hash: str
    tenant_id: str
    product_id: str
    instance_id: str


def deactivate(command: Deactivate, uow: LicenseUnitOfWork) -> None:
    """Free the device's seat; a device already inactive answers the same."""
    license_ = license_for(uow, command.tenant_id, command.product_id)
    if command.instance_id not in license_.instances:
        return
    instance = license_.deactivate(command.instance_id, uow.now, by_device=True)
    uow.save()
    uow.emit(instance_event(LICENSE_DEACTIVATED, license_, instance))
