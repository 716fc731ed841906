"""Keyless installs: check-ins written at most once per interval, and free-tier links."""

from __future__ import annotations

from keylight_actors.services.keyless import (
    LinkFreeTierInstall,
    RecordKeylessCheckIn,
    link_free_tier_install,
    record_keyless_check_in,
)

from .fakes import InMemoryKeyless

CHECK_IN = RecordKeylessCheckIn("acme", "app", "inst-1", "trial", "m" * 64)
LINK = LinkFreeTierInstall("acme", "app", "inst-1", "kh")


async def test_a_first_check_in_records_the_install():
    uow = InMemoryKeyless()
    assert await record_keyless_check_in(CHECK_IN, uow)
    assert uow.installs[("acme", "app", "inst-1")] == {"state": "trial",
                                                       "machine_hash": "m" * 64}


async def test_a_check_in_again_within_the_interval_writes_nothing():
    uow = InMemoryKeyless()
    await record_keyless_check_in(CHECK_IN, uow)
    assert not await record_keyless_check_in(CHECK_IN, uow)
    assert uow.writes == 1


async def test_each_install_has_its_own_interval():
    uow = InMemoryKeyless()
    await record_keyless_check_in(CHECK_IN, uow)
    other = RecordKeylessCheckIn("acme", "app", "inst-2", "free", "m" * 64)
    assert await record_keyless_check_in(other, uow)
    assert uow.writes == 2


async def test_a_free_tier_install_is_linked_to_the_license_it_activated():
    uow = InMemoryKeyless(licenses={"kh": "lic-1"})
    await record_keyless_check_in(CHECK_IN, uow)
    assert await link_free_tier_install(LINK, uow)
    assert uow.installs[("acme", "app", "inst-1")]["license_id"] == "lic-1"


async def test_an_unknown_install_is_not_linked():
    uow = InMemoryKeyless(licenses={"kh": "lic-1"})
    assert not await link_free_tier_install(LINK, uow)


async def test_an_install_already_linked_keeps_its_license():
    uow = InMemoryKeyless(licenses={"kh": "lic-1", "kh2": "lic-2"})
    await record_keyless_check_in(CHECK_IN, uow)
    await link_free_tier_install(LINK, uow)
    assert not await link_free_tier_install(
        LinkFreeTierInstall("acme", "app", "inst-1", "kh2"), uow)
    assert uow.installs[("acme", "app", "inst-1")]["license_id"] == "lic-1"
