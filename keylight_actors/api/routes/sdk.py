"""The SDK-facing protocol (Keylight v3): activate, validate, deactivate, keyless, config."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from ...domain.credentials import sdk_key_accepted
from ...domain.errors import Forbidden, NotFound, RateLimited, Unauthorized, Unprocessable
from ...domain.license_key import hash_license_key
from ...domain.lifecycle import Lifecycle, allows_new_licenses, allows_validation
from ...services import keyless as keyless_cases
from ...services.activation import Activate, Deactivate, Validate
from ...services.lookup_guard import FailedLookup, note_failed_lookup
from ...services.tenants import TenantSnapshot
from ...store.licenses import key_hash_of_instance
from ..errors import ErrorBody
from ..ingress_context import context_of
from ..middleware.sdk_fast_path import FastRoute
from ..ports import IngressKeyless, IngressLookupGuard
from ..sdk_caller import SdkCaller
from ..types import (
    ActivateAnswer,
    ActivateRequest,
    DeactivateRequest,
    KeylessRequest,
    SignedProductConfig,
    ValidateAnswer,
    ValidateExpiredAnswer,
    ValidateRequest,
)

log = logging.getLogger(__name__)
C = TypeVar("C")
R = TypeVar("R")
router = APIRouter(tags=["sdk"])

# The longest an activation waits on linking its free-tier install (never failing for it).
FREE_TIER_LINK_TIMEOUT_SECONDS = 2.0


async def sdk_tenant(caller: SdkCaller, tenant_id: str, product_id: str) -> TenantSnapshot:
    """The tenant snapshot, once the SDK key and the product are checked."""
    services = caller.services
    snapshot = await services.tenants.snapshot(tenant_id)
    if not sdk_key_accepted(
        caller.sdk_key,
        snapshot.sdk_key_hash,
        snapshot.sdk_key_previous_hash,
        snapshot.sdk_key_previous_until,
        int(time.time()),
    ):
        raise Unauthorized("invalid or missing SDK key", code="INVALID_SDK_KEY")
    if snapshot.lifecycle is Lifecycle.CLOSED:
        raise Forbidden("this vendor's account is closed", code="TENANT_CLOSED")
    if product_id not in snapshot.products:
        raise NotFound("Product not found", code="PRODUCT_NOT_FOUND")
    await services.sdk_quota.spend(tenant_id, snapshot)
    return snapshot


def _product_active(snapshot: TenantSnapshot, product_id: str) -> bool:
    return snapshot.products[product_id].status == "active"


async def guarded_lookup(caller: SdkCaller, tenant_id: str,
                         send: Callable[[C], Awaitable[R]], command: C) -> R:
    """A license lookup that counts failures per client address and locks guessers out."""
    services, address = caller.services, caller.address
    wait = services.guess_guard.retry_after(address)
    if wait:
        raise RateLimited("too many failed license lookups from this address",
                          retry_after=wait, code="TOO_MANY_FAILED_LOOKUPS")
    try:
        return await send(command)
    except NotFound:
        await note_failed_lookup(FailedLookup(tenant_id, address),
                                 IngressLookupGuard(services))
        raise


async def activation_answer(caller: SdkCaller, tenant_id: str, product_id: str,
                            body: ActivateRequest) -> JSONResponse:
    snapshot = await sdk_tenant(caller, tenant_id, product_id)
    if not allows_new_licenses(snapshot.lifecycle):
        raise Forbidden("this vendor cannot activate new devices now", code="TENANT_NOT_ACTIVE")
    if not _product_active(snapshot, product_id):
        raise Forbidden("this product is not available", code="PRODUCT_NOT_ACTIVE")
    key_hash = hash_license_key(body.license_key)
    activation = await guarded_lookup(
        caller, tenant_id, caller.services.hosts.licenses.activate,
        Activate(key_hash, tenant_id, product_id, body.instance_name, body.machine_hash,
                 snapshot.primary_kid or ""))
    if body.free_tier_instance_id is not None:
        await link_free_tier_install(caller, tenant_id, product_id,
                                     body.free_tier_instance_id, key_hash)
    # A JSONResponse skips FastAPI's generic encoder: the answer is plain JSON already.
    return JSONResponse({"activated": True, "instance_id": activation.instance_id,
                         "lease": activation.lease,
                         "license_expires_at": activation.license_expires_at, "error": None})


async def link_free_tier_install(caller: SdkCaller, tenant_id: str, product_id: str,
                                 instance_id: str, key_hash: str) -> None:
    """Record that the keyless install ``instance_id`` became this license, after the
    activation committed. Best effort: an unknown install is not linked, and a failure or a
    slow database is logged, never the activation's failure."""
    link = keyless_cases.link_free_tier_install(
        keyless_cases.LinkFreeTierInstall(tenant_id, product_id, instance_id, key_hash),
        IngressKeyless(caller.services))
    try:
        await asyncio.wait_for(link, FREE_TIER_LINK_TIMEOUT_SECONDS)
    except Exception:  # the activation stands whatever happens here
        log.warning("could not link free-tier install of tenant %s product %s",
                    tenant_id, product_id, exc_info=True)


async def validation_answer(caller: SdkCaller, tenant_id: str, product_id: str,
                            body: ValidateRequest) -> JSONResponse:
    snapshot = await sdk_tenant(caller, tenant_id, product_id)
    if not allows_validation(snapshot.lifecycle):
        raise Forbidden("this vendor cannot validate licenses now", code="TENANT_NOT_ACTIVE")
    try:
        validation = await guarded_lookup(
            caller, tenant_id, caller.services.hosts.licenses.validate,
            Validate(hash_license_key(body.license_key), tenant_id, product_id,
                     body.instance_id, body.machine_hash, snapshot.primary_kid or ""))
    except Unprocessable as refused:
        if refused.code != "LICENSE_SUSPENDED":
            raise
        # Suspended by the vendor: not valid, and no lease until it is reinstated.
        return JSONResponse({"valid": False, "error": refused.message, "code": refused.code},
                            status_code=422)
    answer = {"valid": validation.valid, "lease": validation.lease,
              "license_expires_at": validation.license_expires_at}
    # The signed product config rides along at the top level, as keylight-js and
    # keylight-csharp read it (its issued_at/expires_at are the config's, not the license's).
    config = await caller.services.signed_configs.of(caller.services.keyring, snapshot,
                                                     product_id)
    if answer["valid"]:
        return JSONResponse({**answer, **config})
    return JSONResponse(
        {**answer, **config, "error": "License has expired", "code": "LICENSE_EXPIRED"},
        status_code=422,
    )


@router.post("/{tenant_id}/{product_id}/activate", responses={200: {"model": ActivateAnswer}})
async def activate(tenant_id: str, product_id: str, body: ActivateRequest, request: Request
                   ) -> JSONResponse:
    return await activation_answer(SdkCaller.of(request), tenant_id, product_id, body)


@router.post("/{tenant_id}/{product_id}/validate", responses={
    200: {"model": ValidateAnswer},
    422: {"model": ValidateExpiredAnswer | ErrorBody,
          "description": "expired: a signed expired/fallback lease and the config; revoked "
                         "or instance not active: {error, code} alone"}})
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
    services = context_of(request)
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
    await services.hosts.licenses.deactivate(
        Deactivate(key_hash, tenant_id, product_id, body.instance_id))
    return {"deactivated": True}


async def _signed_config(request: Request, snapshot: TenantSnapshot, product_id: str
                         ) -> dict[str, Any]:
    services = context_of(request)
    return await services.signed_configs.of(services.keyring, snapshot, product_id)


@router.post("/{tenant_id}/{product_id}/keyless", response_model=None,
             responses={200: {"model": SignedProductConfig}})
async def keyless(tenant_id: str, product_id: str, body: KeylessRequest, request: Request
                  ) -> dict[str, Any]:
    snapshot = await sdk_tenant(SdkCaller.of(request), tenant_id, product_id)
    await keyless_cases.record_keyless_check_in(keyless_cases.RecordKeylessCheckIn(
        tenant_id, product_id, body.instance_id, body.state, body.machine_hash),
        IngressKeyless(context_of(request)))
    return await _signed_config(request, snapshot, product_id)


@router.get("/{tenant_id}/{product_id}/config", response_model=None,
            responses={200: {"model": SignedProductConfig}})
async def config(tenant_id: str, product_id: str, request: Request) -> dict[str, Any]:
    snapshot = await sdk_tenant(SdkCaller.of(request), tenant_id, product_id)
    return await _signed_config(request, snapshot, product_id)
