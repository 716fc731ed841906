"""How the memory sweep judges flatness from its samples."""

from __future__ import annotations

from keylight_actors.bench.sweep import flatness


def samples(*points: tuple[int, int, float]) -> list[dict]:
    return [{"touched": touched, "resident": resident, "rss_mib": rss}
            for touched, resident, rss in points]


def test_memory_that_stops_growing_once_the_caps_fill_is_flat():
    found = flatness(samples((0, 0, 200), (500, 500, 240), (1000, 1000, 280),
                             (2000, 1000, 283), (4000, 1000, 284)), cap=1000)
    assert found["caps_filled"] and found["touched_at_cap"] == 1000
    assert found["growth_after_cap_mib"] == 4
    assert found["flat"] is True


def test_memory_that_keeps_growing_after_the_caps_fill_is_not_flat():
    found = flatness(samples((1000, 1000, 280), (2000, 1000, 320), (4000, 1000, 400)),
                     cap=1000)
    assert found["flat"] is False


def test_no_verdict_when_the_caps_never_filled():
    found = flatness(samples((0, 0, 200), (500, 500, 240)), cap=1000)
    assert found["caps_filled"] is False and found["flat"] is None


def test_bytes_per_entity_is_the_rss_growth_until_the_caps_fill_over_the_entities_added():
    from keylight_actors.bench.sweep import bytes_per_entity

    found = bytes_per_entity(samples((0, 0, 200.0), (500, 500, 200.5), (1000, 1000, 201.0),
                                     (2000, 1000, 201.2)))
    assert found == round(2**20 / 1000)
    assert bytes_per_entity(samples((0, 0, 200.0))) is None
