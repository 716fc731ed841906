"""Rotating a tenant's credentials: SDK key, checkout key, management token, signing keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ...services.credentials import (
    RemoveSdkKey,
    RetireSigningKey,
    RotateCredential,
    RotateSigningKey,
)
from ..auth import require_tenant
from ..ingress_context import context_of
from .admin import public_tenant_view
from .health import keyset_view

router = APIRouter(prefix="/api/{tenant_id}", tags=["credentials"])


async def _rotate(request: Request, tenant_id: str, which: str) -> dict[str, Any]:
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    secret = await rotate_credential_for(services, caller.actor, tenant_id, which)
    return {"tenant_id": tenant_id, which: secret}


async def rotate_credential_for(services: Any, actor: str, tenant_id: str, which: str) -> str:
    """Rotate a credential and answer the new one (once): the one implementation these
    routes and the dashboard call."""
    rotated = await services.hosts.tenants.rotate_credential(
        RotateCredential(tenant_id, which, actor))
    services.tenants.remember(rotated.snapshot)  # this ingress sees the change at once
    return rotated.secret


async def rotate_signing_key_for(services: Any, actor: str, tenant_id: str) -> Any:
    """A new primary signing key; the tenant's snapshot after it (this route and the
    dashboard)."""
    snapshot = await services.hosts.tenants.rotate_signing_key(
        RotateSigningKey(tenant_id, actor))
    services.tenants.remember(snapshot)
    return snapshot


async def remove_sdk_key_for(services: Any, actor: str, tenant_id: str) -> Any:
    """Stop requiring an SDK key; the tenant's snapshot after it (this route and the
    dashboard)."""
    snapshot = await services.hosts.tenants.remove_sdk_key(RemoveSdkKey(tenant_id, actor))
    services.tenants.remember(snapshot)  # this ingress sees the change at once
    return snapshot


async def retire_signing_key_for(services: Any, actor: str, tenant_id: str, kid: str) -> Any:
    """Stop publishing an old signing key; the tenant's snapshot after it (this route and
    the dashboard)."""
    snapshot = await services.hosts.tenants.retire_signing_key(
        RetireSigningKey(tenant_id, kid[:16], actor))
    services.tenants.remember(snapshot)
    return snapshot


@router.post("/sdk-key/rotate")
async def rotate_sdk_key(tenant_id: str, request: Request) -> dict[str, Any]:
    """A new SDK key; the previous one keeps working for 24 hours."""
    return await _rotate(request, tenant_id, "sdk_key")


@router.delete("/sdk-key")
async def remove_sdk_key(tenant_id: str, request: Request) -> dict[str, Any]:
    """Stop requiring an SDK key, for SDKs that send none."""
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    return public_tenant_view(await remove_sdk_key_for(services, caller.actor, tenant_id))


@router.post("/checkout-key/rotate")
async def rotate_checkout_key(tenant_id: str, request: Request) -> dict[str, Any]:
    """A new checkout API key; the old one stops working at once."""
    return await _rotate(request, tenant_id, "checkout_api_key")


@router.post("/management-token/rotate")
async def rotate_management_token(tenant_id: str, request: Request) -> dict[str, Any]:
    """A new management token; the old one stops working at once."""
    return await _rotate(request, tenant_id, "management_token")


@router.post("/signing-keys/rotate")
async def rotate_signing_key(tenant_id: str, request: Request) -> dict[str, Any]:
    """A new primary Ed25519 key; earlier keys stay published until retired."""
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    return keyset_view(await rotate_signing_key_for(services, caller.actor, tenant_id))


@router.delete("/signing-keys/{kid}")
async def retire_signing_key(tenant_id: str, kid: str, request: Request) -> dict[str, Any]:
    """Stop publishing an old key: leases it signed no longer verify."""
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    return keyset_view(await retire_signing_key_for(services, caller.actor, tenant_id, kid))
