"""The Python SDK end to end against the live server, including going offline."""

from __future__ import annotations

import time

import pytest
from keylight_sdk.client import KeylightClient
from keylight_sdk.errors import KeylightNetworkError
from keylight_sdk.state import LicenseState

from .loopback_proxy import LoopbackProxy
from .sdk_calls import machine_hash


class ShiftableClock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def proxy(base_url):
    forwarder = LoopbackProxy(int(base_url.rsplit(":", 1)[1]))
    forwarder.start()
    yield forwarder
    forwarder.stop()


def test_activate_work_offline_detect_rollback_revalidate_and_deactivate(
    http, catalog, mint, proxy, tmp_path
):
    key = mint(catalog)["key"]
    clock = ShiftableClock()
    client = KeylightClient(
        proxy.url, catalog.tenant.tenant_id, catalog.product_id,
        catalog.tenant.credentials["sdk_key"], cache_dir=tmp_path, clock=clock,
        max_retries=1, timeout=5, sleep=lambda _: None,
    )
    with client:
        assert client.activate(key, "build-box", machine_hash()).state is LicenseState.LICENSED
        instance_id = client.status().instance_id

        proxy.stop()
        with pytest.raises(KeylightNetworkError):
            client.validate()
        assert client.state() is LicenseState.LICENSED

        clock.offset = -2 * 3600
        assert client.state() is LicenseState.INVALID

        clock.offset = 0
        proxy.start()
        assert client.validate().state is LicenseState.LICENSED

        client.deactivate()
        assert client.state() is LicenseState.INVALID

    licenses = http.get(f"/api/{catalog.tenant.tenant_id}/licenses",
                        headers=catalog.tenant.headers).json()["data"]
    detail = http.get(f"/api/{catalog.tenant.tenant_id}/licenses/{licenses[0]['license_id']}",
                      headers=catalog.tenant.headers).json()
    assert instance_id not in {item["instance_id"] for item in detail["instances"]}


def test_a_fresh_client_trusts_only_the_published_keyset(catalog, mint, proxy, tmp_path):
    key = mint(catalog)["key"]
    with KeylightClient(proxy.url, catalog.tenant.tenant_id, catalog.product_id,
                        catalog.tenant.credentials["sdk_key"], cache_dir=tmp_path) as client:
        status = client.activate(key, "laptop")
    assert status.state is LicenseState.LICENSED
    assert status.entitlements == ("pro",)
