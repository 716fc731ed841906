"""Never-touched licenses are shared out among the runs that draw them, so a fast early
level cannot leave none for the later ones."""

from __future__ import annotations

from keylight_actors.bench.load import LoadPlan


def plan(cold_shares: int) -> LoadPlan:
    return LoadPlan(target="keylight", urls=["http://127.0.0.1:1"], levels=[1, 8, 32],
                    duration=10, max_requests=100_000, cold_shares=cold_shares)


def test_each_cold_run_takes_at_most_its_share_of_the_seeded_licenses():
    # The cold start and activate_cold at three levels share 10,000 licenses.
    assert plan(4).budget("activate_cold", 100_000, seeded=10_000) == 2_500
    assert plan(4).budget("cold_start", 50_000, seeded=10_000) == 2_500


def test_a_smaller_request_budget_still_applies():
    assert plan(4).budget("activate_cold", 100, seeded=10_000) == 100


def test_runs_on_resident_licenses_are_not_limited_by_the_shares():
    for scenario in ("activate", "validate", "mixed"):
        assert plan(4).budget(scenario, 100_000, seeded=10_000) == 100_000


def test_without_shares_a_cold_run_may_take_every_license():
    assert plan(0).budget("activate_cold", 100_000, seeded=10_000) == 100_000


def test_a_share_is_never_empty():
    assert plan(4).budget("activate_cold", 100_000, seeded=3) == 1
