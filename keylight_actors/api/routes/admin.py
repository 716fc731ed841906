"""Operator routes: tenants and their lifecycle."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from ...domain.errors import InvalidInput, NotFound
from ...services.stripe_inbox import process_event
from ...services.tenants import (
    ConnectStripe,
    CreatedTenant,
    CreateTenant,
    SetLifecycle,
    SetSdkQuota,
    TenantSnapshot,
)
from ...store.stripe_events import list_events, load_event
from .. import types as schemas
from ..auth import require_operator
from ..ingress_context import context_of
from ..ports import IngressStripeInbox

router = APIRouter(prefix="/api/admin", tags=["operator"])


def public_tenant_view(snapshot: TenantSnapshot) -> dict[str, Any]:
    return {
        "tenant_id": snapshot.tenant_id,
        "name": snapshot.name,
        "lifecycle": snapshot.lifecycle.value,
        "stripe_account_id": snapshot.stripe_account_id,
        "sdk_key_required": snapshot.sdk_key_hash is not None,
        "products": sorted(snapshot.products),
        "primary_kid": snapshot.primary_kid,
        "sdk_quota_per_minute": snapshot.sdk_quota_per_minute,
    }


def created_tenant_view(created: CreatedTenant) -> dict[str, Any]:
    """The one answer that shows the new tenant's secrets."""
    key = created.signing_key
    return {
        "tenant_id": created.tenant_id,
        "name": created.name,
        "lifecycle": created.lifecycle.value,
        "sdk_key": created.sdk_key,
        "checkout_api_key": created.checkout_api_key,
        "management_token": created.management_token,
        "keyset": {
            "primary_kid": key.kid,
            "keys": [{"kid": key.kid, "alg": "ed25519", "public_key": key.public_key}],
        },
    }


@router.post("/tenants", status_code=201)
async def create_tenant(body: schemas.CreateTenant, request: Request) -> dict[str, Any]:
    services = context_of(request)
    actor = await require_operator(request, services)
    services.tenants.forget(body.tenant_id)
    created = await services.hosts.tenants.create(
        CreateTenant(body.tenant_id, body.name, body.sdk_key, actor))
    return created_tenant_view(created)


@router.patch("/tenants/{tenant_id}")
async def change_tenant(tenant_id: str, body: schemas.ChangeTenant, request: Request
                        ) -> dict[str, Any]:
    """Move the tenant through its lifecycle, and/or set its SDK quota (null: none)."""
    services = context_of(request)
    actor = await require_operator(request, services)
    changes = body.model_dump(exclude_unset=True)
    if not changes or changes.get("lifecycle", "") is None:
        raise InvalidInput("give lifecycle and/or sdk_quota_per_minute")
    snapshot = None
    if body.lifecycle is not None:
        snapshot = await services.hosts.tenants.set_lifecycle(
            SetLifecycle(tenant_id, body.lifecycle, actor))
    if "sdk_quota_per_minute" in changes:
        snapshot = await services.hosts.tenants.set_sdk_quota(
            SetSdkQuota(tenant_id, body.sdk_quota_per_minute, actor))
    assert snapshot is not None
    services.tenants.remember(snapshot)
    return public_tenant_view(snapshot)


@router.put("/tenants/{tenant_id}/stripe")
async def connect_stripe(tenant_id: str, body: schemas.ConnectStripe, request: Request
                         ) -> dict[str, Any]:
    services = context_of(request)
    actor = await require_operator(request, services)
    snapshot = await services.hosts.tenants.connect_stripe(
        ConnectStripe(tenant_id, body.stripe_account_id, actor))
    services.tenants.remember(snapshot)
    return public_tenant_view(snapshot)


@router.get("/tenants/{tenant_id}")
async def get_tenant(tenant_id: str, request: Request) -> dict[str, Any]:
    services = context_of(request)
    await require_operator(request, services)
    return public_tenant_view(await services.tenants.snapshot(tenant_id))


@router.get("/stripe/events")
async def list_stripe_events(
    request: Request,
    status: Annotated[str | None, Query(max_length=16)] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Stripe events kept by the inbox, e.g. ``?state=held`` (``status`` is the same
    filter), ``unroutable``, ``failed`` or ``unmatched`` (held longer than 7 days)."""
    services = context_of(request)
    await require_operator(request, services)
    async with services.pool.connection() as conn:
        rows = await list_events(conn, status=state or status, limit=limit)
    return {"data": [{**row, "state": row["status"]} for row in rows]}


@router.post("/stripe/events/{event_id}/replay")
async def replay_stripe_event(event_id: str, request: Request) -> dict[str, Any]:
    """Process a kept event again (after connecting its account, say)."""
    services = context_of(request)
    await require_operator(request, services)
    return {"event_id": event_id, "status": await replay_event(services, event_id)}


async def replay_event(services: Any, event_id: str) -> str:
    """Process a kept event again; its state after (this route and the dashboard)."""
    async with services.pool.connection() as conn:
        stored = await load_event(conn, event_id[:255])
    if stored is None:
        raise NotFound("no such Stripe event", code="EVENT_NOT_FOUND")
    if stored["status"] == "processed":
        return "processed"
    return await process_event(stored["payload"], stored["endpoint"],
                               IngressStripeInbox(services))
