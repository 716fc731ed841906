"""Tenant routes for outbound webhooks: the endpoint, its secret, and the deliveries log."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field, StrictBool, StrictStr

from ...actors.license_view import iso_time
from ...domain.errors import InvalidInput, NotFound
from ...domain.webhook_events import toggles_from
from ...domain.webhook_retry import STATUSES
from ...services import webhooks as webhook_cases
from ...store.webhook_deliveries import attempts_of, list_deliveries, load_delivery
from ...store.webhook_endpoints import load_endpoint
from ..auth import require_tenant
from ..ingress_context import context_of
from ..pagination import decode_cursor, encode_cursor
from ..ports import StoreWebhookWork
from ..types import Body

router = APIRouter(prefix="/api/{tenant_id}", tags=["webhooks"])

EventName = Annotated[StrictStr, Field(max_length=64)]


class SetWebhook(Body):
    url: Annotated[StrictStr, Field(min_length=1, max_length=2048)]
    # Toggles over the defaults ({"license.activated": true}), or the list of events wanted.
    events: dict[EventName, StrictBool] | list[EventName] | None = None


def _endpoint_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": row["url"],
        "events": toggles_from(row["enabled_events"]),
        "previous_secret_signs_until": iso_time(row["previous_secret_until"]),
        "created_at": iso_time(row["created_at"]),
        "updated_at": iso_time(row["updated_at"]),
    }


@router.put("/webhook", responses={201: {"description": "created; the answer carries the "
                                                     "signing secret, this once"}})
async def set_webhook(tenant_id: str, body: SetWebhook, request: Request,
                      response: Response) -> dict[str, Any]:
    """Set the webhook URL and which events it receives. The first call creates the endpoint
    (201) and answers its signing secret, once; later calls keep the secret (200)."""
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    async with StoreWebhookWork.of(services) as uow:
        endpoint = await webhook_cases.set_webhook_endpoint(
            webhook_cases.SetWebhookEndpoint(tenant_id, body.url, body.events, caller.actor), uow)
    async with services.pool.connection() as conn:
        row = await load_endpoint(conn, tenant_id)
    assert row is not None
    response.status_code = 201 if endpoint.created else 200
    answer = {"tenant_id": tenant_id, **_endpoint_view(row)}
    if endpoint.secret is not None:
        answer["secret"] = endpoint.secret
    return answer


@router.get("/webhook")
async def get_webhook(tenant_id: str, request: Request) -> dict[str, Any]:
    """The endpoint's URL and events (never its secret)."""
    services = context_of(request)
    await require_tenant(request, services, tenant_id)
    async with services.pool.connection() as conn:
        row = await load_endpoint(conn, tenant_id)
    if row is None:
        raise NotFound("this tenant has no webhook endpoint", code="WEBHOOK_NOT_FOUND")
    return {"tenant_id": tenant_id, **_endpoint_view(row)}


@router.post("/webhook/rotate-secret")
async def rotate_webhook_secret(tenant_id: str, request: Request) -> dict[str, Any]:
    """A new signing secret, answered once; the old one still signs, as a second signature,
    for 24 hours."""
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    async with StoreWebhookWork.of(services) as uow:
        rotated = await webhook_cases.rotate_webhook_secret(
            webhook_cases.RotateWebhookSecret(tenant_id, caller.actor), uow)
    return {"tenant_id": tenant_id, "secret": rotated.secret,
            "previous_secret_signs_until": iso_time(rotated.previous_secret_signs_until)}


def _delivery_view(row: dict[str, Any], attempts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "delivery_id": row["delivery_id"],
        "event_id": row["event_id"],
        "event": row["event_type"],
        "url": row["url"],
        "status": row["status"],
        "in_flight": row["in_flight"],
        "attempt_count": row["attempt_count"],
        "last_http_status": row["last_http_status"],
        "last_response_snippet": row["last_response_snippet"],
        "last_error": row["last_error"],
        "next_attempt_at": None if row["in_flight"] else iso_time(row["next_attempt_at"]),
        "delivered_at": iso_time(row["delivered_at"]),
        "created_at": iso_time(row["created_at"]),
        "attempts": [
            {
                "attempt": item["attempt_number"],
                "url": item["url"],
                "started_at": iso_time(int(item["started_at"])),
                "duration_ms": item["duration_ms"],
                "http_status": item["http_status"],
                "response_snippet": item["response_snippet"],
                "error": item["error"],
            }
            for item in attempts
        ],
    }


@router.get("/deliveries")
async def list_webhook_deliveries(
    tenant_id: str,
    request: Request,
    status: Annotated[str | None, Query(max_length=16)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The deliveries log, newest first, each with its attempts."""
    services = context_of(request)
    await require_tenant(request, services, tenant_id)
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    after = decode_cursor(cursor)
    async with services.pool.connection() as conn:
        rows = await list_deliveries(conn, tenant_id, status=status, after=after,
                                     limit=limit + 1)
        page, more = rows[:limit], len(rows) > limit
        attempts = await attempts_of(conn, [row["delivery_id"] for row in page])
    return {
        "data": [_delivery_view(row, attempts[row["delivery_id"]]) for row in page],
        "next_cursor": encode_cursor(page[-1]["created_us"], page[-1]["delivery_id"])
        if more else None,
    }


def _delivery_uuid(delivery_id: str) -> str:
    try:
        return str(uuid.UUID(delivery_id))
    except ValueError:
        raise NotFound("delivery not found", code="DELIVERY_NOT_FOUND") from None


@router.get("/deliveries/{delivery_id}")
async def get_webhook_delivery(tenant_id: str, delivery_id: str, request: Request
                               ) -> dict[str, Any]:
    services = context_of(request)
    await require_tenant(request, services, tenant_id)
    wanted = _delivery_uuid(delivery_id)
    async with services.pool.connection() as conn:
        row = await load_delivery(conn, tenant_id, wanted)
        if row is None:
            raise NotFound("delivery not found", code="DELIVERY_NOT_FOUND")
        attempts = await attempts_of(conn, [wanted])
    return _delivery_view(row, attempts[wanted])


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202)
async def redeliver_webhook(tenant_id: str, delivery_id: str, request: Request
                            ) -> dict[str, Any]:
    """Send the delivery again now, with the same id and body (a delivered or failed one
    gets a new round of attempts with the full retry schedule)."""
    services = context_of(request)
    caller = await require_tenant(request, services, tenant_id)
    wanted = _delivery_uuid(delivery_id)
    async with StoreWebhookWork.of(services) as uow:
        await webhook_cases.redeliver_webhook(
            webhook_cases.RedeliverWebhook(tenant_id, wanted, caller.actor), uow)
    async with services.pool.connection() as conn:
        row = await load_delivery(conn, tenant_id, wanted)
        assert row is not None
        attempts = await attempts_of(conn, [wanted])
    return _delivery_view(row, attempts[wanted])
