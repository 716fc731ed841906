"""The expiry sweep's use case (issue 22): a license past its expiry is announced once per
expiry value, whether the sweep or an SDK call sees it first."""

from __future__ import annotations

from keylight_actors.domain.license import LicenseEntity
from keylight_actors.services.activation import Activate, Validate, activate, validate
from keylight_actors.services.licenses import (
    EditLicense,
    ExpireLicense,
    ReinstateLicense,
    RevokeLicense,
    SuspendLicense,
    edit_license,
    expire_license,
    reinstate_license,
    revoke_license,
    suspend_license,
)
from keylight_actors.services.payments import RenewForInvoice, renew_for_invoice

from .memory import NOW, InMemoryUnitOfWork, a_license

DAY = 86_400


def _sweep(license_: LicenseEntity, *, now: int = NOW, seen: int | None = None
           ) -> InMemoryUnitOfWork[LicenseEntity]:
    uow = InMemoryUnitOfWork(license_, now=now)
    expected = license_.expires_at if seen is None else seen
    assert expected is not None
    outcome = expire_license(ExpireLicense(license_.key_hash, "acme", expected), uow)
    assert outcome.announced == bool(uow.events)
    return uow


def _edit_expiry(license_: LicenseEntity, expires_at: int | None, *, now: int = NOW) -> None:
    uow = InMemoryUnitOfWork(license_, now=now)
    edit_license(EditLicense(license_.key_hash, "acme", "vendor", ("expires_at",),
                             expires_at=expires_at), uow)


def test_a_license_past_its_expiry_is_marked_and_announced_once():
    license_ = a_license(expires_at=NOW - 5)
    version = license_.version
    uow = _sweep(license_)
    assert uow.saved and license_.version == version + 1
    assert uow.event_types() == ["license.expired"]
    [event] = uow.events
    assert event.fields["license_id"] == license_.license_id
    assert event.fields["expires_at"] is not None
    assert license_.expiry_announced_for == NOW - 5 and license_.expiry_announced

    again = _sweep(license_)
    assert not again.writes_anything


def test_a_license_not_yet_past_its_expiry_records_nothing():
    license_ = a_license(expires_at=NOW + 5)
    assert not _sweep(license_).writes_anything
    assert not license_.expiry_announced


def test_a_license_renewed_into_the_future_is_not_expired():
    license_ = a_license(expires_at=NOW - 5)
    seen = license_.expires_at
    renew_for_invoice(RenewForInvoice(license_.key_hash, "acme", "evt_1", "in_1", 30),
                      InMemoryUnitOfWork(license_))
    uow = _sweep(license_, seen=seen)  # the sweep claimed it before the renewal
    assert not uow.writes_anything
    assert not _sweep(license_).writes_anything  # its new expiry is ahead


def test_an_expiry_moved_again_later_expires_again_with_a_new_event():
    license_ = a_license(expires_at=NOW - 5)
    assert _sweep(license_).event_types() == ["license.expired"]
    _edit_expiry(license_, NOW + DAY)
    assert not license_.expiry_announced
    assert not _sweep(license_).writes_anything
    later = _sweep(license_, now=NOW + DAY + 1)
    assert later.event_types() == ["license.expired"]
    assert license_.expiry_announced_for == NOW + DAY
    assert not _sweep(license_, now=NOW + DAY + 2).writes_anything


def test_an_expiry_moved_between_two_past_times_is_not_announced_twice():
    license_ = a_license(expires_at=NOW - 5)
    assert _sweep(license_).events
    _edit_expiry(license_, NOW - 100)
    assert license_.expiry_announced
    assert not _sweep(license_).writes_anything


def test_a_suspended_or_revoked_license_is_not_announced():
    suspended = a_license(expires_at=NOW - 5)
    suspend_license(SuspendLicense(suspended.key_hash, "acme", "vendor"),
                    InMemoryUnitOfWork(suspended))
    assert not _sweep(suspended).writes_anything
    reinstate_license(ReinstateLicense(suspended.key_hash, "acme", "vendor"),
                      InMemoryUnitOfWork(suspended))
    assert _sweep(suspended).event_types() == ["license.expired"]  # due once usable again

    revoked = a_license(expires_at=NOW - 5)
    revoke_license(RevokeLicense(revoked.key_hash, "acme", "vendor"),
                   InMemoryUnitOfWork(revoked))
    assert not _sweep(revoked).writes_anything


def test_the_sweep_after_an_sdk_call_announced_it_records_nothing():
    license_ = a_license(expires_at=NOW - 5)
    seen = InMemoryUnitOfWork(license_)
    activate(Activate(license_.key_hash, "acme", "app", "laptop", None, "k1"), seen)
    assert seen.event_types() == ["license.expired"]
    assert not _sweep(license_).writes_anything


def test_an_sdk_call_after_the_sweep_announces_nothing_more():
    license_ = a_license(expires_at=NOW + 10)
    activated = activate(Activate(license_.key_hash, "acme", "app", "laptop", None, "k1"),
                         InMemoryUnitOfWork(license_))
    assert _sweep(license_, now=NOW + 11).event_types() == ["license.expired"]
    uow = InMemoryUnitOfWork(license_, now=NOW + 12)
    validate(Validate(license_.key_hash, "acme", "app", activated.instance_id, None, "k1"),
             uow)
    assert "license.expired" not in uow.event_types()


def test_another_tenant_cannot_expire_the_license():
    license_ = a_license(expires_at=NOW - 5)
    uow = InMemoryUnitOfWork(license_)
    try:
        expire_license(ExpireLicense(license_.key_hash, "other", NOW - 5), uow)
    except Exception as error:  # answers as an unknown license
        assert getattr(error, "code", None) == "LICENSE_NOT_FOUND"
    else:
        raise AssertionError("expected NotFound")
    assert not uow.writes_anything
