"""LicenseEntity rules: seats, re-activation, deactivation, revoke and remint."""

from __future__ import annotations

import re
import uuid

import pytest

from keylight_actors.domain.catalog import KeyType
from keylight_actors.domain.errors import (
    ActivationLimitReached,
    Conflict,
    NotFound,
    RateLimited,
)
from keylight_actors.domain.license import (
    SECONDS_PER_DAY,
    InstanceAdded,
    InstanceRemoved,
    LicenseEntity,
    LicenseStatus,
)
from keylight_actors.domain.license_key import hash_license_key

NOW = 1_800_000_000


def key_type(**terms) -> KeyType:
    defaults = dict(product_id="app", key_type_id="pro", display_name="Pro",
                    activation_limit=2, entitlements=("pro",))
    return KeyType(**{**defaults, **terms})


def minted(**terms) -> tuple[LicenseEntity, str]:
    return LicenseEntity.mint(license_id="l-1", tenant_id="t", key_prefix="ACME",
                              key_type=key_type(**terms), customer_email=None, now=NOW)


def activate(license_: LicenseEntity, n: int, machine_hash: str | None = None):
    return license_.activate(new_instance_id=str(uuid.UUID(int=n)), name=f"device {n}",
                             machine_hash=machine_hash, now=NOW)


def test_mint_copies_limit_entitlements_and_expiry_from_the_key_type():
    license_, _ = minted(activation_limit=5, duration_days=30, entitlements=("a", "b"))
    assert license_.activation_limit == 5
    assert license_.entitlements == ("a", "b")
    assert license_.expires_at == NOW + 30 * SECONDS_PER_DAY


def test_mint_without_duration_never_expires():
    license_, _ = minted()
    assert license_.expires_at is None
    assert not license_.is_expired(NOW + 10_000 * SECONDS_PER_DAY)


def test_mint_keeps_only_the_hash_and_a_masked_form_of_the_key():
    license_, raw_key = minted()
    assert re.fullmatch(r"ACME(-[0-9A-HJKMNP-TV-Z]{4}){4}", raw_key)
    assert license_.key_hash == hash_license_key(raw_key)
    assert raw_key[5:9] not in license_.key_display
    assert license_.key_display.endswith(raw_key[-4:])


def test_each_new_device_takes_a_seat_until_the_limit():
    license_, _ = minted(activation_limit=2)
    activate(license_, 1, "a" * 64)
    activate(license_, 2, "b" * 64)
    with pytest.raises(ActivationLimitReached):
        activate(license_, 3, "c" * 64)
    assert license_.seats_used == 2


def test_the_same_machine_gets_its_seat_back_without_taking_another():
    license_, _ = minted(activation_limit=1)
    first, is_new = activate(license_, 1, "a" * 64)
    again, again_new = activate(license_, 2, "a" * 64)
    assert (is_new, again_new) == (True, False)
    assert again.instance_id == first.instance_id
    assert license_.changes == (InstanceAdded(first),)


def test_without_machine_hash_every_activation_is_a_new_instance():
    license_, _ = minted(activation_limit=2)
    first, _ = activate(license_, 1)
    second, _ = activate(license_, 2)
    assert first.instance_id != second.instance_id
    assert license_.seats_used == 2


def test_deactivate_frees_the_seat_and_records_the_removal():
    license_, _ = minted(activation_limit=1)
    instance, _ = activate(license_, 1, "a" * 64)
    license_.deactivate(instance.instance_id, NOW + 5)
    assert license_.seats_used == 0
    assert license_.changes[-1] == InstanceRemoved(instance.instance_id, NOW + 5)
    activate(license_, 2, "b" * 64)


def test_deactivating_an_unknown_instance_is_not_found():
    license_, _ = minted()
    with pytest.raises(NotFound):
        license_.deactivate("nope", NOW)


def test_a_copy_records_its_own_changes_and_leaves_the_original_alone():
    license_, _ = minted()
    draft = license_.copy()
    activate(draft, 1)
    assert license_.seats_used == 0 and license_.changes == ()
    assert draft.seats_used == 1


def test_revoking_twice_changes_nothing_the_second_time():
    license_, _ = minted()
    assert license_.revoke() is True
    assert license_.revoke() is False
    assert license_.status is LicenseStatus.REVOKED


def test_remint_retires_the_key_and_issues_one_with_the_same_terms():
    license_, old_key = minted(duration_days=10)
    activate(license_, 1)
    successor, new_key = license_.remint(new_license_id="l-2", key_prefix="ACME", now=NOW + 1)
    assert license_.status is LicenseStatus.REMINTED
    assert new_key != old_key
    assert successor.reminted_from == "l-1"
    assert successor.expires_at == license_.expires_at
    assert successor.activation_limit == license_.activation_limit
    assert successor.seats_used == 0


def test_a_revoked_license_cannot_be_reminted():
    license_, _ = minted()
    license_.revoke()
    with pytest.raises(Conflict):
        license_.remint(new_license_id="l-2", key_prefix="ACME", now=NOW)


def test_device_churn_beyond_the_daily_limit_is_rate_limited():
    license_, _ = minted(activation_limit=1, churn_limit_per_day=3)
    first, _ = activate(license_, 1, "a" * 64)
    license_.deactivate(first.instance_id, NOW + 1, by_device=True)
    activate(license_, 2, "b" * 64)
    with pytest.raises(RateLimited) as refused:
        license_.deactivate(str(uuid.UUID(int=2)), NOW + 2, by_device=True)
    assert refused.value.retry_after == SECONDS_PER_DAY - 2


def test_the_vendor_deactivating_a_device_does_not_count_as_churn():
    license_, _ = minted(activation_limit=1, churn_limit_per_day=1)
    first, _ = activate(license_, 1, "a" * 64)
    license_.deactivate(first.instance_id, NOW + 1)
    with pytest.raises(RateLimited):
        activate(license_, 2, "b" * 64)
    assert license_.seats_used == 0


def test_churn_comes_back_into_allowance_after_a_day():
    license_, _ = minted(activation_limit=2, churn_limit_per_day=1)
    activate(license_, 1, "a" * 64)
    license_.activate(new_instance_id=str(uuid.UUID(int=2)), name="later", machine_hash="b" * 64,
                      now=NOW + SECONDS_PER_DAY)
    assert license_.seats_used == 2
