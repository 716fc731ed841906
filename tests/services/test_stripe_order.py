"""Stripe's effects on a license in any order: disputes closed won or lost, a renewal after
the cancellation; each order ends in the same license with the same announcements."""

from __future__ import annotations

from itertools import permutations

from keylight_actors.domain.license import LicenseStatus
from keylight_actors.services.licenses import RevokeLicense, revoke_license
from keylight_actors.services.payments import (
    CloseDispute,
    ExpireForCancellation,
    RenewForInvoice,
    RevokeForRefund,
    close_dispute,
    expire_for_cancellation,
    renew_for_invoice,
    revoke_for_refund,
)
from keylight_actors.services.unit_of_work import StripeEventProcessed

from .memory import NOW, InMemoryUnitOfWork, a_license

OPENED = RevokeForRefund("h", "acme", "evt_open", "dispute", "dp_1")
WON = CloseDispute("h", "acme", "evt_won", "dp_1", True)
LOST = CloseDispute("h", "acme", "evt_lost", "dp_1", False)
USE_CASES = {RevokeForRefund: revoke_for_refund, CloseDispute: close_dispute,
             RenewForInvoice: renew_for_invoice, ExpireForCancellation: expire_for_cancellation}


def run(license_, *commands):
    """Each command in its own unit of work, as the host runs them; answers the events."""
    events = []
    for command in commands:
        uow = InMemoryUnitOfWork(license_)
        USE_CASES[type(command)](command, uow)
        assert StripeEventProcessed(command.event_id) in uow.records
        events += uow.event_types()
    return events


def test_a_won_dispute_reinstates_the_license_it_revoked():
    license_ = a_license()
    events = run(license_, OPENED, WON)
    assert license_.status is LicenseStatus.ACTIVE and license_.revoked_by is None
    assert events == ["license.refunded", "license.reinstated"]


def test_a_lost_dispute_leaves_it_revoked():
    license_ = a_license()
    events = run(license_, OPENED, LOST)
    assert license_.status is LicenseStatus.REVOKED and license_.revoked_by == "dispute:dp_1"
    assert events == ["license.refunded"]


def test_a_won_dispute_does_not_reinstate_a_license_revoked_for_a_refund():
    license_ = a_license()
    events = run(license_, RevokeForRefund("h", "acme", "evt_r", "refund"), OPENED, WON)
    assert license_.status is LicenseStatus.REVOKED and license_.revoked_by == "refund"
    assert events == ["license.refunded"]


def test_a_won_dispute_does_not_reinstate_a_license_another_dispute_revoked():
    license_ = a_license()
    other = RevokeForRefund("h", "acme", "evt_o", "dispute", "dp_0")
    run(license_, other, WON)
    assert license_.status is LicenseStatus.REVOKED and license_.revoked_by == "dispute:dp_0"


def test_a_won_dispute_does_not_reinstate_the_vendors_revocation():
    license_ = a_license()
    license_.revoke()
    run(license_, WON)
    assert license_.status is LicenseStatus.REVOKED


def test_a_dispute_in_any_order_ends_the_same():
    for closing, status in ((WON, LicenseStatus.ACTIVE), (LOST, LicenseStatus.REVOKED)):
        natural = run(a_license(), OPENED, closing)
        for order in permutations((OPENED, closing)):
            license_ = a_license()
            assert sorted(run(license_, *order)) == sorted(natural), order
            assert license_.status is status


def test_a_renewal_and_a_cancellation_in_any_order_end_the_same():
    renewal = RenewForInvoice("h", "acme", "evt_p", "in_1", 30)
    cancel = ExpireForCancellation("h", "acme", "evt_x")
    outcomes = set()
    for order in permutations((renewal, cancel)):
        license_ = a_license(expires_at=NOW + 86_400)
        events = run(license_, *order)
        outcomes.add((license_.expires_at, frozenset(events)))
    assert outcomes == {(NOW, frozenset({"subscription.renewed", "license.expired"}))}


def test_the_vendors_revoke_after_a_dispute_revoke_survives_a_won_dispute():
    license_ = a_license()
    run(license_, OPENED)
    uow = InMemoryUnitOfWork(license_)
    assert revoke_license(RevokeLicense("h", "acme", "vendor"), uow) is license_
    assert license_.status is LicenseStatus.REVOKED and license_.revoked_by is None
    assert uow.saved and uow.event_types() == []  # revoked already: nothing new to announce
    assert [(a.action, a.details) for a in uow.audits] == [
        ("license.revoke", {"took_over_from": "dispute:dp_1"})]
    assert run(license_, WON) == []
    assert license_.status is LicenseStatus.REVOKED


def test_the_vendors_revoke_of_a_refunded_license_changes_nothing():
    license_ = a_license()
    run(license_, RevokeForRefund("h", "acme", "evt_r", "refund"))
    uow = InMemoryUnitOfWork(license_)
    revoke_license(RevokeLicense("h", "acme", "vendor"), uow)
    assert license_.revoked_by == "refund" and not uow.writes_anything


def test_a_won_dispute_gives_a_suspended_license_back_suspended():
    license_ = a_license()
    license_.suspend()
    events = run(license_, OPENED, WON)
    assert license_.status is LicenseStatus.SUSPENDED and license_.revoked_by is None
    assert not license_.revoked_while_suspended
    assert events == ["license.refunded", "license.reinstated"]


def test_a_won_dispute_closed_before_its_opening_gives_a_suspended_license_back_suspended():
    license_ = a_license()
    license_.suspend()
    run(license_, WON, OPENED)
    assert license_.status is LicenseStatus.SUSPENDED


def test_the_reinstated_announcement_says_the_status_it_came_back_to():
    license_ = a_license()
    license_.suspend()
    run(license_, OPENED)
    uow = InMemoryUnitOfWork(license_)
    close_dispute(WON, uow)
    [event] = uow.events
    assert event.fields["status"] == "suspended"
