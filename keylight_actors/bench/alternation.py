"""Alternated rounds: activation and the two baselines, taken in turn, several times.

The main run measures each target once, one after the other, so a slow moment of the
machine that falls on one of them moves their ratio (on 2 shared cores the figures move by
a quarter between runs). Here, after the main run, each round measures activation of
resident licenses, the Serve no-op and the plain baseline for a few seconds each, at the
target level, the order reversed every other round (A N P, then P N A) so that a steady
drift weighs on all three alike. The median over the rounds of each ratio is the steadier
figure; the rounds themselves are in the report.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .load import LoadPlan
from .report import throughput_ratio

# What one round measured: requests per second of each target it drove.
Round = dict[str, float]
RunLoad = Callable[[LoadPlan], dict[str, Any]]

ACTIVATION, NOOP, PLAIN = "activation", "serve_noop", "uvicorn_postgres"


@dataclass
class Alternation:
    level: int
    seconds: float
    keylight: LoadPlan      # activate only, at ``level``; carries touched licenses and seats
    noop: LoadPlan | None   # None: no no-op baseline to measure
    plain: LoadPlan

    def run(self, rounds: int, run_load: RunLoad, announce: Callable[[str], None]
            ) -> dict[str, Any]:
        measured: list[Round] = []
        for index in range(rounds):
            order = [ACTIVATION, NOOP, PLAIN] if index % 2 == 0 else [PLAIN, NOOP, ACTIVATION]
            found: Round = {}
            left_out: list[str] = []
            for target in order:
                rps, reasons = self._measure(target, run_load)
                left_out.extend(reasons)
                if rps is not None:
                    found[target] = rps
            measured.append(found)
            announce(f"alternated round {index + 1}/{rounds}: " + ", ".join(
                [f"{target} {rps:,.0f} rps" for target, rps in found.items()]
                + [f"activation left out: {reason}" for reason in left_out]))
        return summarize_rounds(measured, self.level, self.seconds)

    def _measure(self, target: str, run_load: RunLoad) -> tuple[float | None, list[str]]:
        """The target's requests per second, or None with the reasons it was left out."""
        if target == ACTIVATION:
            result = run_load(self.keylight)
            # The next round goes on from the seats this one took.
            self.keylight.touched = result.pop("touched")
            self.keylight.seats = result.pop("seats")
            activation = result["levels"][str(self.level)]["activate"]
            if activation.get("stopped"):
                # Out of free seats on resident licenses: the round measured less than its
                # time, or nothing; its ratio would say nothing about speed.
                return None, list(activation["stopped"])
            return _rps(result, "activate", self.level), []
        if target == NOOP:
            if self.noop is None:
                return None, []
            return _rps(run_load(self.noop), "noop", self.level), []
        return _rps(run_load(self.plain), "write", self.level), []


def _rps(result: Mapping[str, Any], scenario: str, level: int) -> float:
    return float(result["levels"][str(level)][scenario]["rps"])


def summarize_rounds(measured: list[Round], level: int, seconds: float) -> dict[str, Any]:
    rounds = [{**found,
               "activation_vs_serve_noop": throughput_ratio(found.get(ACTIVATION),
                                                            found.get(NOOP)),
               "activation_vs_uvicorn_postgres": throughput_ratio(found.get(ACTIVATION),
                                                                  found.get(PLAIN))}
              for found in measured]

    def median(key: str) -> float | None:
        values = [found[key] for found in rounds if found.get(key) is not None]
        return round(statistics.median(values), 3) if values else None

    return {
        "level": level,
        "seconds": seconds,
        "rounds": rounds,
        "median": {key: median(key) for key in
                   ("activation_vs_serve_noop", "activation_vs_uvicorn_postgres")},
    }
