"""Hosts keep at most their configured number of entities; evicted ones reload intact."""

from __future__ import annotations

from collections import defaultdict

import ray

from keylight_actors.actors.license_messages import GET_LICENSE
from keylight_actors.actors.messages import unwrap_reply
from keylight_actors.actors.named_actor import NAMESPACE
from keylight_actors.domain.license_key import hash_license_key
from keylight_actors.services.licenses import GetLicense
from tests.seeding import seed_licenses

from .conftest import TEST_HOST_MAX_ENTITIES
from .hosts import host_stats, license_host_names, owning_license_host

LICENSES = 10_000
BATCH = 500


def touch_all(settings, tenant_id: str, key_hashes: list[str]) -> list:
    by_host: dict[str, list[str]] = defaultdict(list)
    for key_hash in key_hashes:
        by_host[owning_license_host(settings, key_hash)].append(key_hash)
    replies = []
    for name, owned in by_host.items():
        host = ray.get_actor(name, namespace=NAMESPACE)
        for start in range(0, len(owned), BATCH):
            batch = [GET_LICENSE.encode(GetLicense(key_hash, tenant_id))
                     for key_hash in owned[start:start + BATCH]]
            replies += [unwrap_reply(reply)
                        for reply in ray.get(host.handle_batch.remote(batch), timeout=120)]
    return replies


def test_touching_ten_thousand_licenses_keeps_each_host_within_its_cap(
    http, catalog, database_url, settings
):
    seeded = [(license_id, hash_license_key(raw_key)) for license_id, raw_key in seed_licenses(
        database_url, catalog.tenant.tenant_id, catalog.product_id, catalog.key_type_id,
        catalog.key_prefix, LICENSES)]
    loads_before = sum(host_stats(name)["loads"] for name in license_host_names(settings))

    replies = touch_all(settings, catalog.tenant.tenant_id, [key for _, key in seeded])

    assert len(replies) == LICENSES
    assert {reply["license_id"] for reply in replies} == {lid for lid, _ in seeded}
    stats = [host_stats(name) for name in license_host_names(settings)]
    assert all(item["resident"] <= TEST_HOST_MAX_ENTITIES for item in stats), stats
    assert sum(item["loads"] for item in stats) - loads_before >= LICENSES

    first_id, first_hash = seeded[0]
    owner = owning_license_host(settings, first_hash)
    loads = host_stats(owner)["loads"]
    answer = http.get(f"/api/{catalog.tenant.tenant_id}/licenses/{first_id}",
                      headers=catalog.tenant.headers)
    assert answer.status_code == 200
    assert answer.json()["license_id"] == first_id
    assert answer.json()["activation_limit"] == 3
    assert host_stats(owner)["loads"] == loads + 1
