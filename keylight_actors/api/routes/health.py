"""Liveness, readiness and the public keyset."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...services.tenants import TenantSnapshot
from ..ingress_context import context_of

router = APIRouter(tags=["health"])

READINESS_TIMEOUT_SECONDS = 5.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    services = context_of(request)
    checks: dict[str, str] = {}

    async def database() -> None:
        async with services.pool.connection() as conn:
            await conn.execute("SELECT 1")

    async def hosts() -> None:
        await services.hosts.tenant_pool.ping_all()
        await services.hosts.license_pool.ping_all()

    for name, check in (("database", database), ("hosts", hosts)):
        try:
            await asyncio.wait_for(check(), READINESS_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as error:
            checks[name] = f"failing: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


def keyset_view(snapshot: TenantSnapshot) -> dict[str, Any]:
    """The tenant's published keys, as the SDKs fetch them."""
    return {
        "primary_kid": snapshot.primary_kid,
        "keys": [
            {"kid": key.kid, "alg": "ed25519", "public_key": key.public_key}
            for key in snapshot.signing_keys
        ],
    }


@router.get("/{tenant_id}/.well-known/keylight-keys")
async def keyset(tenant_id: str, request: Request) -> JSONResponse:
    snapshot = await context_of(request).tenants.snapshot(tenant_id)
    return JSONResponse(keyset_view(snapshot), headers={"Cache-Control": "public, max-age=300"})
