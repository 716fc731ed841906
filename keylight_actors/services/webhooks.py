"""A tenant's outbound webhook endpoint (its URL, events and signing secret) and redelivery.

Where the state lives: the endpoint is a row of its own (``webhook_endpoints``), not part of
the tenant entity. No rule of the tenant reads it, the dispatcher reads it from its table,
and it has no version to fence, so these use cases do not run in the tenant host's unit of
work (whose gate and version would gain nothing from a URL change). Each is a plain store
write through a small unit of work of its own, ``WebhookUnitOfWork``: one transaction in
which the endpoint (or delivery) is written and the audit entries recorded with it; an
error raised by the use case writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..domain.audit import AuditEntry
from ..domain.errors import NotFound
from ..domain.webhook_events import enabled_events, resolve_toggles

ROTATION_OVERLAP_SECONDS = 24 * 3600


class WebhookUnitOfWork(Protocol):
    """One transaction on the webhook tables; ``audit`` entries are written in it."""

    async def check_target(self, url: str) -> None:
        """Refuse (InvalidInput) a URL that may not receive webhooks (a private address,
        unless the installation allows them)."""

    def new_secret(self) -> str:
        """A new signing secret, as shown to the vendor (``whsec_…``)."""
        ...

    async def save_endpoint(self, tenant_id: str, url: str, events: list[str],
                            secret: str) -> bool:
        """Create the endpoint with ``secret`` (sealed when stored), or change its URL and
        events keeping its secret; True when it was created."""
        ...

    async def rotate_secret(self, tenant_id: str, secret: str, overlap_seconds: int
                            ) -> int | None:
        """``secret`` signs from now on, the current one for the overlap too; until when
        (Unix seconds), or None when the tenant has no endpoint."""
        ...

    async def redeliver(self, tenant_id: str, delivery_id: str) -> bool:
        """Send the delivery again now; False when the tenant has no such delivery."""
        ...

    def audit(self, entry: AuditEntry) -> None:
        """An audit entry, written by the commit."""


@dataclass(frozen=True, slots=True)
class SetWebhookEndpoint:
    tenant_id: str
    url: str
    # Toggles over the defaults, or the list of the events wanted; None: the defaults.
    events: Mapping[str, bool] | Sequence[str] | None
    actor: str


@dataclass(frozen=True, slots=True)
class EndpointSet:
    created: bool
    secret: str | None  # the signing secret, answered once: when the endpoint was created


async def set_webhook_endpoint(command: SetWebhookEndpoint, uow: WebhookUnitOfWork
                               ) -> EndpointSet:
    """Set the URL and the events; the first call creates the endpoint and its secret."""
    toggles = resolve_toggles(command.events)
    await uow.check_target(command.url)
    secret = uow.new_secret()
    events = enabled_events(toggles)
    created = await uow.save_endpoint(command.tenant_id, command.url, events, secret)
    uow.audit(AuditEntry(command.actor, "webhook.create" if created else "webhook.update",
                         command.tenant_id, command.tenant_id,
                         {"url": command.url, "events": events}))
    return EndpointSet(created, secret if created else None)


@dataclass(frozen=True, slots=True)
class RotateWebhookSecret:
    tenant_id: str
    actor: str


@dataclass(frozen=True, slots=True)
class SecretRotated:
    secret: str  # answered once
    previous_secret_signs_until: int


async def rotate_webhook_secret(command: RotateWebhookSecret, uow: WebhookUnitOfWork
                                ) -> SecretRotated:
    """A new signing secret; the old one still signs, as a second signature, for 24 hours."""
    secret = uow.new_secret()
    until = await uow.rotate_secret(command.tenant_id, secret, ROTATION_OVERLAP_SECONDS)
    if until is None:
        raise NotFound("this tenant has no webhook endpoint", code="WEBHOOK_NOT_FOUND")
    uow.audit(AuditEntry(command.actor, "webhook.rotate_secret", command.tenant_id,
                         command.tenant_id))
    return SecretRotated(secret, until)


@dataclass(frozen=True, slots=True)
class RedeliverWebhook:
    tenant_id: str
    delivery_id: str  # a UUID
    actor: str


async def redeliver_webhook(command: RedeliverWebhook, uow: WebhookUnitOfWork) -> None:
    """Send a delivery again now, with the same id and body."""
    if not await uow.redeliver(command.tenant_id, command.delivery_id):
        raise NotFound("delivery not found", code="DELIVERY_NOT_FOUND")
    uow.audit(AuditEntry(command.actor, "webhook.redeliver", command.tenant_id,
                         command.delivery_id))
