"""Licenses on the management API: minting by hand (on the tenant's unit of work), and
reading, editing, suspending, reinstating, revoking, reminting and freeing a seat (on the
license's); the expiry sweep's announcement of an expiry no SDK call saw; and the event every
new license sends."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ..domain.audit import AuditEntry
from ..domain.errors import InvalidInput
from ..domain.events import OutboundEvent, iso_time
from ..domain.instance_set import Instance
from ..domain.license import LicenseEntity, check_metadata
from ..domain.webhook_events import LICENSE_CREATED, LICENSE_REVOKED
from .activation import expiry_event, license_for
from .unit_of_work import (
    LicenseAdded,
    LicenseDetailsChanged,
    LicenseUnitOfWork,
    TenantUnitOfWork,
)


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


# -- on the license's unit of work ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetLicense:
    key_hash: str
    tenant_id: str


def get_license(command: GetLicense, uow: LicenseUnitOfWork) -> LicenseEntity:
    return license_for(uow, command.tenant_id)


@dataclass(frozen=True, slots=True)
class RevokeLicense:
    key_hash: str
    tenant_id: str
    actor: str


def revoke_license(command: RevokeLicense, uow: LicenseUnitOfWork) -> LicenseEntity:
    """Revoke the key (its devices stop validating); revoking twice changes nothing. A
    license a dispute revoked becomes the vendor's revocation (audited, announced by
    nothing: it was revoked already), so a won dispute no longer reinstates it."""
    license_ = license_for(uow, command.tenant_id)
    disputed_by = license_.revoked_by
    if license_.revoke():
        uow.save()
        uow.emit(OutboundEvent(command.tenant_id, LICENSE_REVOKED, {
            "license_id": license_.license_id, "product_id": license_.product_id,
            "key_type_id": license_.key_type_id, "reason": "revoked_by_vendor"}))
        uow.audit(AuditEntry(command.actor, "license.revoke", command.tenant_id,
                             license_.license_id))
    elif license_.take_over_revocation():
        uow.save()
        uow.audit(AuditEntry(command.actor, "license.revoke", command.tenant_id,
                             license_.license_id, {"took_over_from": disputed_by}))
    return license_


@dataclass(frozen=True, slots=True)
class RemintLicense:
    key_hash: str
    tenant_id: str
    key_prefix: str  # the product's, for the new key
    actor: str


def remint_license(command: RemintLicense, uow: LicenseUnitOfWork) -> MintedLicense:
    """Issue a new key with the same terms and no devices; the old one is marked reminted."""
    license_ = license_for(uow, command.tenant_id)
    successor, raw_key = license_.remint(new_license_id=str(uuid.uuid4()),
                                         key_prefix=command.key_prefix, now=uow.now)
    uow.save()
    uow.record(LicenseAdded(successor, source="remint"))
    uow.audit(AuditEntry(command.actor, "license.remint", command.tenant_id,
                         license_.license_id))
    return MintedLicense(successor, raw_key)


@dataclass(frozen=True, slots=True)
class FreeSeat:
    key_hash: str
    tenant_id: str
    instance_id: str
    actor: str


def free_seat(command: FreeSeat, uow: LicenseUnitOfWork) -> Instance:
    """The vendor frees a device's seat (not counted against the churn limit)."""
    license_ = license_for(uow, command.tenant_id)
    instance = license_.deactivate(command.instance_id, uow.now)
    uow.save()
    uow.audit(AuditEntry(command.actor, "license.instance_deactivate", command.tenant_id,
                         license_.license_id))
    return instance


EDITABLE_FIELDS = ("activation_limit", "expires_at", "customer_email", "metadata")


@dataclass(frozen=True, slots=True)
class EditLicense:
    """The vendor's edit: ``fields`` names the fields it sets (the others stay as they are);
    ``expires_at`` None is perpetual, ``customer_email`` None clears it."""

    key_hash: str
    tenant_id: str
    actor: str
    fields: tuple[str, ...]
    activation_limit: int | None = None
    expires_at: int | None = None
    customer_email: str | None = None
    metadata: dict[str, Any] | None = None


def edit_license(command: EditLicense, uow: LicenseUnitOfWork) -> LicenseEntity:
    """Change the license's terms (the resident license sees them at once) and its
    vendor-owned fields; audited. A revoked or reminted license cannot be edited."""
    license_ = license_for(uow, command.tenant_id)
    unknown = [name for name in command.fields if name not in EDITABLE_FIELDS]
    if unknown:
        raise InvalidInput(f"{unknown[0]}: not a field of a license that can be changed")
    if not command.fields:
        raise InvalidInput("nothing to change: give activation_limit, expires_at, "
                           "customer_email or metadata")
    given = set(command.fields)
    if "activation_limit" in given and command.activation_limit is None:
        raise InvalidInput("activation_limit: must be an integer")
    if "metadata" in given:
        check_metadata(command.metadata)
    changed = license_.edit_terms(
        now=uow.now,
        activation_limit=command.activation_limit if "activation_limit" in given else None,
        expires_at=command.expires_at, set_expiry="expires_at" in given,
        customer_email=command.customer_email, set_email="customer_email" in given)
    if changed:
        uow.save()
    if given & {"customer_email", "metadata"}:
        uow.record(LicenseDetailsChanged(
            license_.license_id, command.customer_email, command.metadata,
            set_email="customer_email" in given, set_metadata="metadata" in given))
    details: dict[str, Any] = {"fields": sorted(given)}
    if "activation_limit" in given:
        details["activation_limit"] = license_.activation_limit
    if "expires_at" in given:
        details["expires_at"] = iso_time(license_.expires_at)
    uow.audit(AuditEntry(command.actor, "license.edit", command.tenant_id,
                         license_.license_id, details))
    return license_


@dataclass(frozen=True, slots=True)
class SuspendLicense:
    key_hash: str
    tenant_id: str
    actor: str


def suspend_license(command: SuspendLicense, uow: LicenseUnitOfWork) -> LicenseEntity:
    """Stop the license's devices until it is reinstated (they keep their seats);
    suspending twice changes nothing."""
    license_ = license_for(uow, command.tenant_id)
    if license_.suspend():
        uow.save()
        uow.audit(AuditEntry(command.actor, "license.suspend", command.tenant_id,
                             license_.license_id))
    return license_


@dataclass(frozen=True, slots=True)
class ReinstateLicense:
    key_hash: str
    tenant_id: str
    actor: str


def reinstate_license(command: ReinstateLicense, uow: LicenseUnitOfWork) -> LicenseEntity:
    """Undo a suspension; reinstating an active license changes nothing."""
    license_ = license_for(uow, command.tenant_id)
    if license_.reinstate():
        uow.save()
        uow.audit(AuditEntry(command.actor, "license.reinstate", command.tenant_id,
                             license_.license_id))
    return license_


@dataclass(frozen=True, slots=True)
class ExpireLicense:
    """The expiry sweep found the license past ``expires_at_seen`` (Unix seconds) with that
    expiry not announced."""

    key_hash: str
    tenant_id: str
    expires_at_seen: int


@dataclass(frozen=True, slots=True)
class ExpiryOutcome:
    announced: bool  # False: nothing was recorded (see ``expire_license``)


def expire_license(command: ExpireLicense, uow: LicenseUnitOfWork) -> ExpiryOutcome:
    """Announce the passing of the expiry the sweep saw: the license's expiry marker and
    ``license.expired`` in one commit. Idempotent: nothing is recorded when the license is
    not active (suspended, revoked, reminted), its expiry is no longer the one seen (renewed,
    edited meanwhile: the sweep finds the new one when it is due), it is not past it, or it
    was announced already (by an SDK call or another sweep)."""
    license_ = license_for(uow, command.tenant_id)
    if not license_.is_usable or license_.expires_at != command.expires_at_seen:
        return ExpiryOutcome(False)
    if not license_.announce_expiry(uow.now):
        return ExpiryOutcome(False)
    uow.save()
    uow.emit(expiry_event(license_))
    return ExpiryOutcome(True)
