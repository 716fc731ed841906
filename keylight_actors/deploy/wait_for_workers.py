"""Wait until a Ray cluster's worker nodes have joined, before ``serve deploy``.

    python -m keylight_actors.deploy.wait_for_workers 2 --timeout 900

Run on the head (cluster.yaml does). Deploying before the workers join would put every
detached entity host on the nodes present then and size the license-host pool from their
CPUs alone. Exit status 0 when at least N workers are alive, 1 on timeout (the caller may
deploy anyway: a smaller cluster serves rather than none).
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
    try:
        reached = wait_for_workers(args.workers, args.timeout, ray.nodes,
                                   report=lambda line: print(line, flush=True))
    finally:
        ray.shutdown()
    return 0 if reached else 1


if __name__ == "__main__":
    sys.exit(main())
