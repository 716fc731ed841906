"""The operator's console: tenants (list by lifecycle, search by part of the id or name,
find by id, create, lifecycle moves, connect a Stripe account) and the Stripe event inbox
(filter by state, replay).

Only an operator session opens these pages; a vendor's session gets 404, as for another
tenant's pages. Each action is what the operator's JSON route does: the same request bodies
(``api/types``), the same commands through the same host clients, the same queries
(``store/reports.tenant_page``, ``store/stripe_events.list_events``) and the same replay
(``api/routes/admin.replay_event``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from ..api import types as schemas
from ..api.errors import STATUS_BY_ERROR
from ..api.pagination import decode_cursor, encode_cursor
from ..api.routes.admin import public_tenant_view, replay_event
from ..api.routes.reports import TENANT_LIFECYCLES, TENANT_SEARCH_MAX_LENGTH
from ..domain.errors import DomainError, InvalidInput, NotFound
from ..domain.lifecycle import ALLOWED_MOVES, Lifecycle
from ..services.tenants import ConnectStripe, CreateTenant, SetLifecycle
from ..store.reports import tenant_page
from ..store.stripe_events import list_events
from . import sessions
from .routes import DashboardRoute, _post, _problems, _render, _user
from .routes import context_of as services_of
from .sessions import DashboardUser

router = APIRouter(prefix="/dashboard", route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 50
EVENT_STATES = ("held", "unmatched", "unroutable", "failed", "ignored", "processed")
DONE = {
    "lifecycle": "The lifecycle is changed.",
    "stripe": "The Stripe account is connected.",
}


def _operator_only(user: DashboardUser) -> DashboardUser:
    if user.role != sessions.OPERATOR:
        raise NotFound("no such page")  # the console does not exist for a vendor
    return user


async def _operator(request: Request) -> DashboardUser:
    return _operator_only(await _user(request))


async def _operator_post(request: Request) -> tuple[DashboardUser, dict[str, str]]:
    _operator_only(await _user(request))
    return await _post(request)


def tenant_console_url(tenant_id: str) -> str:
    return "/dashboard/operator/tenants/" + quote(tenant_id, safe="")


def _values(user: DashboardUser, nav: str) -> dict[str, Any]:
    return {"user": user, "csrf": user.csrf, "nav": nav}


# Tenants.

async def _tenants_page(request: Request, user: DashboardUser, status: int = 200,
                        errors: list[str] | None = None, form: dict[str, str] | None = None,
                        created: dict[str, Any] | None = None) -> Response:
    query = request.query_params
    lifecycle = query.get("lifecycle", "").strip()[:32] or None
    if lifecycle not in TENANT_LIFECYCLES:
        lifecycle = None
    search = query.get("q", "").strip()[:TENANT_SEARCH_MAX_LENGTH].strip() or None
    cursor = query.get("cursor", "").strip()[:200] or None
    decoded = decode_cursor(cursor, uuid_ids=False)
    async with services_of(request).pool.connection() as conn:  # as GET /api/admin/tenants
        rows = await tenant_page(conn, lifecycle=lifecycle, search=search,
                                 after=decoded[1] if decoded else None, limit=PAGE_SIZE + 1)
    page, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    filters = {name: value for name, value in (("lifecycle", lifecycle), ("q", search))
               if value}
    next_url = ("?" + urlencode({**filters, "cursor": encode_cursor(0, page[-1]["tenant_id"])})
                if more else None)
    return _render(request, "operator_tenants.html", status, **_values(user, "tenants"),
                   rows=page, lifecycles=TENANT_LIFECYCLES, lifecycle=lifecycle or "",
                   search=search or "", search_max_length=TENANT_SEARCH_MAX_LENGTH,
                   next_url=next_url, first_url="?" + urlencode(filters) if cursor else None,
                   errors=errors or [], form=form or {}, created=created)


@router.get("/operator/tenants")
async def tenants(request: Request) -> Response:
    return await _tenants_page(request, await _operator(request))


@router.get("/operator/find")
async def find_tenant(request: Request) -> Response:
    """The tenant with exactly this id; otherwise the list of those whose id or name
    contains the text (its ``q`` search)."""
    await _operator(request)
    text = request.query_params.get("tenant_id", "").strip()[:TENANT_SEARCH_MAX_LENGTH].strip()
    if not text:
        return RedirectResponse("/dashboard/operator/tenants", status_code=303)
    try:
        await services_of(request).tenants.snapshot(text)
    except NotFound:
        return RedirectResponse("/dashboard/operator/tenants?" + urlencode({"q": text}),
                                status_code=303)
    return RedirectResponse(tenant_console_url(text), status_code=303)


@router.post("/operator/tenants")
async def create_tenant(request: Request) -> Response:
    user, form = await _operator_post(request)
    services = services_of(request)
    try:
        body = schemas.CreateTenant(tenant_id=form.get("tenant_id", "").strip(),
                                    name=form.get("name", "").strip(),
                                    sdk_key=form.get("sdk_key") == "on")
    except ValidationError as error:
        return await _tenants_page(request, user, 400, _problems(error), form)
    services.tenants.forget(body.tenant_id)  # as POST /api/admin/tenants
    try:
        created = await services.hosts.tenants.create(
            CreateTenant(body.tenant_id, body.name, body.sdk_key, user.actor))
    except DomainError as error:
        return await _tenants_page(request, user, STATUS_BY_ERROR.get(type(error), 500),
                                   [error.message], form)
    return _render(request, "operator_created.html", 201, **_values(user, "tenants"),
                   created=created)


async def _tenant_page(request: Request, user: DashboardUser, tenant_id: str,
                       status: int = 200, errors: list[str] | None = None,
                       form: dict[str, str] | None = None) -> Response:
    snapshot = await services_of(request).tenants.snapshot(tenant_id)
    moves = sorted(move.value for move in ALLOWED_MOVES[Lifecycle(snapshot.lifecycle)])
    return _render(request, "operator_tenant.html", status, **_values(user, "tenants"),
                   tenant=public_tenant_view(snapshot), lifecycles=TENANT_LIFECYCLES,
                   moves=moves, errors=errors or [], form=form or {},
                   done=DONE.get(request.query_params.get("done", "")))


@router.get("/operator/tenants/{tenant_id}")
async def tenant(tenant_id: str, request: Request) -> Response:
    return await _tenant_page(request, await _operator(request), tenant_id)


@router.post("/operator/tenants/{tenant_id}/lifecycle")
async def move_tenant(tenant_id: str, request: Request) -> Response:
    user, form = await _operator_post(request)
    services = services_of(request)
    try:  # as PATCH /api/admin/tenants/{id} with a lifecycle
        body = schemas.ChangeTenant(lifecycle=form.get("lifecycle", "").strip() or None)
        if body.lifecycle is None:
            raise InvalidInput("choose a lifecycle")
        snapshot = await services.hosts.tenants.set_lifecycle(
            SetLifecycle(tenant_id, body.lifecycle, user.actor))
    except ValidationError as error:
        return await _tenant_page(request, user, tenant_id, 400, _problems(error), form)
    except DomainError as error:  # an illegal move, say: shown on the page
        return await _tenant_page(request, user, tenant_id,
                                  STATUS_BY_ERROR.get(type(error), 500), [error.message], form)
    services.tenants.remember(snapshot)
    return RedirectResponse(tenant_console_url(tenant_id) + "?done=lifecycle", status_code=303)


@router.post("/operator/tenants/{tenant_id}/stripe")
async def connect_stripe(tenant_id: str, request: Request) -> Response:
    user, form = await _operator_post(request)
    services = services_of(request)
    try:  # as PUT /api/admin/tenants/{id}/stripe
        body = schemas.ConnectStripe(
            stripe_account_id=form.get("stripe_account_id", "").strip())
    except ValidationError as error:
        return await _tenant_page(request, user, tenant_id, 400, _problems(error), form)
    snapshot = await services.hosts.tenants.connect_stripe(
        ConnectStripe(tenant_id, body.stripe_account_id, user.actor))
    services.tenants.remember(snapshot)
    return RedirectResponse(tenant_console_url(tenant_id) + "?done=stripe", status_code=303)


# The Stripe event inbox.

@router.get("/operator/stripe-events")
async def stripe_events(request: Request) -> Response:
    user = await _operator(request)
    query = request.query_params
    state = query.get("state", "").strip()[:16] or None
    if state not in EVENT_STATES:
        state = None
    async with services_of(request).pool.connection() as conn:  # as GET …/stripe/events
        rows = await list_events(conn, status=state, limit=200)
    replayed = query.get("replayed", "")[:255]
    return _render(request, "operator_events.html", **_values(user, "events"),
                   rows=rows, states=EVENT_STATES, state=state or "",
                   replayed=replayed, replayed_status=query.get("status", "")[:16])


@router.post("/operator/stripe-events/{event_id}/replay")
async def replay(event_id: str, request: Request) -> Response:
    await _operator_post(request)
    status = await replay_event(services_of(request), event_id)  # as POST …/replay
    back = request.query_params.get("state", "")[:16]
    query = {"replayed": event_id[:255], "status": status, **({"state": back} if back else {})}
    return RedirectResponse("/dashboard/operator/stripe-events?" + urlencode(query),
                            status_code=303)
