"""Payments: checkout authorisation, manual-mode Stripe keys, and minting for a paid session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ..domain.audit import AuditEntry
from ..domain.catalog import KeyType
from ..domain.errors import Forbidden
from ..domain.events import OutboundEvent, iso_time
from ..domain.license import LicenseEntity, LicenseStatus
from ..domain.lifecycle import Lifecycle
from ..domain.webhook_events import LICENSE_REFUNDED, SUBSCRIPTION_RENEWED
from .activation import expiry_event, license_for
from .licenses import license_created
from .tenants import TenantSnapshot
from .unit_of_work import (
    LicenseAdded,
    LicenseUnitOfWork,
    ManualStripeSecrets,
    RenewalRecorded,
    StripeEventProcessed,
    TenantUnitOfWork,
)


@dataclass(frozen=True, slots=True)
class AuthorizeCheckout:
    tenant_id: str
    product_id: str
    key_type_id: str
    platform_ready: bool  # the platform's own Stripe key is configured (Connect mode)


@dataclass(frozen=True, slots=True)
class CheckoutTerms:
    key_type: KeyType
    product_name: str
    stripe_account_id: str | None
    manual: bool


def authorize_checkout(command: AuthorizeCheckout, uow: TenantUnitOfWork) -> CheckoutTerms:
    """Count a checkout against the exact per-tenant minute limit (in memory, rebuilt from
    recorded sessions after a restart); nothing is written."""
    tenant = uow.entity
    key_type = tenant.authorize_checkout(command.product_id, command.key_type_id, uow.now,
                                         platform_ready=command.platform_ready)
    return CheckoutTerms(key_type, tenant.product(command.product_id).display_name,
                         tenant.stripe_account_id, tenant.stripe_manual)


@dataclass(frozen=True, slots=True)
class SetManualStripe:
    tenant_id: str
    secret_key: str
    webhook_secret: str
    actor: str

    def __repr__(self) -> str:
        return f"SetManualStripe(tenant_id={self.tenant_id!r}, <secrets hidden>)"


def set_manual_stripe(command: SetManualStripe, uow: TenantUnitOfWork) -> TenantSnapshot:
    tenant = uow.entity
    tenant.stripe_manual = True
    uow.save()
    uow.record(ManualStripeSecrets(command.secret_key, command.webhook_secret))
    uow.audit(AuditEntry(command.actor, "tenant.stripe_manual", tenant.tenant_id,
                         tenant.tenant_id))
    return TenantSnapshot.of(tenant)


@dataclass(frozen=True, slots=True)
class MintFromCheckout:
    tenant_id: str
    event_id: str
    session_id: str
    product_id: str
    key_type_id: str
    customer_email: str | None
    payment_intent: str | None
    subscription: str | None
    customer: str | None


@dataclass(frozen=True, slots=True)
class CheckoutMint:
    license_id: str
    minted: bool  # False: the session had minted its license already


async def mint_from_checkout(command: MintFromCheckout, uow: TenantUnitOfWork) -> CheckoutMint:
    """Mint for a paid session: at most one license per session, once per event."""
    uow.record(StripeEventProcessed(command.event_id))
    existing = await uow.license_for_session(command.session_id)
    if existing is not None:
        return CheckoutMint(existing, minted=False)
    tenant = uow.entity
    if tenant.lifecycle is Lifecycle.CLOSED:
        raise Forbidden("the tenant is closed", code="TENANT_CLOSED")
    license_, raw_key = LicenseEntity.mint(
        license_id=str(uuid.uuid4()),
        tenant_id=command.tenant_id,
        key_prefix=tenant.product(command.product_id).key_prefix,
        key_type=tenant.key_type(command.product_id, command.key_type_id),
        customer_email=command.customer_email,
        now=uow.now,
    )
    uow.record(LicenseAdded(license_, source="stripe", checkout_session_id=command.session_id,
                            stripe_ids=(("payment_intent", command.payment_intent),
                                        ("subscription", command.subscription),
                                        ("customer", command.customer))))
    uow.emit(license_created(license_, raw_key, session_id=command.session_id))
    uow.audit(AuditEntry("stripe", "license.mint", command.tenant_id, license_.license_id,
                         {"session_id": command.session_id, "event_id": command.event_id}))
    return CheckoutMint(license_.license_id, minted=True)


# -- Stripe's effects on a license (each claims its event in the same commit) ------------


@dataclass(frozen=True, slots=True)
class RevokeForRefund:
    key_hash: str
    tenant_id: str
    event_id: str
    reason: str  # refunded, disputed


def revoke_for_refund(command: RevokeForRefund, uow: LicenseUnitOfWork) -> LicenseEntity:
    """A refund or dispute revokes an active license and announces license.refunded."""
    license_ = license_for(uow, command.tenant_id)
    uow.record(StripeEventProcessed(command.event_id))
    uow.save()
    if license_.status in (LicenseStatus.ACTIVE, LicenseStatus.SUSPENDED) and license_.revoke():
        uow.emit(OutboundEvent(command.tenant_id, LICENSE_REFUNDED, {
            "license_id": license_.license_id, "product_id": license_.product_id,
            "reason": command.reason}))
    uow.audit(AuditEntry("stripe", "license.refund_revoke", command.tenant_id,
                         license_.license_id, {"event_id": command.event_id}))
    return license_


@dataclass(frozen=True, slots=True)
class RenewForInvoice:
    key_hash: str
    tenant_id: str
    event_id: str
    invoice_id: str
    duration_days: int | None  # the key type's term


def renew_for_invoice(command: RenewForInvoice, uow: LicenseUnitOfWork) -> LicenseEntity:
    """A paid renewal invoice extends a term license by one period, once per invoice."""
    license_ = license_for(uow, command.tenant_id)
    uow.record(StripeEventProcessed(command.event_id))
    license_.renew(command.duration_days)
    uow.save()
    uow.record(RenewalRecorded(command.invoice_id, license_.license_id, license_.expires_at))
    uow.emit(OutboundEvent(command.tenant_id, SUBSCRIPTION_RENEWED, {
        "license_id": license_.license_id, "product_id": license_.product_id,
        "invoice_id": command.invoice_id, "expires_at": iso_time(license_.expires_at)}))
    uow.audit(AuditEntry("stripe", "license.renew", command.tenant_id, license_.license_id,
                         {"event_id": command.event_id}))
    return license_


@dataclass(frozen=True, slots=True)
class ExpireForCancellation:
    key_hash: str
    tenant_id: str
    event_id: str


def expire_for_cancellation(command: ExpireForCancellation, uow: LicenseUnitOfWork
                            ) -> LicenseEntity:
    """A cancelled subscription ends the license now, announced once."""
    license_ = license_for(uow, command.tenant_id)
    uow.record(StripeEventProcessed(command.event_id))
    uow.save()
    if license_.expire(uow.now):
        uow.emit(expiry_event(license_))
    uow.audit(AuditEntry("stripe", "license.expire", command.tenant_id, license_.license_id,
                         {"event_id": command.event_id}))
    return license_
