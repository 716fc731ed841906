"""A license loaded afresh (another host, a restart, after passivation) is the same license:
its active devices and its device-churn window come back from PostgreSQL."""

from __future__ import annotations

import pytest

from keylight_actors.actors.license_messages import ACTIVATE, FREE_SEAT, GET_LICENSE
from keylight_actors.domain.errors import RateLimited
from keylight_actors.domain.license_key import hash_license_key
from keylight_actors.services.activation import Activate
from keylight_actors.services.licenses import FreeSeat, GetLicense

from .hosts import ask


async def test_a_reloaded_license_keeps_its_devices_and_its_churn_window(
    plain_license_hosts, make_catalog, tenant, mint
):
    first, second = plain_license_hosts
    catalog = make_catalog(tenant, activation_limit=10, churn_limit_per_day=4)
    key_hash = hash_license_key(mint(catalog)["key"])
    scope = {"tenant_id": tenant.tenant_id}
    tenant_id, product_id = scope["tenant_id"], catalog.product_id
    for n in range(3):
        await ask(first, ACTIVATE, Activate(key_hash, tenant_id, product_id, f"device-{n}",
                                            f"{n}" * 64, "k1"))
    await ask(first, FREE_SEAT, FreeSeat(
        key_hash, tenant_id, (await ask(first, GET_LICENSE, GetLicense(key_hash, tenant_id)))
        ["instances"][0]["instance_id"], "test"))

    reloaded = await ask(second, GET_LICENSE, GetLicense(key_hash, tenant_id))
    assert sorted(item["name"] for item in reloaded["instances"]) == ["device-1", "device-2"]
    # Three activations today count against the limit of four: one more, then no more.
    await ask(second, ACTIVATE, Activate(key_hash, tenant_id, product_id, "device-3", "3" * 64,
                                         "k1"))
    with pytest.raises(RateLimited):
        await ask(second, ACTIVATE, Activate(key_hash, tenant_id, product_id, "device-4",
                                             "4" * 64, "k1"))


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
        *(ask(host, GET_LICENSE, GetLicense(hash_license_key(item["key"]), scope["tenant_id"]))
          for item in minted),
        ask(host, GET_LICENSE, GetLicense(hash_license_key("KL-NOT-A-REAL-KEY"),
                                          scope["tenant_id"])),
        return_exceptions=True,
    )
    assert [answer["license_id"] for answer in answers[:-1]] == [
        item["license_id"] for item in minted]
    assert isinstance(answers[-1], NotFound)
    assert host.loader.batches < len(minted)
