"""Acknowledged writes are in Postgres before the answer, and survive a crashed host."""

from __future__ import annotations

import psycopg

from keylight_actors.domain.license_key import hash_license_key

from .hosts import get_until_served, host_stats, kill_host_process, owning_license_host


def test_an_acknowledged_mint_is_already_in_postgres(catalog, mint, database_url):
    minted = mint(catalog)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT key_hash, status FROM licenses WHERE license_id = %s",
            (minted["license_id"],),
        ).fetchone()
    assert row == (hash_license_key(minted["key"]), "active")


def test_a_mint_survives_the_tenant_host_being_killed_right_after(http, catalog, mint):
    minted = mint(catalog)
    old_pid = kill_host_process("tenant-host-0")
    path = f"/api/{catalog.tenant.tenant_id}/licenses/{minted['license_id']}"
    answer = get_until_served(http, path, catalog.tenant.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["key_display"] == minted["key_display"]
    listed = get_until_served(http, f"/api/{catalog.tenant.tenant_id}/licenses",
                              catalog.tenant.headers)
    assert [item["license_id"] for item in listed.json()["data"]] == [minted["license_id"]]
    assert host_stats("tenant-host-0")["pid"] != old_pid


def test_a_revocation_survives_the_license_host_being_killed_right_after(
    http, catalog, mint, settings
):
    minted = mint(catalog)
    path = f"/api/{catalog.tenant.tenant_id}/licenses/{minted['license_id']}"
    revoked = http.post(f"{path}/revoke", headers=catalog.tenant.headers)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    owner = owning_license_host(settings, hash_license_key(minted["key"]))
    old_pid = kill_host_process(owner)
    answer = get_until_served(http, path, catalog.tenant.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "revoked"
    stats = host_stats(owner)
    assert stats["pid"] != old_pid
    assert stats["loads"] >= 1
