"""Payments: checkout authorisation, manual-mode Stripe keys, and minting for a paid session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ..domain.audit import AuditEntry
from ..domain.catalog import KeyType
from ..domain.errors import Forbidden
from ..domain.events import OutboundEvent, iso_time
from ..domain.license import (
    SUBSCRIPTION_CANCELLED,
    LicenseEntity,
    LicenseStatus,
    dispute_mark,
)
from ..domain.lifecycle import Lifecycle
from ..domain.webhook_events import LICENSE_REFUNDED, LICENSE_REINSTATED, SUBSCRIPTION_RENEWED
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
#
# Stripe does not promise order: each rule below ends in the same license, with the same
# announcements, whichever of a purchase's events comes first (a closed dispute before the
# dispute's opening, a renewal after the cancellation). Events that come before the mint
# are held by the inbox and applied after it (services/stripe_inbox.py).


@dataclass(frozen=True, slots=True)
class RevokeForRefund:
    key_hash: str
    tenant_id: str
    event_id: str
    reason: str  # refund, dispute
    dispute_id: str | None = None  # the dispute's, when a dispute revokes


def _revoke_for(license_: LicenseEntity, uow: LicenseUnitOfWork, tenant_id: str,
                reason: str, by: str) -> None:
    if license_.status in (LicenseStatus.ACTIVE, LicenseStatus.SUSPENDED) and license_.revoke(
            by=by):
        uow.emit(OutboundEvent(tenant_id, LICENSE_REFUNDED, {
            "license_id": license_.license_id, "product_id": license_.product_id,
            "reason": reason}))


def revoke_for_refund(command: RevokeForRefund, uow: LicenseUnitOfWork) -> LicenseEntity:
    """A refund or dispute revokes an active license and announces license.refunded,
    recording why (a won dispute reinstates only what it revoked); a dispute whose closing
    was applied already changes nothing."""
    license_ = license_for(uow, command.tenant_id)
    uow.record(StripeEventProcessed(command.event_id))
    uow.save()
    by = dispute_mark(command.dispute_id) if command.dispute_id else command.reason
    if by not in license_.payment_settled:
        _revoke_for(license_, uow, command.tenant_id, command.reason, by)
    uow.audit(AuditEntry("stripe", "license.refund_revoke", command.tenant_id,
                         license_.license_id, {"event_id": command.event_id}))
    return license_


@dataclass(frozen=True, slots=True)
class CloseDispute:
    key_hash: str
    tenant_id: str
    event_id: str
    dispute_id: str
    won: bool


def close_dispute(command: CloseDispute, uow: LicenseUnitOfWork) -> LicenseEntity:
    """A closed dispute: won reinstates the license if this dispute revoked it, as it was
    before (active, or suspended if the vendor had suspended it), and announces
    license.reinstated with that status; lost leaves it revoked. A closing that comes before the
    dispute's opening applies the opening first, and the opening, when it comes, changes
    nothing: the same license and announcements as in Stripe's order."""
    license_ = license_for(uow, command.tenant_id)
    uow.record(StripeEventProcessed(command.event_id))
    uow.save()
    mark = dispute_mark(command.dispute_id)
    if license_.settle(mark):
        if license_.revoked_by != mark:  # its opening was not applied yet
            _revoke_for(license_, uow, command.tenant_id, "dispute", mark)
        if command.won and license_.reinstate_revoked_by(mark):
            uow.emit(OutboundEvent(command.tenant_id, LICENSE_REINSTATED, {
                "license_id": license_.license_id, "product_id": license_.product_id,
                "key_type_id": license_.key_type_id, "reason": "dispute_won",
                "dispute_id": command.dispute_id, "status": license_.status.value}))
    uow.audit(AuditEntry("stripe", "license.dispute_close", command.tenant_id,
                         license_.license_id, {"event_id": command.event_id,
                                               "dispute_id": command.dispute_id,
                                               "won": command.won}))
    return license_


@dataclass(frozen=True, slots=True)
class RenewForInvoice:
    key_hash: str
    tenant_id: str
    event_id: str
    invoice_id: str
    duration_days: int | None  # the key type's term


def renew_for_invoice(command: RenewForInvoice, uow: LicenseUnitOfWork) -> LicenseEntity:
    """A paid renewal invoice extends a term license by one period, once per invoice; a
    license its subscription's cancellation ended stays ended (the renewal is recorded
    and announced with the expiry as it is)."""
    license_ = license_for(uow, command.tenant_id)
    uow.record(StripeEventProcessed(command.event_id))
    if SUBSCRIPTION_CANCELLED not in license_.payment_settled:
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
    """A cancelled subscription ends the license now, announced once, for good: a renewal
    that comes after it does not extend it."""
    license_ = license_for(uow, command.tenant_id)
    uow.record(StripeEventProcessed(command.event_id))
    license_.settle(SUBSCRIPTION_CANCELLED)
    uow.save()
    if license_.expire(uow.now):
        uow.emit(expiry_event(license_))
    uow.audit(AuditEntry("stripe", "license.expire", command.tenant_id, license_.license_id,
                         {"event_id": command.event_id}))
    return license_
