"""The server ``keylight bench`` starts for itself: a fresh local Ray instance with Serve in
throughput-optimised mode, the Keylight app and the Serve no-op baseline side by side.

Throughput-optimised Serve (``RAY_SERVE_THROUGHPUT_OPTIMIZED=1``) is read from the
environment when Serve's constants are imported, in every Ray process: it must be set before
Ray starts. It turns on direct ingress (each ingress replica serves HTTP on its own port, in
30000-31000, bypassing the Python proxy that otherwise costs a whole core), gRPC between
deployments, user code and the router on the replica's own loop, and a frozen GC. The
proxy keeps running on the configured port as a fallback; the benchmark drives the replicas'
own ports, the path a production load balancer (or ``RAY_SERVE_ENABLE_HA_PROXY=1``) uses.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ..actors.named_actor import NAMESPACE
from ..bootstrap import resolve_settings
from ..domain.credentials import OPERATOR_TOKEN_PREFIX, generate_credential, hash_credential
from ..settings import Settings
from .baselines import NOOP_APP_NAME, NOOP_ROUTE_PREFIX, free_port, noop_serve_app
from .errors import BenchFailed

log = logging.getLogger(__name__)

THROUGHPUT_OPTIMIZED_ENV = "RAY_SERVE_THROUGHPUT_OPTIMIZED"
APP_NAME = "keylight"
READY_TIMEOUT_SECONDS = 180.0


class BenchSetupFailed(BenchFailed):
    pass


@dataclass
class LocalServer:
    urls: list[str]            # the Keylight app: its ingress replicas' direct ports
    noop_urls: list[str]       # the Serve no-op baseline, same
    proxy_url: str
    database_url: str
    operator_token: str
    direct_ingress: bool
    settings: Settings = field(repr=False)


def ensure_throughput_optimized() -> None:
    """Set the flag for this process and the Ray processes it starts; too late once Serve's
    constants were imported with it off."""
    os.environ[THROUGHPUT_OPTIMIZED_ENV] = "1"
    constants = sys.modules.get("ray.serve._private.constants")
    if constants is not None and not constants.RAY_SERVE_THROUGHPUT_OPTIMIZED:
        raise BenchSetupFailed(
            "Ray Serve was imported before RAY_SERVE_THROUGHPUT_OPTIMIZED=1 could be set")


def _operator_token(database_url: str, configured: str | None) -> str:
    """The token to create tenants with; never overwrite another installation's token."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT token_hash FROM operator_credentials WHERE id = 1").fetchone()
    if row is None:
        return configured or generate_credential(OPERATOR_TOKEN_PREFIX)
    if configured is None:
        raise BenchSetupFailed("this database already has an operator token: pass "
                               "--operator-token (or set KEYLIGHT_ADMIN_TOKEN)")
    if row[0] != hash_credential(configured):
        raise BenchSetupFailed("the operator token does not match this database's")
    return configured


def app_urls(app_name: str, proxy_port: int) -> tuple[list[str], bool]:
    """Where an application answers HTTP: its replicas' own ports under direct ingress
    (answers True), else the proxy (False)."""
    import ray
    from ray.serve._private.common import RequestProtocol
    from ray.serve.context import _get_global_client

    client = _get_global_client()
    groups = ray.get(client._controller.get_target_groups.remote(app_name))
    urls = []
    for group in groups:
        if group.protocol != RequestProtocol.HTTP:
            continue
        prefix = "" if group.route_prefix == "/" else group.route_prefix.rstrip("/")
        urls += [f"http://127.0.0.1:{target.port}{prefix}" for target in group.targets
                 if target.port != proxy_port]
    if urls:
        return sorted(urls), True
    prefix = "" if app_name == APP_NAME else NOOP_ROUTE_PREFIX
    return [f"http://127.0.0.1:{proxy_port}{prefix}"], False


def _wait_until(url: str, deadline: float) -> None:
    while True:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise BenchSetupFailed(f"{url} did not answer in {READY_TIMEOUT_SECONDS:.0f} s")
        time.sleep(0.25)


@contextmanager
def local_server(settings: Settings, *, announce: Any = print) -> Iterator[LocalServer]:
    """A fresh Ray instance serving Keylight and the no-op baseline, torn down after.

    Without a database URL the embedded PostgreSQL runs in a temporary directory that is
    removed afterwards, so the benchmark never touches the real data directory.
    """
    ensure_throughput_optimized()
    scratch = None
    if not settings.database_url:
        scratch = Path(tempfile.mkdtemp(prefix="keylight-bench-"))
        settings = settings.with_changes(data_dir=scratch)
    resolved, embedded = resolve_settings(settings)
    try:
        from ..store.migrate import apply_migrations
        from ..store.operator import ensure_operator_token

        # Migrated once, here (not by prepare_database too): the operator token is read
        # from the migrated schema, then stored if this database has none yet.
        assert resolved.database_url and resolved.session_database_url
        apply_migrations(resolved.session_database_url)
        token = _operator_token(resolved.database_url, resolved.admin_token)
        resolved = resolved.with_changes(admin_token=token)
        ensure_operator_token(resolved.database_url, token)
        yield from _serve(resolved, token, announce)
    finally:
        if embedded is not None:
            embedded.stop()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _serve(settings: Settings, token: str, announce: Any) -> Iterator[LocalServer]:
    import ray
    from ray import serve

    from ..api.deployment import build_app

    assert settings.database_url
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    # A fresh local instance: never attach to another Ray that happens to run here.
    ray.init(address="local", namespace=NAMESPACE, include_dashboard=False,
             configure_logging=False, log_to_driver=False)
    try:
        proxy_port = free_port()
        announce(f"starting Ray Serve (throughput-optimised), license hosts: "
                 f"{settings.license_hosts or 'one per 4 CPUs'}")
        serve.start(http_options={"host": "127.0.0.1", "port": proxy_port})
        serve.run(build_app(settings), name=APP_NAME, route_prefix="/", blocking=False)
        serve.run(noop_serve_app(), name=NOOP_APP_NAME, route_prefix=NOOP_ROUTE_PREFIX,
                  blocking=False)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        _wait_until(f"http://127.0.0.1:{proxy_port}/readyz", deadline)
        _wait_until(f"http://127.0.0.1:{proxy_port}{NOOP_ROUTE_PREFIX}/", deadline)
        urls, direct = app_urls(APP_NAME, proxy_port)
        noop_urls, _ = app_urls(NOOP_APP_NAME, proxy_port)
        for url in urls:
            _wait_until(f"{url}/readyz", deadline)
        for url in noop_urls:
            _wait_until(f"{url}/", deadline)
        if not direct:
            log.warning("direct ingress is off: the benchmark goes through the Serve proxy")
        yield LocalServer(urls, noop_urls, f"http://127.0.0.1:{proxy_port}",
                          settings.database_url, token, direct, settings)
    finally:
        # Not serve.shutdown(): direct ingress holds replicas open 30 s for load balancers to
        # deregister them. This Ray instance is ours alone and everything acknowledged is in
        # PostgreSQL: ending Ray ends Serve with it.
        ray.shutdown()


def license_host_memory() -> dict[str, Any]:
    """Resident entities, their cap and RSS of every license host of the local instance."""
    import psutil
    import ray

    from ..actors.host_pool import host_name

    hosts = []
    index = 0
    while True:
        try:
            handle = ray.get_actor(host_name("license", index), namespace=NAMESPACE)
        except ValueError:
            break
        stats = ray.get(handle.stats.remote())
        hosts.append({"name": stats["name"], "resident": stats["resident"],
                      "devices": stats["devices"], "max_entities": stats["max_entities"],
                      "rss": psutil.Process(stats["pid"]).memory_info().rss})
        index += 1
    return {"hosts": hosts, "resident": sum(host["resident"] for host in hosts),
            "devices": sum(host["devices"] for host in hosts),
            "cap": sum(host["max_entities"] for host in hosts),
            "rss": sum(host["rss"] for host in hosts)}


def memory_growth(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    entities = after["resident"] - before["resident"]
    devices = after["devices"] - before["devices"]
    grown = after["rss"] - before["rss"]
    return {
        "license_hosts": len(after["hosts"]),
        "entities": after["resident"],
        "rss_before_mib": round(before["rss"] / 2**20, 1),
        "rss_after_mib": round(after["rss"] / 2**20, 1),
        "bytes_per_entity": round(grown / entities) if entities > 0 else None,
        "devices_added": devices,
        "devices_per_entity": round(devices / entities, 1) if entities > 0 else None,
        "note": "RSS growth of the license hosts over the load, divided by the entities "
                "it added: with them the active devices the load added "
                "(devices_per_entity for each entity added), connection buffers and "
                "allocator slack",
    }
