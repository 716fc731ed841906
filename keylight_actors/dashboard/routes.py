"""The dashboard's pages under ``/dashboard``: plain HTML forms, rendered on the server.

Each page authenticates with the session cookie (``sessions.py``), checks that the session
may open the tenant, and then does what the JSON route of the same action does: the same
typed commands through the same host clients, the same query modules, the same filter and
validation (``api/types.py`` bodies, ``license_filter``). Every state-changing request
carries the session's CSRF token; every answer carries the security headers (``harden``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..api.errors import STATUS_BY_ERROR
from ..api.pagination import decode_cursor, encode_cursor
from ..api.routes.management import create_key_type_for, license_key_hash
from ..api.routes.reports import license_filter
from ..api.types import CreateKeyType, CreateProduct
from ..domain.catalog import Product
from ..domain.errors import DomainError, Forbidden, InvalidInput, NotFound, RateLimited
from ..services import catalog
from ..services import licenses as license_cases
from ..store.catalog_queries import list_key_types, list_products
from ..store.licenses import license_page
from ..store.reports import LICENSE_STATUSES, tenant_stats
from ..store.stripe_events import held_counts
from . import sessions
from .charts import bar_chart
from .security import (
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    clear_cookie,
    harden,
    new_session_id,
    over_https,
    same_token,
    set_cookie,
)
from .sessions import DashboardUser

log = logging.getLogger(__name__)

PAGE_SIZE = 25
STATS_DAYS = 30
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
DONE_MESSAGES = {
    "suspended": "The license is suspended.",
    "reinstated": "The license is reinstated.",
    "revoked": "The license is revoked.",
    "freed": "The device is freed.",
    "product": "The product is created.",
    "key_type": "The key type is created.",
    "edited": "The license is changed.",
    "archived": "The product is archived: no new activations, checkouts or mints.",
    "on_sale": "The product is on sale again.",
    "key_type_edited": "The key type is changed.",
}

templates = Environment(
    loader=PackageLoader("keylight_actors.dashboard", "templates"),
    autoescape=True,  # every value a customer or Stripe can influence is escaped
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: Any) -> str:
    """A time as ``YYYY-MM-DD HH:MM`` UTC."""
    if value is None:
        return "—"
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    return str(value)


class SignInNeeded(Exception):
    """No live session: a page sends the browser to sign in; a form post is refused."""


def context_of(request: Request) -> Any:
    """What this ingress replica holds (pool, host clients, caches): the app's state, as the
    JSON routes reach it."""
    return request.app.state.services


def _render(request: Request, name: str, http_status: int = 200,
            headers: dict[str, str] | None = None, **values: Any) -> HTMLResponse:
    values.setdefault("user", None)
    values.setdefault("tenant_id", None)
    values.setdefault("nav", None)
    html = templates.get_template(name).render(request_path=request.url.path, **values)
    return HTMLResponse(html, status_code=http_status, headers=headers)


def _error_page(request: Request, status: int, message: str,
                headers: dict[str, str] | None = None) -> HTMLResponse:
    return _render(request, "error.html", status, headers, status=status, message=message)


class DashboardRoute(APIRoute):
    """Every dashboard answer hardened; domain errors become an HTML page of their status."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInNeeded:
                if request.method == "GET":
                    response = RedirectResponse("/dashboard/login", status_code=303)
                else:
                    response = _error_page(request, 403, "Your session has ended: sign in "
                                                         "again.")
            except RateLimited as error:
                response = _error_page(request, 429, error.message,
                                       {"Retry-After": str(error.retry_after)})
            except DomainError as error:
                response = _error_page(request, STATUS_BY_ERROR.get(type(error), 500),
                                       error.message)
            except Exception:
                log.exception("dashboard page %s failed", request.url.path)
                response = _error_page(request, 500, "Something went wrong on our side.")
            return harden(response)

        return guarded


router = APIRouter(prefix="/dashboard", route_class=DashboardRoute, include_in_schema=False)


async def _form(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise InvalidInput("expected a form")
    fields = parse_qs((await request.body()).decode("utf-8", "replace"),
                      keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


async def _user(request: Request, tenant_id: str | None = None) -> DashboardUser:
    user = await sessions.current_user(context_of(request), request)
    if user is None:
        raise SignInNeeded
    if tenant_id is not None and not user.may_open(tenant_id):
        raise NotFound("no such page")  # another tenant's pages do not exist for a vendor
    return user


async def _post(request: Request, tenant_id: str | None = None
                ) -> tuple[DashboardUser, dict[str, str]]:
    """The user of a state-changing request, which must carry the session's CSRF token."""
    user = await _user(request, tenant_id)
    form = await _form(request)
    if not same_token(form.get("csrf"), user.csrf):
        raise Forbidden("this form is stale or did not come from the dashboard; reload the page")
    return user, form


def _page_values(user: DashboardUser, tenant_id: str, snapshot: Any, nav: str
                 ) -> dict[str, Any]:
    return {"user": user, "tenant_id": tenant_id, "tenant_name": snapshot.name, "nav": nav,
            "csrf": user.csrf}


def _tenant_url(tenant_id: str, *parts: str) -> str:
    return "/".join(["/dashboard/tenants", quote(tenant_id, safe=""),
                     *(quote(part, safe="") for part in parts)])


templates.globals["tenant_url"] = _tenant_url
templates.filters["when"] = _when


# Static files: the project's own, from the package.

@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    suffix = name[name.rfind("."):] if "." in name else ""
    folder = resources.files("keylight_actors.dashboard") / "static"
    entry = folder / name
    if suffix not in STATIC_TYPES or "/" in name or name.startswith(".") or not entry.is_file():
        raise NotFound("no such file")
    response = Response(entry.read_bytes(), media_type=STATIC_TYPES[suffix])
    return response


# Signing in and out.

@router.get("")
async def home(request: Request) -> Response:
    user = await _user(request)
    if user.role == sessions.VENDOR:
        return RedirectResponse(_tenant_url(user.tenant_id or "", "overview"), status_code=303)
    return _render(request, "operator.html", user=user, csrf=user.csrf)


@router.get("/open")
async def open_tenant(request: Request) -> Response:
    """The operator opens a tenant's pages by its id."""
    user = await _user(request)
    tenant_id = request.query_params.get("tenant_id", "").strip()[:64]
    if user.role != sessions.OPERATOR or not tenant_id:
        raise NotFound("no such page")
    return RedirectResponse(_tenant_url(tenant_id, "overview"), status_code=303)


def _login_page(request: Request, status: int = 200, error: str | None = None,
                headers: dict[str, str] | None = None, tenant_id: str = "") -> Response:
    token = new_session_id()
    response = _render(request, "login.html", status, headers, error=error,
                       signin_csrf=token, given_tenant=tenant_id,
                       signed_out="signed_out" in request.query_params)
    set_cookie(response, SIGNIN_COOKIE, token,
               secure=over_https(request, context_of(request).settings.trusted_proxies))
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    context = context_of(request)
    form = await _form(request)
    if not same_token(form.get("csrf"), request.cookies.get(SIGNIN_COOKIE)):
        raise Forbidden("the sign-in form is stale; reload the page")
    tenant_id = form.get("tenant_id", "").strip()[:64]
    try:
        user = await sessions.sign_in(context, request, tenant_id, form.get("token", ""))
    except RateLimited as error:
        return _login_page(request, 429, error.message, {"Retry-After": str(error.retry_after)},
                           tenant_id)
    except DomainError as error:
        return _login_page(request, 401, error.message, tenant_id=tenant_id)
    if user.role == sessions.VENDOR:
        target = _tenant_url(tenant_id, "overview")
    else:
        target = _tenant_url(tenant_id, "overview") if tenant_id else "/dashboard"
    response = RedirectResponse(target, status_code=303)
    secure = over_https(request, context.settings.trusted_proxies)
    set_cookie(response, SESSION_COOKIE, user.session_id, secure=secure,
               max_age=sessions.ABSOLUTE_SECONDS)
    clear_cookie(response, SIGNIN_COOKIE, secure=secure)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    user, _ = await _post(request)
    context = context_of(request)
    await sessions.sign_out(context, user, request)
    response = RedirectResponse("/dashboard/login?signed_out=1", status_code=303)
    clear_cookie(response, SESSION_COOKIE,
                 secure=over_https(request, context.settings.trusted_proxies))
    return response


# Overview.

@router.get("/tenants/{tenant_id}/overview")
async def overview(tenant_id: str, request: Request) -> Response:
    user = await _user(request, tenant_id)
    context = context_of(request)
    snapshot = await context.tenants.snapshot(tenant_id)
    stats = await tenant_stats(context.pool, tenant_id, STATS_DAYS)  # as GET …/stats calls it
    async with context.pool.connection() as conn:
        held = await held_counts(conn, tenant_id)
    return _render(
        request, "overview.html", **_page_values(user, tenant_id, snapshot, "overview"),
        days=STATS_DAYS,
        licenses_by_status=stats.licenses_by_status,
        deliveries_by_status=stats.deliveries_by_status,
        activations=bar_chart("Activations per day", stats.activations_per_day),
        new_licenses=bar_chart("New licenses per day", stats.new_licenses_per_day),
        failed_deliveries=stats.deliveries_by_status.get("failed", 0),
        held_events=held["held"], unmatched_events=held["unmatched"],
    )


# Licenses.

def _blank_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


@router.get("/tenants/{tenant_id}/licenses")
async def licenses(tenant_id: str, request: Request) -> Response:
    user = await _user(request, tenant_id)
    context = context_of(request)
    snapshot = await context.tenants.snapshot(tenant_id)
    query = request.query_params
    email = _blank_none(query.get("email", "")[:254])
    key = _blank_none(query.get("key", "")[:128])
    status = _blank_none(query.get("status", "")[:16])
    # The list route's own filter and cursor: one implementation of both.
    which = license_filter(product_id=None, key_type_id=None, status=status, email=email,
                           source=None, key=key)
    after = decode_cursor(_blank_none(query.get("cursor", "")[:200]))
    async with context.pool.connection() as conn:
        rows = await license_page(conn, tenant_id, which, after=after, limit=PAGE_SIZE + 1)
    page, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    filters = {name: value for name, value in
               (("email", email), ("key", key), ("status", status)) if value}
    next_url = None
    if more:
        next_cursor = encode_cursor(page[-1]["created_us"], page[-1]["license_id"])
        next_url = "?" + urlencode({**filters, "cursor": next_cursor})
    return _render(
        request, "licenses.html", **_page_values(user, tenant_id, snapshot, "licenses"),
        rows=page, statuses=LICENSE_STATUSES, email=email or "", key=key or "",
        status=status or "", next_url=next_url,
        first_url="?" + urlencode(filters) if after else None,
        export_query="?" + urlencode(filters) if filters else "",
    )


@router.get("/tenants/{tenant_id}/licenses/{license_id}")
async def license_detail(tenant_id: str, license_id: str, request: Request) -> Response:
    user = await _user(request, tenant_id)
    context = context_of(request)
    snapshot = await context.tenants.snapshot(tenant_id)
    key_hash = await license_key_hash(context, tenant_id, license_id)
    detail = await context.hosts.licenses.get(license_cases.GetLicense(key_hash, tenant_id))
    return _render(
        request, "license.html", **_page_values(user, tenant_id, snapshot, "licenses"),
        license=detail, done=DONE_MESSAGES.get(request.query_params.get("done", "")),
    )


LICENSE_ACTIONS = {
    "suspend": (license_cases.SuspendLicense, "suspend", "suspended"),
    "reinstate": (license_cases.ReinstateLicense, "reinstate", "reinstated"),
    "revoke": (license_cases.RevokeLicense, "revoke", "revoked"),
}


@router.post("/tenants/{tenant_id}/licenses/{license_id}/{action}")
async def license_action(tenant_id: str, license_id: str, action: str, request: Request
                         ) -> Response:
    """Suspend, reinstate, revoke (the same commands the JSON routes send) or remint."""
    user, _ = await _post(request, tenant_id)
    context = context_of(request)
    key_hash = await license_key_hash(context, tenant_id, license_id)
    if action == "remint":
        return await _remint(request, user, context, tenant_id, key_hash)
    if action not in LICENSE_ACTIONS:
        raise NotFound("no such action")
    command, method, done = LICENSE_ACTIONS[action]
    await getattr(context.hosts.licenses, method)(command(key_hash, tenant_id, user.actor))
    return RedirectResponse(
        _tenant_url(tenant_id, "licenses", license_id) + f"?done={done}", status_code=303)


async def _remint(request: Request, user: DashboardUser, context: Any, tenant_id: str,
                  key_hash: str) -> Response:
    """A new key, shown on this answer only (never stored in the clear, never cached)."""
    snapshot = await context.tenants.snapshot(tenant_id)
    current = await context.hosts.licenses.get(license_cases.GetLicense(key_hash, tenant_id))
    key_prefix = snapshot.products[current["product_id"]].key_prefix
    minted = await context.hosts.licenses.remint(
        license_cases.RemintLicense(key_hash, tenant_id, key_prefix, user.actor))
    return _render(request, "reminted.html", **_page_values(user, tenant_id, snapshot,
                                                            "licenses"),
                   old=current, minted=minted)


@router.post("/tenants/{tenant_id}/licenses/{license_id}/instances/{instance_id}/deactivate")
async def free_device(tenant_id: str, license_id: str, instance_id: str, request: Request
                      ) -> Response:
    user, _ = await _post(request, tenant_id)
    context = context_of(request)
    key_hash = await license_key_hash(context, tenant_id, license_id)
    await context.hosts.licenses.free_seat(
        license_cases.FreeSeat(key_hash, tenant_id, instance_id[:64], user.actor))
    return RedirectResponse(
        _tenant_url(tenant_id, "licenses", license_id) + "?done=freed", status_code=303)


# Products and key types.

async def _products_page(request: Request, user: DashboardUser, tenant_id: str,
                         status: int = 200, errors: list[str] | None = None,
                         form: dict[str, str] | None = None) -> Response:
    context = context_of(request)
    snapshot = await context.tenants.snapshot(tenant_id)
    async with context.pool.connection() as conn:
        products = await list_products(conn, tenant_id, after=None, limit=500)
        key_types = {row["product_id"]: await list_key_types(
            conn, tenant_id, row["product_id"], after=None, limit=500) for row in products}
    return _render(request, "products.html", status,
                   **_page_values(user, tenant_id, snapshot, "products"),
                   products=products, key_types=key_types, errors=errors or [],
                   form=form or {}, done=DONE_MESSAGES.get(request.query_params.get("done", "")))


@router.get("/tenants/{tenant_id}/products")
async def products(tenant_id: str, request: Request) -> Response:
    user = await _user(request, tenant_id)
    return await _products_page(request, user, tenant_id)


def _problems(error: ValidationError) -> list[str]:
    return [f"{'.'.join(str(part) for part in problem['loc']) or 'form'}: {problem['msg']}"
            for problem in error.errors()]


def _whole(value: str | None) -> int | str | None:
    """A number field: a whole number, or the text as given (the body's check names it)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return value


@router.post("/tenants/{tenant_id}/products")
async def create_product(tenant_id: str, request: Request) -> Response:
    user, form = await _post(request, tenant_id)
    context = context_of(request)
    fields: dict[str, Any] = {
        "product_id": form.get("product_id", "").strip(),
        "display_name": form.get("display_name", "").strip(),
        "key_prefix": form.get("key_prefix", "").strip(),
        "free_tier_enabled": form.get("free_tier_enabled") == "on",
    }
    trial = _whole(form.get("trial_duration_days"))
    if trial is not None:
        fields["trial_duration_days"] = trial
    try:
        body = CreateProduct(**fields)
    except ValidationError as error:
        return await _products_page(request, user, tenant_id, 400, _problems(error), form)
    try:
        await context.hosts.tenants.create_product(
            catalog.CreateProduct(tenant_id, Product(**body.model_dump()), user.actor))
    except DomainError as error:
        return await _products_page(request, user, tenant_id,
                                    STATUS_BY_ERROR.get(type(error), 500), [error.message], form)
    context.tenants.forget(tenant_id)
    return RedirectResponse(_tenant_url(tenant_id, "products") + "?done=product",
                            status_code=303)


@router.post("/tenants/{tenant_id}/key-types")
async def create_key_type(tenant_id: str, request: Request) -> Response:
    user, form = await _post(request, tenant_id)
    context = context_of(request)
    fields: dict[str, Any] = {
        "key_type_id": form.get("key_type_id", "").strip(),
        "display_name": form.get("display_name", "").strip(),
        "activation_limit": _whole(form.get("activation_limit")),
        "entitlements": [part.strip() for part in form.get("entitlements", "").split(",")
                         if part.strip()],
    }
    duration = _whole(form.get("duration_days"))
    if duration is not None:
        fields["duration_days"] = duration
    price = _whole(form.get("price_in_cents"))
    if price is not None:  # priced: create_key_type_for makes its Stripe Price, as the API
        fields["price_in_cents"] = price
        fields["currency"] = form.get("currency", "").strip().lower() or None
        fields["recurring_interval"] = _blank_none(form.get("recurring_interval"))
    product_id = form.get("product_id", "").strip()[:64]
    try:
        body = CreateKeyType(**fields)
    except ValidationError as error:
        return await _products_page(request, user, tenant_id, 400, _problems(error), form)
    try:
        await create_key_type_for(context, user.actor, tenant_id, product_id, body)
    except DomainError as error:
        return await _products_page(request, user, tenant_id,
                                    STATUS_BY_ERROR.get(type(error), 500), [error.message], form)
    return RedirectResponse(_tenant_url(tenant_id, "products") + "?done=key_type",
                            status_code=303)

