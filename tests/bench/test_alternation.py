"""Alternated rounds: activation and both baselines measured in turn, the order reversed
every other round, the ratios' medians reported. The load generator's part is stood in by
a function answering what it measured, so these are the sequencing rules alone; the bench's
smoke run drives the real thing."""

from __future__ import annotations

from typing import Any

from keylight_actors.bench.alternation import Alternation, summarize_rounds
from keylight_actors.bench.load import LoadPlan

SCENARIO = {"keylight": "activate", "serve_noop": "noop", "uvicorn_postgres": "write"}


def plan(target: str) -> LoadPlan:
    return LoadPlan(target=target, urls=["http://127.0.0.1:1"], levels=[32], duration=5,
                    max_requests=100_000, scenarios=["activate"])


class LoadGenerator:
    """Answers each plan with the next throughput given for its target, as the load
    generator's result would, and keeps the order it was asked in."""

    def __init__(self, rps: dict[str, list[float]]) -> None:
        self.rps = {target: list(values) for target, values in rps.items()}
        self.asked: list[str] = []
        self.seats_seen: list[dict[str, int]] = []

    def __call__(self, plan: LoadPlan) -> dict[str, Any]:
        self.asked.append(plan.target)
        result: dict[str, Any] = {"levels": {"32": {SCENARIO[plan.target]: {
            "rps": self.rps[plan.target].pop(0)}}}}
        if plan.target == "keylight":
            self.seats_seen.append(dict(plan.seats))
            taken = len(self.seats_seen)
            result |= {"touched": list(range(taken)), "seats": {str(taken): taken}}
        return result


def alternation(with_noop: bool = True) -> Alternation:
    return Alternation(32, 5.0, keylight=plan("keylight"),
                       noop=plan("serve_noop") if with_noop else None,
                       plain=plan("uvicorn_postgres"))


def test_rounds_take_the_targets_in_turn_and_reverse_the_order_every_other_round():
    generator = LoadGenerator({"keylight": [1, 1, 1], "serve_noop": [1, 1, 1],
                               "uvicorn_postgres": [1, 1, 1]})
    alternation().run(3, generator, announce=lambda _: None)
    assert generator.asked == ["keylight", "serve_noop", "uvicorn_postgres",
                               "uvicorn_postgres", "serve_noop", "keylight",
                               "keylight", "serve_noop", "uvicorn_postgres"]


def test_each_round_goes_on_from_the_seats_the_round_before_took():
    generator = LoadGenerator({"keylight": [1, 1, 1], "serve_noop": [1, 1, 1],
                               "uvicorn_postgres": [1, 1, 1]})
    alternation().run(3, generator, announce=lambda _: None)
    assert generator.seats_seen == [{}, {"1": 1}, {"2": 2}]


def test_the_reported_ratio_is_the_median_of_the_rounds():
    generator = LoadGenerator({"keylight": [900, 1200, 1000],
                               "serve_noop": [3000, 2000, 2000],
                               "uvicorn_postgres": [1000, 1000, 1000]})
    found = alternation().run(3, generator, announce=lambda _: None)
    assert [r["activation_vs_uvicorn_postgres"] for r in found["rounds"]] == [0.9, 1.2, 1.0]
    assert found["median"] == {"activation_vs_uvicorn_postgres": 1.0,
                               "activation_vs_serve_noop": 0.5}
    assert found["rounds"][1] == {"activation": 1200, "serve_noop": 2000,
                                  "uvicorn_postgres": 1000,
                                  "activation_vs_serve_noop": 0.6,
                                  "activation_vs_uvicorn_postgres": 1.2}


def test_without_a_noop_baseline_only_the_plain_ratio_is_reported():
    generator = LoadGenerator({"keylight": [1500, 1500], "uvicorn_postgres": [1000, 1000]})
    found = alternation(with_noop=False).run(2, generator, announce=lambda _: None)
    assert "serve_noop" not in generator.asked
    assert found["median"] == {"activation_vs_uvicorn_postgres": 1.5,
                               "activation_vs_serve_noop": None}


def test_an_even_number_of_rounds_reports_the_middle_two_averaged():
    found = summarize_rounds([{"activation": 900, "uvicorn_postgres": 1000},
                              {"activation": 1100, "uvicorn_postgres": 1000}], 32, 5.0)
    assert found["median"]["activation_vs_uvicorn_postgres"] == 1.0
