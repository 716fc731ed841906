"""The vendor's edits of one license (issue 20): change its terms and fields, suspend and
reinstate it; and what the SDK's use cases answer for a suspended license, and the device
check-in a validate stores at most once an hour."""

from __future__ import annotations

import pytest

from keylight_actors.domain.errors import (
    ActivationLimitReached,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unprocessable,
)
from keylight_actors.domain.license import InstanceCheckedIn, LicenseStatus
from keylight_actors.services.activation import (
    Activate,
    Deactivate,
    Validate,
    activate,
    deactivate,
    validate,
)
from keylight_actors.services.licenses import (
    EditLicense,
    ReinstateLicense,
    SuspendLicense,
    edit_license,
    reinstate_license,
    suspend_license,
)
from keylight_actors.services.unit_of_work import LicenseDetailsChanged

from .memory import NOW, InMemoryUnitOfWork, a_license

HOUR = 3_600


def _activate(license_, machine="a", *, now=NOW):
    uow = InMemoryUnitOfWork(license_, now=now)
    return activate(Activate(license_.key_hash, "acme", "app", "laptop", machine * 64, "k1"),
                    uow)


def _validate(license_, instance_id, *, now=NOW):
    uow = InMemoryUnitOfWork(license_, now=now)
    return validate(Validate(license_.key_hash, "acme", "app", instance_id, None, "k1"),
                    uow), uow


def _edit(license_, tenant_id="acme", *, now=NOW, **fields):
    uow = InMemoryUnitOfWork(license_, now=now)
    edited = edit_license(EditLicense(license_.key_hash, tenant_id, "tenant:acme",
                                      tuple(fields), **fields), uow)
    return edited, uow


# -- edit -------------------------------------------------------------------------------


def test_an_edit_of_the_limit_saves_the_license_and_is_audited():
    edited, uow = _edit(a_license(activation_limit=2), activation_limit=5)
    assert edited.activation_limit == 5 and uow.saved
    assert uow.audit_actions() == ["license.edit"]


def test_a_limit_below_the_active_devices_keeps_them_and_refuses_a_new_one():
    license_ = a_license(activation_limit=3)
    first = _activate(license_, "a")
    _activate(license_, "b")
    edited, _ = _edit(license_, activation_limit=1)
    assert edited.over_limit_by == 1
    assert _validate(license_, first.instance_id)[0].status == "active"
    with pytest.raises(ActivationLimitReached):
        _activate(license_, "c")


def test_the_lowered_limit_still_refuses_a_device_while_the_count_is_not_below_it():
    license_ = a_license(activation_limit=2)
    first = _activate(license_, "a")
    _activate(license_, "b")
    _edit(license_, activation_limit=1)
    deactivate(Deactivate(license_.key_hash, "acme", "app", first.instance_id),
               InMemoryUnitOfWork(license_, now=NOW + 1))
    with pytest.raises(ActivationLimitReached):
        _activate(license_, "c", now=NOW + 2)  # one active, limit one: still full
    assert license_.over_limit_by == 0


def test_a_limit_below_one_is_invalid_input_naming_the_field():
    with pytest.raises(InvalidInput, match="activation_limit"):
        _edit(a_license(), activation_limit=0)


def test_an_expiry_moved_into_the_future_makes_an_expired_license_usable_again():
    license_ = a_license(expires_at=NOW - 10)
    _activate(license_)  # announces the expiry
    assert license_.expiry_announced
    edited, _ = _edit(license_, expires_at=NOW + 86_400)
    assert not edited.expiry_announced
    assert _activate(license_).instance_id is not None


def test_an_expiry_moved_into_the_past_expires_the_license_at_once():
    license_ = a_license()
    first = _activate(license_)
    _edit(license_, expires_at=NOW - 1)
    validated, uow = _validate(license_, first.instance_id)
    assert validated.status == "expired" and uow.event_types() == ["license.expired"]


def test_an_expiry_of_none_makes_the_license_perpetual():
    edited, _ = _edit(a_license(), expires_at=None)
    assert edited.expires_at is None


def test_an_edit_of_the_email_and_metadata_records_the_row_fields():
    edited, uow = _edit(a_license(), customer_email="ana@example.com",
                        metadata={"crm": "42"})
    assert edited.customer_email == "ana@example.com"
    assert uow.records == [LicenseDetailsChanged("lic-1", "ana@example.com", {"crm": "42"},
                                                 set_email=True, set_metadata=True)]


def test_an_edit_of_the_metadata_alone_does_not_save_the_license():
    _, uow = _edit(a_license(), metadata={"crm": "42"})
    assert not uow.saved and len(uow.records) == 1


def test_metadata_over_four_kib_is_invalid_input_naming_the_field():
    with pytest.raises(InvalidInput, match="metadata"):
        _edit(a_license(), metadata={"notes": "x" * 4_100})


def test_metadata_that_is_not_an_object_is_invalid_input():
    with pytest.raises(InvalidInput, match="metadata"):
        _edit(a_license(), metadata=["not", "an", "object"])


def test_an_edit_naming_no_field_is_invalid_input():
    with pytest.raises(InvalidInput):
        _edit(a_license())


def test_a_revoked_license_cannot_be_edited():
    license_ = a_license()
    license_.revoke()
    with pytest.raises(Conflict):
        _edit(license_, activation_limit=5)


def test_another_tenants_license_cannot_be_edited():
    with pytest.raises(NotFound):
        _edit(a_license(), "globex", activation_limit=5)


# -- suspend and reinstate --------------------------------------------------------------


def test_a_suspension_is_saved_and_audited():
    uow = InMemoryUnitOfWork(a_license())
    suspended = suspend_license(SuspendLicense("h", "acme", "tenant:acme"), uow)
    assert suspended.status is LicenseStatus.SUSPENDED and uow.saved
    assert uow.audit_actions() == ["license.suspend"]


def test_suspending_twice_writes_nothing_the_second_time():
    license_ = a_license()
    suspend_license(SuspendLicense("h", "acme", "t"), InMemoryUnitOfWork(license_))
    uow = InMemoryUnitOfWork(license_)
    suspend_license(SuspendLicense("h", "acme", "t"), uow)
    assert not uow.writes_anything


def test_a_suspended_license_refuses_activation_as_forbidden():
    license_ = a_license()
    license_.suspend()
    with pytest.raises(Forbidden) as refused:
        _activate(license_)
    assert refused.value.code == "LICENSE_SUSPENDED"


def test_a_suspended_license_does_not_validate_and_keeps_its_devices():
    license_ = a_license()
    first = _activate(license_)
    license_.suspend()
    with pytest.raises(Unprocessable) as refused:
        _validate(license_, first.instance_id)
    assert refused.value.code == "LICENSE_SUSPENDED" and license_.seats_used == 1


def test_a_suspended_license_still_frees_a_seat_on_deactivate():
    license_ = a_license()
    first = _activate(license_)
    license_.suspend()
    deactivate(Deactivate(license_.key_hash, "acme", "app", first.instance_id),
               InMemoryUnitOfWork(license_))
    assert license_.seats_used == 0


def test_a_reinstated_license_validates_again():
    license_ = a_license()
    first = _activate(license_)
    license_.suspend()
    uow = InMemoryUnitOfWork(license_)
    reinstate_license(ReinstateLicense("h", "acme", "t"), uow)
    assert uow.audit_actions() == ["license.reinstate"]
    assert _validate(license_, first.instance_id)[0].status == "active"


@pytest.mark.parametrize("end", ["revoke", "remint"])
def test_revoked_and_reminted_licenses_cannot_be_suspended_or_reinstated(end):
    license_ = a_license()
    if end == "revoke":
        license_.revoke()
    else:
        license_.remint(new_license_id="lic-2", key_prefix="ACME", now=NOW)
    for case, command in ((suspend_license, SuspendLicense), (reinstate_license,
                                                              ReinstateLicense)):
        with pytest.raises(Conflict):
            case(command("h", "acme", "t"), InMemoryUnitOfWork(license_))


def test_a_suspended_license_can_be_revoked():
    license_ = a_license()
    license_.suspend()
    assert license_.revoke() and license_.status is LicenseStatus.REVOKED


# -- the device's check-in --------------------------------------------------------------


def test_an_activation_counts_as_the_first_check_in():
    license_ = a_license()
    first = _activate(license_)
    assert license_.instances.get(first.instance_id).last_validated_at == NOW


def test_a_validate_within_the_hour_of_the_last_check_in_writes_nothing():
    license_ = a_license()
    first = _activate(license_)
    _, uow = _validate(license_, first.instance_id, now=NOW + HOUR - 1)
    assert not uow.writes_anything


def test_a_validate_an_hour_after_the_last_check_in_saves_it():
    license_ = a_license()
    first = _activate(license_)
    license_.changes = ()
    _, uow = _validate(license_, first.instance_id, now=NOW + HOUR)
    assert uow.saved and license_.changes == (InstanceCheckedIn(first.instance_id,
                                                                NOW + HOUR),)
    assert license_.instances.get(first.instance_id).last_validated_at == NOW + HOUR
