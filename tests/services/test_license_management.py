"""The management API's use cases on one license: read, revoke, remint, free a seat; and
Stripe's: revoke for a refund, renew for an invoice, expire for a cancellation."""

from __future__ import annotations

import pytest

from keylight_actors.domain.errors import NotFound
from keylight_actors.domain.license import LicenseStatus
from keylight_actors.services.activation import Activate, activate
from keylight_actors.services.licenses import (
    FreeSeat,
    GetLicense,
    RemintLicense,
    RevokeLicense,
    free_seat,
    get_license,
    remint_license,
    revoke_license,
)
from keylight_actors.services.payments import (
    ExpireForCancellation,
    RenewForInvoice,
    RevokeForRefund,
    expire_for_cancellation,
    renew_for_invoice,
    revoke_for_refund,
)
from keylight_actors.services.unit_of_work import (
    LicenseAdded,
    RenewalRecorded,
    StripeEventProcessed,
)

from .memory import NOW, InMemoryUnitOfWork, a_license


def test_a_license_reads_as_itself_for_its_tenant():
    license_ = a_license()
    assert get_license(GetLicense("h", "acme"), InMemoryUnitOfWork(license_)) is license_


def test_another_tenants_license_reads_as_unknown():
    with pytest.raises(NotFound):
        get_license(GetLicense("h", "globex"), InMemoryUnitOfWork(a_license()))


def test_revoking_announces_and_audits_the_revocation():
    uow = InMemoryUnitOfWork(a_license())
    revoked = revoke_license(RevokeLicense("h", "acme", "tenant:acme"), uow)
    assert revoked.status is LicenseStatus.REVOKED and uow.saved
    assert uow.event_types() == ["license.revoked"]
    assert uow.audit_actions() == ["license.revoke"]


def test_revoking_twice_writes_nothing_the_second_time():
    license_ = a_license()
    revoke_license(RevokeLicense("h", "acme", "t"), InMemoryUnitOfWork(license_))
    uow = InMemoryUnitOfWork(license_)
    revoke_license(RevokeLicense("h", "acme", "t"), uow)
    assert not uow.writes_anything


def test_a_remint_stores_a_new_key_and_retires_the_old_one():
    license_ = a_license()
    uow = InMemoryUnitOfWork(license_)
    minted = remint_license(RemintLicense("h", "acme", "ACME", "t"), uow)
    assert license_.status is LicenseStatus.REMINTED
    assert minted.license.reminted_from == license_.license_id
    assert uow.records == [LicenseAdded(minted.license, source="remint")]
    assert uow.audit_actions() == ["license.remint"]


def test_the_vendor_frees_a_seat_without_an_event():
    license_ = a_license()
    activated = activate(Activate("h", "acme", "app", "laptop", None, "k1"),
                         InMemoryUnitOfWork(license_))
    uow = InMemoryUnitOfWork(license_)
    freed = free_seat(FreeSeat("h", "acme", activated.instance_id or "", "t"), uow)
    assert freed.instance_id == activated.instance_id and license_.seats_used == 0
    assert not uow.events and uow.audit_actions() == ["license.instance_deactivate"]


def test_a_refund_revokes_and_announces_license_refunded_with_the_event_claimed():
    uow = InMemoryUnitOfWork(a_license())
    revoke_for_refund(RevokeForRefund("h", "acme", "evt_1", "refunded"), uow)
    assert uow.records == [StripeEventProcessed("evt_1")]
    assert uow.event_types() == ["license.refunded"]


def test_a_refund_of_a_revoked_license_only_claims_the_event():
    license_ = a_license()
    license_.revoke()
    uow = InMemoryUnitOfWork(license_)
    revoke_for_refund(RevokeForRefund("h", "acme", "evt_1", "refunded"), uow)
    assert uow.records == [StripeEventProcessed("evt_1")] and not uow.events


def test_a_renewal_extends_the_term_once_per_invoice():
    license_ = a_license(expires_at=NOW + 10)
    uow = InMemoryUnitOfWork(license_)
    renew_for_invoice(RenewForInvoice("h", "acme", "evt_2", "in_1", 30), uow)
    assert license_.expires_at == NOW + 10 + 30 * 86_400
    assert RenewalRecorded("in_1", license_.license_id, license_.expires_at) in uow.records
    assert uow.event_types() == ["subscription.renewed"]


def test_a_cancellation_ends_the_license_now_and_announces_it():
    license_ = a_license()
    uow = InMemoryUnitOfWork(license_)
    expire_for_cancellation(ExpireForCancellation("h", "acme", "evt_3"), uow)
    assert license_.expires_at == NOW and uow.event_types() == ["license.expired"]
