"""An ingress reaches a license host over its link (the default) or by Ray calls; both
carry the same commands and answers."""

from __future__ import annotations

import pytest

from keylight_actors.actors.host_pool import HostPool
from keylight_actors.actors.license_messages import GET_LICENSE
from keylight_actors.domain.errors import NotFound
from keylight_actors.domain.license_key import hash_license_key
from keylight_actors.services.licenses import GetLicense


@pytest.fixture
async def pools(settings, base_url):
    opened = {transport: HostPool("license", settings.with_changes(host_transport=transport),
                                  settings.license_hosts)
              for transport in ("link", "ray")}
    yield opened
    for pool in opened.values():
        await pool.close()


async def test_a_license_read_answers_the_same_over_the_link_and_over_ray_calls(
    pools, catalog, mint
):
    minted = mint(catalog)
    key_hash = hash_license_key(minted["key"])
    answers = {transport: await pool.send(GET_LICENSE,
                                          GetLicense(key_hash, catalog.tenant.tenant_id))
               for transport, pool in pools.items()}
    assert answers["link"]["license_id"] == minted["license_id"]
    assert answers["link"] == answers["ray"]


@pytest.mark.parametrize("transport", ["link", "ray"])
async def test_a_domain_error_crosses_either_transport_as_itself(pools, tenant, transport):
    with pytest.raises(NotFound) as raised:
        await pools[transport].send(GET_LICENSE, GetLicense("0" * 64, tenant.tenant_id))
    assert raised.value.code == "LICENSE_NOT_FOUND"
