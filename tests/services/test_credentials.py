"""Use cases of credentials: rotation, removal of the SDK key, signing keys."""

from __future__ import annotations

import pytest

from keylight_actors.domain.credentials import hash_credential
from keylight_actors.domain.errors import Conflict, InvalidInput
from keylight_actors.domain.tenant import SDK_KEY_OVERLAP_SECONDS
from keylight_actors.services.credentials import (
    RemoveSdkKey,
    RetireSigningKey,
    RotateCredential,
    RotateSigningKey,
    remove_sdk_key,
    retire_signing_key,
    rotate_credential,
    rotate_signing_key,
)
from keylight_actors.services.unit_of_work import SigningKeyAdded, SigningKeysChanged

from .memory import NOW, InMemoryUnitOfWork, a_tenant


def test_a_rotated_sdk_key_keeps_the_old_one_working_for_a_day():
    uow = InMemoryUnitOfWork(a_tenant())
    rotated = rotate_credential(RotateCredential("acme", "sdk_key", "t"), uow)
    tenant = uow.entity
    assert tenant.sdk_key_hash == hash_credential(rotated.secret)
    assert tenant.sdk_key_previous_hash == "s" * 64
    assert tenant.sdk_key_previous_until == NOW + SDK_KEY_OVERLAP_SECONDS


def test_a_rotated_checkout_key_replaces_the_old_one_at_once():
    uow = InMemoryUnitOfWork(a_tenant())
    rotated = rotate_credential(RotateCredential("acme", "checkout_api_key", "t"), uow)
    assert rotated.snapshot.checkout_key_hash == hash_credential(rotated.secret)
    assert uow.audit_actions() == ["credential.rotate.checkout_api_key"]


def test_a_rotated_credential_is_not_shown_by_its_repr():
    rotated = rotate_credential(RotateCredential("acme", "management_token", "t"),
                                InMemoryUnitOfWork(a_tenant()))
    assert rotated.secret not in repr(rotated)


def test_only_known_credentials_rotate():
    uow = InMemoryUnitOfWork(a_tenant())
    with pytest.raises(InvalidInput):
        rotate_credential(RotateCredential("acme", "password", "t"), uow)
    assert not uow.writes_anything


def test_removing_the_sdk_key_forgets_the_previous_one_too():
    uow = InMemoryUnitOfWork(a_tenant(sdk_key_previous_hash="p" * 64,
                                      sdk_key_previous_until=NOW + 10))
    snapshot = remove_sdk_key(RemoveSdkKey("acme", "t"), uow)
    assert (snapshot.sdk_key_hash, snapshot.sdk_key_previous_hash) == (None, None)


def test_a_new_signing_key_becomes_primary_and_the_old_one_stays_published():
    uow = InMemoryUnitOfWork(a_tenant())
    snapshot = rotate_signing_key(RotateSigningKey("acme", "t"), uow)
    assert snapshot.primary_kid == "k2"
    assert [key.kid for key in snapshot.signing_keys] == ["k1", "k2"]
    added, changed = uow.records
    assert isinstance(added, SigningKeyAdded) and added.key.kid == "k2"
    assert changed == SigningKeysChanged()


def test_an_old_signing_key_can_be_retired():
    uow = InMemoryUnitOfWork(a_tenant())
    rotate_signing_key(RotateSigningKey("acme", "t"), uow)
    snapshot = retire_signing_key(RetireSigningKey("acme", "k1", "t"), uow)
    assert [key.kid for key in snapshot.signing_keys] == ["k2"]


def test_the_primary_signing_key_cannot_be_retired():
    with pytest.raises(Conflict):
        retire_signing_key(RetireSigningKey("acme", "k1", "t"), InMemoryUnitOfWork(a_tenant()))
