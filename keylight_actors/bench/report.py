"""The benchmark's report: per-scenario summaries, ratios to the baselines, the issue's
speed targets, a printed table and the same as JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# Issue 7, item 2 (2 cores, 32 concurrent clients, synchronous_commit on).
TARGET_LEVEL = 32
ACTIVATION_VS_NOOP = 0.5
VALIDATION_VS_NOOP = 0.6
P99_LIMIT_MS = 60.0
ACTIVATION_VS_PLAIN = 1.0
COLD_P50_EXTRA_MS = 2.0
BYTES_PER_ENTITY = 2048
# The memory sweep's RSS may grow by at most this share after the caps filled.
FLAT_GROWTH_LIMIT = 0.05


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list, in milliseconds."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return round(1000 * ordered[min(rank, len(ordered)) - 1], 2)


def summarize(latencies: Iterable[float], statuses: Mapping[str, int], elapsed: float
              ) -> dict[str, Any]:
    """Throughput, latency percentiles and answers by status of one set of requests.

    ``errors`` holds every answer that is not 2xx, and transport failures as ``error:<kind>``.
    """
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "seconds": round(elapsed, 3),
        "rps": round(len(ordered) / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": _percentile(ordered, 0.50),
        "p90_ms": _percentile(ordered, 0.90),
        "p99_ms": _percentile(ordered, 0.99),
        "max_ms": round(1000 * ordered[-1], 2) if ordered else 0.0,
        "statuses": dict(sorted(statuses.items())),
        "errors": {status: count for status, count in sorted(statuses.items())
                   if not status.startswith("2")},
    }


def _scenario(results: Mapping[str, Any], target: str, level: int, scenario: str
              ) -> dict[str, Any] | None:
    return results.get(target, {}).get("levels", {}).get(str(level), {}).get(scenario)


def throughput_ratio(numerator: float | None, denominator: float | None) -> float | None:
    """One throughput over another, to three places; None when either was not measured."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def _ratio(numerator: dict[str, Any] | None, denominator: dict[str, Any] | None
           ) -> float | None:
    """Two scenarios' throughputs, as ``throughput_ratio``."""
    return throughput_ratio(numerator["rps"] if numerator else None,
                            denominator["rps"] if denominator else None)


def ratios(results: Mapping[str, Any], levels: Iterable[int]) -> dict[str, dict[str, Any]]:
    """Activation and validation throughput over both baselines' at each level."""
    table = {}
    for level in levels:
        activate = _scenario(results, "keylight", level, "activate")
        cold = _scenario(results, "keylight", level, "activate_cold")
        validate = _scenario(results, "keylight", level, "validate")
        noop = _scenario(results, "serve_noop", level, "noop")
        plain = _scenario(results, "uvicorn_postgres", level, "write")
        table[str(level)] = {
            "activation_vs_serve_noop": _ratio(activate, noop),
            "validation_vs_serve_noop": _ratio(validate, noop),
            "activation_vs_uvicorn_postgres": _ratio(activate, plain),
            "validation_vs_uvicorn_postgres": _ratio(validate, plain),
            "cold_activation_vs_serve_noop": _ratio(cold, noop),
            "cold_activation_vs_uvicorn_postgres": _ratio(cold, plain),
        }
    return table


def target_level(levels: Iterable[int]) -> int:
    """The level the targets are judged at: 32 clients, or the highest level measured."""
    levels = list(levels)
    return TARGET_LEVEL if TARGET_LEVEL in levels else max(levels)


def _target(name: str, wanted: str, measured: float | None, met: bool | None,
            note: str = "") -> dict[str, Any]:
    return {"target": name, "wanted": wanted, "measured": measured, "met": met, "note": note}


def targets(results: Mapping[str, Any], levels: list[int],
            memory: Mapping[str, Any] | None,
            sweep: Mapping[str, Any] | None = None,
            alternated: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The issue's speed targets, judged at 32 clients (or the highest level measured);
    with alternated rounds, the activation ratios are judged once more on their medians."""
    level = target_level(levels)
    at = f"at {level} clients"
    found = ratios(results, [level])[str(level)]
    activate = _scenario(results, "keylight", level, "activate")
    validate = _scenario(results, "keylight", level, "validate")

    def at_least(value: float | None, bound: float) -> bool | None:
        return None if value is None else value >= bound

    def p99(summary: dict[str, Any] | None) -> float | None:
        return summary["p99_ms"] if summary else None

    checks = [
        _target(f"activation throughput (resident licenses) / Serve no-op, {at}",
                f">= {ACTIVATION_VS_NOOP}",
                found["activation_vs_serve_noop"],
                at_least(found["activation_vs_serve_noop"], ACTIVATION_VS_NOOP)),
        _target(f"validation throughput / Serve no-op, {at}", f">= {VALIDATION_VS_NOOP}",
                found["validation_vs_serve_noop"],
                at_least(found["validation_vs_serve_noop"], VALIDATION_VS_NOOP)),
        _target(f"activation p99 ms, {at}", f"<= {P99_LIMIT_MS:g}", p99(activate),
                None if activate is None else activate["p99_ms"] <= P99_LIMIT_MS),
        _target(f"validation p99 ms, {at}", f"<= {P99_LIMIT_MS:g}", p99(validate),
                None if validate is None else validate["p99_ms"] <= P99_LIMIT_MS),
        _target(f"activation throughput (resident licenses) / uvicorn + PostgreSQL, {at}",
                f">= {ACTIVATION_VS_PLAIN}", found["activation_vs_uvicorn_postgres"],
                at_least(found["activation_vs_uvicorn_postgres"], ACTIVATION_VS_PLAIN)),
    ]
    if alternated:
        rounds = len(alternated["rounds"])
        for key, baseline, bound in (
                ("activation_vs_serve_noop", "Serve no-op", ACTIVATION_VS_NOOP),
                ("activation_vs_uvicorn_postgres", "uvicorn + PostgreSQL", ACTIVATION_VS_PLAIN)):
            median = alternated["median"][key]
            checks.append(_target(
                f"activation throughput (resident licenses) / {baseline}, median of "
                f"{rounds} alternated rounds at {alternated['level']} clients",
                f">= {bound}", median, at_least(median, bound),
                "rounds: " + ", ".join(_fmt(round_[key]) for round_ in alternated["rounds"])))
    cold = results.get("keylight", {}).get("cold_start", {}).get("ops", {})
    extra = None
    if cold.get("first_touch") and cold.get("second_touch"):
        extra = round(cold["first_touch"]["p50_ms"] - cold["second_touch"]["p50_ms"], 2)
    checks.append(_target("cold (passivated) license: extra p50 activation ms, 1 client",
                          f"<= {COLD_P50_EXTRA_MS:g}", extra,
                          None if extra is None else extra <= COLD_P50_EXTRA_MS))
    per_entity = (memory or {}).get("bytes_per_entity")
    devices = (memory or {}).get("devices_per_entity")
    checks.append(_target(
        "resident bytes per cached license entity (license hosts' RSS growth / entities "
        "over the load, with the active devices the load added: "
        f"{_fmt(devices, '{:.1f}')} per entity)",
        f"<= {BYTES_PER_ENTITY}", per_entity,
        None if per_entity is None else per_entity <= BYTES_PER_ENTITY,
        "" if per_entity is not None else "measured only when the bench starts the server"))
    if sweep and sweep.get("bytes_per_entity") is not None:
        checks.append(_target(
            "resident bytes per cached license entity (license hosts' RSS growth / entities "
            "over the memory sweep, licenses without devices)",
            f"<= {BYTES_PER_ENTITY}", sweep["bytes_per_entity"],
            sweep["bytes_per_entity"] <= BYTES_PER_ENTITY))
    flat = (sweep or {}).get("flat")
    growth = (sweep or {}).get("growth_share")
    checks.append(_target(
        "license hosts' RSS growth after their caps filled, over the memory sweep (share)",
        f"flat (<= {FLAT_GROWTH_LIMIT})", growth, flat,
        (f"{sweep['touched']:,} licenses touched, caps of {sweep['cap']:,} entities"
         if sweep else "run with --sweep (touches every seeded license)")
        + ("; the caps never filled: seed more licenses than the caps" if sweep
           and not sweep.get("caps_filled") else "")))
    return checks


def server_errors(results: Mapping[str, Any]) -> dict[str, int]:
    """Every 5xx answer and transport failure across the run, by target/level/scenario."""
    found = {}
    for target, result in results.items():
        scenarios = [("cold_start", result["cold_start"])] if "cold_start" in result else []
        for level, by_scenario in result.get("levels", {}).items():
            scenarios += [(f"{name} c={level}", summary)
                          for name, summary in by_scenario.items()]
        for name, summary in scenarios:
            count = sum(n for status, n in summary["errors"].items()
                        if status.startswith("5") or status.startswith("error"))
            if count:
                found[f"{target} {name}"] = count
    return found


def build_report(meta: dict[str, Any], results: Mapping[str, Any], levels: list[int],
                 memory: Mapping[str, Any] | None = None,
                 sweep: Mapping[str, Any] | None = None,
                 alternated: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "meta": meta,
        "results": dict(results),
        "ratios": ratios(results, levels),
        "targets": targets(results, levels, memory, sweep, alternated),
        "server_errors": server_errors(results),
        "memory": dict(memory) if memory else None,
        "sweep": dict(sweep) if sweep else None,
        "alternated": dict(alternated) if alternated else None,
    }


def _errors_text(errors: Mapping[str, int]) -> str:
    return ", ".join(f"{status}:{count}" for status, count in errors.items()) or "-"


def _fmt(value: float | None, pattern: str = "{:.2f}") -> str:
    return "n/a" if value is None else pattern.format(value)


def format_report(report: Mapping[str, Any]) -> str:
    lines = []
    meta = report["meta"]
    lines.append(f"keylight bench — {meta.get('licenses', '?'):,} licenses, "
                 f"{meta.get('tenants', '?')} tenants, {meta.get('duration')} s and at most "
                 f"{meta.get('max_requests'):,} requests per scenario and level, "
                 f"{meta.get('cpus')} CPUs, {meta.get('client', 'raw')} client")
    lines.append(f"load average (1, 5, 15 min) before: {meta.get('load_average_before')}, "
                 f"after: {meta.get('load_average_after')} — anything else running on these "
                 f"cores skews every number")
    header = (f"{'target':<17} {'scenario':<14} {'c':>3} {'requests':>9} {'rps':>9} "
              f"{'p50 ms':>8} {'p99 ms':>8} {'cpu% cl':>7}  errors by status")
    lines += ["", header, "-" * len(header)]

    def row(target: str, scenario: str, level: str, summary: Mapping[str, Any]) -> str:
        return (f"{target:<17} {scenario:<14} {level:>3} {summary['requests']:>9,} "
                f"{summary['rps']:>9,.0f} {summary['p50_ms']:>8.2f} {summary['p99_ms']:>8.2f} "
                f"{summary.get('client_cpu_percent', 0):>7.0f}  "
                f"{_errors_text(summary['errors'])}")

    for target, result in report["results"].items():
        if "cold_start" in result:
            for op, summary in result["cold_start"].get("ops", {}).items():
                lines.append(row(target, f"cold:{op.split('_')[0]}", "1", summary))
        for level, by_scenario in result["levels"].items():
            for scenario, summary in by_scenario.items():
                lines.append(row(target, scenario, level, summary))
                if scenario == "mixed":
                    for op, part in summary.get("ops", {}).items():
                        lines.append(row("", f"  {op}", "", part))
    lines += ["", "throughput ratios        c   act/noop  val/noop  act/plain  val/plain  "
                  "cold/noop  cold/plain"]
    for level, found in report["ratios"].items():
        lines.append(f"{'':<22} {level:>3} {_fmt(found['activation_vs_serve_noop']):>10} "
                     f"{_fmt(found['validation_vs_serve_noop']):>9} "
                     f"{_fmt(found['activation_vs_uvicorn_postgres']):>10} "
                     f"{_fmt(found['validation_vs_uvicorn_postgres']):>10} "
                     f"{_fmt(found['cold_activation_vs_serve_noop']):>10} "
                     f"{_fmt(found['cold_activation_vs_uvicorn_postgres']):>11}")
    lines.append("  (act: activations of resident licenses; cold: of licenses never loaded; "
                 "noop: Ray Serve no-op endpoint; plain: FastAPI + uvicorn + one PostgreSQL "
                 "write per request, no Ray)")
    memory = report.get("memory")
    if memory:
        lines += ["", f"license hosts: {memory['entities']:,} resident entities, RSS "
                      f"{memory['rss_before_mib']:.1f} -> {memory['rss_after_mib']:.1f} MiB, "
                      f"≈ {_fmt(memory.get('bytes_per_entity'), '{:,.0f}')} bytes per entity "
                      f"added, with {_fmt(memory.get('devices_per_entity'), '{:.1f}')} "
                      "active devices added per entity"]
    sweep = report.get("sweep")
    if sweep:
        lines += ["", f"memory sweep: {sweep['touched']:,} licenses touched once "
                      f"({sweep['failures']:,} failed), caps {sweep['cap']:,} entities; "
                      "license hosts' RSS (MiB) by licenses touched:",
                  "  " + ", ".join(f"{sample['touched']:,}: {sample['rss_mib']:.0f}"
                                   for sample in sweep["samples"])]
    alternated = report.get("alternated")
    if alternated:
        lines += ["", f"alternated rounds at {alternated['level']} clients, "
                      f"{alternated['seconds']:g} s per target (activation, no-op, plain; "
                      "the order reversed every other round), requests/s:"]
        for number, found in enumerate(alternated["rounds"], start=1):
            lines.append(
                f"  round {number}: activation {_fmt(found.get('activation'), '{:,.0f}')}, "
                f"no-op {_fmt(found.get('serve_noop'), '{:,.0f}')}, "
                f"plain {_fmt(found.get('uvicorn_postgres'), '{:,.0f}')}; act/noop "
                f"{_fmt(found['activation_vs_serve_noop'])}, act/plain "
                f"{_fmt(found['activation_vs_uvicorn_postgres'])}")
        median = alternated["median"]
        lines.append(f"  median: act/noop {_fmt(median['activation_vs_serve_noop'])}, "
                     f"act/plain {_fmt(median['activation_vs_uvicorn_postgres'])}")
    lines += ["", "issue 7 targets"]
    for check in report["targets"]:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[check["met"]]
        measured = check["measured"]
        lines.append(f"  [{verdict:^12}] {check['target']}: {_fmt(measured, '{:g}')} "
                     f"(wanted {check['wanted']})" + (f" — {check['note']}"
                                                       if check["note"] else ""))
    if report["server_errors"]:
        lines += ["", "5xx answers or transport failures: " + ", ".join(
            f"{where}: {count}" for where, count in report["server_errors"].items())]
    return "\n".join(lines)


def write_json(report: Mapping[str, Any], path: Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
