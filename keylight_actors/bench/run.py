"""One benchmark run: seed, drive the server and both baselines from a separate load
generator process, and report."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from .alternation import Alternation
from .baselines import PLAIN_POOL_SIZE, PlainBaseline, drop_plain_table
from .errors import BenchFailed
from .load import KEYLIGHT_SCENARIOS, LoadPlan
from .report import build_report, target_level
from .seed import Seed, seed

LOAD_SLACK_SECONDS = 120.0


@dataclass
class BenchConfig:
    licenses: int = 10_000
    tenants: int = 4
    levels: list[int] = field(default_factory=lambda: [1, 8, 32])
    duration: float = 10.0
    max_requests: int = 100_000
    scenarios: list[str] = field(default_factory=lambda: list(KEYLIGHT_SCENARIOS))
    cold_start: bool = True
    plain_pool_size: int = PLAIN_POOL_SIZE
    progress: bool = True
    sweep: bool = False  # touch every seeded license once, sampling the hosts' memory
    client: str = "raw"  # the load generator's HTTP client: raw (lean) or httpx
    # After the main run: rounds taking activation and both baselines in turn (alternation)
    rounds: int = 0
    round_seconds: float = 5.0

    def check(self) -> None:
        if self.licenses < 1 or self.tenants < 1:
            raise BenchFailed("--licenses and --tenants must be at least 1")
        if not self.levels or min(self.levels) < 1 or max(self.levels) > 1024:
            raise BenchFailed("--concurrency levels must be between 1 and 1024")
        if self.duration <= 0 or self.duration > 3600:
            raise BenchFailed("--duration must be between 0 and 3600 seconds")
        if self.max_requests < 1:
            raise BenchFailed("--max-requests must be at least 1")
        if self.client not in {"raw", "httpx"}:
            raise BenchFailed("--client is raw or httpx")
        if not 0 <= self.rounds <= 100:
            raise BenchFailed("--rounds must be between 0 and 100")
        if self.round_seconds <= 0 or self.round_seconds > 600:
            raise BenchFailed("--round-seconds must be between 0 and 600 seconds")


@dataclass
class Targets:
    """Where the run sends its load. Every URL must be on loopback."""

    keylight_urls: list[str]
    database_url: str
    operator_token: str
    noop_urls: list[str] | None = None   # None: the Serve no-op is not measured
    memory_probe: Callable[[], dict[str, Any]] | None = None
    memory_growth: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    sweep: Callable[[Seed], dict[str, Any]] | None = None
    description: str = ""


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def require_loopback(url: str) -> None:
    from urllib.parse import urlsplit

    host = urlsplit(url).netloc.rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if host not in LOOPBACK_HOSTS:
        raise BenchFailed(f"the benchmark only drives loopback addresses, not {url}")


def run_load(plan: LoadPlan, workdir: Path) -> dict[str, Any]:
    """The load generator in its own process; it draws its progress on stderr."""
    plan_path = workdir / f"plan-{plan.target}.json"
    result_path = workdir / f"result-{plan.target}.json"
    plan.save(plan_path)
    scenarios = len(plan.scenarios) + 1 if plan.target == "keylight" else 1
    timeout = len(plan.levels) * scenarios * (plan.duration + 30) + LOAD_SLACK_SECONDS
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "keylight_actors.bench.load", str(plan_path),
             str(result_path)], timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BenchFailed(f"the load generator for {plan.target} ran past {timeout:.0f} s"
                          ) from None
    if finished.returncode != 0:
        raise BenchFailed(f"the load generator for {plan.target} failed "
                          f"(exit {finished.returncode})")
    return json.loads(result_path.read_text())


def _database_facts(database_url: str) -> dict[str, Any]:
    with psycopg.connect(database_url) as conn:
        return {
            "postgres": conn.execute("SHOW server_version").fetchone()[0],
            "synchronous_commit": conn.execute("SHOW synchronous_commit").fetchone()[0],
        }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("ray", "fastapi", "uvicorn", "httpx", "psycopg"):
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    return found


def measure(config: BenchConfig, targets: Targets, *, announce: Any = print
            ) -> dict[str, Any]:
    """Seed, then run the load against Keylight and both baselines; answers the report."""
    config.check()
    for url in [*targets.keylight_urls, *(targets.noop_urls or [])]:
        require_loopback(url)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    seeding = time.perf_counter()
    seeded = seed(targets.keylight_urls[0], targets.operator_token, targets.database_url,
                  tenants=config.tenants, licenses=config.licenses, progress=config.progress)
    seed_seconds = time.perf_counter() - seeding
    announce(f"seeded {config.tenants} tenants and {config.licenses:,} licenses in "
             f"{seed_seconds:.1f} s ({seeded.run_id})")
    results: dict[str, Any] = {}
    memory = None
    sweep_result = None
    alternated = None
    with tempfile.TemporaryDirectory(prefix="keylight-bench-") as scratch:
        workdir = Path(scratch)
        seed_path = workdir / "seed.json"
        seeded.save(seed_path)  # raw keys: owner-only, removed with the directory
        common = {"levels": config.levels, "duration": config.duration,
                  "max_requests": config.max_requests, "progress": config.progress,
                  "client": config.client}
        cold_shares = (int(config.cold_start)
                       + len(config.levels) * ("activate_cold" in config.scenarios))
        keylight = {"target": "keylight", "urls": targets.keylight_urls,
                    "seed_path": str(seed_path), "scenarios": config.scenarios,
                    "cold_shares": cold_shares}
        # The cold-start scenario first, in a run of its own: it also warms the server up,
        # so the memory probe that follows it sees hosts that have served requests.
        warm_up = run_load(LoadPlan(**{**keylight, **common, "levels": [],
                                       "cold_start": config.cold_start}), workdir)
        before = targets.memory_probe() if targets.memory_probe else None
        results["keylight"] = run_load(LoadPlan(
            **keylight, **common, cold_start=False, touched=warm_up.pop("touched"),
            seats=warm_up.pop("seats")), workdir)
        touched, seats = results["keylight"].pop("touched"), results["keylight"].pop("seats")
        if "cold_start" in warm_up:
            results["keylight"]["cold_start"] = warm_up["cold_start"]
        if before is not None and targets.memory_probe and targets.memory_growth:
            memory = targets.memory_growth(before, targets.memory_probe())
        if config.sweep:
            if targets.sweep is None:
                announce("memory sweep: not measured (only when the bench starts the server)")
            else:
                sweep_result = targets.sweep(seeded)
        noop_plan = None
        if targets.noop_urls:
            noop_plan = LoadPlan(target="serve_noop", urls=targets.noop_urls, path="/",
                                 **common)
            results["serve_noop"] = run_load(noop_plan, workdir)
        else:
            announce("Serve no-op baseline: not measured (no --noop-url)")
        try:
            with PlainBaseline(targets.database_url, pool_size=config.plain_pool_size) as plain:
                plain_plan = LoadPlan(target="uvicorn_postgres", urls=[plain.url],
                                      key_space=max(config.licenses, 1000), **common)
                results["uvicorn_postgres"] = run_load(plain_plan, workdir)
                if config.rounds:
                    resident = LoadPlan(**{**keylight, "scenarios": ["activate"]}, **common,
                                        cold_start=False, touched=touched, seats=seats)
                    alternated = _alternate(config, resident, noop_plan, plain_plan, workdir,
                                            announce)
        finally:
            drop_plain_table(targets.database_url)
    meta = {
        "started_at": started.isoformat(timespec="seconds"),
        "target": targets.description,
        "cpus": os.cpu_count(),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "licenses": config.licenses,
        "tenants": config.tenants,
        "levels": config.levels,
        "duration": config.duration,
        "max_requests": config.max_requests,
        "seed_seconds": round(seed_seconds, 2),
        "run_id": seeded.run_id,
        "plain_baseline_pool_size": config.plain_pool_size,
        "client": config.client,
        **_database_facts(targets.database_url),
        **_versions(),
    }
    return build_report(meta, results, config.levels, memory, sweep_result, alternated)


def _alternate(config: BenchConfig, resident: LoadPlan, noop: LoadPlan | None,
               plain: LoadPlan, workdir: Path, announce: Any) -> dict[str, Any]:
    """The alternated rounds (``alternation``): each plan cut down to the target level and
    ``round_seconds``; ``resident`` activates licenses the main run left resident."""
    level = target_level(config.levels)

    def for_rounds(plan: LoadPlan) -> LoadPlan:
        return dataclasses.replace(plan, levels=[level], duration=config.round_seconds)

    return Alternation(
        level, config.round_seconds, keylight=for_rounds(resident),
        noop=for_rounds(noop) if noop else None, plain=for_rounds(plain),
    ).run(config.rounds, lambda plan: run_load(plan, workdir), announce)


def run_bench(config: BenchConfig, *, url: str | None, noop_url: str | None,
              database_url: str | None, operator_token: str | None,
              settings: Any = None, announce: Any = print) -> dict[str, Any]:
    """Against a running server (``url``), or one started here in throughput-optimised mode."""
    config.check()
    if url is not None:
        if not database_url:
            raise BenchFailed("--url needs --database-url (licenses are seeded in bulk there)")
        if not operator_token:
            raise BenchFailed("--url needs --operator-token (or KEYLIGHT_ADMIN_TOKEN)")
        return measure(config, Targets(
            [url.rstrip("/")], database_url, operator_token,
            [noop_url.rstrip("/")] if noop_url else None,
            description=f"running server at {url}"), announce=announce)

    from ..settings import Settings
    from .local_server import license_host_memory, local_server, memory_growth
    from .sweep import sweep

    settings = (settings or Settings.from_env()).with_changes(
        database_url=database_url, admin_token=operator_token)
    with local_server(settings, announce=announce) as server:
        mode = "direct ingress" if server.direct_ingress else "through the Serve proxy"
        announce(f"serving on {', '.join(server.urls)} ({mode}); no-op baseline on "
                 f"{', '.join(server.noop_urls)}")
        return measure(config, Targets(
            server.urls, server.database_url, server.operator_token, server.noop_urls,
            license_host_memory, memory_growth,
            sweep=lambda seeded: asyncio.run(
                sweep(server.settings, seeded, progress=config.progress)),
            description=f"local Ray, Serve throughput-optimised ({mode}), "
                        f"{'embedded PostgreSQL' if not database_url else 'given PostgreSQL'}"),
            announce=announce)
