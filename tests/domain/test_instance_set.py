"""InstanceSet: a license's devices, packed, come back out exactly as they went in."""

from __future__ import annotations

import uuid

import pytest

from keylight_actors.domain.instance_set import NO_INSTANCES, Instance, InstanceSet

NOW = 1_800_000_000


def instance(n: int, *, name: str = "laptop", machine_hash: str | None = None) -> Instance:
    return Instance(str(uuid.UUID(int=n)), name, machine_hash, NOW + n)


@pytest.mark.parametrize("machine_hash", [None, "ab" * 32, "AB" * 32, "not-a-digest", ""],
                         ids=["none", "sdk-digest", "upper-hex", "text", "empty"])
def test_an_instance_comes_back_exactly_as_it_went_in(machine_hash):
    device = Instance(str(uuid.uuid4()), "Ana\u2019s MacBook \U0001f4bb", machine_hash, NOW)
    assert list(InstanceSet.of([device])) == [device]


def test_a_name_with_a_lone_surrogate_comes_back_unchanged():
    device = instance(1, name="broken \ud800 name")
    assert InstanceSet.of([device]).get(device.instance_id) == device


def test_an_empty_name_comes_back_empty():
    device = instance(1, name="", machine_hash="cd" * 32)
    assert list(InstanceSet.of([device])) == [device]


def test_instances_are_listed_in_the_order_they_were_added():
    devices = [instance(n) for n in (3, 1, 2)]
    added = NO_INSTANCES
    for device in devices:
        added = added.adding(device)
    assert list(added) == devices and len(added) == 3


def test_an_instance_is_found_by_its_id():
    devices = InstanceSet.of([instance(1), instance(2, name="desktop")])
    assert devices.get(str(uuid.UUID(int=2))) == instance(2, name="desktop")
    assert str(uuid.UUID(int=1)) in devices


LETTERED_ID = uuid.UUID("5f0c9ab2-e1d4-4c3b-a8f7-0b6e2d9c4a1f")


@pytest.mark.parametrize("spelling", [
    str(LETTERED_ID).upper(),
    "{" + str(LETTERED_ID) + "}",
    LETTERED_ID.hex,
    "urn:uuid:" + str(LETTERED_ID),
    "no-such-instance",
    "",
])
def test_only_the_canonical_spelling_of_an_id_names_an_instance(spelling):
    devices = InstanceSet.of([Instance(str(LETTERED_ID), "laptop", None, NOW)])
    assert str(LETTERED_ID) in devices
    assert devices.get(spelling) is None and spelling not in devices


def test_an_id_that_is_not_a_string_names_no_instance():
    assert 1 not in InstanceSet.of([instance(1)])


def test_an_instance_is_found_by_its_machine_hash():
    devices = InstanceSet.of([instance(1, machine_hash="aa" * 32),
                              instance(2, machine_hash="bb" * 32)])
    assert devices.on_machine("bb" * 32) == instance(2, machine_hash="bb" * 32)
    assert devices.on_machine("cc" * 32) is None


def test_a_text_machine_hash_matches_only_the_whole_text():
    devices = InstanceSet.of([instance(1, machine_hash="host-12")])
    assert devices.on_machine("host-1") is None
    assert devices.on_machine("host-123") is None
    assert devices.on_machine("host-12") == instance(1, machine_hash="host-12")


def test_an_instance_without_a_machine_hash_is_never_found_by_one():
    assert InstanceSet.of([instance(1)]).on_machine("aa" * 32) is None


def test_adding_and_removing_leave_the_original_set_alone():
    original = InstanceSet.of([instance(1)])
    grown = original.adding(instance(2))
    shrunk = grown.removing(str(uuid.UUID(int=1)))
    assert list(original) == [instance(1)]
    assert list(grown) == [instance(1), instance(2)]
    assert list(shrunk) == [instance(2)]


def test_removing_an_unknown_instance_changes_nothing():
    devices = InstanceSet.of([instance(1)])
    assert devices.removing(str(uuid.UUID(int=9))) == devices


def test_removing_the_last_instance_leaves_the_empty_set():
    assert InstanceSet.of([instance(1)]).removing(str(uuid.UUID(int=1))) == NO_INSTANCES


def test_an_instance_id_that_is_not_a_uuid_is_refused():
    with pytest.raises(ValueError, match="UUID"):
        NO_INSTANCES.adding(Instance("i-1", "laptop", None, NOW))


def test_a_last_check_in_comes_back_as_it_went_in():
    device = Instance(str(uuid.uuid4()), "laptop", "ab" * 32, NOW, NOW + 7_200)
    assert list(InstanceSet.of([device])) == [device]


def test_a_replaced_instance_keeps_its_place_and_the_others():
    devices = InstanceSet.of([instance(1), instance(2), instance(3)])
    checked = Instance(str(uuid.UUID(int=2)), "laptop", None, NOW + 2, NOW + 9_000)
    assert list(devices.replacing(checked)) == [instance(1), checked, instance(3)]
