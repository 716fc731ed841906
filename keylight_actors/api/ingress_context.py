"""The ingress's dependencies: what an ingress replica holds (settings, a pool, the host
clients, the Stripe gateway, caches), built once per replica and reached from a request
by ``context_of``; ``api/ports.py`` lends them to the use cases no host runs."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from fastapi import Request
from psycopg_pool import AsyncConnectionPool

from ..actors.expiry_sweeper import get_or_create_sweepers
from ..actors.host_pool import Hosts
from ..actors.webhook_dispatcher import get_or_create_dispatchers
from ..domain.guess_guard import GuardPolicy, GuessGuard
from ..domain.write_throttle import WriteThrottle
from ..integrations.stripe_gateway import StripeGateway
from ..settings import Settings
from ..store.database import open_pool
from ..store.encryption import SecretSealer, sealer_for
from ..store.operator import ensure_operator_token, operator_token_hash
from ..store.signing_keys import SigningKeyring
from ..store.tenants import manual_stripe_secrets
from .middleware.access_log import AccessLog
from .sdk_quota_leases import SdkQuotaLeases
from .signed_configs import SignedConfigs
from .tenant_directory import TenantDirectory

log = logging.getLogger(__name__)

OPERATOR_TOKEN_REFRESH_SECONDS = 5.0
KEYLESS_WRITE_INTERVAL_SECONDS = 6 * 3600


@dataclass
class IngressContext:
    settings: Settings
    pool: AsyncConnectionPool
    hosts: Hosts
    tenants: TenantDirectory
    keyring: SigningKeyring
    keyless_throttle: WriteThrottle
    sealer: SecretSealer
    stripe: StripeGateway
    guess_guard: GuessGuard
    sdk_quota: SdkQuotaLeases
    access_log: AccessLog | None = None  # None: no per-request lines (log level above INFO)
    signed_configs: SignedConfigs = field(default_factory=SignedConfigs)
    _operator_hash: str | None = None
    _operator_checked_at: float = 0.0

    @classmethod
    async def start(cls, settings: Settings) -> IngressContext:
        # The schema is migrated once per start, before the app is built (server.py,
        # serve_app.py: prepare_database), not again by every replica.
        assert settings.database_url, "the ingress needs a resolved database URL"
        generated = await asyncio.to_thread(
            ensure_operator_token, settings.database_url, settings.admin_token
        )
        if generated:
            # Never into logs: `keylight serve` and serve_app print a generated token once.
            log.warning("no operator token existed and one was generated here; set "
                        "KEYLIGHT_ADMIN_TOKEN and restart to choose it")
        pool = await open_pool(settings.database_url, max_size=settings.db_pool_size)
        hosts = Hosts(settings)
        get_or_create_dispatchers(settings)  # detached: they outlive this replica
        get_or_create_sweepers(settings)  # likewise (actors/expiry_sweeper.py)

        async def pool_source() -> AsyncConnectionPool:
            return pool

        assert settings.master_key, "the ingress needs the resolved master key"
        sealer = sealer_for(settings.master_key)
        keyring = SigningKeyring(pool_source, sealer)
        return cls(
            settings,
            pool,
            hosts,
            TenantDirectory(hosts.tenants, settings.tenant_cache_seconds),
            keyring,
            WriteThrottle(KEYLESS_WRITE_INTERVAL_SECONDS),
            sealer,
            StripeGateway(settings.stripe_api_base),
            GuessGuard(GuardPolicy(
                failures_per_address=settings.lookup_failures_per_address,
                lockout_seconds=settings.lookup_lockout_seconds)),
            SdkQuotaLeases(hosts.tenants),
            AccessLog.in_ray_logs_dir()
            if logging.getLevelName(settings.log_level) <= logging.INFO else None,
        )

    async def operator_hash(self) -> str | None:
        now = time.monotonic()
        if self._operator_hash is None or now - self._operator_checked_at > (
            OPERATOR_TOKEN_REFRESH_SECONDS
        ):
            async with self.pool.connection() as conn:
                self._operator_hash = await operator_token_hash(conn)
            self._operator_checked_at = now
        return self._operator_hash

    async def manual_stripe_secrets(self, tenant_id: str) -> tuple[str, str] | None:
        """A manual-mode tenant's (secret key, webhook secret), decrypted."""
        async with self.pool.connection() as conn:
            sealed = await manual_stripe_secrets(conn, tenant_id)
        if sealed is None:
            return None
        return self.sealer.unseal(sealed[0]).decode(), self.sealer.unseal(sealed[1]).decode()


def context_of(request: Request) -> IngressContext:
    """This ingress replica's dependencies, from a request to its app."""
    return request.app.state.services  # type: ignore[no-any-return]
