"""Operator routes: tenants and their lifecycle."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from .auth import require_operator
from .schemas import ChangeLifecycle, ConnectStripe, CreateTenant
from .services import Services

router = APIRouter(prefix="/api/admin", tags=["operator"])


def services_of(request: Request) -> Services:
    return request.app.state.services


def public_tenant_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {
        "tenant_id": snapshot["tenant_id"],
        "name": snapshot["name"],
        "lifecycle": snapshot["lifecycle"],
        "stripe_account_id": snapshot["stripe_account_id"],
        "sdk_key_required": snapshot["sdk_key_hash"] is not None,
        "products": sorted(snapshot["products"]),
        "primary_kid": snapshot["primary_kid"],
    }


@router.post("/tenants", status_code=201)
async def create_tenant(body: CreateTenant, request: Request) -> dict[str, Any]:
    services = services_of(request)
    actor = await require_operator(request, services)
    services.tenants.forget(body.tenant_id)
    return await services.hosts.tenants.call(
        "create", body.tenant_id, name=body.name, with_sdk_key=body.sdk_key, actor=actor
    )


@router.patch("/tenants/{tenant_id}")
async def change_lifecycle(tenant_id: str, body: ChangeLifecycle, request: Request
                           ) -> dict[str, Any]:
    services = services_of(request)
    actor = await require_operator(request, services)
    snapshot = await services.hosts.tenants.call(
        "set_lifecycle", tenant_id, lifecycle=body.lifecycle, actor=actor
    )
    services.tenants.remember(snapshot)
    return public_tenant_view(snapshot)


@router.put("/tenants/{tenant_id}/stripe")
async def connect_stripe(tenant_id: str, body: ConnectStripe, request: Request
                         ) -> dict[str, Any]:
    services = services_of(request)
    actor = await require_operator(request, services)
    snapshot = await services.hosts.tenants.call(
        "connect_stripe", tenant_id, stripe_account_id=body.stripe_account_id, actor=actor
    )
    services.tenants.remember(snapshot)
    return public_tenant_view(snapshot)


@router.get("/tenants/{tenant_id}")
async def get_tenant(tenant_id: str, request: Request) -> dict[str, Any]:
    services = services_of(request)
    await require_operator(request, services)
    return public_tenant_view(await services.tenants.snapshot(tenant_id))
