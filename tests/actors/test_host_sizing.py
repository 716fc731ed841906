"""How many license hosts a cluster gets when KEYLIGHT_LICENSE_HOSTS is 0."""

from __future__ import annotations

import pytest

from keylight_actors.actors.host_pool import default_license_hosts


@pytest.mark.parametrize(("cpus", "hosts"), [(0, 1), (1, 1), (2, 1), (3.5, 1), (4, 1),
                                             (8, 2), (15, 3), (64, 16)])
def test_one_license_host_per_four_cpus_and_never_none(cpus, hosts):
    assert default_license_hosts(cpus) == hosts
