"""The events a vendor's webhook can receive, which of them it receives, and their wire body."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidInput

LICENSE_CREATED = "license.created"
LICENSE_ACTIVATED = "license.activated"
LICENSE_DEACTIVATED = "license.deactivated"
LICENSE_EXPIRED = "license.expired"
LICENSE_REFUNDED = "license.refunded"
LICENSE_REVOKED = "license.revoked"
LICENSE_REINSTATED = "license.reinstated"
SUBSCRIPTION_RENEWED = "subscription.renewed"
EVENT_TYPES: tuple[str, ...] = (
    LICENSE_CREATED,
    LICENSE_ACTIVATED,
    LICENSE_DEACTIVATED,
    LICENSE_EXPIRED,
    LICENSE_REFUNDED,
    LICENSE_REVOKED,
    LICENSE_REINSTATED,
    SUBSCRIPTION_RENEWED,
)
ALWAYS_ON = frozenset({LICENSE_CREATED})
OFF_BY_DEFAULT = frozenset({LICENSE_ACTIVATED, LICENSE_DEACTIVATED})

# The envelope's fields lead the body, in this order; the event's own fields follow, sorted.
ENVELOPE_FIELDS = ("id", "created", "version", "event", "tenant_id")


def default_toggles() -> dict[str, bool]:
    return {event: event not in OFF_BY_DEFAULT for event in EVENT_TYPES}


def resolve_toggles(requested: Mapping[str, bool] | Sequence[str] | None) -> dict[str, bool]:
    """Every event type with whether it is sent.

    A mapping switches events on or off over the defaults; a list names exactly the events
    wanted; nothing means the defaults. ``license.created`` is always on.
    """
    if requested is None:
        return default_toggles()
    names = list(requested.keys()) if isinstance(requested, Mapping) else list(requested)
    unknown = sorted(set(names) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(f"unknown webhook events: {', '.join(unknown)}; known: "
                           f"{', '.join(EVENT_TYPES)}", code="UNKNOWN_WEBHOOK_EVENT")
    if isinstance(requested, Mapping):
        toggles = {**default_toggles(), **{name: bool(on) for name, on in requested.items()}}
    else:
        toggles = {event: event in names for event in EVENT_TYPES}
    for event in ALWAYS_ON:
        if isinstance(requested, Mapping) and requested.get(event) is False:
            raise InvalidInput(f"{event} is always sent and cannot be switched off",
                               code="WEBHOOK_EVENT_ALWAYS_ON")
        toggles[event] = True
    return toggles


def enabled_events(toggles: Mapping[str, bool]) -> list[str]:
    return [event for event in EVENT_TYPES if toggles.get(event)]


def toggles_from(enabled: Sequence[str]) -> dict[str, bool]:
    return {event: event in enabled or event in ALWAYS_ON for event in EVENT_TYPES}


def event_body(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes sent: the same for every attempt and redelivery of an event."""
    ordered = {name: payload[name] for name in ENVELOPE_FIELDS if name in payload}
    ordered.update({name: payload[name] for name in sorted(payload) if name not in ordered})
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
