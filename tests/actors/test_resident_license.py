"""A license host keeps its licenses packed: a revived license is the license it packed."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from keylight_actors.actors.resident_license import (
    IDENTITY_FIELDS,
    TERMS_FIELDS,
    devices_in,
    pack_license,
    unpack_license,
)
from keylight_actors.domain.catalog import KeyType
from keylight_actors.domain.errors import RateLimited
from keylight_actors.domain.license import LicenseEntity, LicenseStatus

NOW = 1_800_000_000


def minted(**terms) -> LicenseEntity:
    key_type = KeyType(**{"product_id": "app", "key_type_id": "pro", "display_name": "Pro",
                          "activation_limit": 5, "entitlements": ("export", "sync"), **terms})
    license_, _ = LicenseEntity.mint(license_id=str(uuid.uuid4()), tenant_id="acme",
                                     key_prefix="ACME", key_type=key_type,
                                     customer_email="ana@example.com", now=NOW)
    return license_


def activate(license_: LicenseEntity, n: int, *, at: int = NOW) -> None:
    license_.activate(new_instance_id=str(uuid.UUID(int=n)), name=f"device {n}",
                      machine_hash=f"{n:064x}", now=at)


def committed(license_: LicenseEntity) -> LicenseEntity:
    license_.changes = ()
    return license_


def revived(license_: LicenseEntity) -> LicenseEntity:
    return unpack_license(license_.key_hash, pack_license(license_))


def test_a_license_as_minted_comes_back_equal():
    license_ = minted()
    assert revived(license_) == license_


def test_a_license_with_devices_churn_and_every_term_set_comes_back_equal():
    license_ = minted(duration_days=30, fallback_access=True, churn_limit_per_day=9)
    for n in range(1, 4):
        activate(license_, n, at=NOW + n)
    license_.deactivate(str(uuid.UUID(int=2)), NOW + 10, by_device=True)
    license_.suspend()
    license_.revoke(by="dispute:dp_1")  # a Stripe revocation of a suspended license
    license_.payment_settled = ("dispute:dp_1",)
    license_.expiry_announced_for = license_.expires_at
    license_.reminted_from = str(uuid.uuid4())
    license_.version = 7
    again = revived(committed(license_))
    assert again == license_
    assert again.status is LicenseStatus.REVOKED and again.revoked_while_suspended
    assert [device.name for device in again.instances] == ["device 1", "device 3"]


def test_a_revived_license_is_a_copy_of_its_own():
    license_ = committed(minted())
    activate(license_, 1)
    packed = pack_license(committed(license_))
    first = unpack_license(license_.key_hash, packed)
    activate(first, 2)
    assert unpack_license(license_.key_hash, packed).seats_used == 1


def test_recorded_changes_are_not_kept():
    license_ = minted()
    activate(license_, 1)
    assert license_.changes and revived(license_).changes == ()


def test_the_churn_limit_still_holds_after_reviving():
    license_ = minted(churn_limit_per_day=2)
    activate(license_, 1)
    activate(license_, 2)
    again = revived(committed(license_))
    with pytest.raises(RateLimited):
        again.deactivate(str(uuid.UUID(int=1)), NOW + 1, by_device=True)


def test_the_device_count_is_read_without_reviving():
    license_ = minted()
    assert devices_in(pack_license(license_)) == 0
    for n in range(1, 4):
        activate(license_, n)
    assert devices_in(pack_license(license_)) == 3


def test_every_field_of_a_license_is_packed_or_named_as_not_packed():
    # A field added to LicenseEntity must be packed too, or a revived license loses it.
    declared = [field.name for field in dataclasses.fields(LicenseEntity)]
    assert declared == [*IDENTITY_FIELDS, "key_hash", "key_display", "status", *TERMS_FIELDS,
                        "churn", "instances", "changes"]
