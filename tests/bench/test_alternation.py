"""Alternated rounds: activation and both baselines measured in turn, the order reversed
every other round, the ratios' medians reported. The load generator's part is stood in by
a function answering what it measured, so these are the sequencing rules alone; the bench's
smoke run drives the real thing."""

from __future__ import annotations

from typing import Any

from keylight_actors.bench.alternation import Alternation, summarize_rounds
from keylight_actors.bench.load import LoadPlan
from keylight_actors.bench.report import build_report, format_report

SCENARIO = {"keylight": "activate", "serve_noop": "noop", "uvicorn_postgres": "write"}


def plan(target: str) -> LoadPlan:
    return LoadPlan(target=target, urls=["http://127.0.0.1:1"], levels=[32], duration=5,
                    max_requests=100_000, scenarios=["activate"])


class LoadGenerator:
    """Answers each plan with the next throughput given for its target, as the load
    generator's result would, and keeps the order it was asked in."""

    def __init__(self, rps: dict[str, list[float]], seats_run_out_in_round: int = 0) -> None:
        self.rps = {target: list(values) for target, values in rps.items()}
        self.asked: list[str] = []
        self.seats_seen: list[dict[str, int]] = []
        self.seats_run_out_in_round = seats_run_out_in_round

    def __call__(self, plan: LoadPlan) -> dict[str, Any]:
        self.asked.append(plan.target)
        measured: dict[str, Any] = {"rps": self.rps[plan.target].pop(0)}
        if (plan.target == "keylight"
                and len(self.seats_seen) + 1 == self.seats_run_out_in_round):
            measured["stopped"] = ["no resident license with a free seat"]
        result: dict[str, Any] = {"levels": {"32": {SCENARIO[plan.target]: measured}}}
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


def test_a_round_whose_activation_ran_out_of_seats_is_left_out_of_the_activation_medians():
    generator = LoadGenerator({"keylight": [1100, 1200, 0.0],
                               "serve_noop": [2000, 2000, 2000],
                               "uvicorn_postgres": [1000, 1000, 1000]},
                              seats_run_out_in_round=3)
    said: list[str] = []
    found = alternation().run(3, generator, announce=said.append)
    assert found["rounds"][2]["activation_vs_uvicorn_postgres"] is None
    assert "activation" not in found["rounds"][2]
    assert found["median"]["activation_vs_uvicorn_postgres"] == 1.15
    assert "activation left out: no resident license with a free seat" in said[2]


def test_the_printed_report_marks_an_activation_left_out_as_not_measured():
    rounds = summarize_rounds([
        {"activation": 1100.0, "serve_noop": 2000.0, "uvicorn_postgres": 1000.0},
        {"serve_noop": 2000.0, "uvicorn_postgres": 1000.0},
    ], 32, 5.0)
    meta = {"licenses": 10, "tenants": 1, "duration": 5, "max_requests": 100, "cpus": 2}
    printed = format_report(build_report(meta, {}, [32], alternated=rounds))
    assert "round 2: activation n/a, no-op 2,000, plain 1,000; act/noop n/a, act/plain n/a" \
        in printed
    assert "median: act/noop 0.55, act/plain 1.10" in printed
