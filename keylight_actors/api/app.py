"""The FastAPI application an ingress replica serves."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from ..dashboard import pages_catalog, pages_import, pages_operator
from ..dashboard import pages_settings as dashboard_settings
from ..dashboard import routes as dashboard
from .errors import DOCUMENTED_ERRORS, install_error_handlers
from .held_retry import held_retry
from .ingress_context import IngressContext
from .middleware.idempotency import IdempotencyReplay
from .middleware.request_guard import RequestGuard
from .middleware.request_log import RequestLog
from .middleware.sdk_fast_path import SdkFastPath
from .ports import IngressStripeInbox
from .routes import (
    admin,
    catalog_reads,
    checkout,
    credentials,
    health,
    license_import,
    management,
    reports,
    sdk,
    stripe_webhooks,
    webhooks,
)


def create_app(services: IngressContext) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Serve runs it when the replica starts and when it stops: the timer that applies
        # Stripe events held for a license that exists now (api/held_retry.py).
        async with held_retry(IngressStripeInbox(services),
                              services.settings.held_retry_seconds):
            yield

    app = FastAPI(
        lifespan=lifespan,
        title="Keylight on Ray",
        version="0.1.0",
        description="Multi-tenant software licensing, wire-compatible with the Keylight SDKs.",
        responses=DOCUMENTED_ERRORS,
        # No OpenTelemetry here: FastAPI would otherwise look for providers (reading the
        # environment) on every request. Older FastAPI keeps the argument as an extra.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = services
    install_error_handlers(app)
    # The SDK routes first: they carry nearly all traffic, and routing tries routers in
    # order. No other route has three segments ending in an SDK verb with the same method, so
    # none is shadowed.
    app.include_router(sdk.router)
    app.include_router(health.router)
    app.include_router(admin.router)
    # Before management's /licenses/{license_id}, which would take export.csv or import for
    # a license id.
    app.include_router(reports.router)
    app.include_router(catalog_reads.router)
    app.include_router(license_import.router)
    app.include_router(management.router)
    app.include_router(checkout.router)
    app.include_router(credentials.router)
    app.include_router(stripe_webhooks.router)
    app.include_router(webhooks.router)
    app.include_router(pages_import.router)  # before …/licenses/{license_id}
    app.include_router(pages_catalog.router)  # export.csv, too; product moves, key type edits
    app.include_router(pages_operator.router)
    app.include_router(dashboard.router)  # /dashboard: the vendor dashboard's pages
    app.include_router(dashboard_settings.router)  # webhooks, integrations, audit
    app.add_middleware(SdkFastPath, services_of_app=lambda: app.state.services,
                       routes=sdk.fast_routes)
    app.add_middleware(IdempotencyReplay, services_of_app=lambda: app.state.services)
    app.add_middleware(RequestGuard)
    app.add_middleware(RequestLog, access_log=services.access_log if services else None)
    return app
