"""The SDK's use cases: activate, validate, deactivate."""

from __future__ import annotations

import pytest

from keylight_actors.domain.errors import ActivationLimitReached, NotFound, Unprocessable
from keylight_actors.services.activation import (
    Activate,
    Deactivate,
    Validate,
    activate,
    deactivate,
    validate,
)

from .memory import NOW, InMemoryUnitOfWork, a_license

MACHINE = "a" * 64


def _activate(license_, machine_hash=MACHINE, tenant_id="acme", product_id="app"):
    uow = InMemoryUnitOfWork(license_)
    activated = activate(Activate(license_.key_hash, tenant_id, product_id, "laptop",
                                  machine_hash, "k1"), uow)
    return activated, uow


def _validate(license_, instance_id, machine_hash=None):
    uow = InMemoryUnitOfWork(license_)
    return validate(Validate(license_.key_hash, "acme", "app", instance_id, machine_hash,
                             "k1"), uow), uow


def test_a_first_activation_takes_a_seat_and_announces_it():
    activated, uow = _activate(a_license())
    assert not activated.expired and activated.at == NOW
    assert activated.license.seats_used == 1 and uow.saved
    assert uow.event_types() == ["license.activated"]


def test_the_same_device_gets_its_seat_back_and_nothing_is_written():
    license_ = a_license()
    first, _ = _activate(license_)
    again, uow = _activate(license_)
    assert again.instance_id == first.instance_id and not uow.writes_anything


def test_a_device_without_a_machine_hash_takes_a_new_seat_each_time():
    license_ = a_license()
    first, _ = _activate(license_, machine_hash=None)
    second, _ = _activate(license_, machine_hash=None)
    assert first.instance_id != second.instance_id and license_.seats_used == 2


def test_a_full_license_refuses_another_device():
    license_ = a_license(activation_limit=1)
    _activate(license_)
    with pytest.raises(ActivationLimitReached):
        _activate(license_, machine_hash="b" * 64)


def test_another_tenants_license_answers_as_unknown():
    with pytest.raises(NotFound):
        _activate(a_license(), tenant_id="globex")


def test_another_products_license_answers_as_unknown():
    with pytest.raises(NotFound):
        _activate(a_license(), product_id="other")


def test_a_revoked_key_answers_as_unknown_on_activation():
    license_ = a_license()
    license_.revoke()
    with pytest.raises(NotFound):
        _activate(license_)


def test_an_expired_license_takes_no_seat_and_is_announced_once():
    license_ = a_license(expires_at=NOW - 1)
    activated, uow = _activate(license_)
    assert activated.expired and license_.seats_used == 0
    assert uow.event_types() == ["license.expired"] and uow.saved
    again, uow = _activate(license_)
    assert again.expired and not uow.writes_anything


def test_a_valid_seat_validates_without_writing():
    license_ = a_license()
    activated, _ = _activate(license_)
    validated, uow = _validate(license_, activated.instance_id)
    assert validated.status == "active" and not uow.writes_anything


def test_an_unknown_instance_is_not_active():
    with pytest.raises(Unprocessable) as refused:
        _validate(a_license(), "no-such-instance")
    assert refused.value.code == "INSTANCE_NOT_ACTIVE"


def test_a_seat_validated_from_another_machine_is_not_active():
    license_ = a_license()
    activated, _ = _activate(license_)
    with pytest.raises(Unprocessable):
        _validate(license_, activated.instance_id, machine_hash="b" * 64)


def test_a_revoked_license_does_not_validate():
    license_ = a_license()
    activated, _ = _activate(license_)
    license_.revoke()
    with pytest.raises(Unprocessable) as refused:
        _validate(license_, activated.instance_id)
    assert refused.value.code == "LICENSE_REVOKED"


def test_an_expired_license_validates_to_an_expired_lease_and_is_announced():
    license_ = a_license()
    activated, _ = _activate(license_)
    license_.expires_at = NOW - 1
    validated, uow = _validate(license_, activated.instance_id)
    assert validated.status == "expired" and uow.event_types() == ["license.expired"]


def test_an_expired_license_with_fallback_access_validates_to_a_fallback_lease():
    license_ = a_license(fallback_access=True, expires_at=NOW - 1)
    validated, _ = _validate(license_, "any-instance")
    assert validated.status == "fallback"


def test_deactivating_frees_the_seat_and_announces_it():
    license_ = a_license()
    activated, _ = _activate(license_)
    uow = InMemoryUnitOfWork(license_)
    deactivate(Deactivate(license_.key_hash, "acme", "app", activated.instance_id), uow)
    assert license_.seats_used == 0 and uow.event_types() == ["license.deactivated"]


def test_deactivating_an_inactive_device_writes_nothing():
    uow = InMemoryUnitOfWork(a_license())
    deactivate(Deactivate("h", "acme", "app", "gone"), uow)
    assert not uow.writes_anything
