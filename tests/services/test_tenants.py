"""Use cases of tenants: creation, lifecycle, Stripe connection, SDK quota, snapshot."""

from __future__ import annotations

import pytest

from keylight_actors.domain.credentials import hash_credential
from keylight_actors.domain.errors import Conflict, InvalidInput
from keylight_actors.domain.lifecycle import Lifecycle
from keylight_actors.services.tenants import (
    ConnectStripe,
    CreateTenant,
    GetSnapshot,
    LeaseSdkTokens,
    SetLifecycle,
    SetSdkQuota,
    TenantSnapshot,
    connect_stripe,
    create_tenant,
    lease_sdk_tokens,
    set_lifecycle,
    set_sdk_quota,
    snapshot,
)
from keylight_actors.services.unit_of_work import SigningKeyAdded

from .memory import InMemoryUnitOfWork, a_tenant


def test_a_new_tenant_starts_pending_verification_with_its_first_signing_key():
    uow = InMemoryUnitOfWork()
    created = create_tenant(CreateTenant("acme", "Acme", True, "operator"), uow)
    assert uow.added is not None and uow.added.lifecycle is Lifecycle.PENDING_VERIFICATION
    assert created.signing_key.kid == "k1" and created.signing_key.primary
    [row] = uow.records
    assert isinstance(row, SigningKeyAdded) and len(row.private_key) == 32


def test_a_new_tenant_stores_only_hashes_of_the_secrets_it_answers():
    uow = InMemoryUnitOfWork()
    created = create_tenant(CreateTenant("acme", "Acme", True, "operator"), uow)
    tenant = uow.added
    assert tenant is not None and created.sdk_key is not None
    assert tenant.sdk_key_hash == hash_credential(created.sdk_key)
    assert tenant.checkout_key_hash == hash_credential(created.checkout_api_key)
    assert tenant.management_token_hash == hash_credential(created.management_token)


def test_a_tenant_created_without_an_sdk_key_requires_none():
    uow = InMemoryUnitOfWork()
    created = create_tenant(CreateTenant("acme", "Acme", False, "operator"), uow)
    assert created.sdk_key is None and uow.added is not None
    assert uow.added.sdk_key_hash is None


def test_creating_a_tenant_is_audited_with_its_name():
    uow = InMemoryUnitOfWork()
    create_tenant(CreateTenant("acme", "Acme", True, "operator"), uow)
    [entry] = uow.audits
    assert (entry.actor, entry.action, entry.details) == ("operator", "tenant.create",
                                                           {"name": "Acme"})


def test_a_lifecycle_move_saves_the_tenant_and_answers_the_new_snapshot():
    uow = InMemoryUnitOfWork(a_tenant(lifecycle=Lifecycle.PENDING_VERIFICATION))
    answer = set_lifecycle(SetLifecycle("acme", "active", "operator"), uow)
    assert uow.saved and answer.lifecycle is Lifecycle.ACTIVE and answer.version == 2
    assert uow.audit_actions() == ["tenant.lifecycle"]


def test_an_illegal_lifecycle_move_is_a_conflict_and_writes_nothing():
    uow = InMemoryUnitOfWork(a_tenant(lifecycle=Lifecycle.CLOSED))
    with pytest.raises(Conflict):
        set_lifecycle(SetLifecycle("acme", "active", "operator"), uow)
    assert not uow.writes_anything


def test_an_unknown_lifecycle_is_invalid_input():
    uow = InMemoryUnitOfWork(a_tenant())
    with pytest.raises(InvalidInput):
        set_lifecycle(SetLifecycle("acme", "sleeping", "operator"), uow)


def test_connecting_stripe_records_the_account_on_the_tenant():
    uow = InMemoryUnitOfWork(a_tenant())
    answer = connect_stripe(ConnectStripe("acme", "acct_1", "operator"), uow)
    assert answer.stripe_account_id == "acct_1" and uow.saved
    assert uow.audits[0].details == {"stripe_account_id": "acct_1"}


def test_an_sdk_quota_below_one_call_is_refused():
    uow = InMemoryUnitOfWork(a_tenant())
    with pytest.raises(InvalidInput):
        set_sdk_quota(SetSdkQuota("acme", 0, "operator"), uow)
    assert not uow.writes_anything


def test_setting_the_sdk_quota_answers_it_in_the_snapshot():
    uow = InMemoryUnitOfWork(a_tenant())
    answer = set_sdk_quota(SetSdkQuota("acme", 600, "operator"), uow)
    assert answer.sdk_quota_per_minute == 600 and uow.audit_actions() == ["tenant.sdk_quota"]


def test_a_tenant_without_a_quota_leases_unlimited_tokens():
    uow = InMemoryUnitOfWork(a_tenant())
    assert lease_sdk_tokens(LeaseSdkTokens("acme", 10), uow).unlimited


def test_sdk_tokens_are_granted_up_to_the_quota_and_written_nowhere():
    uow = InMemoryUnitOfWork(a_tenant(sdk_quota_per_minute=2))
    leases = [lease_sdk_tokens(LeaseSdkTokens("acme", 1), uow) for _ in range(3)]
    assert [lease.granted for lease in leases] == [1, 1, 0]
    assert not uow.writes_anything


def test_the_snapshot_survives_its_wire_form():
    tenant = a_tenant()
    taken = snapshot(GetSnapshot("acme"), InMemoryUnitOfWork(tenant))
    assert TenantSnapshot.from_wire(taken.to_wire()) == taken
    assert taken.key_type("app", "pro") is not None and taken.key_type("app", "x") is None


def test_the_snapshot_publishes_only_unretired_keys():
    tenant = a_tenant()
    tenant.signing_keys["k0"] = tenant.signing_keys["k1"].__class__("k0", "b2xk", False, True)
    taken = snapshot(GetSnapshot("acme"), InMemoryUnitOfWork(tenant))
    assert [key.kid for key in taken.signing_keys] == ["k1"]
