"""What a Stripe event asks of us, decided from its JSON alone (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PAID_STATUSES = frozenset({"paid", "no_payment_required"})
METADATA_KEYS = ("tenant_id", "product_id", "key_type_id")
# The error code of an event's claim refused because the event was acted on already: the
# store raises it in the effect's transaction, the inbox takes it as "done".
EVENT_ALREADY_PROCESSED = "EVENT_ALREADY_PROCESSED"


@dataclass(frozen=True)
class MintForSession:
    session_id: str
    product_id: str
    key_type_id: str
    customer_email: str | None
    payment_intent: str | None
    subscription: str | None
    customer: str | None


@dataclass(frozen=True)
class RevokeForPayment:
    payment_intent: str
    reason: str  # "refund" or "dispute"
    dispute_id: str | None = None  # the dispute's, for "dispute"


@dataclass(frozen=True)
class SettleDispute:
    """A closed dispute: ``won`` reinstates what it revoked; lost leaves it revoked."""

    payment_intent: str
    dispute_id: str
    won: bool


@dataclass(frozen=True)
class RenewSubscription:
    subscription: str
    invoice_id: str


@dataclass(frozen=True)
class ExpireSubscription:
    subscription: str


@dataclass(frozen=True)
class Ignore:
    reason: str


StripeAction = (MintForSession | RevokeForPayment | SettleDispute | RenewSubscription
                | ExpireSubscription | Ignore)


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return value["id"]  # an expanded object
    return None


def _session_mint(session: Mapping[str, Any], tenant_id: str, *, require_paid: bool
                  ) -> StripeAction:
    metadata = session.get("metadata") or {}
    if not isinstance(metadata, Mapping) or not all(
        isinstance(metadata.get(key), str) and metadata.get(key) for key in METADATA_KEYS
    ):
        return Ignore("the session carries no Keylight metadata")
    if metadata["tenant_id"] != tenant_id:
        return Ignore(f"the session's metadata names tenant {metadata['tenant_id']!r}")
    session_id = _text(session.get("id"))
    if session_id is None:
        return Ignore("the session has no id")
    if require_paid and session.get("payment_status") not in PAID_STATUSES:
        return Ignore(
            f"payment_status is {session.get('payment_status')!r}: "
            "minting waits for async_payment_succeeded"
        )
    details = session.get("customer_details") or {}
    email = session.get("customer_email") or (
        details.get("email") if isinstance(details, Mapping) else None
    )
    return MintForSession(
        session_id=session_id,
        product_id=metadata["product_id"],
        key_type_id=metadata["key_type_id"],
        customer_email=email if isinstance(email, str) else None,
        payment_intent=_text(session.get("payment_intent")),
        subscription=_text(session.get("subscription")),
        customer=_text(session.get("customer")),
    )


def _invoice_subscription(invoice: Mapping[str, Any]) -> str | None:
    direct = _text(invoice.get("subscription"))
    if direct:
        return direct
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") if isinstance(parent, Mapping) else None
    return _text(details.get("subscription")) if isinstance(details, Mapping) else None


def decide(event: Mapping[str, Any], tenant_id: str) -> StripeAction:
    """The action for an event already routed to ``tenant_id``."""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping):
        return Ignore("the event has no data.object")
    kind = event.get("type")
    if kind == "checkout.session.completed":
        return _session_mint(obj, tenant_id, require_paid=True)
    if kind == "checkout.session.async_payment_succeeded":
        return _session_mint(obj, tenant_id, require_paid=False)
    if kind == "charge.refunded":
        payment_intent = _text(obj.get("payment_intent"))
        if payment_intent is None:
            return Ignore("the charge has no payment_intent")
        amount, refunded = obj.get("amount"), obj.get("amount_refunded")
        full = obj.get("refunded") is True or (
            isinstance(amount, int) and isinstance(refunded, int) and refunded >= amount
        )
        return RevokeForPayment(payment_intent, "refund") if full else Ignore("partial refund")
    if kind == "charge.dispute.created":
        payment_intent = _text(obj.get("payment_intent"))
        if payment_intent is None:
            return Ignore("the dispute has no payment_intent")
        return RevokeForPayment(payment_intent, "dispute", _text(obj.get("id")))
    if kind == "charge.dispute.closed":
        payment_intent, dispute_id = _text(obj.get("payment_intent")), _text(obj.get("id"))
        if payment_intent is None or dispute_id is None:
            return Ignore("the dispute has no payment_intent or id")
        if obj.get("status") not in ("won", "lost"):
            return Ignore(f"dispute status {obj.get('status')!r} is neither won nor lost")
        return SettleDispute(payment_intent, dispute_id, obj.get("status") == "won")
    if kind == "invoice.paid":
        if obj.get("billing_reason") != "subscription_cycle":
            return Ignore(f"billing_reason {obj.get('billing_reason')!r} is not a renewal")
        subscription, invoice_id = _invoice_subscription(obj), _text(obj.get("id"))
        if subscription is None or invoice_id is None:
            return Ignore("the invoice names no subscription")
        return RenewSubscription(subscription, invoice_id)
    if kind == "customer.subscription.deleted":
        subscription = _text(obj.get("id"))
        if subscription is None:
            return Ignore("the subscription has no id")
        return ExpireSubscription(subscription)
    return Ignore(f"event type {kind!r} is not handled")
