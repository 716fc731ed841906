"""A license loaded afresh (another host, a restart, after passivation) is the same license:
its active devices and its device-churn window come back from PostgreSQL."""

from __future__ import annotations

import pytest

from keylight_actors.domain.errors import RateLimited
from keylight_actors.domain.license_key import hash_license_key


async def test_a_reloaded_license_keeps_its_devices_and_its_churn_window(
    plain_license_hosts, make_catalog, tenant, mint
):
    first, second = plain_license_hosts
    catalog = make_catalog(tenant, activation_limit=10, churn_limit_per_day=4)
    key_hash = hash_license_key(mint(catalog)["key"])
    scope = {"tenant_id": tenant.tenant_id}
    for n in range(3):
        await first.activate(key_hash, **scope, name=f"device-{n}", machine_hash=f"{n}" * 64)
    await first.deactivate_instance(key_hash, **scope,
                                    instance_id=(await first.get(key_hash, **scope))
                                    ["instances"][0]["instance_id"], actor="test")

    reloaded = await second.get(key_hash, **scope)
    assert sorted(item["name"] for item in reloaded["instances"]) == ["device-1", "device-2"]
    # Three activations today count against the limit of four: one more, then no more.
    await second.activate(key_hash, **scope, name="device-3", machine_hash="3" * 64)
    with pytest.raises(RateLimited):
        await second.activate(key_hash, **scope, name="device-4", machine_hash="4" * 64)


async def test_cold_licenses_wanted_together_load_together_and_an_unknown_one_is_not_found(
    plain_license_hosts, make_catalog, tenant, mint
):
    import asyncio

    from keylight_actors.domain.errors import NotFound

    host, _ = plain_license_hosts
    catalog = make_catalog(tenant)
    minted = [mint(catalog) for _ in range(12)]
    scope = {"tenant_id": tenant.tenant_id}
    answers = await asyncio.gather(
        *(host.get(hash_license_key(item["key"]), **scope) for item in minted),
        host.get(hash_license_key("KL-NOT-A-REAL-KEY"), **scope),
        return_exceptions=True,
    )
    assert [answer["license_id"] for answer in answers[:-1]] == [
        item["license_id"] for item in minted]
    assert isinstance(answers[-1], NotFound)
    assert host.loader.batches < len(minted)
