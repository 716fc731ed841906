"""Stripe Checkout for vendors' servers, and the tenant's Stripe settings."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from ...domain.catalog import KeyType
from ...domain.credentials import credential_matches
from ...domain.errors import Conflict, Unauthorized
from ...domain.platform_fee import application_fee_cents, application_fee_percent
from ...services.payments import AuthorizeCheckout, SetManualStripe
from ...store.checkout_sessions import insert_checkout_session
from ..auth import bearer_token, require_tenant
from ..services import services_of
from ..types import CreateCheckout, ManualStripe
from .admin import public_tenant_view

router = APIRouter(prefix="/api/{tenant_id}", tags=["payments"])


def checkout_params(body: CreateCheckout, tenant_id: str, key_type: KeyType,
                    *, fee_bps: int | None) -> dict[str, Any]:
    """The Checkout Session request; ``fee_bps`` None for manual mode (no platform fee)."""
    metadata = {"tenant_id": tenant_id, "product_id": body.product_id,
                "key_type_id": body.key_type_id}
    recurring = key_type.recurring_interval is not None
    params: dict[str, Any] = {
        "mode": "subscription" if recurring else "payment",
        "line_items": [{"price": key_type.stripe_price_id, "quantity": 1}],
        "success_url": body.success_url,
        "cancel_url": body.cancel_url,
        "metadata": metadata,
    }
    if body.customer_email:
        params["customer_email"] = body.customer_email
    if recurring:
        params["subscription_data"] = {"metadata": metadata}
        if fee_bps is not None:
            params["subscription_data"]["application_fee_percent"] = application_fee_percent(
                fee_bps)
    else:
        params["payment_intent_data"] = {"metadata": metadata}
        if fee_bps is not None:
            params["payment_intent_data"]["application_fee_amount"] = application_fee_cents(
                key_type.price_in_cents or 0, fee_bps)
    return params


@router.post("/checkout")
async def create_checkout(tenant_id: str, body: CreateCheckout, request: Request
                          ) -> dict[str, Any]:
    services = services_of(request)
    token = bearer_token(request)
    snapshot = await services.tenants.snapshot(tenant_id)
    if not credential_matches(token, snapshot.checkout_key_hash):
        raise Unauthorized("invalid checkout API key", code="INVALID_TOKEN")
    settings = services.settings
    allowed = await services.hosts.tenants.authorize_checkout(AuthorizeCheckout(
        tenant_id, body.product_id, body.key_type_id, bool(settings.stripe_secret_key)))
    if allowed.manual:
        secrets = await services.manual_stripe_secrets(tenant_id)
        if secrets is None:
            raise Conflict("this tenant is not connected to Stripe", code="STRIPE_NOT_CONNECTED")
        api_key, account, fee_bps = secrets[0], None, None
    else:
        assert settings.stripe_secret_key
        api_key, account = settings.stripe_secret_key, allowed.stripe_account_id
        fee_bps = settings.platform_fee_bps
    params = checkout_params(body, tenant_id, allowed.key_type, fee_bps=fee_bps)
    idempotency_key = request.headers.get("idempotency-key", "")[:200] or str(uuid.uuid4())
    session = await services.stripe.create_checkout_session(
        api_key, params, account=account,
        idempotency_key=f"keylight-checkout-{tenant_id}-{idempotency_key}")
    async with services.pool.connection() as conn, conn.transaction():
        await insert_checkout_session(conn, session["id"], tenant_id, body.product_id,
                                      body.key_type_id, body.customer_email)
    return {"url": session["url"], "session_id": session["id"]}


@router.put("/stripe/manual")
async def set_manual_stripe(tenant_id: str, body: ManualStripe, request: Request
                            ) -> dict[str, Any]:
    services = services_of(request)
    caller = await require_tenant(request, services, tenant_id)
    snapshot = await services.hosts.tenants.set_manual_stripe(SetManualStripe(
        tenant_id, body.secret_key, body.webhook_secret, caller.actor))
    services.tenants.remember(snapshot)
    return {**public_tenant_view(snapshot), "stripe_mode": "manual"}
