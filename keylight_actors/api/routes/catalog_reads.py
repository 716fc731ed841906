"""Catalog reads under the management token: products and their key types as stored.

Each answer holds every field creation accepted, plus ``status`` and ``created_at`` (and a key
type's ``stripe_price_id`` and ``updated_at``). A key type's ``status`` is its product's: an
archived product sells none of its key types.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from ...actors.license_view import iso_time
from ...domain.errors import NotFound
from ...store.catalog_queries import get_key_type, get_product, list_key_types, list_products
from ..auth import require_tenant
from ..ingress_context import context_of
from ..pagination import decode_cursor, encode_cursor

router = APIRouter(prefix="/api/{tenant_id}", tags=["tenant"])

PageSize = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=200)]


def product_view(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "created_at": iso_time(row["created_at"])}


def key_type_view(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "entitlements": list(row["entitlements"]),
            "created_at": iso_time(row["created_at"]),
            "updated_at": iso_time(row["updated_at"])}


def _after(cursor: str | None) -> str | None:
    decoded = decode_cursor(cursor, uuid_ids=False)
    return decoded[1] if decoded else None


def _page(rows: list[dict[str, Any]], limit: int, view: Any, key: str) -> dict[str, Any]:
    page, more = rows[:limit], len(rows) > limit
    return {"data": [view(row) for row in page],
            "next_cursor": encode_cursor(0, page[-1][key]) if more else None}


def _product_not_found(product_id: str) -> NotFound:
    return NotFound(f"unknown product {product_id!r}", code="PRODUCT_NOT_FOUND")


@router.get("/products")
async def list_tenant_products(tenant_id: str, request: Request, cursor: Cursor = None,
                               limit: PageSize = 50) -> dict[str, Any]:
    services = context_of(request)
    await require_tenant(request, services, tenant_id)
    async with services.pool.connection() as conn:
        rows = await list_products(conn, tenant_id, after=_after(cursor), limit=limit + 1)
    return _page(rows, limit, product_view, "product_id")


@router.get("/products/{product_id}")
async def get_tenant_product(tenant_id: str, product_id: str, request: Request
                             ) -> dict[str, Any]:
    """One product with all its key types."""
    services = context_of(request)
    await require_tenant(request, services, tenant_id)
    async with services.pool.connection() as conn:
        product = await get_product(conn, tenant_id, product_id)
        if product is None:
            raise _product_not_found(product_id)
        key_types = await list_key_types(conn, tenant_id, product_id, after=None,
                                         limit=10_000)
    return {**product_view(product), "key_types": [key_type_view(row) for row in key_types]}


@router.get("/products/{product_id}/key-types")
async def list_product_key_types(tenant_id: str, product_id: str, request: Request,
                                 cursor: Cursor = None, limit: PageSize = 50) -> dict[str, Any]:
    services = context_of(request)
    await require_tenant(request, services, tenant_id)
    async with services.pool.connection() as conn:
        if await get_product(conn, tenant_id, product_id) is None:
            raise _product_not_found(product_id)
        rows = await list_key_types(conn, tenant_id, product_id, after=_after(cursor),
                                    limit=limit + 1)
    return _page(rows, limit, key_type_view, "key_type_id")


@router.get("/products/{product_id}/key-types/{key_type_id}")
async def get_product_key_type(tenant_id: str, product_id: str, key_type_id: str,
                               request: Request) -> dict[str, Any]:
    services = context_of(request)
    await require_tenant(request, services, tenant_id)
    async with services.pool.connection() as conn:
        row = await get_key_type(conn, tenant_id, product_id, key_type_id)
    if row is None:
        raise NotFound(f"unknown key type {key_type_id!r}", code="KEY_TYPE_NOT_FOUND")
    return key_type_view(row)
