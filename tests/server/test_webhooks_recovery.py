"""The dispatcher killed (kill -9) in the middle of a delivery: after Ray restarts it, the
delivery still completes, with the same id and body."""

from __future__ import annotations

import os
import signal
import threading
import time

import ray
from ray.exceptions import ActorDiedError, ActorUnavailableError

from keylight_actors.actors.named_actor import NAMESPACE
from keylight_actors.actors.webhook_dispatcher import dispatcher_name

from .test_webhooks_events import documented_verify, hook
from .webhook_receiver import wait_for_delivery


def dispatcher_call(method: str, timeout: float = 60):
    """Call the dispatcher, waiting out a restart in progress."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            actor = ray.get_actor(dispatcher_name(0), namespace=NAMESPACE)
            return ray.get(getattr(actor, method).remote(), timeout=30)
        except (ActorUnavailableError, ActorDiedError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_delivery_in_flight_when_the_dispatcher_dies_completes_after_its_restart(
    http, tenant, catalog, mint, webhook_receiver
):
    url, secret = hook(http, tenant, webhook_receiver)
    behaviour = webhook_receiver.behaviour(url)
    behaviour.gate = threading.Event()  # the first request waits until we let it go
    old_pid = dispatcher_call("pid")

    mint(catalog)
    assert behaviour.arrived.wait(30), "the delivery never reached the receiver"
    os.kill(old_pid, signal.SIGKILL)  # mid-delivery: the receiver has not answered yet
    behaviour.gate.set()

    first, second = webhook_receiver.wait_for(url, 2, timeout=60)
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.body == first.body
    assert documented_verify(secret, second.headers["x-keylight-signature"], second.body)
    delivered = wait_for_delivery(http, tenant, lambda item: item["status"] == "delivered")
    assert delivered["delivery_id"] == first.headers["webhook-id"]
    assert [a["http_status"] for a in delivered["attempts"]] == [200]

    stats = dispatcher_call("stats")
    assert stats["pid"] != old_pid
    assert stats["released_at_start"] >= 1
