"""Rendezvous hashing: stable owners, even spread, minimal movement."""

from keylight_actors.actors.rendezvous import owner_index

HOSTS = [f"license-host-{n}" for n in range(4)]
IDS = [f"entity-{n}" for n in range(4000)]


def test_the_owner_of_an_entity_is_stable():
    assert [owner_index(HOSTS, i) for i in IDS[:50]] == [owner_index(HOSTS, i) for i in IDS[:50]]


def test_entities_spread_evenly_over_hosts():
    counts = [0] * len(HOSTS)
    for entity_id in IDS:
        counts[owner_index(HOSTS, entity_id)] += 1
    assert min(counts) > 0.8 * len(IDS) / len(HOSTS)


def test_adding_a_host_moves_only_the_entities_it_takes():
    grown = [*HOSTS, "license-host-4"]
    for entity_id in IDS:
        after = owner_index(grown, entity_id)
        assert after == 4 or after == owner_index(HOSTS, entity_id)
