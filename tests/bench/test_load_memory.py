"""How the bench states the license hosts' memory growth over its load."""

from __future__ import annotations

from keylight_actors.bench.local_server import memory_growth
from keylight_actors.bench.report import targets

MIB = 2**20


def probe(resident: int, devices: int, rss_mib: float) -> dict:
    return {"hosts": [{"resident": resident, "devices": devices}], "resident": resident,
            "devices": devices, "cap": 100_000, "rss": rss_mib * MIB}


def test_growth_is_divided_by_the_entities_added_and_names_the_devices_added_with_them():
    found = memory_growth(probe(1_000, 500, 100.0), probe(3_000, 8_500, 110.0))
    assert found["bytes_per_entity"] == round(10 * MIB / 2_000)
    assert found["devices_added"] == 8_000
    assert found["devices_per_entity"] == 4.0


def test_no_figure_when_the_load_added_no_entity():
    found = memory_growth(probe(1_000, 500, 100.0), probe(1_000, 900, 101.0))
    assert found["bytes_per_entity"] is None and found["devices_per_entity"] is None


def test_the_memory_target_says_how_many_devices_each_entity_carried():
    memory = memory_growth(probe(0, 0, 100.0), probe(2_000, 6_000, 103.0))
    check = next(item for item in targets({}, [32], memory)
                 if item["target"].startswith("resident bytes per cached license entity"))
    assert "3.0 per entity" in check["target"]
    assert check["measured"] == round(3 * MIB / 2_000) and check["met"] is True
