"""The dashboard's settings pages: webhooks and the deliveries log, integrations (Stripe and
credential rotation), the audit log, and editing a license's terms.

As in ``routes.py``, each page calls what the JSON route of the same action calls: the
webhook use cases (``services/webhooks.py``) through the same unit of work, the deliveries
and audit queries, ``rotate_credential_for`` / ``rotate_signing_key_for``,
``remove_sdk_key_for`` / ``retire_signing_key_for``, ``set_manual_stripe_for`` (with the PUT
route's ``ManualStripe`` body) and ``edit_license_for``. A secret is rendered on the answer
of the post that made it, once, never stored in the clear and never cached
(``Cache-Control: no-store``); the manual-mode Stripe keys are never rendered at all.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from ..api.errors import STATUS_BY_ERROR
from ..api.pagination import decode_cursor, encode_cursor
from ..api.ports import StoreWebhookWork
from ..api.routes.checkout import set_manual_stripe_for
from ..api.routes.credentials import (
    remove_sdk_key_for,
    retire_signing_key_for,
    rotate_credential_for,
    rotate_signing_key_for,
)
from ..api.routes.management import ChangeLicense, edit_license_for, license_key_hash
from ..api.routes.webhooks import _delivery_uuid as delivery_uuid
from ..api.types import ManualStripe
from ..domain.errors import DomainError, NotFound
from ..domain.webhook_events import ALWAYS_ON, EVENT_TYPES, default_toggles, toggles_from
from ..domain.webhook_retry import STATUSES as DELIVERY_STATUSES
from ..services import licenses as license_cases
from ..services import webhooks as webhook_cases
from ..services.credentials import ROTATABLE
from ..services.webhooks import ROTATION_OVERLAP_SECONDS
from ..store.audit import list_audit
from ..store.tenants import manual_stripe_secrets
from ..store.webhook_deliveries import attempts_of, list_deliveries
from ..store.webhook_endpoints import load_endpoint
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
    clear_cookie,
    context_of,
    over_https,
)
from .routes import router as _dashboard_router
from .security import SESSION_COOKIE

router = APIRouter(prefix=_dashboard_router.prefix, route_class=DashboardRoute,
                   include_in_schema=False)

DELIVERIES_PAGE = 25
AUDIT_PAGE = 50
DONE = {
    "webhook": "The webhook is saved.",
    "redelivered": "The delivery is queued to be sent again now.",
    "stripe_manual": "Manual mode is set: checkout uses your Stripe keys.",
    "sdk_key_removed": "The SDK key is no longer required.",
    "signing_key_retired": "The signing key is retired and no longer published.",
}
CREDENTIAL_NAMES = {
    "sdk_key": "SDK key",
    "checkout_api_key": "checkout API key",
    "management_token": "management token",
}


def _done(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


# Webhooks and the deliveries log.

async def _webhooks_page(request: Request, user: sessions.DashboardUser, tenant_id: str,
                         status: int = 200, errors: list[str] | None = None,
                         form: dict[str, str] | None = None) -> Response:
    context = context_of(request)
    snapshot = await context.tenants.snapshot(tenant_id)
    query = request.query_params
    wanted = _blank_none(query.get("status", "")[:16])
    if wanted not in DELIVERY_STATUSES:
        wanted = None
    after = decode_cursor(_blank_none(query.get("cursor", "")[:200]))
    async with context.pool.connection() as conn:
        endpoint = await load_endpoint(conn, tenant_id)
        # The JSON deliveries route's own query, newest first, with the attempts.
        rows = await list_deliveries(conn, tenant_id, status=wanted, after=after,
                                     limit=DELIVERIES_PAGE + 1)
        page, more = rows[:DELIVERIES_PAGE], len(rows) > DELIVERIES_PAGE
        attempts = await attempts_of(conn, [row["delivery_id"] for row in page])
    toggles = toggles_from(endpoint["enabled_events"]) if endpoint else default_toggles()
    filters = {"status": wanted} if wanted else {}
    next_url = None
    if more:
        next_url = "?" + urlencode({**filters, "cursor": encode_cursor(
            page[-1]["created_us"], page[-1]["delivery_id"])})
    return _render(
        request, "webhooks.html", status, **_page_values(user, tenant_id, snapshot, "webhooks"),
        endpoint=endpoint, toggles=toggles, always_on=ALWAYS_ON, event_types=EVENT_TYPES,
        deliveries=page, attempts=attempts, statuses=DELIVERY_STATUSES, status=wanted or "",
        next_url=next_url, first_url="?" + urlencode(filters) if after else None,
        errors=errors or [], form=form or {}, done=_done(request))


@router.get("/tenants/{tenant_id}/webhooks")
async def webhooks(tenant_id: str, request: Request) -> Response:
    user = await _user(request, tenant_id)
    return await _webhooks_page(request, user, tenant_id)


def _secret_page(request: Request, user: sessions.DashboardUser, snapshot: Any,
                 nav: str, **values: Any) -> Response:
    return _render(request, "secret_once.html",
                   **_page_values(user, snapshot.tenant_id, snapshot, nav), **values)


@router.post("/tenants/{tenant_id}/webhooks")
async def set_webhook(tenant_id: str, request: Request) -> Response:
    """The URL and the events wanted (a checkbox each; ``license.created`` is always on)."""
    user, form = await _post(request, tenant_id)
    context = context_of(request)
    url = form.get("url", "").strip()[:2048]
    events = [event for event in EVENT_TYPES
              if event in ALWAYS_ON or form.get(f"event.{event}") == "on"]
    try:
        async with StoreWebhookWork.of(context) as uow:
            endpoint = await webhook_cases.set_webhook_endpoint(
                webhook_cases.SetWebhookEndpoint(tenant_id, url, events, user.actor), uow)
    except DomainError as error:
        return await _webhooks_page(request, user, tenant_id,
                                    STATUS_BY_ERROR.get(type(error), 500), [error.message], form)
    if endpoint.secret is None:
        return RedirectResponse(_tenant_url(tenant_id, "webhooks") + "?done=webhook",
                                status_code=303)
    snapshot = await context.tenants.snapshot(tenant_id)
    return _secret_page(
        request, user, snapshot, "webhooks", heading="Webhook signing secret",
        secret=endpoint.secret,
        notice="The webhook is set up. Its signing secret is shown once: copy it now into "
               "your receiver, which checks each delivery's signature with it.",
        back=_tenant_url(tenant_id, "webhooks"), back_label="Back to webhooks")


@router.post("/tenants/{tenant_id}/webhooks/rotate-secret")
async def rotate_webhook_secret(tenant_id: str, request: Request) -> Response:
    user, _ = await _post(request, tenant_id)
    context = context_of(request)
    async with StoreWebhookWork.of(context) as uow:
        rotated = await webhook_cases.rotate_webhook_secret(
            webhook_cases.RotateWebhookSecret(tenant_id, user.actor), uow)
    snapshot = await context.tenants.snapshot(tenant_id)
    hours = ROTATION_OVERLAP_SECONDS // 3600
    return _secret_page(
        request, user, snapshot, "webhooks", heading="New webhook signing secret",
        secret=rotated.secret,
        notice=f"The new signing secret is shown once: copy it now. For {hours} hours "
               "deliveries carry a second signature made with the old secret, so your "
               "receiver keeps working while you change it.",
        back=_tenant_url(tenant_id, "webhooks"), back_label="Back to webhooks")


@router.post("/tenants/{tenant_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(tenant_id: str, delivery_id: str, request: Request) -> Response:
    user, _ = await _post(request, tenant_id)
    context = context_of(request)
    wanted = delivery_uuid(delivery_id)
    async with StoreWebhookWork.of(context) as uow:
        await webhook_cases.redeliver_webhook(
            webhook_cases.RedeliverWebhook(tenant_id, wanted, user.actor), uow)
    return RedirectResponse(_tenant_url(tenant_id, "webhooks") + "?done=redelivered",
                            status_code=303)


# Integrations: Stripe and the credentials.

async def _integrations_page(request: Request, user: sessions.DashboardUser, tenant_id: str,
                             status: int = 200, errors: list[str] | None = None
                             ) -> Response:
    context = context_of(request)
    snapshot = await context.tenants.fresh_snapshot(tenant_id)
    manual = False
    if snapshot.stripe_account_id is None:
        async with context.pool.connection() as conn:
            manual = await manual_stripe_secrets(conn, tenant_id) is not None  # sealed; unread
    return _render(
        request, "integrations.html", status,
        **_page_values(user, tenant_id, snapshot, "integrations"),
        snapshot=snapshot, manual=manual, errors=errors or [], done=_done(request))


@router.get("/tenants/{tenant_id}/integrations")
async def integrations(tenant_id: str, request: Request) -> Response:
    user = await _user(request, tenant_id)
    return await _integrations_page(request, user, tenant_id)


def _integrations_done(tenant_id: str, done: str, anchor: str) -> Response:
    return RedirectResponse(_tenant_url(tenant_id, "integrations") + f"?done={done}#{anchor}",
                            status_code=303)


@router.post("/tenants/{tenant_id}/integrations/stripe-manual")
async def set_stripe_manual(tenant_id: str, request: Request) -> Response:
    """The tenant's own Stripe keys, checked by the PUT route's body; never shown back (the
    form is not filled in again on an error either)."""
    user, form = await _post(request, tenant_id)
    context = context_of(request)
    try:
        body = ManualStripe(secret_key=form.get("secret_key", "").strip()[:256],
                            webhook_secret=form.get("webhook_secret", "").strip()[:256])
        await set_manual_stripe_for(context, user.actor, tenant_id, body)
    except ValidationError as error:
        # The problems name the field and the rule, never the value typed.
        return await _integrations_page(request, user, tenant_id, 400, _problems(error))
    except DomainError as error:
        return await _integrations_page(request, user, tenant_id,
                                        STATUS_BY_ERROR.get(type(error), 500), [error.message])
    return _integrations_done(tenant_id, "stripe_manual", "stripe")


@router.post("/tenants/{tenant_id}/integrations/remove-sdk-key")
async def remove_sdk_key(tenant_id: str, request: Request) -> Response:
    user, _ = await _post(request, tenant_id)
    await remove_sdk_key_for(context_of(request), user.actor, tenant_id)
    return _integrations_done(tenant_id, "sdk_key_removed", "sdk-key")


@router.post("/tenants/{tenant_id}/integrations/retire-signing-key/{kid}")
async def retire_signing_key(tenant_id: str, kid: str, request: Request) -> Response:
    user, _ = await _post(request, tenant_id)
    try:
        await retire_signing_key_for(context_of(request), user.actor, tenant_id, kid)
    except DomainError as error:
        return await _integrations_page(request, user, tenant_id,
                                        STATUS_BY_ERROR.get(type(error), 500), [error.message])
    return _integrations_done(tenant_id, "signing_key_retired", "signing-keys")


@router.post("/tenants/{tenant_id}/integrations/rotate/{which}")
async def rotate(tenant_id: str, which: str, request: Request) -> Response:
    user, _ = await _post(request, tenant_id)
    context = context_of(request)
    if which == "signing_key":
        snapshot = await rotate_signing_key_for(context, user.actor, tenant_id)
        key = next(key for key in snapshot.signing_keys if key.kid == snapshot.primary_kid)
        return _render(
            request, "signing_key_rotated.html",
            **_page_values(user, tenant_id, snapshot, "integrations"), key=key)
    if which not in ROTATABLE:
        raise NotFound("no such credential")
    secret = await rotate_credential_for(context, user.actor, tenant_id, which)
    snapshot = await context.tenants.snapshot(tenant_id)
    name = CREDENTIAL_NAMES[which]
    if which == "management_token":
        # The session signed in with the old token has ended: end it here, and send the
        # user to sign in with the new one, shown this once.
        await sessions.sign_out(context, user, request)
        response = _render(
            request, "secret_once.html", tenant_id=None, heading="New management token",
            secret=secret,
            notice="The new management token is shown once: copy it now. The old token has "
                   "stopped working, and so has this dashboard session, which signed in "
                   "with it: sign in again with the new token.",
            back="/dashboard/login", back_label="Sign in with the new token")
        clear_cookie(response, SESSION_COOKIE,
                     secure=over_https(request, context.settings.trusted_proxies))
        return response
    if which == "sdk_key":
        notice = ("The new SDK key is shown once: copy it now into your app. The previous "
                  "SDK key keeps working for 24 hours, so the apps in the field have a day "
                  "to get the new one.")
    else:
        notice = (f"The new {name} is shown once: copy it now. The old one has stopped "
                  "working.")
    return _secret_page(request, user, snapshot, "integrations", heading=f"New {name}",
                        secret=secret, notice=notice,
                        back=_tenant_url(tenant_id, "integrations"),
                        back_label="Back to integrations")


# The audit log.

@router.get("/tenants/{tenant_id}/audit")
async def audit(tenant_id: str, request: Request) -> Response:
    user = await _user(request, tenant_id)
    context = context_of(request)
    snapshot = await context.tenants.snapshot(tenant_id)
    before = _whole(request.query_params.get("before", "")[:20])
    before = before if isinstance(before, int) and before > 0 else None
    async with context.pool.connection() as conn:  # the JSON audit route's query
        rows = await list_audit(conn, tenant_id, before_id=before, limit=AUDIT_PAGE)
    next_url = ("?" + urlencode({"before": rows[-1]["audit_id"]})
                if len(rows) == AUDIT_PAGE else None)
    return _render(request, "audit.html", **_page_values(user, tenant_id, snapshot, "audit"),
                   rows=rows, next_url=next_url, first_url="?" if before else None)


# Editing a license's terms.

async def _edit_page(request: Request, user: sessions.DashboardUser, tenant_id: str,
                     key_hash: str, status: int = 200, errors: list[str] | None = None,
                     form: dict[str, str] | None = None) -> Response:
    context = context_of(request)
    snapshot = await context.tenants.snapshot(tenant_id)
    detail = await context.hosts.licenses.get(license_cases.GetLicense(key_hash, tenant_id))
    return _render(request, "license_edit.html", status,
                   **_page_values(user, tenant_id, snapshot, "licenses"), license=detail,
                   errors=errors or [], form=form)


@router.get("/tenants/{tenant_id}/licenses/{license_id}/edit")
async def edit_license(tenant_id: str, license_id: str, request: Request) -> Response:
    user = await _user(request, tenant_id)
    key_hash = await license_key_hash(context_of(request), tenant_id, license_id)
    return await _edit_page(request, user, tenant_id, key_hash)


@router.post("/tenants/{tenant_id}/licenses/{license_id}/edit/save")
async def save_license(tenant_id: str, license_id: str, request: Request) -> Response:
    """The fields that differ from the license's current terms go into the PATCH body."""
    user, form = await _post(request, tenant_id)
    context = context_of(request)
    key_hash = await license_key_hash(context, tenant_id, license_id)
    current = await context.hosts.licenses.get(license_cases.GetLicense(key_hash, tenant_id))
    fields: dict[str, Any] = {}
    limit = _whole(form.get("activation_limit"))
    if limit is not None and limit != current["activation_limit"]:
        fields["activation_limit"] = limit
    expires = _blank_none(form.get("expires_at", "")[:64])
    if expires != _blank_none(current["expires_at"]):
        fields["expires_at"] = expires
    email = _blank_none(form.get("customer_email", "")[:320])
    if email != current["customer_email"]:
        fields["customer_email"] = email
    if not fields:
        return RedirectResponse(_tenant_url(tenant_id, "licenses", license_id),
                                status_code=303)
    try:
        body = ChangeLicense(**fields)
        await edit_license_for(context, user.actor, tenant_id, key_hash, body)
    except ValidationError as error:
        return await _edit_page(request, user, tenant_id, key_hash, 400, _problems(error), form)
    except DomainError as error:
        return await _edit_page(request, user, tenant_id, key_hash,
                                STATUS_BY_ERROR.get(type(error), 500), [error.message], form)
    return RedirectResponse(_tenant_url(tenant_id, "licenses", license_id) + "?done=edited",
                            status_code=303)
