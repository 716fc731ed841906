"""Abuse resistance: body size limits and the key-guessing lock-out."""

from __future__ import annotations

import time

import httpx
import psycopg
import pytest

from .conftest import LOOKUP_FAILURES_PER_ADDRESS
from .sdk_calls import activate, sdk_headers, sdk_path


def test_a_body_over_the_limit_is_413_and_parsed_by_no_one(http, catalog):
    answer = http.post(sdk_path(catalog, "activate"), headers=sdk_headers(catalog),
                       content=b'{"license_key": "' + b"A" * 70_000 + b'"}')
    assert answer.status_code == 413
    assert answer.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_a_chunked_body_over_the_limit_is_413(http, catalog):
    def chunks():
        for _ in range(20):
            yield b"x" * 8192

    answer = http.post(sdk_path(catalog, "activate"), headers=sdk_headers(catalog),
                       content=chunks())
    assert answer.status_code == 413


@pytest.fixture
def guesser(base_url):
    """A client on its own loopback address, so its lock-out touches no other test."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=base_url, transport=transport, timeout=30) as client:
        yield client


def test_guessing_keys_locks_the_address_out_and_is_audited(guesser, http, catalog, mint,
                                                            database_url):
    real_key = mint(catalog)["key"]
    statuses = [activate(guesser, catalog, f"{catalog.key_prefix}-0000-0000-0000-{n:04d}"
                         ).status_code for n in range(LOOKUP_FAILURES_PER_ADDRESS)]
    assert statuses == [404] * LOOKUP_FAILURES_PER_ADDRESS
    locked = activate(guesser, catalog, real_key)
    assert locked.status_code == 429
    assert locked.json()["code"] == "TOO_MANY_FAILED_LOOKUPS"
    assert int(locked.headers["Retry-After"]) > 0
    with psycopg.connect(database_url) as conn:
        actions = [row[0] for row in conn.execute(
            "SELECT action FROM audit_log WHERE tenant_id = %s", (catalog.tenant.tenant_id,))]
    assert "sdk.lookup_lockout" in actions
    assert activate(http, catalog, real_key).status_code == 200  # other addresses unaffected


def test_cycling_devices_past_the_churn_limit_is_429_until_the_day_passes(
    http, tenant, make_catalog, mint
):
    from .sdk_calls import deactivate, machine_hash

    catalog = make_catalog(tenant, activation_limit=1, churn_limit_per_day=4)
    key = mint(catalog)["key"]
    for _ in range(2):
        instance_id = activate(http, catalog, key, machine_hash=machine_hash()
                               ).json()["instance_id"]
        assert deactivate(http, catalog, instance_id).status_code == 200
    refused = activate(http, catalog, key, machine_hash=machine_hash())
    assert refused.status_code == 429
    assert refused.json()["code"] == "CHURN_LIMIT_REACHED"
    assert int(refused.headers["Retry-After"]) > 80_000


def test_a_tenants_sdk_quota_is_enforced_with_retry_after(http, catalog, operator_headers,
                                                          settings):
    tenant_id = catalog.tenant.tenant_id
    set_quota = http.patch(f"/api/admin/tenants/{tenant_id}", headers=operator_headers,
                           json={"sdk_quota_per_minute": 5})
    assert set_quota.status_code == 200 and set_quota.json()["sdk_quota_per_minute"] == 5
    time.sleep(2 * settings.tenant_cache_seconds)  # ingress snapshots age out
    while time.time() % 60 > 55:  # stay inside one quota window
        time.sleep(0.5)

    def config():
        return http.get(sdk_path(catalog, "config"), headers=sdk_headers(catalog))

    statuses = [config().status_code for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3
    refused = config()
    assert refused.json()["code"] == "SDK_QUOTA_EXCEEDED"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60

    lifted = http.patch(f"/api/admin/tenants/{tenant_id}", headers=operator_headers,
                        json={"sdk_quota_per_minute": None})
    assert lifted.status_code == 200
    time.sleep(2 * settings.tenant_cache_seconds)
    assert config().status_code == 200


def test_nul_bytes_in_a_body_path_or_query_are_400_not_a_storage_error(http, catalog,
                                                                       operator_headers):
    body = {"tenant_id": "nul-test", "name": "a\u0000b"}
    assert http.post("/api/admin/tenants", headers=operator_headers, json=body
                     ).status_code == 400
    assert http.get("/api/admin/stripe/events?status=a%00b", headers=operator_headers
                    ).status_code == 400
    assert http.get(f"/api/{catalog.tenant.tenant_id}/licenses?email=a%00@b.co",
                    headers=catalog.tenant.headers).status_code == 400
