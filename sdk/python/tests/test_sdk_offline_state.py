"""What the SDK decides offline, from the cached lease and the wall clock alone."""

from __future__ import annotations

import json
from collections.abc import Callable

from keylight_sdk import KeylightClient, LicenseState
from keylight_sdk.cache import LeaseCache
from keylight_sdk.lease import Lease, lease_expiry, public_key_b64
from nacl.signing import SigningKey
from sdk_testkit import DAY, HOUR, KID, T0, Clock, StubServer

MakeClient = Callable[..., KeylightClient]
MakeLease = Callable[..., Lease]
StoreLease = Callable[..., Lease]


def test_without_an_activation_the_state_is_invalid(make_client: MakeClient) -> None:
    assert make_client().state() is LicenseState.INVALID


def test_fresh_active_lease_is_licensed(make_client: MakeClient, store_lease: StoreLease) -> None:
    store_lease()
    status = make_client().status()
    assert status.state is LicenseState.LICENSED
    assert status.entitlements == ("pro",)


def test_fallback_lease_is_limited_without_entitlements(
    make_client: MakeClient, store_lease: StoreLease, make_lease: MakeLease
) -> None:
    store_lease(make_lease(status="fallback"))
    status = make_client().status()
    assert status.state is LicenseState.LIMITED
    assert status.entitlements == ()


def test_expired_status_lease_is_expired(
    make_client: MakeClient, store_lease: StoreLease, make_lease: MakeLease
) -> None:
    store_lease(make_lease(status="expired"))
    assert make_client().state() is LicenseState.EXPIRED


def test_lease_is_still_licensed_within_300_seconds_after_expiry(
    make_client: MakeClient, store_lease: StoreLease, clock: Clock
) -> None:
    lease = store_lease()
    clock.now = lease.expires_at + 300
    assert make_client().state() is LicenseState.LICENSED


def test_lease_is_expired_more_than_300_seconds_after_expiry(
    make_client: MakeClient, store_lease: StoreLease, clock: Clock
) -> None:
    lease = store_lease()
    clock.now = lease.expires_at + 301
    assert make_client().state() is LicenseState.EXPIRED


def test_clock_turned_back_more_than_an_hour_is_invalid(
    make_client: MakeClient, store_lease: StoreLease, clock: Clock
) -> None:
    store_lease()
    client = make_client()
    clock.now = T0 + 5 * HOUR
    assert client.state() is LicenseState.LICENSED
    clock.now = T0 + 5 * HOUR - HOUR - 1
    assert client.state() is LicenseState.INVALID


def test_clock_turned_back_by_at_most_an_hour_is_tolerated(
    make_client: MakeClient, store_lease: StoreLease, clock: Clock
) -> None:
    store_lease()
    client = make_client()
    clock.now = T0 + 5 * HOUR
    client.state()
    clock.now = T0 + 4 * HOUR
    assert client.state() is LicenseState.LICENSED


def test_rollback_is_noticed_by_a_new_client_on_the_same_cache(
    make_client: MakeClient, store_lease: StoreLease, clock: Clock
) -> None:
    store_lease()
    clock.now = T0 + 5 * HOUR
    make_client().state()
    clock.now = T0 + 2 * HOUR
    assert make_client().state() is LicenseState.INVALID


def test_lease_is_usable_for_15_days_offline(
    make_client: MakeClient, store_lease: StoreLease, make_lease: MakeLease, clock: Clock
) -> None:
    store_lease(make_lease(expires_at=T0 + 30 * DAY))  # a lease longer than ours
    clock.now = T0 + 15 * DAY
    assert make_client().state() is LicenseState.LICENSED


def test_more_than_15_days_offline_is_expired_whatever_the_lease_says(
    make_client: MakeClient, store_lease: StoreLease, make_lease: MakeLease, clock: Clock
) -> None:
    store_lease(make_lease(expires_at=T0 + 30 * DAY))
    clock.now = T0 + 15 * DAY + 1
    status = make_client().status()
    assert status.state is LicenseState.EXPIRED
    assert "15 days" in status.reason


def test_tampered_entitlements_in_the_cache_are_invalid(
    make_client: MakeClient, store_lease: StoreLease, cache: LeaseCache
) -> None:
    store_lease()
    data = json.loads(cache.path.read_text())
    data["lease"]["entitlements"] = ["pro", "admin"]
    cache.path.write_text(json.dumps(data))
    assert make_client().state() is LicenseState.INVALID


def test_tampered_expiry_in_the_cache_is_invalid(
    make_client: MakeClient, store_lease: StoreLease, cache: LeaseCache
) -> None:
    store_lease()
    data = json.loads(cache.path.read_text())
    data["lease"]["expiresAt"] += 365 * DAY
    cache.path.write_text(json.dumps(data))
    assert make_client().state() is LicenseState.INVALID


def test_unreadable_cache_is_invalid(
    make_client: MakeClient, store_lease: StoreLease, cache: LeaseCache
) -> None:
    store_lease()
    cache.path.write_text("garbage")
    assert make_client().state() is LicenseState.INVALID


def test_lease_signed_by_a_key_that_is_not_pinned_is_invalid(
    make_client: MakeClient, store_lease: StoreLease, make_lease: MakeLease
) -> None:
    store_lease(make_lease(key=SigningKey.generate()))
    assert make_client().state() is LicenseState.INVALID


def test_pinned_keys_win_over_keys_stored_in_the_cache(
    make_client: MakeClient, store_lease: StoreLease, make_lease: MakeLease
) -> None:
    forger = SigningKey.generate()
    store_lease(make_lease(key=forger), keys={KID: bytes(forger.verify_key)})
    assert make_client().state() is LicenseState.INVALID


def test_pinned_keys_may_be_given_as_base64(
    make_client: MakeClient, store_lease: StoreLease, signing_key: SigningKey
) -> None:
    store_lease()
    client = make_client(trusted_keys={KID: public_key_b64(signing_key)})
    assert client.state() is LicenseState.LICENSED


def test_without_pins_the_keys_stored_at_activation_are_trusted(
    make_client: MakeClient, store_lease: StoreLease, signing_key: SigningKey
) -> None:
    store_lease(keys={KID: bytes(signing_key.verify_key)})
    assert make_client(trusted_keys=None).state() is LicenseState.LICENSED


def test_lease_for_another_instance_is_invalid(
    make_client: MakeClient, store_lease: StoreLease
) -> None:
    store_lease(instance_id="00000000-0000-4000-8000-000000000002")
    assert make_client().state() is LicenseState.INVALID


def test_lease_for_another_license_key_is_invalid(
    make_client: MakeClient, store_lease: StoreLease
) -> None:
    store_lease(license_key="ACME-ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    assert make_client().state() is LicenseState.INVALID


# -- refresh timing -------------------------------------------------------------------------


def test_nothing_to_refresh_without_an_activation(make_client: MakeClient) -> None:
    assert not make_client().needs_refresh()


def test_refresh_is_not_due_before_the_lease_is_6_hours_old(
    make_client: MakeClient, store_lease: StoreLease, clock: Clock
) -> None:
    store_lease()
    clock.now = T0 + 6 * HOUR - 1
    assert not make_client().needs_refresh()


def test_refresh_is_due_once_the_lease_is_6_hours_old(
    make_client: MakeClient, store_lease: StoreLease, clock: Clock
) -> None:
    store_lease()
    clock.now = T0 + 6 * HOUR
    assert make_client().needs_refresh()


def test_refresh_is_due_in_the_last_24_hours_of_a_lease(
    make_client: MakeClient, store_lease: StoreLease, make_lease: MakeLease, clock: Clock
) -> None:
    # a lease cut short by its license's expiry: 26 h long
    store_lease(make_lease(expires_at=lease_expiry(T0, T0 + 26 * HOUR)))
    client = make_client()
    clock.now = T0 + 2 * HOUR - 1
    assert not client.needs_refresh()
    clock.now = T0 + 2 * HOUR
    assert client.needs_refresh()


def test_refresh_if_due_keeps_the_offline_state_when_the_server_is_unreachable(
    make_client: MakeClient, store_lease: StoreLease, cache: LeaseCache, clock: Clock
) -> None:
    lease = store_lease()
    clock.now = T0 + 7 * HOUR
    assert make_client().refresh_if_due().state is LicenseState.LICENSED
    assert cache.load().lease == lease


def test_refresh_if_due_keeps_the_offline_state_when_the_server_fails(
    make_client: MakeClient, store_lease: StoreLease, stub_server: StubServer, clock: Clock
) -> None:
    store_lease()
    stub_server.reply(503, {"error": "Service unavailable", "code": "UNAVAILABLE"})
    clock.now = T0 + 7 * HOUR
    assert make_client(stub_server.url).refresh_if_due().state is LicenseState.LICENSED


def test_refresh_if_due_does_not_call_the_server_when_not_due(
    make_client: MakeClient, store_lease: StoreLease, stub_server: StubServer, clock: Clock
) -> None:
    store_lease()
    clock.now = T0 + HOUR
    assert make_client(stub_server.url).refresh_if_due().state is LicenseState.LICENSED
    assert stub_server.requests == []
