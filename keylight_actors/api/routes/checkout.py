"""Stripe Checkout for vendors' servers, and the tenant's Stripe settings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ...domain.credentials import credential_matches
from ...domain.errors import Unauthorized
from ...services import checkout
from ...services.payments import SetManualStripe
from ..auth import bearer_token, require_tenant
from ..ingress_context import context_of
from ..ports import IngressPayments
from ..types import CreateCheckout, ManualStripe
from .admin import public_tenant_view

router = APIRouter(prefix="/api/{tenant_id}", tags=["payments"])


@router.post("/checkout")
async def create_checkout(tenant_id: str, body: CreateCheckout, request: Request
                          ) -> dict[str, Any]:
    services = context_of(request)
    token = bearer_token(request)
    snapshot = await services.tenants.snapshot(tenant_id)
    if not credential_matches(token, snapshot.checkout_key_hash):
        raise Unauthorized("invalid checkout API key", code="INVALID_TOKEN")
    link = await checkout.create_checkout(checkout.CreateCheckout(
        tenant_id, body.product_id, body.key_type_id, str(body.success_url),
        str(body.cancel_url), body.customer_email,
        request.headers.get("idempotency-key", "")[:200] or None), IngressPayments(services))
    return {"url": link.url, "session_id": link.session_id}


@router.put("/stripe/manual")
async def set_manual_stripe(tenant_id: str, body: ManualStripe, request: Request
                            ) -> dict[str, Any]:
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    snapshot = await set_manual_stripe_for(services, caller.actor, tenant_id, body)
    return {**public_tenant_view(snapshot), "stripe_mode": "manual"}


async def set_manual_stripe_for(services: Any, actor: str, tenant_id: str,
                                body: ManualStripe) -> Any:
    """Set the tenant's own Stripe secret key and webhook secret (stored sealed); the
    tenant's snapshot after it (this route and the dashboard)."""
    snapshot = await services.hosts.tenants.set_manual_stripe(SetManualStripe(
        tenant_id, body.secret_key, body.webhook_secret, actor))
    services.tenants.remember(snapshot)
    return snapshot
