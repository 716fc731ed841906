"""The two baselines the benchmark measures on the same machine in the same run.

- **Serve no-op**: a Ray Serve application whose FastAPI ingress answers a constant, the
  fastest Serve can answer HTTP. ``keylight bench`` deploys it next to the server, in the
  same throughput-optimised Serve (``RAY_SERVE_THROUGHPUT_OPTIMIZED=1``: direct ingress,
  user code on the replica's loop). To measure it next to a server you started yourself:
  ``serve run keylight_actors.bench.baselines:noop_serve_app``.
- **Plain uvicorn + PostgreSQL**: the obvious design without Ray. One FastAPI + uvicorn
  process holding the state in a dict; a request takes its key's asyncio lock, writes one row
  to PostgreSQL and commits, then updates the dict and answers. Run as
  ``python -m keylight_actors.bench.baselines --port N`` with the database URL in
  ``KEYLIGHT_BENCH_DATABASE_URL`` (kept out of the process list).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
from pydantic import BaseModel, Field

NOOP_APP_NAME = "bench-noop"
NOOP_ROUTE_PREFIX = "/bench-noop"
PLAIN_TABLE = "bench_baseline_activations"
PLAIN_DATABASE_ENV = "KEYLIGHT_BENCH_DATABASE_URL"
PLAIN_POOL_SIZE = 8  # as many connections as two license hosts hold by default
START_TIMEOUT_SECONDS = 60.0


def noop_serve_app(args: dict[str, Any] | None = None) -> Any:
    """The Serve no-op application (also an application builder for ``serve run``)."""
    from fastapi import FastAPI
    from ray import serve

    api = FastAPI()

    @serve.ingress(api)
    class BenchNoop:
        @api.post("/")
        async def noop(self) -> dict[str, bool]:
            return {"ok": True}

        @api.get("/")
        async def ready(self) -> dict[str, bool]:
            return {"ok": True}

    return serve.deployment(
        BenchNoop, name="BenchNoop", num_replicas=1, max_ongoing_requests=1000,
        ray_actor_options={"num_cpus": 0},
    ).bind()


# -- plain uvicorn + PostgreSQL ----------------------------------------------------------

CREATE_PLAIN_TABLE = f"""CREATE TABLE IF NOT EXISTS {PLAIN_TABLE} (
    key text PRIMARY KEY,
    activations integer NOT NULL,
    updated_at timestamptz NOT NULL)"""

PLAIN_WRITE = f"""INSERT INTO {PLAIN_TABLE} (key, activations, updated_at) VALUES (%s, %s, now())
    ON CONFLICT (key) DO UPDATE SET activations = EXCLUDED.activations, updated_at = now()"""


class Activation(BaseModel):
    key: str = Field(min_length=1, max_length=128)


def create_plain_app(database_url: str, pool_size: int = PLAIN_POOL_SIZE) -> Any:
    from fastapi import FastAPI

    from ..store.database import open_pool

    state: dict[str, int] = {}
    locks: dict[str, asyncio.Lock] = {}
    holder: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await open_pool(database_url, max_size=pool_size)
        async with pool.connection() as conn:
            await conn.execute(CREATE_PLAIN_TABLE)
        holder["pool"] = pool
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/activate")
    async def activate(body: Activation) -> dict[str, Any]:
        lock = locks.get(body.key)
        if lock is None:
            lock = locks[body.key] = asyncio.Lock()
        async with lock:
            count = state.get(body.key, 0) + 1
            async with holder["pool"].connection() as conn, conn.transaction():
                await conn.execute(PLAIN_WRITE, (body.key, count))
            state[body.key] = count
        return {"activated": True, "activations": count}

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


def drop_plain_table(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PlainBaseline:
    """The plain uvicorn + PostgreSQL baseline in its own process, on a loopback port."""

    def __init__(self, database_url: str, *, port: int | None = None,
                 pool_size: int = PLAIN_POOL_SIZE) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        self.pool_size = pool_size
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by stop()
            prefix="keylight-bench-plain-", suffix=".log")

    def start(self) -> str:
        env = {**os.environ, PLAIN_DATABASE_ENV: self.database_url}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "keylight_actors.bench.baselines", "--port", str(self.port),
             "--pool-size", str(self.pool_size)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the plain baseline exited: {self._tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self.url
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the plain baseline did not start in time: {self._tail()}")

    def _tail(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> PlainBaseline:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the plain uvicorn + PostgreSQL baseline")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pool-size", type=int, default=PLAIN_POOL_SIZE)
    args = parser.parse_args(argv)
    database_url = os.environ.get(PLAIN_DATABASE_ENV)
    if not database_url:
        parser.error(f"set {PLAIN_DATABASE_ENV}")
    import uvicorn

    uvicorn.run(create_plain_app(database_url, args.pool_size), host="127.0.0.1",
                port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
