"""The load generator: a separate process that drives one target over HTTP on loopback.

Run as ``python -m keylight_actors.bench.load PLAN.json RESULT.json``. For each concurrency
level it runs the plan's scenarios, each bounded in time *and* in requests, with that many
client tasks (each on its own keep-alive connection, see ``http_client``; or sharing an httpx
client), and records every request's latency and status.

Targets and their scenarios:

- ``keylight``: ``cold_start`` (once, one client: activations alternating between a license
  never touched before, which the server must load from PostgreSQL, and a second activation
  of the same license, now resident), then per level:
  ``activate_cold`` (licenses never touched before: load, then a new seat),
  ``activate`` (licenses touched before, so resident: every request takes a new seat, a
  write; the like-for-like comparison with the plain baseline's in-memory dict),
  ``validate`` (instances activated earlier: a read and a signed lease), and ``mixed``
  (activate / validate / deactivate on resident licenses).
- ``serve_noop`` and ``uvicorn_postgres``: one scenario each, ``noop`` and ``write``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .http_client import Connection, HTTPFailure
from .progress import Progress
from .report import summarize
from .seed import Seed

# At most this many active devices per license (seeded licenses allow more), so seats never
# run out and no entity grows without bound however long the run.
MAX_ACTIVE_PER_LICENSE = 20
MIXED_WEIGHTS = {"activate": 0.25, "validate": 0.60, "deactivate": 0.15}
REQUEST_TIMEOUT_SECONDS = 30.0
SDK_KEY_HEADER = "X-Keylight-SDK-Key"

KEYLIGHT_SCENARIOS = ("activate_cold", "activate", "validate", "mixed")
FRESH_SCENARIOS = ("cold_start", "activate_cold")  # each step takes a never-touched license


@dataclass
class LoadPlan:
    target: str                      # keylight | serve_noop | uvicorn_postgres
    urls: list[str]                  # base URLs (one per ingress replica); clients spread
    levels: list[int]
    duration: float                  # seconds per scenario and level
    max_requests: int                # per scenario and level
    seed_path: str | None = None     # keylight: the seeded tenants and raw keys
    scenarios: list[str] = field(default_factory=lambda: list(KEYLIGHT_SCENARIOS))
    cold_start: bool = True          # keylight: measure cold against resident activations
    path: str = "/"                  # serve_noop: the endpoint's path
    key_space: int = 10_000          # uvicorn_postgres: distinct keys written
    random_seed: int = 0
    progress: bool = True
    client: str = "raw"              # raw (http_client.Connection) or httpx
    # keylight: what an earlier run left (licenses it touched, their active seats)
    touched: list[int] = field(default_factory=list)
    seats: dict[str, int] = field(default_factory=dict)
    # keylight: how many runs over the whole bench draw never-touched licenses (the cold
    # start, activate_cold at each level); each may take its share of the seeded ones, so
    # a fast early level cannot leave none for the later ones. 0: no shares.
    cold_shares: int = 0

    def budget(self, scenario: str, requests: int, seeded: int) -> int:
        """Steps ``scenario`` may take at most: ``requests``, or fewer when each step takes
        a never-touched license and the run's share of them is smaller."""
        if not self.cold_shares or scenario not in FRESH_SCENARIOS:
            return requests
        return min(requests, max(1, seeded // self.cold_shares))

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> LoadPlan:
        return cls(**json.loads(Path(path).read_text()))


class Recorder:
    """Latencies and statuses of one scenario, per operation."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.statuses: dict[str, Counter[str]] = {}

    def record(self, op: str, status: str, seconds: float) -> None:
        self.latencies.setdefault(op, []).append(seconds)
        self.statuses.setdefault(op, Counter())[status] += 1

    def summary(self, elapsed: float, client_cpu: float) -> dict[str, Any]:
        everything = [value for values in self.latencies.values() for value in values]
        statuses: Counter[str] = Counter()
        for counts in self.statuses.values():
            statuses.update(counts)
        result = summarize(everything, statuses, elapsed)
        result["client_cpu_percent"] = round(100 * client_cpu / elapsed, 1) if elapsed else 0.0
        if len(self.latencies) > 1:
            result["ops"] = {op: summarize(values, self.statuses[op], elapsed)
                             for op, values in sorted(self.latencies.items())}
        return result


class InstanceBag:
    """Active instances not in use by a request right now; O(1) add, take and random take."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(self, license_index: int, instance_id: str) -> None:
        self.items.append((license_index, instance_id))

    def take(self, rng: random.Random) -> tuple[int, str] | None:
        if not self.items:
            return None
        position = rng.randrange(len(self.items))
        self.items[position], self.items[-1] = self.items[-1], self.items[position]
        return self.items.pop()


class KeylightState:
    """What the generator knows of the server's licenses; shared by every scenario."""

    def __init__(self, seed: Seed, rng: random.Random, *, touched: Iterable[int] = (),
                 seats: dict[str, int] | None = None) -> None:
        self.seed = seed
        self.rng = rng
        self.order = list(range(len(seed.licenses)))
        rng.shuffle(self.order)
        self.cursor = 0
        self.touched: set[int] = set()
        self.touched_order: list[int] = []  # resident licenses, in the order first touched
        self.warm_cursor = 0
        self.seats: Counter[int] = Counter()  # active plus in-flight activations
        self.idle = InstanceBag()
        for index in touched:
            self.touch(index)
        for index, count in (seats or {}).items():
            self.seats[int(index)] = count

    def fresh_license(self) -> int | None:
        """The next license never touched (so not resident on the server), if any is left."""
        while self.cursor < len(self.order):
            index = self.order[self.cursor]
            self.cursor += 1
            if index not in self.touched:
                return index
        return None

    def warm_license(self) -> int | None:
        """The next license touched before (resident), round-robin, that has a free seat."""
        for _ in range(len(self.touched_order)):
            index = self.touched_order[self.warm_cursor % len(self.touched_order)]
            self.warm_cursor += 1
            if self.seats[index] < MAX_ACTIVE_PER_LICENSE:
                return index
        return None

    def touch(self, index: int) -> None:
        if index not in self.touched:
            self.touched.add(index)
            self.touched_order.append(index)

    def sdk(self, license_index: int, action: str) -> tuple[str, dict[str, str], str]:
        tenant_index, raw_key = self.seed.licenses[license_index]
        tenant = self.seed.tenants[tenant_index]
        return (f"/{tenant.tenant_id}/{tenant.product_id}/{action}",
                {SDK_KEY_HEADER: tenant.sdk_key}, raw_key)


class Stop(Exception):
    """No request of this kind can be made any more (seats or instances ran out)."""


async def _timed(recorder: Recorder, op: str, call: Awaitable[Any]) -> Any:
    """Await one request, recording its latency and status; None when the transport failed."""
    started = time.perf_counter()
    try:
        answer = await call
    except HTTPFailure as failure:
        recorder.record(op, f"error:{failure}", time.perf_counter() - started)
        return None
    except httpx.HTTPError as error:
        recorder.record(op, f"error:{type(error).__name__}", time.perf_counter() - started)
        return None
    recorder.record(op, str(answer.status_code), time.perf_counter() - started)
    return answer


async def activate(client: Any, state: KeylightState, recorder: Recorder,
                   index: int, op: str = "activate") -> None:
    path, headers, key = state.sdk(index, "activate")
    state.seats[index] += 1
    state.touch(index)
    answer = await _timed(recorder, op, client.post(path, headers=headers, json={
        "license_key": key, "instance_name": "bench", "machine_hash": secrets.token_hex(32)}))
    if answer is not None and answer.status_code == 200:
        state.idle.add(index, answer.json()["instance_id"])
    else:
        state.seats[index] -= 1


async def validate(client: Any, state: KeylightState, recorder: Recorder,
                   taken: tuple[int, str]) -> None:
    index, instance_id = taken
    path, headers, key = state.sdk(index, "validate")
    await _timed(recorder, "validate", client.post(path, headers=headers, json={
        "license_key": key, "instance_id": instance_id}))
    state.idle.add(index, instance_id)


async def deactivate(client: Any, state: KeylightState, recorder: Recorder,
                     taken: tuple[int, str]) -> None:
    index, instance_id = taken
    path, headers, key = state.sdk(index, "deactivate")
    answer = await _timed(recorder, "deactivate", client.post(path, headers=headers, json={
        "instance_id": instance_id, "license_key": key}))
    if answer is not None and answer.status_code == 200:
        state.seats[index] -= 1
    else:
        state.idle.add(index, instance_id)


Step = Callable[[Any, Recorder], Awaitable[None]]


def keylight_step(state: KeylightState, scenario: str) -> Step:
    async def one_activation(client: Any, recorder: Recorder) -> None:
        index = state.warm_license()
        if index is None:
            raise Stop("no resident license with a free seat")
        await activate(client, state, recorder, index)

    async def one_cold_activation(client: Any, recorder: Recorder) -> None:
        index = state.fresh_license()
        if index is None:
            raise Stop("no license left that was never touched")
        await activate(client, state, recorder, index)

    async def one_validation(client: Any, recorder: Recorder) -> None:
        taken = state.idle.take(state.rng)
        if taken is None:
            raise Stop("no active instance to validate")
        await validate(client, state, recorder, taken)

    async def one_mixed(client: Any, recorder: Recorder) -> None:
        op = state.rng.choices(list(MIXED_WEIGHTS), weights=list(MIXED_WEIGHTS.values()))[0]
        taken = state.idle.take(state.rng) if op != "activate" else None
        if taken is None:
            await one_activation(client, recorder)
        elif op == "validate":
            await validate(client, state, recorder, taken)
        else:
            await deactivate(client, state, recorder, taken)

    async def cold_then_warm(client: Any, recorder: Recorder) -> None:
        index = state.fresh_license()
        if index is None:
            raise Stop("no license left that was never touched")
        await activate(client, state, recorder, index, "first_touch")
        await activate(client, state, recorder, index, "second_touch")

    return {"activate": one_activation, "activate_cold": one_cold_activation,
            "validate": one_validation, "mixed": one_mixed, "cold_start": cold_then_warm
            }[scenario]


def noop_step(path: str) -> Step:
    async def one(client: Any, recorder: Recorder) -> None:
        await _timed(recorder, "noop", client.post(path, json={}))

    return one


def write_step(rng: random.Random, key_space: int) -> Step:
    async def one(client: Any, recorder: Recorder) -> None:
        key = f"k{rng.randrange(key_space)}"
        await _timed(recorder, "write", client.post("/activate", json={"key": key}))

    return one


async def _clients(stack: contextlib.AsyncExitStack, kind: str, urls: list[str],
                   concurrency: int) -> list[Any]:
    """One client per worker: a connection of its own, or a shared httpx client per URL."""
    if kind == "raw":
        connections = [Connection(urls[n % len(urls)], REQUEST_TIMEOUT_SECONDS)
                       for n in range(concurrency)]
        for connection in connections:
            stack.callback(connection.close)
        return connections
    if kind != "httpx":
        raise ValueError(f"unknown client {kind!r}")
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    shared = [await stack.enter_async_context(httpx.AsyncClient(
        base_url=url, limits=limits, timeout=REQUEST_TIMEOUT_SECONDS)) for url in urls]
    return [shared[n % len(shared)] for n in range(concurrency)]


async def run_scenario(urls: list[str], label: str, step: Step, concurrency: int,
                       duration: float, max_requests: int, *, progress: bool,
                       client: str = "raw") -> dict[str, Any]:
    """``concurrency`` clients doing ``step`` until the time or the request budget is spent."""
    recorder = Recorder()
    issued = 0
    stopped: list[str] = []
    bar = Progress(label, duration, unit="s", enabled=progress, tenths=False)
    async with contextlib.AsyncExitStack() as stack:
        clients = await _clients(stack, client, urls, concurrency)
        started = time.perf_counter()
        cpu_started = time.process_time()
        deadline = started + duration

        async def worker(client: Any) -> None:
            nonlocal issued
            while time.perf_counter() < deadline and issued < max_requests:
                issued += 1
                try:
                    await step(client, recorder)
                except Stop as reason:
                    stopped.append(str(reason))
                    return

        async def ticker() -> None:
            while True:
                await asyncio.sleep(0.2)
                bar.set(min(duration, time.perf_counter() - started),
                        note=f"{issued:,} requests")

        ticking = asyncio.create_task(ticker())
        try:
            await asyncio.gather(*(worker(clients[n]) for n in range(concurrency)))
        finally:
            ticking.cancel()
        elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - cpu_started
    result = recorder.summary(elapsed, client_cpu)
    bar.set(duration)
    bar.close(f"{result['requests']:,} requests, {result['rps']:,.0f} rps")
    if stopped:
        result["stopped"] = sorted(set(stopped))
    return result


async def run_plan(plan: LoadPlan) -> dict[str, Any]:
    rng = random.Random(plan.random_seed)
    levels: dict[str, dict[str, Any]] = {}
    result: dict[str, Any] = {"target": plan.target, "urls": plan.urls, "levels": levels}
    if plan.target == "keylight":
        assert plan.seed_path, "the keylight target needs the seed"
        state = KeylightState(Seed.load(Path(plan.seed_path)), rng, touched=plan.touched,
                              seats=plan.seats)
        seeded = len(state.seed.licenses)
        if plan.cold_start:
            # Each step is two requests: a cold activation and a resident one.
            result["cold_start"] = await run_scenario(
                plan.urls, f"{plan.target} cold_start c=1", keylight_step(state, "cold_start"),
                1, plan.duration, plan.budget("cold_start", max(1, plan.max_requests // 2), seeded),
                progress=plan.progress, client=plan.client)
        for level in plan.levels:
            levels[str(level)] = {
                scenario: await run_scenario(
                    plan.urls, f"{plan.target} {scenario} c={level}",
                    keylight_step(state, scenario), level, plan.duration,
                    plan.budget(scenario, plan.max_requests, seeded), progress=plan.progress,
                    client=plan.client)
                for scenario in plan.scenarios
            }
        result["active_instances_left"] = sum(state.seats.values())
        result["touched"] = state.touched_order
        result["seats"] = {str(index): count for index, count in state.seats.items() if count}
        return result
    if plan.target == "serve_noop":
        step, scenario = noop_step(plan.path), "noop"
    elif plan.target == "uvicorn_postgres":
        step, scenario = write_step(rng, plan.key_space), "write"
    else:
        raise ValueError(f"unknown target {plan.target!r}")
    for level in plan.levels:
        levels[str(level)] = {scenario: await run_scenario(
            plan.urls, f"{plan.target} {scenario} c={level}", step, level, plan.duration,
            plan.max_requests, progress=plan.progress, client=plan.client)}
    return result


def _run(coroutine: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    return uvloop.run(coroutine)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m keylight_actors.bench.load PLAN.json RESULT.json",
              file=sys.stderr)
        return 2
    plan = LoadPlan.load(Path(args[0]))
    result = _run(run_plan(plan))
    Path(args[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
