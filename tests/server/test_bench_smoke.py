"""`keylight bench` at tiny sizes, so that it cannot rot.

It drives the session's server (no second Ray instance), the Serve no-op baseline deployed
into the session's Serve as a second application on its own route prefix, and the plain
uvicorn + PostgreSQL baseline in its own process. The session's Serve is not
throughput-optimised (that must be set before Ray starts), so the numbers mean nothing
here; the real `keylight bench` starts its own Ray in that mode.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from keylight_actors.bench.baselines import NOOP_APP_NAME, NOOP_ROUTE_PREFIX, noop_serve_app
from keylight_actors.bench.errors import BenchFailed
from keylight_actors.bench.report import format_report, write_json
from keylight_actors.bench.run import BenchConfig, Targets, measure, require_loopback
from keylight_actors.cli import build_parser

from .conftest import SECRETS_SEEN

# Enough licenses that the cold scenarios (at most 100 + 200 first touches) never run out.
TINY = BenchConfig(licenses=400, tenants=2, levels=[4], duration=2.0, max_requests=200,
                   rounds=2, round_seconds=1.0)


@pytest.fixture
def noop_url(base_url: str):
    from ray import serve

    serve.run(noop_serve_app(), name=NOOP_APP_NAME, route_prefix=NOOP_ROUTE_PREFIX,
              blocking=False)
    url = base_url + NOOP_ROUTE_PREFIX
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the no-op app did not come up"
        time.sleep(0.2)
    yield url
    serve.delete(NOOP_APP_NAME)


def test_bench_runs_every_piece_at_tiny_sizes(base_url, settings, database_url, noop_url,
                                              tmp_path):
    report = measure(TINY, Targets([base_url], database_url, settings.admin_token, [noop_url],
                                   description="the test session's server"),
                     announce=lambda message: None)

    results = report["results"]
    assert set(results) == {"keylight", "serve_noop", "uvicorn_postgres"}
    scenarios = {
        "keylight": {"activate_cold", "activate", "validate", "mixed"},
        "serve_noop": {"noop"},
        "uvicorn_postgres": {"write"},
    }
    for target, expected in scenarios.items():
        assert set(results[target]["levels"]) == {"4"}
        level = results[target]["levels"]["4"]
        assert set(level) == expected
        for name, summary in level.items():
            assert 0 < summary["requests"] <= TINY.max_requests, (target, name)
            assert summary["rps"] > 0, (target, name)
            assert 0 < summary["p50_ms"] <= summary["p99_ms"] <= summary["max_ms"]
            assert summary["seconds"] < TINY.duration + 5
            assert not any(status.startswith(("5", "error")) for status in summary["errors"]), \
                (target, name, summary["errors"])
    # Every keylight request was one the server should grant: no error of any kind.
    for name, summary in results["keylight"]["levels"]["4"].items():
        assert summary["errors"] == {}, (name, summary["errors"])
    mixed_ops = results["keylight"]["levels"]["4"]["mixed"]["ops"]
    assert set(mixed_ops) <= {"activate", "validate", "deactivate"} and "validate" in mixed_ops
    cold = results["keylight"]["cold_start"]["ops"]
    assert set(cold) == {"first_touch", "second_touch"}
    assert cold["first_touch"]["requests"] == cold["second_touch"]["requests"] > 0
    assert cold["first_touch"]["errors"] == {} == cold["second_touch"]["errors"]

    ratios = report["ratios"]["4"]
    assert set(ratios) == {"activation_vs_serve_noop", "validation_vs_serve_noop",
                           "activation_vs_uvicorn_postgres", "validation_vs_uvicorn_postgres",
                           "cold_activation_vs_serve_noop",
                           "cold_activation_vs_uvicorn_postgres"}
    assert all(value > 0 for value in ratios.values())
    alternated = report["alternated"]
    assert alternated["level"] == 4 and len(alternated["rounds"]) == 2
    for found in alternated["rounds"]:
        assert min(found["activation"], found["serve_noop"], found["uvicorn_postgres"]) > 0
    assert all(value > 0 for value in alternated["median"].values())
    assert len(report["targets"]) == 10
    # Without --sweep the memory-flatness target says how to measure it.
    assert report["targets"][-1]["met"] is None
    assert "--sweep" in report["targets"][-1]["note"]
    assert all({"target", "wanted", "measured", "met"} <= set(check)
               for check in report["targets"])
    assert report["server_errors"] == {}
    assert report["meta"]["synchronous_commit"] == "on"
    assert report["meta"]["licenses"] == TINY.licenses

    table = format_report(report)
    for word in ("keylight", "serve_noop", "uvicorn_postgres", "act/noop", "issue 7 targets",
                 "alternated rounds", "median of 2 alternated rounds"):
        assert word in table
    path = tmp_path / "bench.json"
    write_json(report, path)
    assert json.loads(path.read_text()) == json.loads(json.dumps(report))


def test_bench_seeds_through_the_real_schema(base_url, settings, database_url, http):
    """Seeded tenants and licenses are ordinary ones: the management API lists them."""
    from keylight_actors.bench.seed import seed

    seeded = seed(base_url, settings.admin_token, database_url, tenants=1, licenses=30,
                  progress=False)
    SECRETS_SEEN.update(key for _, key in seeded.licenses)  # for the log scan that runs last
    SECRETS_SEEN.update(tenant.sdk_key for tenant in seeded.tenants)
    tenant = seeded.tenants[0]
    assert len(seeded.licenses) == 30
    listed = http.get(f"/api/{tenant.tenant_id}/licenses?limit=100",
                      headers={"Authorization": f"Bearer {settings.admin_token}"})
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["data"]) == 30
    _, raw_key = seeded.licenses[0]
    activated = http.post(f"/{tenant.tenant_id}/{tenant.product_id}/activate",
                          headers={"X-Keylight-SDK-Key": tenant.sdk_key},
                          json={"license_key": raw_key, "instance_name": "smoke"})
    assert activated.status_code == 200, activated.text
    assert activated.json()["lease"]["entitlements"] == ["pro"]


def test_bench_refuses_anything_but_loopback():
    require_loopback("http://127.0.0.1:8000")
    require_loopback("http://localhost:8000/x")
    with pytest.raises(BenchFailed):
        require_loopback("http://10.0.0.5:8000")
    with pytest.raises(BenchFailed):
        require_loopback("http://example.com")


def test_bench_command_line():
    args = build_parser().parse_args(
        ["bench", "--licenses", "500", "--concurrency", "1,8,32", "--duration", "3",
         "--max-requests", "1000", "--json", "out.json", "--rounds", "5",
         "--round-seconds", "2"])
    assert (args.licenses, args.concurrency, args.duration, args.max_requests, args.json) == (
        500, [1, 8, 32], 3.0, 1000, "out.json")
    assert (args.rounds, args.round_seconds) == (5, 2.0)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--concurrency", "0,8"])


async def test_the_memory_sweep_touches_every_license_and_the_caps_hold(
    base_url, settings, database_url
):
    from keylight_actors.bench.seed import seed
    from keylight_actors.bench.sweep import sweep

    cap = settings.license_hosts * settings.host_max_entities
    seeded = seed(base_url, settings.admin_token, database_url, tenants=1,
                  licenses=cap + cap // 2, progress=False)
    SECRETS_SEEN.update(key for _, key in seeded.licenses)

    found = await sweep(settings, seeded, progress=False)

    assert found["touched"] == len(seeded.licenses)
    assert found["failures"] == 0
    assert found["cap"] == cap
    assert found["caps_filled"]
    assert max(sample["resident"] for sample in found["samples"]) <= cap
    assert found["samples"][-1]["touched"] == len(seeded.licenses)
