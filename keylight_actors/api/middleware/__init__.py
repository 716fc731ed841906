"""ASGI middleware of the ingress: request log, guard, idempotency, the SDK fast path."""
