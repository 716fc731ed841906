"""The SDK-facing protocol (Keylight v3): activate, validate, deactivate, keyless, config."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from ..domain.credentials import sdk_key_accepted
from ..domain.errors import Forbidden, NotFound, RateLimited, Unauthorized
from ..domain.license_key import hash_license_key
from ..domain.lifecycle import Lifecycle, allows_new_licenses, allows_validation
from ..domain.product_config import sign_product_config
from ..store.audit import AuditEntry, record_audit
from ..store.keyless import record_keyless_instance
from ..store.licenses import key_hash_of_instance
from .admin import services_of
from .sdk_caller import SdkCaller
from .sdk_fast_path import FastRoute
from .sdk_schemas import ActivateRequest, DeactivateRequest, KeylessRequest, ValidateRequest

log = logging.getLogger(__name__)
router = APIRouter(tags=["sdk"])

async def sdk_tenant(caller: SdkCaller, tenant_id: str, product_id: str) -> dict[str, Any]:
    """The tenant snapshot, once the SDK key and the product are checked."""
    services = caller.services
    snapshot = await services.tenants.snapshot(tenant_id)
    if not sdk_key_accepted(
        caller.sdk_key,
        snapshot["sdk_key_hash"],
        snapshot["sdk_key_previous_hash"],
        snapshot["sdk_key_previous_until"],
        int(time.time()),
    ):
        raise Unauthorized("invalid or missing SDK key", code="INVALID_SDK_KEY")
    if Lifecycle(snapshot["lifecycle"]) is Lifecycle.CLOSED:
        raise Forbidden("this vendor's account is closed", code="TENANT_CLOSED")
    if product_id not in snapshot["products"]:
        raise NotFound("Product not found", code="PRODUCT_NOT_FOUND")
    await services.sdk_quota.spend(tenant_id, snapshot)
    return snapshot


def _product_active(snapshot: dict[str, Any], product_id: str) -> bool:
    return snapshot["products"][product_id]["status"] == "active"


async def guarded_lookup(caller: SdkCaller, tenant_id: str, op: str, key_hash: str,
                         **args: Any) -> Any:
    """A license lookup that counts failures per client address and locks guessers out."""
    services, address = caller.services, caller.address
    wait = services.guess_guard.retry_after(address)
    if wait:
        raise RateLimited("too many failed license lookups from this address",
                          retry_after=wait, code="TOO_MANY_FAILED_LOOKUPS")
    try:
        return await services.hosts.licenses.call(op, key_hash, tenant_id=tenant_id, **args)
    except NotFound:
        locked, alarm = services.guess_guard.record_failure(address, tenant_id)
        for happened, action in ((locked, "sdk.lookup_lockout"),
                                 (alarm, "sdk.key_guessing_alarm")):
            if happened:
                log.warning("%s for tenant %s from %s", action, tenant_id, address)
                async with services.pool.connection() as conn, conn.transaction():
                    await record_audit(conn, AuditEntry(f"address:{address}", action,
                                                        tenant_id, address))
        raise


async def activation_answer(caller: SdkCaller, tenant_id: str, product_id: str,
                            body: ActivateRequest) -> JSONResponse:
    snapshot = await sdk_tenant(caller, tenant_id, product_id)
    if not allows_new_licenses(Lifecycle(snapshot["lifecycle"])):
        raise Forbidden("this vendor cannot activate new devices now", code="TENANT_NOT_ACTIVE")
    if not _product_active(snapshot, product_id):
        raise Forbidden("this product is not available", code="PRODUCT_NOT_ACTIVE")
    answer = await guarded_lookup(
        caller,
        tenant_id,
        "sdk_activate",
        hash_license_key(body.license_key),
        product_id=product_id,
        name=body.instance_name,
        machine_hash=body.machine_hash,
        kid=snapshot["primary_kid"],
    )
    # A JSONResponse skips FastAPI's generic encoder: the answer is plain JSON already.
    return JSONResponse({"activated": True, **answer, "error": None})


async def validation_answer(caller: SdkCaller, tenant_id: str, product_id: str,
                            body: ValidateRequest) -> JSONResponse:
    snapshot = await sdk_tenant(caller, tenant_id, product_id)
    if not allows_validation(Lifecycle(snapshot["lifecycle"])):
        raise Forbidden("this vendor cannot validate licenses now", code="TENANT_NOT_ACTIVE")
    answer = await guarded_lookup(
        caller,
        tenant_id,
        "sdk_validate",
        hash_license_key(body.license_key),
        product_id=product_id,
        instance_id=body.instance_id,
        machine_hash=body.machine_hash,
        kid=snapshot["primary_kid"],
    )
    if answer["valid"]:
        return JSONResponse(answer)
    return JSONResponse(
        {**answer, "error": "License has expired", "code": "LICENSE_EXPIRED"},
        status_code=422,
    )


@router.post("/{tenant_id}/{product_id}/activate")
async def activate(tenant_id: str, product_id: str, body: ActivateRequest, request: Request
                   ) -> JSONResponse:
    return await activation_answer(SdkCaller.of(request), tenant_id, product_id, body)


@router.post("/{tenant_id}/{product_id}/validate")
async def validate(tenant_id: str, product_id: str, body: ValidateRequest, request: Request
                   ) -> JSONResponse:
    return await validation_answer(SdkCaller.of(request), tenant_id, product_id, body)


def fast_routes() -> dict[str, FastRoute]:
    """The SDK routes the fast path serves (see ``sdk_fast_path``), by their last segment."""
    by_path = {route.path: route for route in router.routes if isinstance(route, APIRoute)}
    return {
        "activate": FastRoute(by_path["/{tenant_id}/{product_id}/activate"], ActivateRequest,
                              activation_answer),
        "validate": FastRoute(by_path["/{tenant_id}/{product_id}/validate"], ValidateRequest,
                              validation_answer),
    }


@router.post("/{tenant_id}/{product_id}/deactivate")
async def deactivate(tenant_id: str, product_id: str, body: DeactivateRequest, request: Request
                     ) -> dict[str, Any]:
    await sdk_tenant(SdkCaller.of(request), tenant_id, product_id)
    services = services_of(request)
    key_hash: str | None
    if body.license_key is not None:
        key_hash = hash_license_key(body.license_key)
    else:
        try:
            uuid.UUID(body.instance_id)
        except ValueError:
            return {"deactivated": True}
        async with services.pool.connection() as conn:
            key_hash = await key_hash_of_instance(conn, tenant_id, product_id, body.instance_id)
        if key_hash is None:
            return {"deactivated": True}
    return await services.hosts.licenses.call(
        "sdk_deactivate", key_hash, tenant_id=tenant_id, product_id=product_id,
        instance_id=body.instance_id,
    )


async def _signed_config(request: Request, snapshot: dict[str, Any], product_id: str
                         ) -> dict[str, Any]:
    product = snapshot["products"][product_id]
    kid = snapshot["primary_kid"]
    key = await services_of(request).keyring.key(snapshot["tenant_id"], kid)
    return sign_product_config(
        key,
        kid=kid,
        tenant_id=snapshot["tenant_id"],
        product_id=product_id,
        trial_duration_days=product["trial_duration_days"],
        free_tier_enabled=product["free_tier_enabled"],
        issued_at=int(time.time()),
    )


@router.post("/{tenant_id}/{product_id}/keyless")
async def keyless(tenant_id: str, product_id: str, body: KeylessRequest, request: Request
                  ) -> dict[str, Any]:
    snapshot = await sdk_tenant(SdkCaller.of(request), tenant_id, product_id)
    services = services_of(request)
    if services.keyless_throttle.due((tenant_id, product_id, body.instance_id)):
        async with services.pool.connection() as conn, conn.transaction():
            await record_keyless_instance(
                conn, tenant_id, product_id, body.instance_id, body.state, body.machine_hash
            )
    return await _signed_config(request, snapshot, product_id)


@router.get("/{tenant_id}/{product_id}/config")
async def config(tenant_id: str, product_id: str, request: Request) -> dict[str, Any]:
    snapshot = await sdk_tenant(SdkCaller.of(request), tenant_id, product_id)
    return await _signed_config(request, snapshot, product_id)
