"""Minting by hand, and the license.created event."""

from __future__ import annotations

import pytest

from keylight_actors.domain.errors import Forbidden, RateLimited
from keylight_actors.domain.license_key import hash_license_key
from keylight_actors.domain.lifecycle import Lifecycle
from keylight_actors.domain.tenant import MINTS_PER_HOUR
from keylight_actors.services.licenses import MintLicense, mint_license
from keylight_actors.services.unit_of_work import LicenseAdded

from .memory import NOW, InMemoryUnitOfWork, a_tenant

MINT = MintLicense("acme", "app", "pro", "buyer@example.com", "tenant:acme")


def test_a_hand_mint_answers_the_raw_key_of_the_license_it_stores():
    uow = InMemoryUnitOfWork(a_tenant())
    minted = mint_license(MINT, uow)
    assert minted.key.startswith("ACME-")
    assert minted.license.key_hash == hash_license_key(minted.key)
    assert uow.records == [LicenseAdded(minted.license, source="manual")]


def test_a_minted_license_takes_the_key_type_terms():
    minted = mint_license(MINT, InMemoryUnitOfWork(a_tenant()))
    license_ = minted.license
    assert (license_.activation_limit, license_.entitlements) == (3, ("pro",))
    assert license_.expires_at == NOW + 365 * 86_400


def test_a_hand_mint_announces_license_created_with_the_raw_key_and_no_session():
    uow = InMemoryUnitOfWork(a_tenant())
    minted = mint_license(MINT, uow)
    [event] = uow.events
    assert event.event_type == "license.created"
    assert event.fields["key"] == minted.key and event.fields["session_id"] is None
    assert event.fields["customer_email"] == "buyer@example.com"


def test_a_hand_mint_is_audited_without_the_key():
    uow = InMemoryUnitOfWork(a_tenant())
    minted = mint_license(MINT, uow)
    [entry] = uow.audits
    assert entry.action == "license.mint" and minted.key not in repr(entry)


def test_a_tenant_that_is_not_active_cannot_mint():
    uow = InMemoryUnitOfWork(a_tenant(lifecycle=Lifecycle.SUSPENDED))
    with pytest.raises(Forbidden):
        mint_license(MINT, uow)
    assert not uow.writes_anything


def test_hand_mints_are_limited_per_hour():
    tenant = a_tenant()
    for _ in range(MINTS_PER_HOUR):
        mint_license(MINT, InMemoryUnitOfWork(tenant))
    with pytest.raises(RateLimited):
        mint_license(MINT, InMemoryUnitOfWork(tenant))
