"""How many license hosts a cluster gets when KEYLIGHT_LICENSE_HOSTS is 0."""

from __future__ import annotations

import pytest

from keylight_actors.actors.host_pool import default_license_hosts


@pytest.mark.parametrize(("cpus", "hosts"), [(0, 1), (1, 1), (2, 1), (3.5, 1), (4, 1),
                                             (8, 2), (15, 3), (64, 16)])
def test_one_license_host_per_four_cpus_and_never_none(cpus, hosts):
    assert default_license_hosts(cpus) == hosts


def test_hosts_are_placed_round_robin_over_the_nodes_softly():
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from keylight_actors.actors.host_pool import placement_for

    nodes = [digit * 56 for digit in "abc"]  # node ids are 28-byte hex strings
    placed = [placement_for(index, nodes) for index in range(4)]
    assert all(isinstance(p, NodeAffinitySchedulingStrategy) and p.soft for p in placed)
    assert [p.node_id for p in placed] == [nodes[0], nodes[1], nodes[2], nodes[0]]


def test_with_no_node_known_hosts_fall_back_to_rays_spread():
    from keylight_actors.actors.host_pool import placement_for

    assert placement_for(0, []) == "SPREAD"
