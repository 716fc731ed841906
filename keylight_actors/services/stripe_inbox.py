"""The Stripe event inbox: keep a verified event, route it to its tenant, decide, apply once.

The route has verified the event's signature; from there this module does the rest. The
event is kept first (``stripe_events``), so a crash or a failure can be replayed by the
operator; ``domain.stripe_events.decide`` says what it means for the tenant; the payment use
cases (services/payments.py) apply it on the tenant's or the license's host, each claiming
the event in its own commit, so an event is acted on once however often Stripe sends it.
The outcome (ignored, unroutable, failed, held) is recorded on the kept event. What the
inbox reaches is ``StripeInboxPorts``.

Stripe does not promise order. An event that needs a license not minted yet (a refund, a
dispute, a renewal or a cancellation before its ``checkout.session.completed``) is *held*,
with what it waits for; the mint of that license then applies the events held for it, in
the order they came, each through the same use case and claim as any event, so each is
applied once however many deliveries or replays race for it. Should the process die
between the mint's commit and that release, ``release_orphaned_held`` (on a timer in each
ingress replica) applies them later. The payment use cases make the outcome the same in
any order (services/payments.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from ..domain.errors import Conflict, DomainError
from ..domain.stripe_events import (
    EVENT_ALREADY_PROCESSED,
    ExpireSubscription,
    Ignore,
    MintForSession,
    RenewSubscription,
    RevokeForPayment,
    SettleDispute,
    decide,
)
from .licenses import GetLicense
from .payments import (
    CheckoutMint,
    CloseDispute,
    ExpireForCancellation,
    MintFromCheckout,
    RenewForInvoice,
    RevokeForRefund,
)
from .tenants import TenantSnapshot

log = logging.getLogger(__name__)

CONNECT_ENDPOINT = "connect"  # the platform's endpoint; a manual-mode tenant's is its id


class StripeInboxPorts(Protocol):
    async def keep(self, event: dict[str, Any], *, endpoint: str, tenant_id: str | None
                   ) -> str:
        """Store the event unless it is stored already; answers its status (``received``
        when new)."""
        ...

    async def mark_outcome(self, event_id: str, status: str, reason: str | None,
                           tenant_id: str | None) -> None:
        """Record an outcome other than processed (never over a processed event)."""

    async def hold(self, event_id: str, reason: str, tenant_id: str, awaits: str) -> None:
        """Keep the event as held until a license for ``awaits`` is minted (never over a
        processed event)."""

    async def held_events(self, tenant_id: str, awaits: list[str]) -> list[dict[str, Any]]:
        """The tenant's events held for any of ``awaits`` (``{event_id, endpoint,
        payload}``), in the order they came."""
        ...

    async def orphaned_held_events(self, limit: int) -> list[dict[str, Any]]:
        """Held events whose license exists now in their tenant (``{event_id, endpoint,
        payload}``), oldest first, at most ``limit``."""
        ...

    async def tenant_for_account(self, account: str) -> str | None:
        """The tenant connected to this Stripe account."""
        ...

    async def license_bought_with(self, tenant_id: str, *, payment_intent: str | None = None,
                                  subscription: str | None = None) -> str | None:
        """The key hash of the license a payment or subscription bought, in this tenant."""
        ...

    async def tenant(self, tenant_id: str) -> TenantSnapshot: ...

    async def license(self, command: GetLicense) -> dict[str, Any]: ...

    async def mint_from_checkout(self, command: MintFromCheckout) -> CheckoutMint: ...

    async def revoke_for_refund(self, command: RevokeForRefund) -> Any: ...

    async def close_dispute(self, command: CloseDispute) -> Any: ...

    async def renew_for_invoice(self, command: RenewForInvoice) -> Any: ...

    async def expire_for_cancellation(self, command: ExpireForCancellation) -> Any: ...


async def receive_event(event: dict[str, Any], endpoint: str, ports: StripeInboxPorts
                        ) -> str:
    """Keep the event, then process it unless it was already; answers its status."""
    manual_tenant = None if endpoint == CONNECT_ENDPOINT else endpoint
    status = await ports.keep(event, endpoint=endpoint, tenant_id=manual_tenant)
    if status == "processed":
        return status
    return await process_event(event, endpoint, ports)


async def _outcome(ports: StripeInboxPorts, event_id: str, status: str, reason: str | None,
                   tenant_id: str | None = None) -> str:
    await ports.mark_outcome(event_id, status, reason, tenant_id)
    if status != "processed":
        log.info("stripe event %s %s: %s", event_id, status, reason)
    return status


async def process_event(event: dict[str, Any], endpoint: str, ports: StripeInboxPorts
                        ) -> str:
    """Act on a kept event (again, for a replay); answers its status."""
    event_id = event["id"]
    if endpoint == CONNECT_ENDPOINT:
        account = event.get("account")
        tenant_id = await ports.tenant_for_account(account) if isinstance(account,
                                                                          str) else None
        if tenant_id is None:
            return await _outcome(ports, event_id, "unroutable",
                                  f"no tenant is connected to Stripe account {account!r}")
    else:
        tenant_id = endpoint
    try:
        action = decide(event, tenant_id)
        if isinstance(action, Ignore):
            return await _outcome(ports, event_id, "ignored", action.reason, tenant_id)
        await _apply(ports, tenant_id, event_id, action)
    except AwaitingLicense as waiting:
        return await _hold(event, endpoint, ports, tenant_id, waiting)
    except Conflict as conflict:
        if conflict.code == EVENT_ALREADY_PROCESSED:
            return "processed"
        if conflict.code == "INVOICE_ALREADY_APPLIED":
            return await _outcome(ports, event_id, "ignored", conflict.message, tenant_id)
        return await _outcome(ports, event_id, "failed", conflict.message, tenant_id)
    except DomainError as error:
        return await _outcome(ports, event_id, "failed", error.message, tenant_id)
    except Exception as error:
        log.exception("stripe event %s failed", event_id)
        return await _outcome(ports, event_id, "failed", type(error).__name__, tenant_id)
    return "processed"


class AwaitingLicense(DomainError):
    """No license was bought with this payment or subscription yet."""

    def __init__(self, kind: str, value: str) -> None:
        super().__init__(f"no license was bought with {kind} {value} yet: held until "
                         "its checkout mints it", code="NO_LICENSE")
        self.kind, self.value = kind, value

    @property
    def awaits(self) -> str:
        return f"{self.kind}:{self.value}"


async def _key_hash(ports: StripeInboxPorts, tenant_id: str, kind: str, value: str) -> str:
    key_hash = await ports.license_bought_with(tenant_id, **{kind: value})
    if key_hash is None:
        raise AwaitingLicense(kind, value)
    return key_hash


async def _hold(event: dict[str, Any], endpoint: str, ports: StripeInboxPorts,
                tenant_id: str, waiting: AwaitingLicense) -> str:
    await _outcome_held(ports, event["id"], tenant_id, waiting)
    # The mint may have committed after our lookup and looked for held events before this
    # one was held: look once more. (Both sides write, then read: one of them sees the
    # other; if both do, the event's claim lets one of them apply it.)
    if await ports.license_bought_with(tenant_id, **{waiting.kind: waiting.value}):
        return await process_event(event, endpoint, ports)
    return "held"


async def _outcome_held(ports: StripeInboxPorts, event_id: str, tenant_id: str,
                        waiting: AwaitingLicense) -> None:
    await ports.hold(event_id, waiting.message, tenant_id, waiting.awaits)
    log.info("stripe event %s held: %s", event_id, waiting.message)


async def _release_held(ports: StripeInboxPorts, tenant_id: str, mint: MintForSession
                        ) -> None:
    """Apply the events held for the license this session minted, in the order they came;
    each claims itself, so a racing delivery or replay cannot apply one twice."""
    awaits = [f"{kind}:{value}" for kind, value in (("payment_intent", mint.payment_intent),
                                                    ("subscription", mint.subscription))
              if value]
    if not awaits:
        return
    for held in await ports.held_events(tenant_id, awaits):
        await process_event(held["payload"], held["endpoint"], ports)


HELD_RETRY_BATCH = 100  # held events one pass of release_orphaned_held applies at most


@dataclass(frozen=True, slots=True)
class HeldRelease:
    """One pass of ``release_orphaned_held``: the events it found orphaned, each with the
    status it ended in (``processed`` also when a racing replica applied it)."""

    outcomes: tuple[tuple[str, str], ...]  # (event id, status)

    @property
    def released(self) -> tuple[str, ...]:
        return tuple(event_id for event_id, status in self.outcomes if status == "processed")


async def release_orphaned_held(ports: StripeInboxPorts, limit: int = HELD_RETRY_BATCH
                                ) -> HeldRelease:
    """Apply the held events whose license exists now, oldest first, at most ``limit``.

    A mint applies the events held for it right after its commit; if the process died in
    between, they would stay held although their license exists. This pass (run on a timer
    by every ingress replica) applies them as the mint would have: each through
    ``process_event``, claiming itself in its effect's commit, so two replicas running it
    at once, a late delivery or a replay apply each event once. The rows are the truth:
    the pass keeps nothing between runs."""
    outcomes = []
    for held in await ports.orphaned_held_events(limit):
        status = await process_event(held["payload"], held["endpoint"], ports)
        outcomes.append((held["event_id"], status))
    return HeldRelease(tuple(outcomes))


async def _apply(ports: StripeInboxPorts, tenant_id: str, event_id: str, action: Any
                 ) -> None:
    if isinstance(action, MintForSession):
        try:
            await ports.mint_from_checkout(MintFromCheckout(
                tenant_id, event_id, action.session_id, action.product_id, action.key_type_id,
                action.customer_email, action.payment_intent, action.subscription,
                action.customer))
        except Conflict as conflict:
            if conflict.code == EVENT_ALREADY_PROCESSED:  # a racing delivery minted: release too
                await _release_held(ports, tenant_id, action)
            raise
        await _release_held(ports, tenant_id, action)
    elif isinstance(action, RevokeForPayment):
        key_hash = await _key_hash(ports, tenant_id, "payment_intent", action.payment_intent)
        await ports.revoke_for_refund(RevokeForRefund(
            key_hash, tenant_id, event_id, action.reason, action.dispute_id))
    elif isinstance(action, SettleDispute):
        key_hash = await _key_hash(ports, tenant_id, "payment_intent", action.payment_intent)
        await ports.close_dispute(CloseDispute(
            key_hash, tenant_id, event_id, action.dispute_id, action.won))
    elif isinstance(action, RenewSubscription):
        key_hash = await _key_hash(ports, tenant_id, "subscription", action.subscription)
        current = await ports.license(GetLicense(key_hash, tenant_id))
        snapshot = await ports.tenant(tenant_id)
        key_type = snapshot.key_type(current["product_id"], current["key_type_id"])
        await ports.renew_for_invoice(RenewForInvoice(
            key_hash, tenant_id, event_id, action.invoice_id,
            key_type.duration_days if key_type else None))
    elif isinstance(action, ExpireSubscription):
        key_hash = await _key_hash(ports, tenant_id, "subscription", action.subscription)
        await ports.expire_for_cancellation(
            ExpireForCancellation(key_hash, tenant_id, event_id))
