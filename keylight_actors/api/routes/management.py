"""Tenant routes: catalog, licenses and the audit log, under the management token."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field, StrictInt, StrictStr

from ...actors.license_view import iso_time
from ...domain.catalog import KeyType, Product
from ...domain.errors import Conflict, InvalidInput, NotFound
from ...services import catalog, checkout
from ...services import licenses as license_cases
from ...services.tenants import key_type_from_wire
from ...store.audit import list_audit
from ...store.keyless import keyless_instances_of_license, list_keyless_instances
from ...store.licenses import key_hash_of, license_metadata, license_page
from ..auth import TenantCaller, require_tenant
from ..ingress_context import IngressContext, context_of
from ..pagination import decode_cursor, encode_cursor
from ..ports import IngressPayments
from ..types import (
    Body,
    ChangeKeyType,
    ChangeProduct,
    CreateKeyType,
    CreateProduct,
    Email,
    MintLicense,
)
from .reports import license_filter

router = APIRouter(prefix="/api/{tenant_id}", tags=["tenant"])

NOT_NULLABLE_KEY_TYPE_FIELDS = ("display_name", "activation_limit", "entitlements",
                                "fallback_access", "churn_limit_per_day")
PageSize = Annotated[int, Query(ge=1, le=200)]
PRICE_FIELDS = frozenset({"price_in_cents", "currency", "recurring_interval"})


@router.post("/products", status_code=201)
async def create_product(tenant_id: str, body: CreateProduct, request: Request) -> dict[str, Any]:
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    product = await services.hosts.tenants.create_product(
        catalog.CreateProduct(tenant_id, Product(**body.model_dump()), caller.actor))
    services.tenants.forget(tenant_id)
    return asdict(product)


@router.patch("/products/{product_id}")
async def change_product(tenant_id: str, product_id: str, body: ChangeProduct, request: Request
                         ) -> dict[str, Any]:
    """Rename a product or archive it: an archived product answers activate, checkout and hand
    mints with 403 PRODUCT_NOT_ACTIVE; its customers' seats keep validating. Reversible."""
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    return asdict(await change_product_for(services, caller.actor, tenant_id, product_id, body))


async def change_product_for(services: Any, actor: str, tenant_id: str, product_id: str,
                             body: ChangeProduct) -> Product:
    """Rename or archive / put back on sale: the one implementation this route and the
    dashboard's form call."""
    if body.display_name is None and body.status is None:
        raise InvalidInput("nothing to change")
    product = await services.hosts.tenants.update_product(catalog.UpdateProduct(
        tenant_id, product_id, body.display_name, body.status, actor))
    services.tenants.forget(tenant_id)
    return product


@router.post("/products/{product_id}/key-types", status_code=201)
async def create_key_type(
    tenant_id: str, product_id: str, body: CreateKeyType, request: Request
) -> dict[str, Any]:
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    return asdict(await create_key_type_for(services, caller.actor, tenant_id, product_id, body))


async def create_key_type_for(services: Any, actor: str, tenant_id: str, product_id: str,
                              body: CreateKeyType) -> KeyType:
    """Create a key type, with its Stripe Price when its terms are priced: the one
    implementation this route and the dashboard's form call."""
    terms = body.model_dump()
    snapshot = await services.tenants.fresh_snapshot(tenant_id)
    if product_id not in snapshot.products:
        raise NotFound(f"unknown product {product_id!r}", code="PRODUCT_NOT_FOUND")
    if snapshot.key_type(product_id, body.key_type_id) is not None:
        raise Conflict(f"key type {body.key_type_id!r} exists", code="KEY_TYPE_EXISTS")
    price_id = await checkout.stripe_price_for(
        checkout.PriceForTerms(snapshot, product_id, terms), IngressPayments(services))
    key_type = await services.hosts.tenants.create_key_type(catalog.CreateKeyType(
        tenant_id,
        key_type_from_wire({**terms, "product_id": product_id, "stripe_price_id": price_id}),
        actor))
    services.tenants.forget(tenant_id)
    return key_type


@router.patch("/products/{product_id}/key-types/{key_type_id}")
async def change_key_type(
    tenant_id: str, product_id: str, key_type_id: str, body: ChangeKeyType, request: Request
) -> dict[str, Any]:
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    return asdict(await change_key_type_for(services, caller.actor, tenant_id, product_id,
                                            key_type_id, body))


async def change_key_type_for(services: Any, actor: str, tenant_id: str, product_id: str,
                              key_type_id: str, body: ChangeKeyType) -> KeyType:
    """Change the fields the body sets, a new price with a new Stripe Price: the one
    implementation this route and the dashboard's form call."""
    changes = body.model_dump(exclude_unset=True)
    for field in NOT_NULLABLE_KEY_TYPE_FIELDS:
        if field in changes and changes[field] is None:
            raise InvalidInput(f"{field}: may not be null")
    if not changes:
        raise InvalidInput("nothing to change")
    if PRICE_FIELDS & changes.keys():
        snapshot = await services.tenants.fresh_snapshot(tenant_id)
        current = snapshot.key_type(product_id, key_type_id)
        if current is None:
            raise NotFound(f"unknown key type {key_type_id!r}", code="KEY_TYPE_NOT_FOUND")
        changes["stripe_price_id"] = await checkout.stripe_price_for(
            checkout.PriceForTerms(snapshot, product_id, {**asdict(current), **changes}),
            IngressPayments(services))
    key_type = await services.hosts.tenants.update_key_type(catalog.UpdateKeyType(
        tenant_id, product_id, key_type_id, changes, actor))
    services.tenants.forget(tenant_id)
    return key_type


@router.post("/licenses", status_code=201)
async def mint_license(tenant_id: str, body: MintLicense, request: Request) -> dict[str, Any]:
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    return await services.hosts.tenants.mint(license_cases.MintLicense(
        tenant_id, body.product_id, body.key_type_id, body.customer_email, caller.actor))


@router.get("/licenses")
async def list_tenant_licenses(
    tenant_id: str,
    request: Request,
    product_id: Annotated[str | None, Query(max_length=64)] = None,
    key_type_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    email: Annotated[str | None, Query(max_length=254)] = None,
    source: Annotated[str | None, Query(max_length=16)] = None,
    key: Annotated[str | None, Query(max_length=128)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: PageSize = 50,
) -> dict[str, Any]:
    """Newest first, filtered as the CSV export is (one implementation: ``LicenseFilter``);
    ``status=expired`` is past its expiry whatever is stored, and so shown."""
    services = context_of(request)
    await require_tenant(request, services, tenant_id)
    which = license_filter(product_id=product_id, key_type_id=key_type_id, status=status,
                           email=email, source=source, key=key)
    after = decode_cursor(cursor)
    async with services.pool.connection() as conn:
        rows = await license_page(conn, tenant_id, which, after=after, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    return {
        "data": [_listed_license(row) for row in page],
        "next_cursor": encode_cursor(page[-1]["created_us"], page[-1]["license_id"])
        if more else None,
    }


def _listed_license(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "license_id": row["license_id"],
        "product_id": row["product_id"],
        "key_type_id": row["key_type_id"],
        "key_display": row["key_display"],
        "status": row["shown_status"],
        "activation_limit": row["activation_limit"],
        "active_instances": row["active_instances"],
        "expires_at": iso_time(row["expires_at"]),
        "entitlements": list(row["entitlements"]),
        "customer_email": row["customer_email"],
        "created_at": iso_time(row["created_at"]),
        "reminted_from": row["reminted_from"],
    }


KEYLESS_STATES = ("trial", "free_tier", "expired")


@router.get("/keyless")
async def list_tenant_keyless(
    tenant_id: str,
    request: Request,
    product_id: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: PageSize = 50,
) -> dict[str, Any]:
    """The keyless (trial / free-tier) installs the SDKs reported, with the license each
    later activated, if any."""
    services = context_of(request)
    await require_tenant(request, services, tenant_id)
    if state is not None and state not in KEYLESS_STATES:
        raise InvalidInput("state must be one of trial, free_tier, expired")
    after = decode_cursor(cursor, uuid_ids=False)
    async with services.pool.connection() as conn:
        rows = await list_keyless_instances(
            conn, tenant_id, product_id=product_id, state=state, after=after,
            limit=limit + 1,
        )
    page, more = rows[:limit], len(rows) > limit
    return {
        "data": [{"product_id": row["product_id"], **_keyless_view(row),
                  "machine_hash": row["machine_hash"], "license_id": row["license_id"]}
                 for row in page],
        "next_cursor": encode_cursor(page[-1]["first_seen_us"], page[-1]["instance_id"])
        if more else None,
    }


async def license_key_hash(services: IngressContext, tenant_id: str, license_id: str) -> str:
    """The routing key of a license that belongs to this tenant; 404 LICENSE_NOT_FOUND for
    an id that is not a UUID or a license of another tenant (the dashboard finds it so too)."""
    try:
        uuid.UUID(license_id)
    except ValueError:
        raise NotFound("license not found", code="LICENSE_NOT_FOUND") from None
    async with services.pool.connection() as conn:
        key_hash = await key_hash_of(conn, tenant_id, license_id)
    if key_hash is None:
        raise NotFound("license not found", code="LICENSE_NOT_FOUND")
    return key_hash


async def _license_route(request: Request, tenant_id: str, license_id: str
                         ) -> tuple[TenantCaller, str]:
    """The caller, and the routing key of a license that belongs to this tenant."""
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    return caller, await license_key_hash(services, tenant_id, license_id)


@router.get("/licenses/{license_id}")
async def get_license(tenant_id: str, license_id: str, request: Request) -> dict[str, Any]:
    _, key_hash = await _license_route(request, tenant_id, license_id)
    services = context_of(request)
    detail = await services.hosts.licenses.get(license_cases.GetLicense(key_hash, tenant_id))
    # The keyless installs (trial / free tier) that activated this license.
    async with services.pool.connection() as conn:
        linked = await keyless_instances_of_license(conn, tenant_id, detail["license_id"])
        detail["metadata"] = await license_metadata(conn, tenant_id, detail["license_id"])
    detail["free_tier_instances"] = [_keyless_view(row) for row in linked]
    return detail


def _keyless_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "instance_id": row["instance_id"],
        "state": row["state"],
        "first_seen_at": iso_time(row["first_seen_at"]),
        "last_seen_at": iso_time(row["last_seen_at"]),
        "linked_at": iso_time(row["linked_at"]),
    }


@router.post("/licenses/{license_id}/revoke")
async def revoke_license(tenant_id: str, license_id: str, request: Request) -> dict[str, Any]:
    caller, key_hash = await _license_route(request, tenant_id, license_id)
    return await context_of(request).hosts.licenses.revoke(
        license_cases.RevokeLicense(key_hash, tenant_id, caller.actor))


@router.post("/licenses/{license_id}/remint", status_code=201)
async def remint_license(tenant_id: str, license_id: str, request: Request) -> dict[str, Any]:
    caller, key_hash = await _license_route(request, tenant_id, license_id)
    services = context_of(request)
    current = await services.hosts.licenses.get(license_cases.GetLicense(key_hash, tenant_id))
    key_prefix = caller.snapshot.products[current["product_id"]].key_prefix
    return await services.hosts.licenses.remint(
        license_cases.RemintLicense(key_hash, tenant_id, key_prefix, caller.actor))


class ChangeLicense(Body):
    """The fields a PATCH sets; the others stay as they are."""

    activation_limit: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = None
    expires_at: Annotated[StrictStr, Field(max_length=64)] | None = None  # None: perpetual
    customer_email: Email | None = None  # None: no email
    metadata: dict[str, Any] | None = None  # the vendor's, at most 4 KiB of JSON


def _unix_time(text: str) -> int:
    """An ISO 8601 time (UTC when it names no offset) as Unix seconds."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("expires_at: not an ISO 8601 time, e.g. 2030-01-31T00:00:00Z"
                           ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


@router.patch("/licenses/{license_id}")
async def change_license(tenant_id: str, license_id: str, body: ChangeLicense,
                         request: Request) -> dict[str, Any]:
    """Change the limit, the expiry, the customer's email or the metadata. A limit under
    the active devices keeps them working and refuses new ones until fewer are active:
    the answer's ``over_limit_by`` counts them (and a ``notice`` says so)."""
    caller, key_hash = await _license_route(request, tenant_id, license_id)
    return await edit_license_for(context_of(request), caller.actor, tenant_id, key_hash, body)


async def edit_license_for(services: Any, actor: str, tenant_id: str, key_hash: str,
                           body: ChangeLicense) -> dict[str, Any]:
    """Change the fields the body sets: the one implementation this route and the
    dashboard's form call."""
    given = body.model_fields_set
    expires_at = (_unix_time(body.expires_at)
                  if "expires_at" in given and body.expires_at is not None else None)
    edited = await services.hosts.licenses.edit(license_cases.EditLicense(
        key_hash, tenant_id, actor, tuple(sorted(given)), body.activation_limit,
        expires_at, body.customer_email, body.metadata))
    async with services.pool.connection() as conn:
        edited["metadata"] = await license_metadata(conn, tenant_id, edited["license_id"])
    return edited


@router.post("/licenses/{license_id}/suspend")
async def suspend_license(tenant_id: str, license_id: str, request: Request
                          ) -> dict[str, Any]:
    """Its devices keep their seats, and activate (403) and validate (422) answer
    LICENSE_SUSPENDED until it is reinstated."""
    caller, key_hash = await _license_route(request, tenant_id, license_id)
    return await context_of(request).hosts.licenses.suspend(
        license_cases.SuspendLicense(key_hash, tenant_id, caller.actor))


@router.post("/licenses/{license_id}/reinstate")
async def reinstate_license(tenant_id: str, license_id: str, request: Request
                            ) -> dict[str, Any]:
    caller, key_hash = await _license_route(request, tenant_id, license_id)
    return await context_of(request).hosts.licenses.reinstate(
        license_cases.ReinstateLicense(key_hash, tenant_id, caller.actor))


@router.post("/licenses/{license_id}/instances/{instance_id}/deactivate")
async def deactivate_instance(
    tenant_id: str, license_id: str, instance_id: str, request: Request
) -> dict[str, Any]:
    caller, key_hash = await _license_route(request, tenant_id, license_id)
    return await context_of(request).hosts.licenses.free_seat(
        license_cases.FreeSeat(key_hash, tenant_id, instance_id[:64], caller.actor))


@router.get("/audit")
async def audit_log(
    tenant_id: str,
    request: Request,
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: PageSize = 100,
) -> dict[str, Any]:
    services = context_of(request)
    await require_tenant(request, services, tenant_id)
    async with services.pool.connection() as conn:
        rows = await list_audit(conn, tenant_id, before_id=before, limit=limit)
    return {
        "data": [{**row, "created_at": iso_time(row["created_at"])} for row in rows],
        "next_before": rows[-1]["audit_id"] if len(rows) == limit else None,
    }
