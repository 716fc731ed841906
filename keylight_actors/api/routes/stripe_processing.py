"""Acting on a verified Stripe event: route it to its tenant, decide, apply once, record."""

from __future__ import annotations

import logging
from typing import Any

from ...domain.errors import Conflict, DomainError
from ...domain.stripe_events import (
    ExpireSubscription,
    Ignore,
    MintForSession,
    RenewSubscription,
    RevokeForPayment,
    decide,
)
from ...services.licenses import GetLicense
from ...services.payments import (
    ExpireForCancellation,
    MintFromCheckout,
    RenewForInvoice,
    RevokeForRefund,
)
from ...store.licenses import key_hash_for_stripe
from ...store.stripe_events import ALREADY_PROCESSED, mark_outcome, record_received
from ...store.tenants import tenant_for_stripe_account
from ..services import Services

log = logging.getLogger(__name__)

CONNECT_ENDPOINT = "connect"


async def receive_event(services: Services, event: dict[str, Any], endpoint: str) -> str:
    """Keep the event, then process it unless it was already; answers its status."""
    manual_tenant = None if endpoint == CONNECT_ENDPOINT else endpoint
    async with services.pool.connection() as conn, conn.transaction():
        status = await record_received(conn, event, endpoint=endpoint, tenant_id=manual_tenant)
    if status == "processed":
        return status
    return await process_event(services, event, endpoint)


async def _outcome(services: Services, event_id: str, status: str, reason: str | None,
                   tenant_id: str | None = None) -> str:
    async with services.pool.connection() as conn, conn.transaction():
        await mark_outcome(conn, event_id, status, reason, tenant_id)
    if status != "processed":
        log.info("stripe event %s %s: %s", event_id, status, reason)
    return status


async def process_event(services: Services, event: dict[str, Any], endpoint: str) -> str:
    event_id = event["id"]
    if endpoint == CONNECT_ENDPOINT:
        account = event.get("account")
        tenant_id = None
        if isinstance(account, str):
            async with services.pool.connection() as conn:
                tenant_id = await tenant_for_stripe_account(conn, account)
        if tenant_id is None:
            return await _outcome(services, event_id, "unroutable",
                                  f"no tenant is connected to Stripe account {account!r}")
    else:
        tenant_id = endpoint
    try:
        action = decide(event, tenant_id)
        if isinstance(action, Ignore):
            return await _outcome(services, event_id, "ignored", action.reason, tenant_id)
        await _apply(services, tenant_id, event_id, action)
    except Conflict as conflict:
        if conflict.code == ALREADY_PROCESSED:
            return "processed"
        if conflict.code == "INVOICE_ALREADY_APPLIED":
            return await _outcome(services, event_id, "ignored", conflict.message, tenant_id)
        return await _outcome(services, event_id, "failed", conflict.message, tenant_id)
    except DomainError as error:
        return await _outcome(services, event_id, "failed", error.message, tenant_id)
    except Exception as error:
        log.exception("stripe event %s failed", event_id)
        return await _outcome(services, event_id, "failed", type(error).__name__, tenant_id)
    return "processed"


async def _license_key_hash(services: Services, tenant_id: str, **stripe_id: str) -> str:
    async with services.pool.connection() as conn:
        key_hash = await key_hash_for_stripe(conn, tenant_id, **stripe_id)
    if key_hash is None:
        what = ", ".join(f"{name} {value}" for name, value in stripe_id.items())
        raise DomainError(f"no license was bought with {what}", code="NO_LICENSE")
    return key_hash


async def _apply(services: Services, tenant_id: str, event_id: str, action: Any) -> None:
    hosts = services.hosts
    if isinstance(action, MintForSession):
        await hosts.tenants.mint_from_checkout(MintFromCheckout(
            tenant_id, event_id, action.session_id, action.product_id, action.key_type_id,
            action.customer_email, action.payment_intent, action.subscription, action.customer))
    elif isinstance(action, RevokeForPayment):
        key_hash = await _license_key_hash(services, tenant_id,
                                           payment_intent=action.payment_intent)
        await hosts.licenses.revoke_for_refund(
            RevokeForRefund(key_hash, tenant_id, event_id, action.reason))
    elif isinstance(action, RenewSubscription):
        key_hash = await _license_key_hash(services, tenant_id,
                                           subscription=action.subscription)
        current = await hosts.licenses.get(GetLicense(key_hash, tenant_id))
        snapshot = await services.tenants.snapshot(tenant_id)
        key_type = snapshot.key_type(current["product_id"], current["key_type_id"])
        await hosts.licenses.renew_for_invoice(RenewForInvoice(
            key_hash, tenant_id, event_id, action.invoice_id,
            key_type.duration_days if key_type else None))
    elif isinstance(action, ExpireSubscription):
        key_hash = await _license_key_hash(services, tenant_id,
                                           subscription=action.subscription)
        await hosts.licenses.expire_for_cancellation(
            ExpireForCancellation(key_hash, tenant_id, event_id))
