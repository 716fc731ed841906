"""The dashboard's catalog changes and the licenses' CSV export.

Archive a product or put it back on sale (``change_product_for``, as
``PATCH /api/{tenant}/products/{product}``), edit a key type (``change_key_type_for``, as
``PATCH …/key-types/{key_type}``: a new price gets a new Stripe Price the same way), and
download the Licenses page's filtered rows as CSV (``license_csv_response``, the stream of
``GET /api/{tenant}/licenses/export.csv``, with the list route's ``license_filter``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from ..api.errors import STATUS_BY_ERROR
from ..api.routes.management import change_key_type_for, change_product_for
from ..api.routes.reports import license_csv_response, license_filter
from ..api.types import ChangeKeyType, ChangeProduct
from ..domain.catalog import KeyType
from ..domain.errors import DomainError, NotFound
from . import sessions
from .routes import (
    DashboardRoute,
    _blank_none,
    _page_values,
    _post,
    _problems,
    _render,
    _tenant_url,
    _user,
    _whole,
    context_of,
)
from .routes import router as _dashboard_router

router = APIRouter(prefix=_dashboard_router.prefix, route_class=DashboardRoute,
                   include_in_schema=False)

PRODUCT_MOVES = {"archived": "archived", "active": "on_sale"}
KEY_TYPE_FIELDS = ("display_name", "activation_limit", "duration_days", "entitlements",
                   "price_in_cents", "currency", "recurring_interval")


# Licenses → CSV export (registered before …/licenses/{license_id}).

@router.get("/tenants/{tenant_id}/licenses/export.csv")
async def export_licenses(tenant_id: str, request: Request) -> Response:
    """The Licenses page's current filters, every matching row, streamed as the API does."""
    await _user(request, tenant_id)
    query = request.query_params
    which = license_filter(product_id=None, key_type_id=None,
                           status=_blank_none(query.get("status", "")[:16]),
                           email=_blank_none(query.get("email", "")[:254]),
                           source=None, key=_blank_none(query.get("key", "")[:128]))
    return license_csv_response(context_of(request), tenant_id, which)


# Products: archive, put back on sale.

@router.post("/tenants/{tenant_id}/products/{product_id}/status")
async def move_product(tenant_id: str, product_id: str, request: Request) -> Response:
    user, form = await _post(request, tenant_id)
    status = form.get("status", "")
    if status not in PRODUCT_MOVES:
        raise NotFound("no such action")
    await change_product_for(context_of(request), user.actor, tenant_id, product_id[:64],
                             ChangeProduct(status=status))
    return RedirectResponse(_tenant_url(tenant_id, "products") + f"?done={PRODUCT_MOVES[status]}",
                            status_code=303)


# Key types: edit.

def key_type_changes(current: KeyType, form: dict[str, str]) -> dict[str, Any]:
    """The form's fields that differ from the key type as it is (empty number fields are
    None: perpetual, unpriced); only those are sent, so an unchanged price makes no new
    Stripe Price."""
    given: dict[str, Any] = {
        "display_name": form.get("display_name", "").strip(),
        "activation_limit": _whole(form.get("activation_limit")),
        "duration_days": _whole(form.get("duration_days")),
        "entitlements": [part.strip() for part in form.get("entitlements", "").split(",")
                         if part.strip()],
        "price_in_cents": _whole(form.get("price_in_cents")),
        "currency": form.get("currency", "").strip().lower() or None,
        "recurring_interval": _blank_none(form.get("recurring_interval")),
    }
    now = asdict(current)
    now["entitlements"] = list(current.entitlements)
    return {name: value for name, value in given.items() if value != now[name]}


async def _key_type_page(request: Request, user: sessions.DashboardUser, tenant_id: str,
                         product_id: str, key_type_id: str, status: int = 200,
                         errors: list[str] | None = None,
                         form: dict[str, str] | None = None) -> Response:
    context = context_of(request)
    snapshot = await context.tenants.fresh_snapshot(tenant_id)
    key_type = snapshot.key_type(product_id, key_type_id)
    if key_type is None:
        raise NotFound(f"unknown key type {key_type_id!r}", code="KEY_TYPE_NOT_FOUND")
    return _render(request, "key_type_edit.html", status,
                   **_page_values(user, tenant_id, snapshot, "products"),
                   key_type=key_type, errors=errors or [], form=form or {})


@router.get("/tenants/{tenant_id}/products/{product_id}/key-types/{key_type_id}/edit")
async def edit_key_type(tenant_id: str, product_id: str, key_type_id: str, request: Request
                        ) -> Response:
    user = await _user(request, tenant_id)
    return await _key_type_page(request, user, tenant_id, product_id, key_type_id)


@router.post("/tenants/{tenant_id}/products/{product_id}/key-types/{key_type_id}/edit/save")
async def save_key_type(tenant_id: str, product_id: str, key_type_id: str, request: Request
                        ) -> Response:
    user, form = await _post(request, tenant_id)
    context = context_of(request)
    snapshot = await context.tenants.fresh_snapshot(tenant_id)
    current = snapshot.key_type(product_id, key_type_id)
    if current is None:
        raise NotFound(f"unknown key type {key_type_id!r}", code="KEY_TYPE_NOT_FOUND")
    try:
        body = ChangeKeyType(**key_type_changes(current, form))
    except ValidationError as error:
        return await _key_type_page(request, user, tenant_id, product_id, key_type_id, 400,
                                    _problems(error), form)
    try:
        await change_key_type_for(context, user.actor, tenant_id, product_id, key_type_id,
                                  body)
    except DomainError as error:
        return await _key_type_page(request, user, tenant_id, product_id, key_type_id,
                                    STATUS_BY_ERROR.get(type(error), 500), [error.message],
                                    form)
    return RedirectResponse(_tenant_url(tenant_id, "products") + "?done=key_type_edited",
                            status_code=303)
