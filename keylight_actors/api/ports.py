"""The ingress's side of the use cases' interfaces that no entity host provides.

Each class implements a ``Protocol`` of ``services/`` with what an ingress replica holds
(the pool, the sealer, the host clients, the Stripe gateway): every method is one named
store write or read, or one host or gateway call, and decides nothing. The use cases that
run on them are the plain store writes (webhook endpoint settings, keyless installs, the
guess guard's audit rows) and the orchestrations of payments (checkout, Stripe prices, the
Stripe event inbox).
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import TYPE_CHECKING, Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from ..domain.audit import AuditEntry
from ..domain.guess_guard import GuessGuard
from ..domain.write_throttle import WriteThrottle
from ..integrations.stripe_gateway import StripeGateway
from ..integrations.webhook_signing import generate_secret
from ..integrations.webhook_targets import checked_target
from ..services.licenses import GetLicense
from ..services.payments import (
    AuthorizeCheckout,
    CheckoutMint,
    CheckoutTerms,
    CloseDispute,
    ExpireForCancellation,
    MintFromCheckout,
    RenewForInvoice,
    RevokeForRefund,
)
from ..services.tenants import TenantSnapshot
from ..store.audit import record_audit
from ..store.checkout_sessions import insert_checkout_session
from ..store.encryption import SecretSealer
from ..store.keyless import link_keyless_instance, record_keyless_instance
from ..store.licenses import key_hash_for_stripe
from ..store.stripe_events import (
    held_events,
    hold,
    mark_outcome,
    orphaned_held_events,
    record_received,
)
from ..store.tenants import tenant_for_stripe_account
from ..store.webhook_deliveries import redeliver
from ..store.webhook_endpoints import rotate_secret, save_endpoint

if TYPE_CHECKING:
    from .ingress_context import IngressContext


class PoolUnitOfWork:
    """A plain store unit of work: one transaction, opened at its first write, in which the
    audit entries are written last; left without an error, it commits, else rolls back."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._stack = contextlib.AsyncExitStack()
        self._conn: AsyncConnection | None = None
        self._audits: list[AuditEntry] = []

    async def __aenter__(self) -> PoolUnitOfWork:
        await self._stack.__aenter__()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> bool | None:
        if kind is None and self._audits:
            conn = await self.connection()
            for entry in self._audits:
                await record_audit(conn, entry)
        return await self._stack.__aexit__(kind, error, trace)

    async def connection(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self._stack.enter_async_context(self._pool.connection())
            await self._stack.enter_async_context(conn.transaction())
            self._conn = conn
        return self._conn

    def audit(self, entry: AuditEntry) -> None:
        self._audits.append(entry)


class StoreWebhookWork(PoolUnitOfWork):
    """``services.webhooks.WebhookUnitOfWork`` on the webhook tables."""

    def __init__(self, pool: AsyncConnectionPool, sealer: SecretSealer, *,
                 allow_private: bool) -> None:
        super().__init__(pool)
        self._sealer = sealer
        self._allow_private = allow_private

    @classmethod
    def of(cls, services: IngressContext) -> StoreWebhookWork:
        return cls(services.pool, services.sealer,
                   allow_private=services.settings.allow_private_webhook_urls)

    async def check_target(self, url: str) -> None:
        await checked_target(url, allow_private=self._allow_private)

    def new_secret(self) -> str:
        return generate_secret()

    async def save_endpoint(self, tenant_id: str, url: str, events: list[str],
                            secret: str) -> bool:
        return await save_endpoint(await self.connection(), tenant_id, url, events,
                                   self._sealer.seal(secret.encode()))

    async def rotate_secret(self, tenant_id: str, secret: str, overlap_seconds: int
                            ) -> int | None:
        return await rotate_secret(await self.connection(), tenant_id,
                                   self._sealer.seal(secret.encode()), overlap_seconds)

    async def redeliver(self, tenant_id: str, delivery_id: str) -> bool:
        return await redeliver(await self.connection(), tenant_id, delivery_id)



class IngressPayments:
    """``services.checkout.PaymentsPorts``: the tenant host's client, the Stripe gateway,
    the sealed manual-mode keys and the checkout sessions table of this replica."""

    def __init__(self, services: IngressContext) -> None:
        self._services = services

    @property
    def stripe(self) -> StripeGateway:
        return self._services.stripe

    @property
    def platform_secret_key(self) -> str | None:
        return self._services.settings.stripe_secret_key

    @property
    def platform_fee_bps(self) -> int:
        return self._services.settings.platform_fee_bps

    async def authorize_checkout(self, command: AuthorizeCheckout) -> CheckoutTerms:
        return await self._services.hosts.tenants.authorize_checkout(command)

    async def manual_secret_key(self, tenant_id: str) -> str | None:
        secrets = await self._services.manual_stripe_secrets(tenant_id)
        return None if secrets is None else secrets[0]

    async def record_checkout_session(self, session_id: str, tenant_id: str, product_id: str,
                                      key_type_id: str, customer_email: str | None) -> None:
        async with self._services.pool.connection() as conn, conn.transaction():
            await insert_checkout_session(conn, session_id, tenant_id, product_id,
                                          key_type_id, customer_email)


class IngressStripeInbox:
    """``services.stripe_inbox.StripeInboxPorts``: the ``stripe_events`` table, the
    lookups from Stripe's ids to ours, and the payment use cases on the hosts."""

    def __init__(self, services: IngressContext) -> None:
        self._services = services

    async def keep(self, event: dict[str, Any], *, endpoint: str, tenant_id: str | None
                   ) -> str:
        async with self._services.pool.connection() as conn, conn.transaction():
            return await record_received(conn, event, endpoint=endpoint, tenant_id=tenant_id)

    async def mark_outcome(self, event_id: str, status: str, reason: str | None,
                           tenant_id: str | None) -> None:
        async with self._services.pool.connection() as conn, conn.transaction():
            await mark_outcome(conn, event_id, status, reason, tenant_id)

    async def hold(self, event_id: str, reason: str, tenant_id: str, awaits: str) -> None:
        async with self._services.pool.connection() as conn, conn.transaction():
            await hold(conn, event_id, reason, tenant_id, awaits)

    async def held_events(self, tenant_id: str, awaits: list[str]) -> list[dict[str, Any]]:
        async with self._services.pool.connection() as conn:
            return await held_events(conn, tenant_id, awaits)

    async def orphaned_held_events(self, limit: int) -> list[dict[str, Any]]:
        async with self._services.pool.connection() as conn:
            return await orphaned_held_events(conn, limit)

    async def tenant_for_account(self, account: str) -> str | None:
        async with self._services.pool.connection() as conn:
            return await tenant_for_stripe_account(conn, account)

    async def license_bought_with(self, tenant_id: str, *, payment_intent: str | None = None,
                                  subscription: str | None = None) -> str | None:
        async with self._services.pool.connection() as conn:
            return await key_hash_for_stripe(conn, tenant_id, payment_intent=payment_intent,
                                             subscription=subscription)

    async def tenant(self, tenant_id: str) -> TenantSnapshot:
        return await self._services.tenants.snapshot(tenant_id)

    async def license(self, command: GetLicense) -> dict[str, Any]:
        return await self._services.hosts.licenses.get(command)

    async def mint_from_checkout(self, command: MintFromCheckout) -> CheckoutMint:
        return await self._services.hosts.tenants.mint_from_checkout(command)

    async def revoke_for_refund(self, command: RevokeForRefund) -> Any:
        return await self._services.hosts.licenses.revoke_for_refund(command)

    async def close_dispute(self, command: CloseDispute) -> Any:
        return await self._services.hosts.licenses.close_dispute(command)

    async def renew_for_invoice(self, command: RenewForInvoice) -> Any:
        return await self._services.hosts.licenses.renew_for_invoice(command)

    async def expire_for_cancellation(self, command: ExpireForCancellation) -> Any:
        return await self._services.hosts.licenses.expire_for_cancellation(command)


class IngressKeyless:
    """``services.keyless.KeylessUnitOfWork``: ``keyless_instances``, one row per call,
    and this replica's write throttle."""

    def __init__(self, services: IngressContext) -> None:
        self._services = services

    @property
    def throttle(self) -> WriteThrottle:
        return self._services.keyless_throttle

    async def record_install(self, tenant_id: str, product_id: str, instance_id: str,
                             state: str, machine_hash: str) -> None:
        async with self._services.pool.connection() as conn, conn.transaction():
            await record_keyless_instance(conn, tenant_id, product_id, instance_id, state,
                                          machine_hash)

    async def link_install(self, tenant_id: str, product_id: str, instance_id: str,
                           key_hash: str) -> bool:
        async with self._services.pool.connection() as conn, conn.transaction():
            return await link_keyless_instance(conn, tenant_id, product_id, instance_id,
                                               key_hash)


class IngressLookupGuard:
    """``services.lookup_guard.LookupGuardPorts``: this replica's guess guard, the audit log."""

    def __init__(self, services: IngressContext) -> None:
        self._services = services

    @property
    def guard(self) -> GuessGuard:
        return self._services.guess_guard

    async def write_audit(self, entry: AuditEntry) -> None:
        async with self._services.pool.connection() as conn, conn.transaction():
            await record_audit(conn, entry)
