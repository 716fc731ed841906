"""Stripe's webhooks: Connect events for all tenants, and each manual-mode tenant's own."""

from __future__ import annotations

import json
from typing import Any

import stripe
from fastapi import APIRouter, Request

from ...domain.errors import InvalidInput, NotFound, Unavailable
from ...services.stripe_inbox import CONNECT_ENDPOINT, receive_event
from ..ingress_context import context_of
from ..ports import IngressStripeInbox

router = APIRouter(prefix="/api/stripe/webhook", tags=["stripe"])

SIGNATURE_TOLERANCE_SECONDS = 300


async def verified_event(request: Request, secret: str) -> dict[str, Any]:
    """The event, once its ``Stripe-Signature`` matches the raw body (300 s tolerance)."""
    payload = await request.body()  # size already bounded by the RequestGuard middleware
    signature = request.headers.get("stripe-signature")
    if not signature:
        raise InvalidInput("missing Stripe-Signature header", code="BAD_SIGNATURE")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, secret,
                                              SIGNATURE_TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, UnicodeDecodeError):
        raise InvalidInput("invalid Stripe signature", code="BAD_SIGNATURE") from None
    try:
        event = json.loads(text)
    except ValueError:
        raise InvalidInput("event is not valid JSON", code="INVALID_JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(
        event.get("type"), str
    ):
        raise InvalidInput("event has no id or type", code="INVALID_EVENT")
    return event


@router.post("/connect")
async def connect_webhook(request: Request) -> dict[str, Any]:
    services = context_of(request)
    secret = services.settings.stripe_connect_webhook_secret
    if not secret:
        raise Unavailable("STRIPE_CONNECT_WEBHOOK_SECRET is not configured",
                          code="NOT_CONFIGURED")
    event = await verified_event(request, secret)
    return {"received": True, "status": await receive_event(
        event, CONNECT_ENDPOINT, IngressStripeInbox(services))}


@router.post("/{tenant_id}")
async def manual_webhook(tenant_id: str, request: Request) -> dict[str, Any]:
    services = context_of(request)
    await services.tenants.snapshot(tenant_id)
    secrets = await services.manual_stripe_secrets(tenant_id)
    if secrets is None:
        raise NotFound("this tenant has no manual-mode Stripe webhook",
                       code="MANUAL_MODE_NOT_CONFIGURED")
    event = await verified_event(request, secrets[1])
    return {"received": True, "status": await receive_event(
        event, tenant_id, IngressStripeInbox(services))}
