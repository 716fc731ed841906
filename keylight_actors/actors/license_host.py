"""The host of LicenseEntities, keyed by the license key's hash: it runs the license use
cases (services/activation.py, licenses.py, payments.py) in its unit of work.

A license saved alone with its events (the SDK's changes) is one row of its group's save
statement (``store.licenses.save_licenses``); a change with rows or audit entries beside
it (the management API's, Stripe's) is a transaction of its own within the group.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from ..domain.errors import Conflict, NotFound, Unprocessable
from ..domain.license import LicenseEntity
from ..services import activation, licenses, payments
from ..services.activation import Activate, Activated, Activation, Validate, Validated, Validation
from ..services.unit_of_work import (
    LicenseAdded,
    LicenseDetailsChanged,
    RenewalRecorded,
    StripeEventProcessed,
)
from ..settings import Settings
from ..store.audit import record_audit
from ..store.encryption import sealer_for
from ..store.events import insert_event
from ..store.licenses import (
    LicenseSave,
    insert_license,
    load_licenses,
    save_license,
    save_licenses,
    update_license_details,
)
from ..store.renewals import record_renewal
from ..store.signing_keys import SigningKeyring
from ..store.stripe_events import mark_processed
from .entity_host import CHANGE, QUERY, EntityHost, HostUnitOfWork, Route
from .group_commit import BatchedWrite, GroupWrite
from .resident_license import devices_in, pack_license, unpack_license
from .sdk_operations import LeaseSigner


class LicenseHost(EntityHost[LicenseEntity]):
    kind = "license"

    def __init__(self, settings: Settings, name: str) -> None:
        super().__init__(settings, name)
        assert settings.master_key, "hosts need the resolved master key"
        self.signer = LeaseSigner(SigningKeyring(self.pool, sealer_for(settings.master_key)))

    def use_cases(self) -> dict[type, Route]:
        return {
            Activate: (activation.activate, CHANGE, self._activation),
            Validate: (activation.validate, CHANGE, self._validation),
            activation.Deactivate: (activation.deactivate, CHANGE),
            licenses.GetLicense: (licenses.get_license, QUERY),
            licenses.RevokeLicense: (licenses.revoke_license, CHANGE),
            licenses.RemintLicense: (licenses.remint_license, CHANGE),
            licenses.FreeSeat: (licenses.free_seat, CHANGE),
            licenses.EditLicense: (licenses.edit_license, CHANGE),
            licenses.SuspendLicense: (licenses.suspend_license, CHANGE),
            licenses.ReinstateLicense: (licenses.reinstate_license, CHANGE),
            licenses.ExpireLicense: (licenses.expire_license, CHANGE),
            payments.RevokeForRefund: (payments.revoke_for_refund, CHANGE),
            payments.CloseDispute: (payments.close_dispute, CHANGE),
            payments.RenewForInvoice: (payments.renew_for_invoice, CHANGE),
            payments.ExpireForCancellation: (payments.expire_for_cancellation, CHANGE),
        }

    async def stats(self) -> dict[str, Any]:
        # Devices are most of a busy license's memory: the bench reads this beside the RSS.
        devices = sum(devices_in(packed) for packed in self.cache.entities())
        return {**await super().stats(), "devices": devices}

    async def load_many(self, conn: AsyncConnection, entity_ids: list[str]
                        ) -> dict[str, LicenseEntity]:
        return await load_licenses(conn, entity_ids)

    def resident(self, license_: LicenseEntity) -> bytes:
        return pack_license(license_)

    def revived(self, key_hash: str, packed: bytes) -> LicenseEntity:
        return unpack_license(key_hash, packed)

    def draft_of(self, current: LicenseEntity) -> LicenseEntity:
        # Revived from its packed form for this call alone: already a copy of its own.
        return current

    def not_found(self, entity_id: str) -> NotFound:
        return activation.license_not_found()

    def write_of(self, uow: HostUnitOfWork[LicenseEntity], old_version: int) -> GroupWrite:
        license_ = uow.entity
        if not uow.records and not uow.audits:
            return BatchedWrite(save_licenses,
                                LicenseSave(license_, old_version, uow.events, uow.now))

        async def write(conn: AsyncConnection) -> None:
            # The Stripe event's claim first: an event already acted on writes nothing.
            for row in uow.records:
                if isinstance(row, StripeEventProcessed):
                    await mark_processed(conn, row.event_id, license_.tenant_id)
            if uow.saved:
                await save_license(conn, license_, old_version)
            for row in uow.records:
                if isinstance(row, LicenseAdded):
                    # The answer shows created_at as stored (the database clock), as later
                    # reads do.
                    row.license.created_at = await insert_license(
                        conn, row.license, source=row.source,
                        checkout_session_id=row.checkout_session_id,
                        stripe_ids=dict(row.stripe_ids))
                elif isinstance(row, LicenseDetailsChanged):
                    await update_license_details(
                        conn, row.license_id, customer_email=row.customer_email,
                        set_email=row.set_email, metadata=row.metadata,
                        set_metadata=row.set_metadata)
                elif isinstance(row, RenewalRecorded):
                    if not await record_renewal(conn, row.invoice_id, row.license_id,
                                                row.expires_at):
                        raise Conflict("this invoice already renewed the license",
                                       code="INVOICE_ALREADY_APPLIED")
                elif not isinstance(row, StripeEventProcessed):
                    raise TypeError(f"a license host cannot write {type(row).__name__}")
            for event in uow.events:
                await insert_event(conn, event, uow.now)
            for entry in uow.audits:
                await record_audit(conn, entry)

        return write

    # -- the SDK's answers, after the commit: the signed lease ------------------------------

    async def _activation(self, command: Activate, activated: Activated) -> Activation:
        if activated.instance_id is None:
            raise Unprocessable("License has expired", code="LICENSE_EXPIRED")
        license_ = activated.license
        lease = await self.signer.lease(license_, activated.instance_id, command.kid,
                                        activated.at, status=activation.ACTIVE)
        return Activation(activated.instance_id, lease, license_.expires_at)

    async def _validation(self, command: Validate, validated: Validated) -> Validation:
        license_ = validated.license
        lease = await self.signer.lease(license_, validated.instance_id, command.kid,
                                        validated.at, status=validated.status)
        return Validation(validated.status == activation.ACTIVE, lease, license_.expires_at)
