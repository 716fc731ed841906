"""The client's side of activate, validate and deactivate, against a scripted local server."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from keylight_sdk import (
    SDK_VERSION,
    KeylightAPIError,
    KeylightClient,
    LeaseVerificationError,
    LicenseState,
    NotActivatedError,
)
from keylight_sdk.cache import LeaseCache
from keylight_sdk.lease import Lease, public_key_b64
from nacl.signing import SigningKey
from sdk_testkit import INSTANCE_ID, KID, LICENSE_KEY, PRODUCT, TENANT, StubServer

MakeClient = Callable[..., KeylightClient]
MakeLease = Callable[..., Lease]
StoreLease = Callable[..., Lease]
MACHINE_HASH = "cd" * 32


def _activated(lease: Lease) -> dict[str, Any]:
    return {
        "activated": True,
        "instance_id": lease.instance_id,
        "lease": lease.to_wire(),
        "license_expires_at": None,
        "error": None,
    }


def _keyset(*keys: tuple[str, SigningKey]) -> dict[str, Any]:
    return {
        "primary_kid": keys[0][0],
        "keys": [
            {"kid": kid, "alg": "ed25519", "public_key": public_key_b64(key)} for kid, key in keys
        ],
    }


def test_activate_posts_the_documented_request(
    make_client: MakeClient, make_lease: MakeLease, stub_server: StubServer
) -> None:
    stub_server.reply(200, _activated(make_lease()))
    make_client(stub_server.url, sdk_key="sdk_live_" + "0" * 64).activate(
        " acme-abcd-efgh-jkmn-pqrs ", "laptop", machine_hash=MACHINE_HASH
    )
    request = stub_server.requests[0]
    assert (request.method, request.path) == ("POST", f"/{TENANT}/{PRODUCT}/activate")
    assert request.headers["x-keylight-sdk-key"] == "sdk_live_" + "0" * 64
    assert re.fullmatch(r"[0-9a-f]{8}", request.headers["x-keylight-request-id"])
    assert request.body["license_key"] == LICENSE_KEY
    assert request.body["instance_name"] == "laptop"
    assert request.body["machine_hash"] == MACHINE_HASH
    assert (request.body["sdk"], request.body["sdk_version"]) == ("python", SDK_VERSION)


def test_activate_without_an_sdk_key_sends_no_sdk_key_header(
    make_client: MakeClient, make_lease: MakeLease, stub_server: StubServer
) -> None:
    stub_server.reply(200, _activated(make_lease()))
    make_client(stub_server.url).activate(LICENSE_KEY, "laptop")
    assert "x-keylight-sdk-key" not in stub_server.requests[0].headers
    assert "machine_hash" not in stub_server.requests[0].body


def test_activate_caches_the_verified_lease_and_is_licensed(
    make_client: MakeClient, make_lease: MakeLease, stub_server: StubServer, cache: LeaseCache
) -> None:
    lease = make_lease()
    stub_server.reply(200, _activated(lease))
    status = make_client(stub_server.url).activate(LICENSE_KEY, "laptop")
    assert status.state is LicenseState.LICENSED
    assert status.instance_id == INSTANCE_ID
    assert cache.load().lease == lease


def test_activate_refuses_a_lease_not_signed_by_a_pinned_key(
    make_client: MakeClient, make_lease: MakeLease, stub_server: StubServer, cache: LeaseCache
) -> None:
    stub_server.reply(200, _activated(make_lease(key=SigningKey.generate())))
    with pytest.raises(LeaseVerificationError):
        make_client(stub_server.url).activate(LICENSE_KEY, "laptop")
    assert cache.load() is None


def test_activate_refuses_a_lease_for_another_key(
    make_client: MakeClient, make_lease: MakeLease, stub_server: StubServer
) -> None:
    stub_server.reply(200, _activated(make_lease(license_key_hash="ef" * 32)))
    with pytest.raises(LeaseVerificationError):
        make_client(stub_server.url).activate(LICENSE_KEY, "laptop")


def test_activate_without_pins_fetches_the_published_keyset(
    make_client: MakeClient,
    make_lease: MakeLease,
    stub_server: StubServer,
    signing_key: SigningKey,
    cache: LeaseCache,
) -> None:
    stub_server.reply(200, _activated(make_lease()))
    stub_server.reply(200, _keyset((KID, signing_key)))
    status = make_client(stub_server.url, trusted_keys=None).activate(LICENSE_KEY, "laptop")
    assert status.state is LicenseState.LICENSED
    assert stub_server.requests[1].path == f"/{TENANT}/.well-known/keylight-keys"
    assert cache.load().keys == {KID: bytes(signing_key.verify_key)}


def test_a_lease_from_a_rotated_key_fetches_the_keyset_again(
    make_client: MakeClient,
    make_lease: MakeLease,
    store_lease: StoreLease,
    stub_server: StubServer,
    signing_key: SigningKey,
) -> None:
    store_lease(keys={KID: bytes(signing_key.verify_key)})
    rotated = SigningKey.generate()
    stub_server.reply(200, {"valid": True, "lease": make_lease(key=rotated, kid="k2").to_wire()})
    stub_server.reply(200, _keyset(("k2", rotated), (KID, signing_key)))
    status = make_client(stub_server.url, trusted_keys=None).validate()
    assert status.state is LicenseState.LICENSED
    assert status.lease.kid == "k2"


def test_activate_error_carries_status_and_code(
    make_client: MakeClient, stub_server: StubServer
) -> None:
    stub_server.reply(402, {"error": "Activation limit reached", "code": "ACTIVATION_LIMIT"})
    with pytest.raises(KeylightAPIError) as raised:
        make_client(stub_server.url).activate(LICENSE_KEY, "laptop")
    error = raised.value
    assert (error.status, error.code, error.message) == (
        402,
        "ACTIVATION_LIMIT",
        "Activation limit reached",
    )


def test_validate_posts_the_cached_key_and_instance(
    make_client: MakeClient, make_lease: MakeLease, store_lease: StoreLease, stub_server: StubServer
) -> None:
    store_lease(machine_hash=MACHINE_HASH)
    stub_server.reply(200, {"valid": True, "lease": make_lease().to_wire()})
    make_client(stub_server.url).validate()
    request = stub_server.requests[0]
    assert request.path == f"/{TENANT}/{PRODUCT}/validate"
    assert (request.body["license_key"], request.body["instance_id"]) == (LICENSE_KEY, INSTANCE_ID)
    assert request.body["machine_hash"] == MACHINE_HASH


def test_validate_replaces_the_cached_lease(
    make_client: MakeClient,
    make_lease: MakeLease,
    store_lease: StoreLease,
    stub_server: StubServer,
    cache: LeaseCache,
) -> None:
    store_lease()
    fresh = make_lease(entitlements=("pro", "export"))
    stub_server.reply(200, {"valid": True, "lease": fresh.to_wire(), "license_expires_at": 9})
    assert make_client(stub_server.url).validate().entitlements == ("export", "pro")
    assert cache.load().license_expires_at == 9


@pytest.mark.parametrize(
    ("lease_status", "state"),
    [("expired", LicenseState.EXPIRED), ("fallback", LicenseState.LIMITED)],
)
def test_validate_422_with_a_signed_lease_stores_it(
    make_client: MakeClient,
    make_lease: MakeLease,
    store_lease: StoreLease,
    stub_server: StubServer,
    lease_status: str,
    state: LicenseState,
) -> None:
    store_lease()
    stub_server.reply(
        422,
        {
            "valid": False,
            "lease": make_lease(status=lease_status).to_wire(),
            "license_expires_at": 1,
            "error": "License has expired",
        },
    )
    client = make_client(stub_server.url)
    assert client.validate().state is state
    assert client.state() is state


def test_validate_422_without_a_lease_clears_the_cache(
    make_client: MakeClient, store_lease: StoreLease, stub_server: StubServer, cache: LeaseCache
) -> None:
    store_lease()
    stub_server.reply(422, {"error": "License has been revoked", "code": "LICENSE_REVOKED"})
    status = make_client(stub_server.url).validate()
    assert (status.state, status.reason) == (LicenseState.INVALID, "License has been revoked")
    assert cache.load() is None


def test_validate_refuses_a_forged_lease_and_keeps_the_cached_one(
    make_client: MakeClient,
    make_lease: MakeLease,
    store_lease: StoreLease,
    stub_server: StubServer,
    cache: LeaseCache,
) -> None:
    lease = store_lease()
    forged = make_lease(key=SigningKey.generate(), entitlements=("admin",))
    stub_server.reply(200, {"valid": True, "lease": forged.to_wire()})
    with pytest.raises(LeaseVerificationError):
        make_client(stub_server.url).validate()
    assert cache.load().lease == lease


def test_validate_without_an_activation_is_refused(make_client: MakeClient) -> None:
    with pytest.raises(NotActivatedError):
        make_client().validate()


def test_deactivate_frees_the_instance_and_clears_the_cache(
    make_client: MakeClient, store_lease: StoreLease, stub_server: StubServer, cache: LeaseCache
) -> None:
    store_lease()
    stub_server.reply(200, {"deactivated": True})
    make_client(stub_server.url).deactivate()
    request = stub_server.requests[0]
    assert request.path == f"/{TENANT}/{PRODUCT}/deactivate"
    assert (request.body["instance_id"], request.body["license_key"]) == (INSTANCE_ID, LICENSE_KEY)
    assert cache.load() is None


def test_failed_deactivate_keeps_the_cache(
    make_client: MakeClient, store_lease: StoreLease, stub_server: StubServer, cache: LeaseCache
) -> None:
    store_lease()
    stub_server.reply(404, {"error": "Unknown instance", "code": "NOT_FOUND"})
    with pytest.raises(KeylightAPIError):
        make_client(stub_server.url).deactivate()
    assert cache.load() is not None
