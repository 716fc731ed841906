"""How long a 100,000-row license import takes, and what it costs the server in memory.

    python -m keylight_actors.bench.import_bench [--rows 100000] [--admin-url URL]

Starts a fresh local server (Ray Serve, throughput-optimised, as ``keylight bench`` does) on
a fresh database created on the PostgreSQL at ``--admin-url`` (dropped afterwards), creates
a tenant with one product and a key type of 3 seats, builds the JSON import file (every
row with its own key; half the rows with two devices each), posts it once, and prints the
wall time of the request, the rows per second, and the peak resident memory of the ingress
replica that served it and of all the server's Ray processes together, sampled every 50 ms.
The figures for this machine are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import secrets
import threading
import time
import uuid
from typing import Any

import httpx
import psycopg

from ..settings import Settings
from .local_server import local_server

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SAMPLE_SECONDS = 0.05


def import_file(rows: int, product_id: str) -> bytes:
    licenses: list[dict[str, Any]] = []
    for number in range(rows):
        row: dict[str, Any] = {
            "product_id": product_id, "key_type_id": "std",
            "license_key": f"BENCH-{secrets.token_hex(10).upper()}",
            "customer_email": f"customer{number}@example.com", "external_id": f"old-{number}",
            "created_at": "2024-01-15T09:30:00Z"}
        if number % 2 == 0:
            row["instances"] = [{"instance_id": str(uuid.uuid4()), "instance_name": name,
                                 "machine_hash": secrets.token_hex(32),
                                 "activated_at": "2024-02-01T12:00:00Z"}
                                for name in ("desktop", "laptop")]
        licenses.append(row)
    return json.dumps({"licenses": licenses}).encode()


class MemorySampler:
    """Peak RSS of the ingress replicas and of every Ray process, sampled in a thread."""

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self.peak_ingress = 0
        self.peak_total = 0
        self.baseline_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> tuple[int, int]:
        ingress, total = 0, 0
        for process in self._psutil.process_iter(["cmdline", "memory_info"]):
            cmdline = " ".join(process.info["cmdline"] or [])
            memory = process.info["memory_info"]
            if memory is None or not cmdline.startswith("ray::"):
                continue
            total += memory.rss
            if "ServeReplica:keylight" in cmdline:
                ingress = max(ingress, memory.rss)
        return ingress, total

    def _run(self) -> None:
        while not self._stop.is_set():
            ingress, total = self._sample()
            self.peak_ingress = max(self.peak_ingress, ingress)
            self.peak_total = max(self.peak_total, total)
            time.sleep(SAMPLE_SECONDS)

    def __enter__(self) -> MemorySampler:
        self.baseline_ingress, self.baseline_total = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL,
                        help="a PostgreSQL URL allowed to create and drop a database")
    args = parser.parse_args()
    name = f"keylight_import_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        database_url = psycopg.conninfo.make_conninfo(args.admin_url, dbname=name)
        settings = Settings.from_env().with_changes(database_url=database_url,
                                                    admin_token=None)
        with local_server(settings) as server:
            run(server.urls[0], server.operator_token, args.rows, database_url)
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(url: str, operator_token: str, rows: int, database_url: str) -> None:
    operator = {"Authorization": f"Bearer {operator_token}"}
    with httpx.Client(base_url=url, timeout=600) as http:
        tenant = f"bench-{secrets.token_hex(3)}"
        created = http.post("/api/admin/tenants", headers=operator,
                            json={"tenant_id": tenant, "name": "Import bench"})
        created.raise_for_status()
        http.patch(f"/api/admin/tenants/{tenant}", headers=operator,
                   json={"lifecycle": "active"}).raise_for_status()
        manager = {"Authorization": f"Bearer {created.json()['management_token']}"}
        http.post(f"/api/{tenant}/products", headers=manager,
                  json={"product_id": "app", "display_name": "App",
                        "key_prefix": secrets.choice("BCDFG") + secrets.token_hex(2).upper()[:3]
                        }).raise_for_status()
        http.post(f"/api/{tenant}/products/app/key-types", headers=manager,
                  json={"key_type_id": "std", "display_name": "Standard",
                        "activation_limit": 3}).raise_for_status()
        body = import_file(rows, "app")
        print(f"import file: {rows:,} rows, {rows // 2 * 2:,} devices, "
              f"{len(body) / 2**20:.1f} MiB of JSON")
        with MemorySampler() as memory:
            started = time.perf_counter()
            answer = http.post(f"/api/{tenant}/licenses/import", content=body,
                               headers={**manager, "Content-Type": "application/json"})
            elapsed = time.perf_counter() - started
        del body
        if answer.status_code != 200:
            raise SystemExit(f"import failed: HTTP {answer.status_code}: {answer.text[:500]}")
        result = answer.json()
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT count(*) FROM licenses WHERE tenant_id = %s",
                              (tenant,)).fetchone()
        devices = conn.execute(
            "SELECT count(*) FROM license_instances i JOIN licenses l USING (license_id) "
            "WHERE l.tenant_id = %s", (tenant,)).fetchone()
    mib = 2**20
    print(f"imported {result['imported']:,} licenses ({stored[0] if stored else 0:,} stored, "
          f"{devices[0] if devices else 0:,} devices) in {elapsed:.1f} s: "
          f"{result['imported'] / elapsed:,.0f} rows/s")
    print(f"ingress replica RSS: {memory.baseline_ingress / mib:,.0f} MiB before, "
          f"peak {memory.peak_ingress / mib:,.0f} MiB")
    print(f"all Ray processes RSS: {memory.baseline_total / mib:,.0f} MiB before, "
          f"peak {memory.peak_total / mib:,.0f} MiB")


if __name__ == "__main__":
    main()
