"""A multi-node fault scenario, run in its own process with its own Ray cluster.

    python -m tests.cluster.fault_scenario <database-url> <kind>

``kind`` is ``node`` (remove a worker node that hosts license hosts) or ``host`` (SIGKILL
one license host). Prints one JSON line with what a user would check.
"""

from __future__ import annotations

import asyncio
import faulthandler
import json
import os
import random
import secrets
import signal
import socket
import sys
import time
from collections import Counter

import httpx
import psycopg
import ray
from ray import serve
from ray.cluster_utils import Cluster

from keylight_actors.actors.host_pool import host_name
from keylight_actors.actors.named_actor import NAMESPACE
from keylight_actors.api.deployment import build_app
from keylight_actors.deploy.wait_for_workers import spread_probe, wait_until_spread_reaches
from keylight_actors.settings import Settings
from keylight_actors.store.encryption import generate_master_key
from tests.seeding import seed_licenses

HOT_LICENSES = 12  # contended: their seats fill at once, so the limit is tested throughout
COLD_LICENSES = 3000  # rarely full: activations keep succeeding across the fault
LIMIT = 3
CONCURRENCY = 16
LOAD_SECONDS = 30.0
FAULT_AT_SECONDS = 5.0
LICENSE_HOSTS = 4
RESULT_MARK = "FAULT-SCENARIO-RESULT "
# A scenario still running by then prints every thread's stack on stderr and exits, so a
# hang says where it is stuck, not only which stage it reached.
DEADLINE_SECONDS = 540


def stage(what: str) -> None:
    """Where the scenario is, on stderr: a scenario that hangs says where."""
    print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_cluster() -> tuple[Cluster, list]:
    # Notice a dead node within ~3 s (Ray's default takes ~15 s); operators tune the same.
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "resources": {"head": 1}, "include_dashboard": False,
        "_system_config": {"health_check_period_ms": 1000,
                           "health_check_failure_threshold": 3}})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace=NAMESPACE, log_to_driver=False)
    wait_until_spread_reaches_every_node(1 + len(workers))
    return cluster, workers


def wait_until_spread_reaches_every_node(nodes: int) -> None:
    """As ``serve deploy`` on a cluster waits (``deploy.wait_for_workers``): without it, CI
    once had every license host on the head, Ray not yet scheduling on the new workers."""
    if not wait_until_spread_reaches(nodes, 60.0, spread_probe, report=stage):
        raise RuntimeError(f"Ray did not schedule on all {nodes} nodes in 60 s")


def set_up_shop(http: httpx.Client, token: str, database_url: str
                ) -> tuple[str, str, str, list[str], list[str]]:
    auth = {"Authorization": f"Bearer {token}"}
    tenant_id = f"ft-{secrets.token_hex(3)}"
    created = http.post("/api/admin/tenants", headers=auth,
                        json={"tenant_id": tenant_id, "name": "Fault"}).json()
    http.patch(f"/api/admin/tenants/{tenant_id}", headers=auth,
               json={"lifecycle": "active"}).raise_for_status()
    manage = {"Authorization": f"Bearer {created['management_token']}"}
    prefix = "F" + secrets.token_hex(2).upper()[:3]
    http.post(f"/api/{tenant_id}/products", headers=manage,
              json={"product_id": "app", "display_name": "App",
                    "key_prefix": prefix}).raise_for_status()
    http.post(f"/api/{tenant_id}/products/app/key-types", headers=manage,
              json={"key_type_id": "pro", "display_name": "Pro",
                    "activation_limit": LIMIT}).raise_for_status()
    hot = [http.post(f"/api/{tenant_id}/licenses", headers=manage,
                     json={"product_id": "app", "key_type_id": "pro"}).json()["key"]
           for _ in range(HOT_LICENSES)]
    cold = [raw_key for _, raw_key in seed_licenses(
        database_url, tenant_id, "app", "pro", prefix, COLD_LICENSES, activation_limit=LIMIT)]
    return tenant_id, created["sdk_key"], created["management_token"], hot, cold


def license_host_stats() -> list[dict]:
    return [ray.get(ray.get_actor(host_name("license", n), namespace=NAMESPACE)
                    .stats.remote()) for n in range(LICENSE_HOSTS)]


def inject_fault(kind: str, cluster: Cluster, workers: list) -> str:
    stats = license_host_stats()
    if kind == "host":
        os.kill(stats[0]["pid"], signal.SIGKILL)
        return stats[0]["name"]
    node_ids = {stat["node_id"] for stat in stats}
    victims = [node for node in workers if node.node_id in node_ids]
    if not victims:
        # Not StopIteration from next(): raised in a thread, it never reaches the awaiting
        # coroutine (asyncio cannot carry it), and the scenario hangs.
        raise RuntimeError(f"no worker node holds a license host: {sorted(node_ids)}")
    cluster.remove_node(victims[0], allow_graceful=False)
    return victims[0].node_id


async def drive(base_url: str, tenant_id: str, sdk_key: str, hot: list[str],
                cold: list[str], fault
                ) -> tuple[list[tuple[float, int, str | None, str]], float, Counter[str]]:
    results: list[tuple[float, int, str | None, str]] = []
    # What each failed answer said: a failure names its error code, not only its status.
    failures: Counter[str] = Counter()
    started = time.monotonic()
    fault_time = 0.0
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        async def worker() -> None:
            while time.monotonic() - started < LOAD_SECONDS:
                key = random.choice(hot if random.random() < 0.5 else cold)
                try:
                    answer = await client.post(
                        f"/{tenant_id}/app/activate", headers={"X-Keylight-SDK-Key": sdk_key},
                        json={"license_key": key, "instance_name": "n",
                              "machine_hash": secrets.token_hex(32)})
                    instance = answer.json().get("instance_id") if answer.status_code == 200 \
                        else None
                    results.append((time.monotonic() - started, answer.status_code, instance,
                                    key))
                    if answer.status_code not in (200, 402):
                        failures[f"{answer.status_code} {answer.text[:200]}"] += 1
                except httpx.HTTPError as error:
                    results.append((time.monotonic() - started, 0, None, key))
                    failures[f"0 {type(error).__name__}"] += 1

        async def faulter() -> None:
            nonlocal fault_time
            await asyncio.sleep(FAULT_AT_SECONDS)
            fault_time = time.monotonic() - started
            stage("injecting the fault")
            await asyncio.to_thread(fault)
            stage("fault injected")

        await asyncio.gather(faulter(), *(worker() for _ in range(CONCURRENCY)))
    return results, fault_time, failures


def main() -> None:
    database_url, kind = sys.argv[1], sys.argv[2]
    faulthandler.dump_traceback_later(DEADLINE_SECONDS, exit=True)
    stage(f"starting a three-node cluster for the {kind} scenario")
    cluster, workers = start_cluster()
    port = free_port()
    token = "kop_" + secrets.token_hex(16)
    settings = Settings(database_url=database_url, master_key=generate_master_key(),
                        admin_token=token, license_hosts=LICENSE_HOSTS, tenant_hosts=1,
                        tenant_cache_seconds=1.0)
    from keylight_actors.server import prepare_database

    prepare_database(settings)
    stage("deploying the app")
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build_app(settings, ray_actor_options={"resources": {"head": 0.01}}),
              name="keylight", route_prefix="/")
    base_url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base_url, timeout=30) as http:
        stage("creating the tenant and seeding licenses")
        tenant_id, sdk_key, management_token, hot, cold = set_up_shop(http, token,
                                                                      database_url)
        host_nodes = {stat["node_id"] for stat in license_host_stats()}
        stage(f"driving activations; the fault comes at 5 s; license hosts on "
              f"{len(host_nodes)} nodes")
        results, fault_time, failures = asyncio.run(drive(
            base_url, tenant_id, sdk_key, hot, cold,
            lambda: inject_fault(kind, cluster, workers)))
        stage(f"load done: {len(results)} answers; reading the licenses")
        manage = {"Authorization": f"Bearer {management_token}"}
        before_restart = http.get(f"/api/{tenant_id}/licenses?limit=200", headers=manage).json()

    statuses = Counter(status for _, status, _, _ in results)
    granted = {instance for _, status, instance, _ in results if status == 200}
    failures_after = [at for at, status, _, _ in results if at >= fault_time
                      and status not in (200, 402)]
    last_failure = max(failures_after, default=fault_time)
    with psycopg.connect(database_url) as conn:
        stored = {row[0] for row in conn.execute(
            "SELECT instance_id::text FROM license_instances WHERE deactivated_at IS NULL")}
        per_license = [row[0] for row in conn.execute(
            "SELECT count(*) FROM license_instances i JOIN licenses l USING (license_id) "
            "WHERE l.tenant_id = %s AND i.deactivated_at IS NULL GROUP BY l.license_id",
            (tenant_id,))]

    # Restart the whole server: Serve and every host go, then come back on the same data.
    stage("restarting the whole server")
    serve.shutdown()
    for n in range(LICENSE_HOSTS):
        ray.kill(ray.get_actor(host_name("license", n), namespace=NAMESPACE), no_restart=True)
    ray.kill(ray.get_actor(host_name("tenant", 0), namespace=NAMESPACE), no_restart=True)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build_app(settings, ray_actor_options={"resources": {"head": 0.01}}),
              name="keylight", route_prefix="/")
    stage("reading the licenses after the restart")
    with httpx.Client(base_url=base_url, timeout=30) as http:
        after_restart = http.get(f"/api/{tenant_id}/licenses?limit=200",
                                 headers={"Authorization": f"Bearer {management_token}"}).json()

    print(RESULT_MARK + json.dumps({
        "statuses": {str(code): count for code, count in statuses.items()},
        "failures": dict(failures),
        "nodes_holding_license_hosts": len(host_nodes),
        "granted_missing_from_postgres": len(granted - stored),
        "max_active_per_license": max(per_license, default=0),
        "recovered_seconds_after_fault": round(last_failure - fault_time, 2),
        "activations_after_recovery": sum(1 for at, status, _, _ in results
                                          if at > last_failure and status == 200),
        "activations_before_fault": sum(1 for at, status, _, _ in results
                                        if at < fault_time and status == 200),
        "state_identical_after_restart": before_restart == after_restart,
    }), flush=True)
    serve.shutdown()
    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    main()
