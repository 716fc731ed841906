"""POST /api/{tenant}/licenses/import: licenses from another system, keys and devices kept
(issue 21; docs/import.md). HTTP only: the body and its media type in, the use case
(services/imports.py) run on one PostgreSQL transaction (store/license_import.py), its result
out: 200 with the counts, or 422 with every row error and nothing written."""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from ...domain.errors import Forbidden
from ...domain.license_import import Catalog
from ...domain.lifecycle import allows_new_licenses
from ...services.imports import (
    ImportLicenses,
    ImportResult,
    import_licenses,
    read_import,
)
from ...store.license_import import import_transaction
from ..auth import require_tenant
from ..errors import error_response
from ..ingress_context import context_of

router = APIRouter(prefix="/api/{tenant_id}", tags=["tenant"])

IMPORT_PATH_SUFFIX = "/licenses/import"
MEDIA_TYPES = {"text/csv": "csv", "application/csv": "csv", "application/json": "json"}


@router.post("/licenses/import", responses={
    200: {"description": "{dry_run, imported, unchanged, errors: [], generated_keys}"},
    415: {"description": "the body is neither text/csv nor application/json"},
    422: {"description": "one row or more is invalid: every error listed, nothing written"}})
async def import_tenant_licenses(
    tenant_id: str, request: Request, dry_run: bool = Query(False),
    announce: bool = Query(False),
) -> JSONResponse:
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    file_format = MEDIA_TYPES.get(media_type)
    if file_format is None:
        return error_response(415, "send text/csv or application/json",
                              "UNSUPPORTED_MEDIA_TYPE")
    result = await run_import(services, tenant_id, caller.actor, await request.body(),
                              file_format, dry_run=dry_run, announce=announce)
    if not result.ok:
        count = len(result.errors)
        return JSONResponse(
            {"error": f"{count} error{'s' if count != 1 else ''}: nothing was imported",
             "code": "IMPORT_INVALID", **result.to_wire()}, status_code=422)
    return JSONResponse(result.to_wire())


async def run_import(services: Any, tenant_id: str, actor: str, body: bytes, file_format: str,
                     *, dry_run: bool, announce: bool) -> ImportResult:
    """The import use case for one file, as this route and the dashboard run it."""
    # Fresh: the catalog may have changed a moment ago on another replica.
    snapshot = await services.tenants.fresh_snapshot(tenant_id)
    if not allows_new_licenses(snapshot.lifecycle):
        raise Forbidden("this tenant cannot take new licenses now", code="TENANT_NOT_ACTIVE")
    catalog = Catalog(
        key_types=snapshot.key_types,
        key_prefixes={product_id: product.key_prefix
                      for product_id, product in snapshot.products.items()})
    command = ImportLicenses(tenant_id, actor, body, file_format, catalog, dry_run, announce,
                             int(time.time()))
    # Parsing and checking a large file takes CPU for seconds: off the event loop.
    parsed = await asyncio.to_thread(read_import, command)
    return await import_licenses(command, parsed,
                                 partial(import_transaction, services.pool, tenant_id))
