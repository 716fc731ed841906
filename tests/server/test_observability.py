"""Prometheus metrics through Ray's metrics API, request logs carrying the request id, and
the statistics the license hosts report of themselves."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import ray

from keylight_actors.actors.license_messages import ACTIVATE, FREE_SEAT, GET_LICENSE
from keylight_actors.domain.license_key import hash_license_key
from keylight_actors.observability import COUNTER_FLUSH_SECONDS, BufferedCounter
from keylight_actors.services.activation import Activate
from keylight_actors.services.licenses import FreeSeat, GetLicense

from .hosts import ask


def scrape_until(predicate, timeout: float = 45.0) -> str:
    port = ray._private.worker._global_node.metrics_export_port
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        if predicate(text):
            return text
        time.sleep(1)
    return text


def test_requests_entity_loads_and_write_through_latency_are_exported(http, catalog, mint):
    key = mint(catalog)["key"]
    http.post(f"/{catalog.tenant.tenant_id}/{catalog.product_id}/activate",
              json={"license_key": key, "instance_name": "m"},
              headers={"X-Keylight-SDK-Key": catalog.tenant.credentials["sdk_key"]})
    wanted = ("keylight_requests_total", "keylight_entity_loads_total",
              "keylight_write_through_seconds")
    text = scrape_until(lambda body: all(name in body for name in wanted))
    for name in wanted:
        assert name in text, name
    assert 'route="/{tenant_id}/{product_id}/activate"' in text


async def test_counts_summed_in_the_process_reach_prometheus_within_the_flush_time(http):
    name = f"keylight_probe_{uuid.uuid4().hex[:8]}_total"
    counter = BufferedCounter(name, "a probe", tag_keys=("route", "code"))
    for _ in range(5):
        counter.inc("/probe", "200")
    counter.inc("/probe", "404")
    await asyncio.sleep(COUNTER_FLUSH_SECONDS + 0.2)

    def counted(body: str) -> bool:
        return f'{name}{{' in body and 'code="404"' in body

    text = await asyncio.to_thread(scrape_until, counted)
    samples = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
               if line.startswith(f"ray_{name}{{")}
    by_code = {code: value for labels, value in samples.items()
               for code in ("200", "404") if f'code="{code}"' in labels}
    assert by_code == {"200": 5.0, "404": 1.0}


def test_each_request_is_logged_once_with_its_request_id_and_no_body(http, catalog):
    answer = http.get(f"/{catalog.tenant.tenant_id}/{catalog.product_id}/config",
                      headers={"X-Keylight-SDK-Key": catalog.tenant.credentials["sdk_key"],
                               "X-Keylight-Request-Id": "feedbeef"})
    assert answer.headers["X-Keylight-Request-Id"] == "feedbeef"
    generated = http.get("/healthz").headers["X-Keylight-Request-Id"]
    assert len(generated) == 8
    logs = Path(ray._private.worker._global_node.get_session_dir_path()) / "logs"
    deadline = time.monotonic() + 20
    found = ""
    while time.monotonic() < deadline and not found:
        for path in logs.rglob("*"):
            if path.is_file():
                text = path.read_text("utf-8", "replace")
                if '"request_id": "feedbeef"' in text:
                    found = text
                    break
        time.sleep(0.5)
    assert '"route": "/{tenant_id}/{product_id}/config"' in found


async def test_a_license_hosts_stats_count_the_devices_its_resident_licenses_hold(
    plain_license_hosts, make_catalog, tenant, mint
):
    host, _ = plain_license_hosts
    catalog = make_catalog(tenant, activation_limit=10)
    scope = {"tenant_id": tenant.tenant_id}
    first, second = (hash_license_key(mint(catalog)["key"]) for _ in range(2))
    tenant_id, product_id = scope["tenant_id"], catalog.product_id
    for n in range(3):
        await ask(host, ACTIVATE, Activate(first, tenant_id, product_id, f"device-{n}",
                                           f"{n}" * 64, "k1"))
    await ask(host, ACTIVATE, Activate(second, tenant_id, product_id, "device-x", "x" * 64,
                                       "k1"))
    assert (await host.stats())["devices"] == 4
    await ask(host, FREE_SEAT, FreeSeat(
        first, tenant_id, (await ask(host, GET_LICENSE, GetLicense(first, tenant_id)))
        ["instances"][0]["instance_id"], "test"))
    assert (await host.stats())["devices"] == 3


def test_the_webhook_queue_depth_and_age_are_exported_while_deliveries_wait(
    http, tenant, catalog, mint, webhook_receiver
):
    import re

    from .test_webhooks_recovery import dispatcher_call
    from .webhook_receiver import set_webhook

    url = webhook_receiver.route(statuses=[500])  # refuses every attempt: deliveries wait
    assert set_webhook(http, tenant, url).status_code == 201

    def gauge(text: str, name: str, state: str | None = None) -> float:
        labels = rf'\{{[^}}]*state="{state}"[^}}]*\}}' if state else r"(?:\{[^}]*\})?"
        found = re.search(rf"^ray_{name}{labels} ([0-9.e+]+)$", text, re.MULTILINE)
        return float(found[1]) if found else 0.0

    text = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        mint(catalog)  # one more delivery, so that some always wait while we look
        text = scrape_until(lambda body: True, timeout=1)
        if (gauge(text, "keylight_webhook_queue_depth", "waiting") >= 1
                and gauge(text, "keylight_webhook_queue_oldest_seconds") >= 1):
            break
        time.sleep(1)
    assert gauge(text, "keylight_webhook_queue_depth", "waiting") >= 1
    assert gauge(text, "keylight_webhook_queue_oldest_seconds") >= 1
    queue = dispatcher_call("stats")["queue"]
    assert queue["waiting"] >= 1 and queue["oldest_seconds"] >= 1


async def test_access_log_lines_reach_their_file_in_order_within_the_flush_time(tmp_path):
    import asyncio
    import json

    from keylight_actors.api.middleware.access_log import AccessLog

    path = tmp_path / "access.log"
    access = AccessLog(path, flush_seconds=0.05)
    for n in range(3):
        access.record({"event": "request", "n": n})
    assert not path.exists() or path.read_text() == ""  # batched, not yet written
    await asyncio.sleep(0.2)
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [0, 1, 2]


async def test_access_log_writes_at_once_when_enough_lines_wait(tmp_path):
    from keylight_actors.api.middleware.access_log import AccessLog

    path = tmp_path / "access.log"
    access = AccessLog(path, flush_seconds=60, max_pending=4)
    for n in range(4):
        access.record({"n": n})
    assert len(path.read_text().splitlines()) == 4


def test_access_log_without_a_file_goes_through_logging(caplog):
    import logging

    from keylight_actors.api.middleware.access_log import AccessLog

    with caplog.at_level(logging.INFO, logger="keylight_actors.api.middleware.access_log"):
        AccessLog(None).record({"event": "request", "request_id": "feedbeef"})
    assert '"request_id": "feedbeef"' in caplog.text


def test_the_access_log_rotates_by_size_and_keeps_a_bounded_number_of_older_files(tmp_path):
    from keylight_actors.api.middleware.access_log import AccessLog

    path = tmp_path / "access.log"
    access = AccessLog(path, flush_seconds=60, max_pending=1, max_bytes=200, backup_count=2)
    for n in range(40):
        access.record({"event": "request", "n": n, "pad": "x" * 40})
    files = sorted(item.name for item in tmp_path.iterdir())
    assert files == ["access.log", "access.log.1", "access.log.2"]
    assert all((tmp_path / name).stat().st_size < 200 + 100 for name in files)
    assert '"n": 39' in (tmp_path / "access.log").read_text().splitlines()[-1]
    assert '"n": 0,' not in "".join((tmp_path / name).read_text() for name in files)
