"""How Keylight's long-lived Ray actors are created: named in one namespace, detached from
whoever created them, restarted by Ray whenever they die, their calls never retried."""

from __future__ import annotations

from typing import Any

NAMESPACE = "keylight"


def durable_actor_options(name: str) -> dict[str, Any]:
    """Options for ``ActorClass.options``: the first caller creates the actor, every later
    one (another ingress replica, a restarted server) gets the same one by name. A call is
    not retried after a crash because the caller cannot know whether its write happened."""
    return {
        "name": name,
        "namespace": NAMESPACE,
        "lifetime": "detached",
        "get_if_exists": True,
        "max_restarts": -1,
        "max_task_retries": 0,
    }
