"""Prometheus metrics through Ray's metrics API (exported by every Ray node's agent)."""

from __future__ import annotations

from ray.util import metrics

REQUESTS = metrics.Counter(
    "keylight_requests_total", "HTTP requests by route template, method and status code",
    tag_keys=("route", "method", "code"))
REQUEST_LATENCY = metrics.Histogram(
    "keylight_request_seconds", "HTTP request latency in the ingress",
    boundaries=[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0],
    tag_keys=("route",))
ENTITY_CACHE_HITS = metrics.Counter(
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
