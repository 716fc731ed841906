"""Two hosts that both believe they own a license cannot both commit from one version."""

from __future__ import annotations

import psycopg
import pytest

from keylight_actors.domain.errors import ActivationLimitReached
from keylight_actors.domain.license_key import hash_license_key
from keylight_actors.services.activation import Activate, activate
from keylight_actors.services.licenses import GetLicense, get_license


def _active_instances(database_url: str, license_id: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM license_instances "
            "WHERE license_id = %s AND deactivated_at IS NULL", (license_id,)
        ).fetchone()[0]


@pytest.fixture
def split_brain(plain_license_hosts):
    """Two hosts that both believe they own every license: a forced split brain."""
    return plain_license_hosts


async def _get(host, key_hash, tenant_id):
    return await host.query(key_hash, get_license, GetLicense(key_hash, tenant_id))


async def _activate(host, key_hash, catalog, name, machine_hash):
    """Take a seat through the host's unit of work (no lease: that is the SDK route's)."""
    return await host.run(key_hash, activate, Activate(
        key_hash, catalog.tenant.tenant_id, catalog.product_id, name, machine_hash, "k1"))


async def test_the_second_writer_is_fenced_and_the_seat_limit_holds(
    split_brain, make_catalog, tenant, mint, database_url
):
    host_a, host_b = split_brain
    catalog = make_catalog(tenant, activation_limit=1)
    minted = mint(catalog)
    key_hash = hash_license_key(minted["key"])
    await _get(host_a, key_hash, tenant.tenant_id)
    await _get(host_b, key_hash, tenant.tenant_id)

    await _activate(host_a, key_hash, catalog, "laptop", "a" * 64)
    with pytest.raises(ActivationLimitReached):
        await _activate(host_b, key_hash, catalog, "desktop", "b" * 64)

    assert host_b.fenced_writes == 1
    assert _active_instances(database_url, minted["license_id"]) == 1


async def test_a_fenced_writer_reloads_and_applies_its_change_to_the_newer_state(
    split_brain, make_catalog, tenant, mint, database_url
):
    host_a, host_b = split_brain
    catalog = make_catalog(tenant, activation_limit=2)
    minted = mint(catalog)
    key_hash = hash_license_key(minted["key"])
    await _get(host_a, key_hash, tenant.tenant_id)
    await _get(host_b, key_hash, tenant.tenant_id)

    await _activate(host_a, key_hash, catalog, "laptop", "a" * 64)
    await _activate(host_b, key_hash, catalog, "desktop", "b" * 64)

    assert host_b.fenced_writes == 1
    assert _active_instances(database_url, minted["license_id"]) == 2
    with psycopg.connect(database_url) as conn:
        version = conn.execute("SELECT version FROM licenses WHERE license_id = %s",
                               (minted["license_id"],)).fetchone()[0]
    assert version == 3
