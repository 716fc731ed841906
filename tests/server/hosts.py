"""Test helpers that reach the entity hosts of the running app directly through Ray."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import httpx
import ray
from ray.exceptions import ActorDiedError, ActorUnavailableError

from keylight_actors.actors.host_pool import host_name
from keylight_actors.actors.named_actor import NAMESPACE
from keylight_actors.actors.rendezvous import owner_index
from keylight_actors.settings import Settings


def license_host_names(settings: Settings) -> list[str]:
    return [host_name("license", n) for n in range(settings.license_hosts)]


def owning_license_host(settings: Settings, key_hash: str) -> str:
    names = license_host_names(settings)
    return names[owner_index(names, key_hash)]


def host_stats(name: str, timeout: float = 60) -> dict[str, Any]:
    """The host's own statistics, waiting out a restart in progress."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return ray.get(ray.get_actor(name, namespace=NAMESPACE).stats.remote(), timeout=60)
        except (ActorUnavailableError, ActorDiedError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def kill_host_process(name: str) -> int:
    """SIGKILL the process behind a host actor, as a crash would; answers the old pid."""
    pid = host_stats(name)["pid"]
    os.kill(pid, signal.SIGKILL)
    return pid


def get_until_served(http: httpx.Client, path: str, headers: dict[str, str],
                     timeout: float = 30) -> httpx.Response:
    """GET, retrying only the retryable 503 a restarting host answers."""
    deadline = time.monotonic() + timeout
    while True:
        answer = http.get(path, headers=headers)
        if answer.status_code != 503 or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


async def ask(host: Any, registered: Any, command: Any) -> Any:
    """A typed message to a plain host object, answered as the ingress would decode it."""
    from keylight_actors.actors.messages import unwrap_reply

    return registered.decode_result(unwrap_reply(await host.handle(registered.encode(command))))
