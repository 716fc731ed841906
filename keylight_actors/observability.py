"""Prometheus metrics through Ray's metrics API (exported by every Ray node's agent)."""

from __future__ import annotations

import asyncio

from ray.util import metrics

# Counts of the hot paths are summed in the process and handed to Ray at most this often:
# one Ray metric record costs far more than a sum in a dict, and Ray exports no more often
# than this anyway.
COUNTER_FLUSH_SECONDS = 1.0


class BufferedCounter:
    """A Ray counter whose increments wait here, summed by tag values, for up to
    ``COUNTER_FLUSH_SECONDS``. Counts of a process that dies in that second are lost."""

    def __init__(self, name: str, description: str, tag_keys: tuple[str, ...]) -> None:
        self._counter = metrics.Counter(name, description, tag_keys=tag_keys)
        self._tag_keys = tag_keys
        self._pending: dict[tuple[str, ...], int] = {}
        self._flush_scheduled = False

    def inc(self, *tag_values: str) -> None:
        """Count one, tagged with ``tag_values`` in ``tag_keys`` order."""
        self._pending[tag_values] = self._pending.get(tag_values, 0) + 1
        if self._flush_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop to flush later on: hand it over now
            self.flush()
            return
        self._flush_scheduled = True
        loop.call_later(COUNTER_FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        self._flush_scheduled = False
        for tag_values, count in pending.items():
            self._counter.inc(count, tags=dict(zip(self._tag_keys, tag_values, strict=True)))


REQUESTS = BufferedCounter(
    "keylight_requests_total", "HTTP requests by route template, method and status code",
    tag_keys=("route", "method", "code"))
REQUEST_LATENCY = metrics.Histogram(
    "keylight_request_seconds", "HTTP request latency in the ingress",
    boundaries=[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0],
    tag_keys=("route",))
ENTITY_CACHE_HITS = BufferedCounter(
    "keylight_entity_cache_hits_total", "Entity lookups served from a host's memory",
    tag_keys=("kind",))
ENTITY_LOADS = metrics.Counter(
    "keylight_entity_loads_total", "Entities loaded from Postgres into a host",
    tag_keys=("kind",))
WRITE_THROUGH_LATENCY = metrics.Histogram(
    "keylight_write_through_seconds", "Commit time of an entity's write-through",
    boundaries=[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    tag_keys=("kind",))
WEBHOOK_ATTEMPTS = metrics.Counter(
    "keylight_webhook_attempts_total",
    "Outbound webhook attempts by what they led to (delivered, retrying, failed)",
    tag_keys=("outcome",))
WEBHOOK_QUEUE_DEPTH = metrics.Gauge(
    "keylight_webhook_queue_depth",
    "Outbound webhook deliveries not yet delivered nor given up (state=waiting), and those "
    "of them due now (state=due)",
    tag_keys=("state",))
WEBHOOK_QUEUE_AGE = metrics.Gauge(
    "keylight_webhook_queue_oldest_seconds",
    "How long the oldest undelivered webhook delivery has waited since its event")
