"""The report's throughput ratios: Keylight over each baseline, level by level."""

from __future__ import annotations

from keylight_actors.bench.report import ratios


def results(*, activate: float, noop: float | None, plain: float) -> dict:
    found = {
        "keylight": {"levels": {"32": {"activate": {"rps": activate},
                                       "validate": {"rps": 2 * activate}}}},
        "uvicorn_postgres": {"levels": {"32": {"write": {"rps": plain}}}},
    }
    if noop is not None:
        found["serve_noop"] = {"levels": {"32": {"noop": {"rps": noop}}}}
    return found


def test_activation_and_validation_are_divided_by_each_baselines_throughput():
    table = ratios(results(activate=1_500, noop=3_000, plain=1_200), [32])["32"]
    assert table["activation_vs_serve_noop"] == 0.5
    assert table["validation_vs_serve_noop"] == 1.0
    assert table["activation_vs_uvicorn_postgres"] == 1.25


def test_a_baseline_that_was_not_measured_gives_no_ratio():
    table = ratios(results(activate=1_500, noop=None, plain=1_200), [32])["32"]
    assert table["activation_vs_serve_noop"] is None
    assert table["activation_vs_uvicorn_postgres"] == 1.25


def test_a_baseline_that_served_nothing_gives_no_ratio():
    table = ratios(results(activate=1_500, noop=0, plain=1_200), [32])["32"]
    assert table["activation_vs_serve_noop"] is None


def test_a_scenario_that_was_not_run_gives_no_ratio():
    table = ratios(results(activate=1_500, noop=3_000, plain=1_200), [32])["32"]
    assert table["cold_activation_vs_serve_noop"] is None
