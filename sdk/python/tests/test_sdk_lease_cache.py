"""The on-disk lease cache: owner-only, atomically replaced, strict about what it reads."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from keylight_sdk.cache import CacheRecord, LeaseCache
from keylight_sdk.errors import CacheCorruptError
from keylight_sdk.lease import Lease
from sdk_testkit import INSTANCE_ID, LICENSE_KEY, PRODUCT, T0, TENANT


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_missing_cache_loads_as_none(cache: LeaseCache) -> None:
    assert cache.load() is None


def test_saved_record_loads_back_unchanged(
    cache: LeaseCache, make_lease: Callable[..., Lease]
) -> None:
    record = CacheRecord(
        license_key=LICENSE_KEY,
        instance_id=INSTANCE_ID,
        lease=make_lease(),
        last_seen=T0 + 5,
        license_expires_at=T0 + 365 * 86400,
        machine_hash="ab" * 32,
        keys={"k1": b"\x01" * 32},
    )
    cache.save(record)
    assert cache.load() == record


def test_cache_file_is_readable_by_its_owner_only(
    cache: LeaseCache, store_lease: Callable[..., Lease]
) -> None:
    store_lease()
    assert _mode(cache.path) == 0o600


def test_cache_directory_is_created_for_its_owner_only(
    cache: LeaseCache, store_lease: Callable[..., Lease]
) -> None:
    store_lease()
    assert _mode(cache.directory) == 0o700


def test_a_loosely_permitted_cache_file_becomes_owner_only_when_saved(
    cache: LeaseCache, store_lease: Callable[..., Lease]
) -> None:
    store_lease()
    os.chmod(cache.path, 0o644)
    store_lease()
    assert _mode(cache.path) == 0o600


def test_save_replaces_the_file_rather_than_rewriting_it_in_place(
    cache: LeaseCache, store_lease: Callable[..., Lease], make_lease: Callable[..., Lease]
) -> None:
    store_lease()
    with cache.path.open("rb") as reader_of_old_file:
        store_lease(make_lease(entitlements=("pro", "export")))
        old = json.loads(reader_of_old_file.read())
    assert old["lease"]["entitlements"] == ["pro"]
    assert cache.load().lease.entitlements == ("export", "pro")


def test_save_leaves_no_temporary_files_behind(
    cache: LeaseCache, store_lease: Callable[..., Lease]
) -> None:
    store_lease()
    store_lease()
    assert list(cache.directory.iterdir()) == [cache.path]


def test_clear_removes_the_record(cache: LeaseCache, store_lease: Callable[..., Lease]) -> None:
    store_lease()
    cache.clear()
    assert cache.load() is None


def test_clearing_an_empty_cache_is_harmless(cache: LeaseCache) -> None:
    cache.clear()
    assert cache.load() is None


def test_a_file_that_is_not_json_is_reported_corrupt(
    cache: LeaseCache, store_lease: Callable[..., Lease]
) -> None:
    store_lease()
    cache.path.write_text("{not json")
    with pytest.raises(CacheCorruptError):
        cache.load()


def test_a_record_with_a_malformed_lease_is_reported_corrupt(
    cache: LeaseCache, store_lease: Callable[..., Lease]
) -> None:
    store_lease()
    data = json.loads(cache.path.read_text())
    data["lease"]["issuedAt"] = "yesterday"
    cache.path.write_text(json.dumps(data))
    with pytest.raises(CacheCorruptError):
        cache.load()


def test_a_record_with_a_malformed_stored_key_is_reported_corrupt(
    cache: LeaseCache, store_lease: Callable[..., Lease]
) -> None:
    store_lease()
    data = json.loads(cache.path.read_text())
    data["keys"] = {"k1": "not a key"}
    cache.path.write_text(json.dumps(data))
    with pytest.raises(CacheCorruptError):
        cache.load()


def test_last_seen_never_moves_backwards(make_lease: Callable[..., Lease]) -> None:
    record = CacheRecord(LICENSE_KEY, INSTANCE_ID, make_lease(), last_seen=T0)
    assert record.seen_at(T0 + 10).last_seen == T0 + 10
    assert record.seen_at(T0 - 10).last_seen == T0


def test_each_product_has_its_own_file(cache_dir: Path) -> None:
    paths = {
        LeaseCache(cache_dir, TENANT, PRODUCT).path,
        LeaseCache(cache_dir, TENANT, "viewer").path,
        LeaseCache(cache_dir, "a-b", "c").path,
        LeaseCache(cache_dir, "a", "b-c").path,
    }
    assert len(paths) == 4
