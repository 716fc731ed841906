"""Reports: a tenant's usage stats and its licenses as CSV; the operator's tenant list."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from ...actors.license_view import iso_time
from ...domain.errors import InvalidInput
from ...domain.license_key import hash_license_key
from ...store.reports import (
    EXPORT_COLUMNS,
    LICENSE_STATUSES,
    LicenseFilter,
    export_rows,
    tenant_page,
    tenant_stats,
)
from ..auth import require_operator, require_tenant
from ..ingress_context import context_of
from ..pagination import decode_cursor, encode_cursor

router = APIRouter(tags=["tenant"])

TENANT_LIFECYCLES = ("pending_verification", "active", "suspended", "closed")
TENANT_SEARCH_MAX_LENGTH = 64
LICENSE_SOURCES = ("manual", "stripe", "import")
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

Text = Annotated[str | None, Query(max_length=254)]
Identifier = Annotated[str | None, Query(max_length=64)]


def license_filter(*, product_id: str | None, key_type_id: str | None, status: str | None,
                   email: str | None, source: str | None, key: str | None) -> LicenseFilter:
    """The filters of the license list and export, checked: 400 names the field."""
    if status is not None and status not in LICENSE_STATUSES:
        raise InvalidInput(f"status: must be one of {', '.join(LICENSE_STATUSES)}")
    if source is not None and source not in LICENSE_SOURCES:
        raise InvalidInput(f"source: must be one of {', '.join(LICENSE_SOURCES)}")
    return LicenseFilter(product_id=product_id, key_type_id=key_type_id, status=status,
                         email=email, source=source,
                         key_hash=hash_license_key(key) if key is not None else None)


def csv_cell(value: Any) -> str:
    """A value as a CSV cell that no spreadsheet will run as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_line(cells: tuple[Any, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([csv_cell(cell) for cell in cells])
    return buffer.getvalue()


@router.get("/api/{tenant_id}/licenses/export.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}},
                             "description": "one header row, then one row per license"}})
async def export_licenses(
    tenant_id: str, request: Request, product_id: Identifier = None,
    key_type_id: Identifier = None, status: Identifier = None, email: Text = None,
    source: Identifier = None, key: Annotated[str | None, Query(max_length=128)] = None,
) -> StreamingResponse:
    """The tenant's licenses (same filters as the list), oldest first, streamed."""
    services = context_of(request)
    await require_tenant(request, services, tenant_id)
    which = license_filter(product_id=product_id, key_type_id=key_type_id, status=status,
                           email=email, source=source, key=key)
    return license_csv_response(services, tenant_id, which)


def license_csv_response(services: Any, tenant_id: str, which: LicenseFilter
                         ) -> StreamingResponse:
    """The tenant's licenses that ``which`` matches as a streamed CSV download: the one
    implementation this route and the dashboard's export call."""

    async def lines() -> AsyncIterator[str]:
        yield csv_line(EXPORT_COLUMNS)
        async with services.pool.connection() as conn:
            async for row in export_rows(conn, tenant_id, which):
                yield csv_line(row)

    filename = f"{tenant_id}-licenses.csv"
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/api/{tenant_id}/stats")
async def get_stats(tenant_id: str, request: Request,
                    days: Annotated[int, Query(ge=1, le=365)] = 30) -> dict[str, Any]:
    """Activations and new licenses per UTC day (every day, zeros included), licenses by
    status and webhook deliveries by status."""
    services = context_of(request)
    await require_tenant(request, services, tenant_id)
    # The three queries at once, each on a pooled connection (db_pool_size, 4 by default).
    stats = await tenant_stats(services.pool, tenant_id, days)
    return {
        "days": days,
        "activations_per_day": [{"date": day.date.isoformat(), "count": day.count}
                                for day in stats.activations_per_day],
        "new_licenses_per_day": [{"date": day.date.isoformat(), "count": day.count}
                                 for day in stats.new_licenses_per_day],
        "licenses_by_status": stats.licenses_by_status,
        "deliveries_by_status": stats.deliveries_by_status,
    }


def tenant_search(q: str | None) -> str | None:
    """The tenant list's ``q``, trimmed: None when absent or blank, 400 naming the field
    when longer than ``TENANT_SEARCH_MAX_LENGTH``."""
    text = (q or "").strip()
    if len(text) > TENANT_SEARCH_MAX_LENGTH:
        raise InvalidInput(f"q: must be at most {TENANT_SEARCH_MAX_LENGTH} characters")
    return text or None


@router.get("/api/admin/tenants", tags=["operator"])
async def list_tenants(
    request: Request, lifecycle: Identifier = None,
    q: Annotated[str | None, Query(description="part of the tenant's id or name, any case "
                                               "(1-64 characters after trimming)")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Every tenant in id order, with its lifecycle, Stripe mode and license count; ``q``
    keeps those whose id or name contains it."""
    services = context_of(request)
    await require_operator(request, services)
    if lifecycle is not None and lifecycle not in TENANT_LIFECYCLES:
        raise InvalidInput(f"lifecycle: must be one of {', '.join(TENANT_LIFECYCLES)}")
    search = tenant_search(q)
    decoded = decode_cursor(cursor, uuid_ids=False)
    async with services.pool.connection() as conn:
        rows = await tenant_page(conn, lifecycle=lifecycle, after=decoded[1] if decoded else None,
                                 limit=limit + 1, search=search)
    page, more = rows[:limit], len(rows) > limit
    return {
        "data": [{**row, "created_at": iso_time(row["created_at"])} for row in page],
        "next_cursor": encode_cursor(0, page[-1]["tenant_id"]) if more else None,
    }
