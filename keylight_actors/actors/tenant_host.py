"""The host of TenantEntities: it runs the tenant use cases (services/) in its unit of work.

Each typed command (actors/tenant_messages.py) names its use case here; ``write_of`` says
how a unit of work's records become SQL, in the one transaction of its commit.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from ..domain.errors import NotFound
from ..domain.tenant import TenantEntity
from ..services import catalog, credentials, licenses, payments, tenants
from ..services.unit_of_work import (
    KeyTypeSaved,
    LicenseAdded,
    ManualStripeSecrets,
    ProductAdded,
    ProductChanged,
    SigningKeyAdded,
    SigningKeysChanged,
    StripeEventProcessed,
)
from ..settings import Settings
from ..store import tenants as tenant_rows
from ..store.audit import record_audit
from ..store.encryption import sealer_for
from ..store.events import insert_event
from ..store.licenses import insert_license, license_for_session
from ..store.stripe_events import mark_processed
from .entity_host import (
    CHANGE,
    CREATE,
    QUERY,
    EntityHost,
    HostUnitOfWork,
    UseCase,
    now_seconds,
)
from .group_commit import GroupWrite


class TenantUnitOfWork(HostUnitOfWork[TenantEntity]):
    __slots__ = ()

    async def license_for_session(self, session_id: str) -> str | None:
        pool = await self._host.pool()
        async with pool.connection() as conn:
            return await license_for_session(conn, session_id)


class TenantHost(EntityHost[TenantEntity]):
    kind = "tenant"

    def __init__(self, settings: Settings, name: str) -> None:
        super().__init__(settings, name)
        assert settings.master_key, "hosts need the resolved master key"
        self._sealer = sealer_for(settings.master_key)

    def use_cases(self) -> dict[type, tuple[UseCase, str]]:
        return {
            tenants.CreateTenant: (tenants.create_tenant, CREATE),
            tenants.GetSnapshot: (tenants.snapshot, QUERY),
            tenants.SetLifecycle: (tenants.set_lifecycle, CHANGE),
            tenants.ConnectStripe: (tenants.connect_stripe, CHANGE),
            tenants.SetSdkQuota: (tenants.set_sdk_quota, CHANGE),
            tenants.LeaseSdkTokens: (tenants.lease_sdk_tokens, QUERY),
            catalog.CreateProduct: (catalog.create_product, CHANGE),
            catalog.UpdateProduct: (catalog.update_product, CHANGE),
            catalog.CreateKeyType: (catalog.create_key_type, CHANGE),
            catalog.UpdateKeyType: (catalog.update_key_type, CHANGE),
            licenses.MintLicense: (licenses.mint_license, CHANGE),
            payments.AuthorizeCheckout: (payments.authorize_checkout, QUERY),
            payments.SetManualStripe: (payments.set_manual_stripe, CHANGE),
            payments.MintFromCheckout: (payments.mint_from_checkout, CHANGE),
            credentials.RotateCredential: (credentials.rotate_credential, CHANGE),
            credentials.RemoveSdkKey: (credentials.remove_sdk_key, CHANGE),
            credentials.RotateSigningKey: (credentials.rotate_signing_key, CHANGE),
            credentials.RetireSigningKey: (credentials.retire_signing_key, CHANGE),
        }

    def unit_of_work(self, entity_id: str, entity: TenantEntity | None, *, writable: bool
                     ) -> TenantUnitOfWork:
        return TenantUnitOfWork(self, entity_id, entity, writable=writable)

    async def load(self, conn: AsyncConnection, entity_id: str) -> TenantEntity | None:
        return await tenant_rows.load_tenant(conn, entity_id, now_seconds())

    def not_found(self, entity_id: str) -> NotFound:
        return NotFound(f"unknown tenant {entity_id!r}", code="TENANT_NOT_FOUND")

    def write_of(self, uow: HostUnitOfWork[TenantEntity], old_version: int) -> GroupWrite:
        sealer = self._sealer

        async def write(conn: AsyncConnection) -> None:
            tenant = uow.entity
            # The Stripe event's claim first: an event already acted on writes nothing.
            for row in uow.records:
                if isinstance(row, StripeEventProcessed):
                    await mark_processed(conn, row.event_id, tenant.tenant_id)
            if uow.created:
                await tenant_rows.insert_tenant(conn, tenant)
            elif uow.saved:
                await tenant_rows.save_tenant(conn, tenant, old_version)
            for row in uow.records:
                if isinstance(row, ProductAdded):
                    await tenant_rows.insert_product(conn, tenant.tenant_id, row.product)
                elif isinstance(row, ProductChanged):
                    await tenant_rows.update_product(conn, tenant.tenant_id, row.product)
                elif isinstance(row, KeyTypeSaved):
                    await tenant_rows.upsert_key_type(conn, tenant.tenant_id, row.key_type)
                elif isinstance(row, SigningKeyAdded):
                    await tenant_rows.insert_signing_key(
                        conn, tenant.tenant_id, row.key, sealer.seal(row.private_key))
                elif isinstance(row, SigningKeysChanged):
                    await tenant_rows.save_signing_keys(conn, tenant)
                elif isinstance(row, ManualStripeSecrets):
                    await tenant_rows.save_manual_stripe_secrets(
                        conn, tenant.tenant_id, sealer.seal(row.secret_key.encode()),
                        sealer.seal(row.webhook_secret.encode()))
                elif isinstance(row, LicenseAdded):
                    # The answer shows created_at as stored (the database clock), as later
                    # reads do.
                    row.license.created_at = await insert_license(
                        conn, row.license, source=row.source,
                        checkout_session_id=row.checkout_session_id,
                        stripe_ids=dict(row.stripe_ids))
                elif not isinstance(row, StripeEventProcessed):
                    raise TypeError(f"a tenant host cannot write {type(row).__name__}")
            for event in uow.events:
                await insert_event(conn, event, uow.now)
            for entry in uow.audits:
                await record_audit(conn, entry)

        return write

