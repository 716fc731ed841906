"""Wait until a Ray cluster's worker nodes have joined, before ``serve deploy``.

    python -m keylight_actors.deploy.wait_for_workers 2 --timeout 900

Run on the head (cluster.yaml does). Deploying before the workers join would put every
detached entity host on the nodes present then and size the license-host pool from their
CPUs alone. A node Ray lists as alive can still go unscheduled for some seconds (its
scheduler's view of the cluster lags the node table), so once the workers are alive this
also waits until ``SPREAD`` places probe actors on every node, as it will the hosts. Exit
status 0 when both hold, 1 on timeout (the caller may deploy anyway: a smaller cluster
serves rather than none).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

HEAD_RESOURCE = "node:__internal_head__"


def alive_workers(nodes: Iterable[Mapping[str, Any]]) -> int:
    """Alive nodes other than the head, from ``ray.nodes()``."""
    return sum(1 for node in nodes
               if node.get("Alive") and HEAD_RESOURCE not in node.get("Resources", {}))


def wait_for_workers(
    expected: int,
    timeout: float,
    list_nodes: Callable[[], Iterable[Mapping[str, Any]]],
    *,
    poll_seconds: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str], None] = print,
) -> bool:
    deadline = clock() + timeout
    last = -1
    while True:
        count = alive_workers(list_nodes())
        if count != last:
            report(f"{count} of {expected} worker nodes alive")
            last = count
        if count >= expected:
            return True
        if clock() >= deadline:
            report(f"timed out after {timeout:.0f} s with {count} of {expected} workers")
            return False
        sleep(poll_seconds)


def wait_until_spread_reaches(
    nodes: int,
    timeout: float,
    spread_probe: Callable[[int], set[str]],
    *,
    poll_seconds: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str], None] = print,
) -> bool:
    """Probes until ``spread_probe(nodes)`` lands on ``nodes`` distinct nodes (True), or
    the timeout passes (False)."""
    deadline = clock() + timeout
    attempt = 0
    while True:
        attempt += 1
        reached = len(spread_probe(nodes))
        if reached >= nodes:
            report(f"SPREAD places actors on all {nodes} nodes (probe {attempt})")
            return True
        if clock() >= deadline:
            report(f"timed out after {timeout:.0f} s: SPREAD placed actors on {reached} of "
                   f"{nodes} nodes")
            return False
        sleep(poll_seconds)


def spread_probe(count: int) -> set[str]:
    """The nodes ``count`` actors scheduled with ``SPREAD`` land on (Ray is initialised)."""
    import ray

    @ray.remote(num_cpus=0, scheduling_strategy="SPREAD")
    class Probe:
        def node(self) -> str:
            return ray.get_runtime_context().get_node_id()

    probes = [Probe.remote() for _ in range(count)]
    try:
        return set(ray.get([probe.node.remote() for probe in probes]))
    finally:
        for probe in probes:
            ray.kill(probe)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m keylight_actors.deploy.wait_for_workers",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("workers", type=int, help="worker nodes to wait for")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds (900)")
    parser.add_argument("--address", default="auto", help="Ray address (auto)")
    args = parser.parse_args(argv)

    import ray

    ray.init(address=args.address, logging_level="ERROR", log_to_driver=False,
             configure_logging=False)
    started = time.monotonic()

    def report(line: str) -> None:
        print(line, flush=True)

    try:
        reached = wait_for_workers(args.workers, args.timeout, ray.nodes, report=report)
        if reached:
            alive = sum(1 for node in ray.nodes() if node.get("Alive"))
            reached = wait_until_spread_reaches(
                alive, max(0.0, args.timeout - (time.monotonic() - started)), spread_probe,
                report=report)
    finally:
        ray.shutdown()
    return 0 if reached else 1


if __name__ == "__main__":
    sys.exit(main())
