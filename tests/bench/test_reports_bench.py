"""The pure parts of ``keylight bench-reports``: percentiles, timing summaries, the RSS
sampler (with a fake reader), the export figures, replica discovery, the seed's spread and
the printed report. No timed assertions."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest

from keylight_actors.bench.errors import BenchFailed
from keylight_actors.bench.reports_bench import (
    MIB,
    ReportsConfig,
    RssSampler,
    export_summary,
    format_report,
    percentile,
    replica_pids,
    signin_csrf,
    timing_summary,
)
from keylight_actors.bench.reports_seed import (
    SPREAD_DAYS,
    ReportTenant,
    SeedFacts,
    spread_rows,
)


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))  # 1..100
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.95) == 95
    assert percentile(values, 1.0) == 100
    assert percentile(values, 0.0) == 1
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.95) == 0.0
    assert percentile([3, 1, 2], 0.95) == 3  # unsorted input


def test_timing_summary_in_milliseconds() -> None:
    latencies = [0.010 + 0.001 * n for n in range(20)]  # 10..29 ms
    summary = timing_summary(latencies, {200: 20}, first=0.5)
    assert summary["runs"] == 20
    assert summary["median_ms"] == 19.5
    assert summary["p95_ms"] == 28.0  # 19th of 20
    assert summary["min_ms"] == 10.0 and summary["max_ms"] == 29.0
    assert summary["first_ms"] == 500.0
    assert summary["statuses"] == {"200": 20}


def test_timing_summary_empty() -> None:
    summary = timing_summary([], {500: 1}, first=None)
    assert summary["runs"] == 0 and summary["median_ms"] == 0.0
    assert summary["first_ms"] is None
    assert summary["statuses"] == {"500": 1}


def test_sampler_keeps_readings_and_skips_missing_processes() -> None:
    readings = iter([100, None, 300, 200])
    sampler = RssSampler(lambda: next(readings), interval=0.05)
    for _ in range(4):
        sampler.sample_once()
    assert sampler.samples == [100, 300, 200]


def test_sampler_thread_samples_until_stopped() -> None:
    calls = []

    def read() -> int:
        calls.append(1)
        return len(calls) * MIB

    sampler = RssSampler(read, interval=0.001).start()
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.001)
    samples = sampler.stop()
    stopped_at = len(calls)
    time.sleep(0.01)
    assert len(samples) >= 3
    assert samples == sorted(samples)  # in reading order
    assert len(calls) == stopped_at  # nothing read after stop


def test_export_summary_figures() -> None:
    summary = export_summary(before=100 * MIB, samples=[101 * MIB, 130 * MIB, 120 * MIB],
                             after=110 * MIB, rows=100_000, size=15_000_000, seconds=4.0,
                             status=200)
    assert summary["rss_before_mib"] == 100.0
    assert summary["rss_peak_mib"] == 130.0
    assert summary["rss_after_mib"] == 110.0
    assert summary["rss_peak_growth_mib"] == 30.0
    assert summary["rss_samples"] == 3
    assert summary["rows_per_second"] == 25_000
    assert summary["mb_per_second"] == 3.75


def test_export_summary_without_rss() -> None:
    summary = export_summary(before=None, samples=[], after=None, rows=0, size=0,
                             seconds=0.0, status=200)
    assert summary["rss_peak_mib"] is None and summary["rss_peak_growth_mib"] is None
    assert summary["rows_per_second"] is None


class FakeProcess:
    def __init__(self, pid: int, cmdline: list[str] | Exception) -> None:
        self.pid = pid
        self._cmdline = cmdline

    def cmdline(self) -> list[str]:
        if isinstance(self._cmdline, Exception):
            raise self._cmdline
        return self._cmdline


def test_replica_pids_match_the_app_only() -> None:
    import psutil

    processes = [
        FakeProcess(30, ["ray::ServeReplica:keylight:KeylightIngress"]),
        FakeProcess(10, ["ray::ServeReplica:keylight:KeylightIngress.handle_request"]),
        FakeProcess(20, ["ray::ServeReplica:keylight-noop:Noop"]),
        FakeProcess(40, ["ray::ServeController"]),
        FakeProcess(50, psutil.AccessDenied(50)),
    ]
    assert replica_pids("keylight", processes) == [10, 30]


def test_config_checks() -> None:
    ReportsConfig().check()
    with pytest.raises(BenchFailed):
        ReportsConfig(licenses=0).check()
    with pytest.raises(BenchFailed):
        ReportsConfig(runs=0).check()


def test_spread_rows_cover_sixty_days_and_the_statuses() -> None:
    now = dt.datetime(2026, 12, 6, 12, tzinfo=dt.timezone.utc)
    tenant = ReportTenant("t", "token", "app", "ABCD")
    facts = SeedFacts()
    rows = list(spread_rows(tenant, 3000, now, random.Random(1), facts))
    licenses = [row for row, _ in rows]
    devices = [device for _, found in rows for device in found]
    created = [row[13] for row in licenses]
    assert min(created) >= now - dt.timedelta(days=SPREAD_DAYS) and max(created) <= now
    assert {row[6] for row in licenses} == {"active", "revoked", "reminted"}
    past_expiry = [row for row in licenses if row[6] == "active" and row[8] is not None
                   and row[8] <= now]
    assert len(past_expiry) == facts.by_status["expired"] > 0
    assert facts.licenses == 3000 == sum(facts.by_status.values())
    assert facts.instances == len(devices) > 0
    by_license = {row[0]: row for row in licenses}
    for device in devices:
        license_row = by_license[device[1]]
        assert device[2] == tenant.tenant_id  # the device row carries its license's tenant
        assert license_row[13] <= device[5] <= now  # activated after its license was made
        assert device[6] is None or device[5] <= device[6] <= now
    assert 0 < facts.instances_last_30_days < facts.instances
    assert facts.sample_email is not None
    assert any(row[11] == facts.sample_email for row in licenses)
    assert len({row[4] for row in licenses}) == 3000  # key hashes are unique


def _report(error: bool = False) -> dict:
    routes = {
        "stats_30_days": {**timing_summary([0.05] * 20, {200: 20}, 0.3)},
        "list_email": ({**timing_summary([], {500: 1}, 0.01), "error": "HTTP 500 boom"}
                       if error else timing_summary([0.002] * 20, {200: 20}, 0.01)),
    }
    return {
        "meta": {"started_at": "2026-12-06T12:00:00+00:00", "target": "local", "cpus": 2,
                 "load_average_before": [1.0, 1.0, 1.0],
                 "load_average_after": [2.0, 1.0, 1.0], "postgres": "15.2"},
        "stats_tenant": {"tenant_id": "big", "licenses": 1_000_000,
                         "by_status": {"active": 900_000, "revoked": 100_000},
                         "instances": 400_000, "instances_activated_last_30_days": 250_000},
        "export_tenant": {"tenant_id": "small", "licenses": 100_000, "by_status": {},
                          "instances": 40_000, "instances_activated_last_30_days": 1},
        "routes": routes,
        "export": export_summary(before=100 * MIB, samples=[120 * MIB], after=105 * MIB,
                                 rows=100_000, size=16_000_000, seconds=2.0, status=200),
        "targets": {"stats_limit_ms": 200.0, "stats_30_days_p95_met": True},
    }


def test_format_report_shows_every_figure() -> None:
    text = format_report(_report())
    assert "1,000,000 licenses" in text
    assert "stats_30_days" in text and "50.0" in text and "300.0" in text
    assert "p95 under 200 ms: met" in text
    assert "100,000 rows" in text and "50,000 rows/s" in text
    assert "before 100.0 MiB, peak 120.0 MiB (1 samples), after 105.0 MiB" in text


def test_format_report_shows_a_failed_route() -> None:
    text = format_report(_report(error=True))
    assert f"{'list_email':<30} failed: HTTP 500 boom" in text


def test_signin_csrf_reads_the_login_forms_hidden_field() -> None:
    from keylight_actors.dashboard.routes import templates

    html = templates.get_template("login.html").render(
        request_path="/dashboard/login", user=None, tenant_id=None, nav=None, error=None,
        signin_csrf="abc-123_XYZ", given_tenant="", signed_out=False)
    assert signin_csrf(html) == "abc-123_XYZ"
    with pytest.raises(BenchFailed):
        signin_csrf("<form><input name=token></form>")
