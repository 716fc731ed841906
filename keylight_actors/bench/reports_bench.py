"""``keylight bench-reports``: the management reports at scale (issue 20).

Seeds one tenant with many licenses (1,000,000 by default) and a second with the export's
(100,000), then times the stats route (30 and 365 days) and the license list (first page,
filtered pages) one request at a time, signs in to the dashboard with the big tenant's
management token and times its licenses page (first page, filtered), and streams the
second tenant's CSV export while sampling the RSS of the Serve ingress replica
process(es) every 50 ms.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import secrets
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .errors import BenchFailed
from .run import _database_facts, _versions, require_loopback

STATS_LIMIT_MS = 200.0
SAMPLE_INTERVAL_SECONDS = 0.05
SETTLE_SECONDS = 1.0
MIB = 2**20


@dataclass
class ReportsConfig:
    licenses: int = 1_000_000
    export_licenses: int = 100_000
    runs: int = 20
    progress: bool = True
    sample_interval: float = SAMPLE_INTERVAL_SECONDS

    def check(self) -> None:
        if self.licenses < 1 or self.export_licenses < 1:
            raise BenchFailed("--licenses and --export-licenses must be at least 1")
        if not 1 <= self.runs <= 10_000:
            raise BenchFailed("--runs must be between 1 and 10000")


# -- maths -------------------------------------------------------------------------------

def percentile(values: Iterable[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of ``values``; 0.0 when empty."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def timing_summary(latencies: list[float], statuses: Mapping[int, int], first: float | None
                   ) -> dict[str, Any]:
    """Latencies in seconds (the timed runs) to a summary in ms; ``first`` is the untimed
    first request (cold caches), reported apart."""
    in_ms = [1000 * value for value in latencies]
    return {
        "runs": len(in_ms),
        "median_ms": round(statistics.median(in_ms), 2) if in_ms else 0.0,
        "p95_ms": round(percentile(in_ms, 0.95), 2),
        "min_ms": round(min(in_ms), 2) if in_ms else 0.0,
        "max_ms": round(max(in_ms), 2) if in_ms else 0.0,
        "first_ms": round(1000 * first, 2) if first is not None else None,
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
    }


# -- RSS sampling ------------------------------------------------------------------------

class RssSampler:
    """Calls ``read`` (bytes, or None when the processes are gone) every ``interval``
    seconds on a thread of its own between ``start`` and ``stop``."""

    def __init__(self, read: Callable[[], int | None], interval: float = SAMPLE_INTERVAL_SECONDS
                 ) -> None:
        self.read = read
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample_once(self) -> int | None:
        value = self.read()
        if value is not None:
            self.samples.append(value)
        return value

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.sample_once()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def start(self) -> RssSampler:
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[int]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.samples


def export_summary(*, before: int | None, samples: list[int], after: int | None, rows: int,
                   size: int, seconds: float, status: int) -> dict[str, Any]:
    """The export's figures: RSS before / peak during / after (MiB), rows/s, MB/s."""

    def mib(value: int | None) -> float | None:
        return round(value / MIB, 1) if value is not None else None

    peak = max(samples) if samples else None
    return {
        "status": status,
        "rows": rows,
        "bytes": size,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds) if seconds > 0 else None,
        "mb_per_second": round(size / 1e6 / seconds, 2) if seconds > 0 else None,
        "rss_samples": len(samples),
        "rss_before_mib": mib(before),
        "rss_peak_mib": mib(peak),
        "rss_after_mib": mib(after),
        "rss_peak_growth_mib": mib(peak - before) if peak is not None and before is not None
        else None,
    }


# -- the server's processes --------------------------------------------------------------

def replica_pids(app_name: str = "keylight", processes: Iterable[Any] | None = None, *,
                 ancestor: int | None = None) -> list[int]:
    """The pids of the Serve replicas of ``app_name`` on this machine: Ray names a replica's
    worker process ``ray::ServeReplica:<app>:<deployment>``. With ``ancestor``, only its
    descendants (the Ray instance this process started, not another one running here)."""
    import psutil

    marker = f"ServeReplica:{app_name}:"
    found = []
    if processes is None:
        processes = (psutil.Process(ancestor).children(recursive=True)
                     if ancestor is not None else psutil.process_iter())
    for process in processes:
        try:
            cmdline = " ".join(process.cmdline())
        except (psutil.Error, AttributeError):
            continue
        if marker in cmdline:
            found.append(process.pid)
    return sorted(found)


def rss_reader(pids: list[int]) -> Callable[[], int | None]:
    """Summed RSS of ``pids``; None once none of them answers."""
    import psutil

    handles = [psutil.Process(pid) for pid in pids]

    def read() -> int | None:
        total, seen = 0, False
        for handle in handles:
            try:
                total += handle.memory_info().rss
                seen = True
            except psutil.Error:
                continue
        return total if seen else None

    return read


# -- the requests ------------------------------------------------------------------------

def time_route(client: httpx.Client, path: str, token: str | None, runs: int,
               params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One untimed request (cold caches, reported apart), then ``runs`` timed ones. With no
    ``token``, the client's cookies authenticate (a dashboard page)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    statuses: Counter[int] = Counter()
    latencies = []
    first = None
    for index in range(runs + 1):
        started = time.perf_counter()
        answer = client.get(path, params=params, headers=headers)
        answer.read()
        elapsed = time.perf_counter() - started
        if index == 0:
            first = elapsed
            if answer.status_code != 200:  # not timed: the route is broken, say so
                return {**timing_summary([], {answer.status_code: 1}, first),
                        "error": f"HTTP {answer.status_code} {answer.text[:300]}"}
            continue
        statuses[answer.status_code] += 1
        latencies.append(elapsed)
    return timing_summary(latencies, statuses, first)


SIGNIN_CSRF = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)"')


def signin_csrf(html: str) -> str:
    """The sign-in form's CSRF value (its hidden ``csrf`` field) from the login page."""
    found = SIGNIN_CSRF.search(html)
    if found is None:
        raise BenchFailed("the dashboard's sign-in page has no csrf field")
    return found.group(1)


def dashboard_sign_in(client: httpx.Client, tenant_id: str, token: str) -> None:
    """Sign ``client`` in to the dashboard as a browser does: GET the form (its CSRF cookie
    and field), POST it; the session cookie stays in the client's jar."""
    form = client.get("/dashboard/login")
    if form.status_code != 200:
        raise BenchFailed(f"GET /dashboard/login: HTTP {form.status_code}")
    answer = client.post("/dashboard/login", data={
        "csrf": signin_csrf(form.text), "tenant_id": tenant_id, "token": token})
    if answer.status_code != 303 or "keylight_session" not in client.cookies:
        raise BenchFailed(f"dashboard sign-in: HTTP {answer.status_code} {answer.text[:200]}")


def stream_export(client: httpx.Client, path: str, token: str,
                  read_rss: Callable[[], int | None] | None,
                  interval: float = SAMPLE_INTERVAL_SECONDS) -> dict[str, Any]:
    """Stream the CSV to the end (counting lines, keeping nothing) while sampling RSS."""
    before = read_rss() if read_rss else None
    sampler = RssSampler(read_rss, interval).start() if read_rss else None
    size = lines = 0
    started = time.perf_counter()
    try:
        with client.stream("GET", path, headers={"Authorization": f"Bearer {token}"}) as answer:
            status = answer.status_code
            for chunk in answer.iter_raw():
                size += len(chunk)
                lines += chunk.count(b"\n")
    finally:
        seconds = time.perf_counter() - started
        samples = sampler.stop() if sampler else []
    if status != 200:
        raise BenchFailed(f"GET {path}: HTTP {status}")
    time.sleep(SETTLE_SECONDS)
    after = read_rss() if read_rss else None
    return export_summary(before=before, samples=samples, after=after,
                          rows=max(0, lines - 1), size=size, seconds=seconds, status=status)


# -- the run -----------------------------------------------------------------------------

@dataclass
class ReportsTargets:
    url: str
    database_url: str
    operator_token: str
    read_rss: Callable[[], int | None] | None = None
    replica_pids: list[int] = field(default_factory=list)
    description: str = ""


def _list_status_filter(client: httpx.Client, path: str, token: str) -> str:
    """``expired`` when the list accepts it as a status filter, else ``revoked``."""
    answer = client.get(path, params={"status": "expired", "limit": 1},
                        headers={"Authorization": f"Bearer {token}"})
    return "expired" if answer.status_code == 200 else "revoked"


def measure_reports(config: ReportsConfig, targets: ReportsTargets, *,
                    announce: Callable[[str], None] = print) -> dict[str, Any]:
    from .reports_seed import analyze, create_report_tenant, seed_spread

    config.check()
    require_loopback(targets.url)
    started = dt.datetime.now(dt.timezone.utc)
    load_before = os.getloadavg()
    run_id = "reports-" + secrets.token_hex(3)
    big = create_report_tenant(targets.url, targets.operator_token, f"{run_id}-big")
    small = create_report_tenant(targets.url, targets.operator_token, f"{run_id}-export")
    seeding = time.perf_counter()
    big_facts = seed_spread(targets.database_url, big, config.licenses,
                            progress=config.progress)
    small_facts = seed_spread(targets.database_url, small, config.export_licenses, seed=21,
                              progress=config.progress)
    seed_seconds = time.perf_counter() - seeding
    announce(f"seeded {config.licenses:,} + {config.export_licenses:,} licenses and "
             f"{big_facts.instances + small_facts.instances:,} devices in "
             f"{seed_seconds:.1f} s ({run_id})")
    analyzing = time.perf_counter()
    analyze(targets.database_url)
    analyze_seconds = time.perf_counter() - analyzing
    announce(f"VACUUM (ANALYZE) in {analyze_seconds:.1f} s")

    routes: dict[str, Any] = {}
    base = f"/api/{big.tenant_id}"
    with httpx.Client(base_url=targets.url, timeout=600) as client:
        status_filter = _list_status_filter(client, f"{base}/licenses", big.management_token)
        plan = [
            ("stats_30_days", f"{base}/stats", {"days": 30}),
            ("stats_365_days", f"{base}/stats", {"days": 365}),
            ("list_first_page", f"{base}/licenses", {}),
            (f"list_status_{status_filter}", f"{base}/licenses", {"status": status_filter}),
            ("list_email", f"{base}/licenses", {"email": big_facts.sample_email}),
        ]
        for name, path, params in plan:
            routes[name] = {"path": path, "params": params,
                            **time_route(client, path, big.management_token, config.runs,
                                         params)}
            announce(f"{name}: " + (f"failed: {routes[name]['error']}"
                                    if "error" in routes[name] else
                                    f"median {routes[name]['median_ms']} ms, "
                                    f"p95 {routes[name]['p95_ms']} ms"))
        # The dashboard's licenses page (rendered HTML, 25 a page), signed in with a session.
        with httpx.Client(base_url=targets.url, timeout=600) as browser:
            dashboard_sign_in(browser, big.tenant_id, big.management_token)
            page = f"/dashboard/tenants/{big.tenant_id}/licenses"
            for name, params in (("dashboard_licenses_first_page", {}),
                                 (f"dashboard_licenses_{status_filter}",
                                  {"status": status_filter}),
                                 ("dashboard_licenses_email",
                                  {"email": big_facts.sample_email})):
                routes[name] = {"path": page, "params": params,
                                **time_route(browser, page, None, config.runs, params)}
                announce(f"{name}: " + (f"failed: {routes[name]['error']}"
                                        if "error" in routes[name] else
                                        f"median {routes[name]['median_ms']} ms, "
                                        f"p95 {routes[name]['p95_ms']} ms"))
        if targets.read_rss is None:
            announce("export RSS: not measured (no Serve replica process found here)")
        export = stream_export(client, f"/api/{small.tenant_id}/licenses/export.csv",
                               small.management_token, targets.read_rss,
                               config.sample_interval)
    announce(f"export: {export['rows']:,} rows at {export['rows_per_second']} rows/s")
    meta = {
        "started_at": started.isoformat(timespec="seconds"),
        "target": targets.description,
        "cpus": os.cpu_count(),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "run_id": run_id,
        "runs": config.runs,
        "seed_seconds": round(seed_seconds, 1),
        "analyze_seconds": round(analyze_seconds, 1),
        "replica_pids": targets.replica_pids,
        **_database_facts(targets.database_url),
        **_versions(),
    }
    return {
        "meta": meta,
        "stats_tenant": {"tenant_id": big.tenant_id, **big_facts.as_dict()},
        "export_tenant": {"tenant_id": small.tenant_id, **small_facts.as_dict()},
        "routes": routes,
        "export": export,
        "targets": {"stats_limit_ms": STATS_LIMIT_MS,
                    "stats_30_days_p95_met": "error" not in routes["stats_30_days"]
                    and routes["stats_30_days"]["p95_ms"] < STATS_LIMIT_MS},
    }


def run_reports_bench(config: ReportsConfig, *, url: str | None, database_url: str | None,
                      operator_token: str | None, settings: Any = None,
                      announce: Callable[[str], None] = print) -> dict[str, Any]:
    """Against a running server (``url``), or one started here like ``keylight bench``."""
    config.check()
    if url is not None:
        if not database_url:
            raise BenchFailed("--url needs --database-url (licenses are seeded in bulk there)")
        if not operator_token:
            raise BenchFailed("--url needs --operator-token (or KEYLIGHT_ADMIN_TOKEN)")
        pids = replica_pids()
        return measure_reports(config, ReportsTargets(
            url.rstrip("/"), database_url, operator_token,
            rss_reader(pids) if pids else None, pids,
            description=f"running server at {url}"), announce=announce)

    from ..settings import Settings
    from .local_server import local_server

    settings = (settings or Settings.from_env()).with_changes(
        database_url=database_url, admin_token=operator_token)
    with local_server(settings, announce=announce) as server:
        pids = replica_pids(ancestor=os.getpid())
        announce(f"serving on {server.urls[0]}; ingress replica pids: {pids or 'not found'}")
        return measure_reports(config, ReportsTargets(
            server.urls[0], server.database_url, server.operator_token,
            rss_reader(pids) if pids else None, pids,
            description="local Ray, Serve throughput-optimised, "
                        f"{'embedded PostgreSQL' if not database_url else 'given PostgreSQL'}"),
            announce=announce)


# -- the printed report ------------------------------------------------------------------

def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f} MiB"


def format_report(report: Mapping[str, Any]) -> str:
    meta, export = report["meta"], report["export"]
    big, small = report["stats_tenant"], report["export_tenant"]
    lines = [
        f"Keylight management reports benchmark — {meta['started_at']}",
        f"target: {meta['target']}; {meta['cpus']} CPUs; load average "
        f"{meta['load_average_before']} before, {meta['load_average_after']} after; "
        f"PostgreSQL {meta.get('postgres', '?')}",
        f"stats tenant: {big['licenses']:,} licenses "
        f"({', '.join(f'{k} {v:,}' for k, v in big['by_status'].items())}), "
        f"{big['instances']:,} devices ({big['instances_activated_last_30_days']:,} "
        f"activated in the last 30 days)",
        f"export tenant: {small['licenses']:,} licenses, {small['instances']:,} devices",
        "",
        f"{'route':<30} {'median ms':>10} {'p95 ms':>10} {'max ms':>10} {'first ms':>10}  runs",
    ]
    for name, figures in report["routes"].items():
        first = figures.get("first_ms")
        if "error" in figures:
            lines.append(f"{name:<30} failed: {figures['error'][:60]}")
            continue
        lines.append(f"{name:<30} {figures['median_ms']:>10.1f} {figures['p95_ms']:>10.1f} "
                     f"{figures['max_ms']:>10.1f} "
                     f"{'n/a' if first is None else f'{first:.1f}':>10}  {figures['runs']}")
    targets = report.get("targets", {})
    if targets:
        verdict = "met" if targets.get("stats_30_days_p95_met") else "NOT met"
        lines.append(f"stats (30 days) p95 under {targets['stats_limit_ms']:.0f} ms: {verdict}")
    lines += [
        "",
        f"export: {export['rows']:,} rows, {export['bytes'] / 1e6:,.1f} MB in "
        f"{export['seconds']:.2f} s = {export['rows_per_second'] or 0:,} rows/s",
        f"ingress replica RSS: before {_mib(export['rss_before_mib'])}, peak "
        f"{_mib(export['rss_peak_mib'])} ({export['rss_samples']} samples), after "
        f"{_mib(export['rss_after_mib'])}",
    ]
    return "\n".join(lines)
