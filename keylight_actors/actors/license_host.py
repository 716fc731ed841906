"""The host of LicenseEntities, keyed by the license key's hash."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

from ..domain.errors import Conflict, NotFound, Unprocessable
from ..domain.license import LicenseEntity, LicenseStatus
from ..settings import Settings
from ..store.audit import AuditEntry, record_audit
from ..store.encryption import SecretSealer, decode_master_key
from ..store.events import OutboundEvent, insert_event
from ..store.licenses import insert_license, load_licenses, save_license
from ..store.renewals import record_renewal
from ..store.signing_keys import SigningKeyring
from ..store.stripe_events import mark_processed
from .entity_host import EntityHost, Handler, now_seconds
from .group_commit import BatchedWrite
from .license_view import instance_view, iso_time, license_view
from .resident_license import devices_in, pack_license, unpack_license
from .sdk_operations import (
    LICENSE_NOT_FOUND,
    LeaseSigner,
    Outcome,
    expired_outcome,
    expiry_event,
    instance_event,
    new_instance_id,
    require_license_for,
    save_with_events,
)


class LicenseHost(EntityHost[LicenseEntity]):
    kind = "license"

    def __init__(self, settings: Settings, name: str) -> None:
        super().__init__(settings, name)
        assert settings.master_key, "hosts need the resolved master key"
        sealer = SecretSealer(decode_master_key(settings.master_key))
        self.signer = LeaseSigner(SigningKeyring(self.pool, sealer))

    def handlers(self) -> dict[str, Handler]:
        return {
            "get": self.get,
            "revoke": self.revoke,
            "remint": self.remint,
            "deactivate_instance": self.deactivate_instance,
            "activate": self.activate,
            "sdk_activate": self.sdk_activate,
            "sdk_validate": self.sdk_validate,
            "sdk_deactivate": self.sdk_deactivate,
            "stripe_revoke": self.stripe_revoke,
            "stripe_renew": self.stripe_renew,
            "stripe_expire": self.stripe_expire,
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
        # One answer for every unknown key, whoever asks (SDK or management API).
        return NotFound(LICENSE_NOT_FOUND, code="LICENSE_NOT_FOUND")

    async def _owned(self, key_hash: str, tenant_id: str) -> LicenseEntity:
        license_ = await self.entity(key_hash)
        if license_.tenant_id != tenant_id:
            raise self.not_found(key_hash)
        return license_

    async def get(self, key_hash: str, *, tenant_id: str) -> dict[str, Any]:
        async with self.cache.gate(key_hash):
            return license_view(await self._owned(key_hash, tenant_id), with_instances=True)

    async def _audited_change(
        self, key_hash: str, tenant_id: str, action: str, actor: str, change: Any,
        extra_persist: Any = None,
    ) -> Any:
        async def persist(conn: AsyncConnection, draft: LicenseEntity, old_version: int) -> None:
            await save_license(conn, draft, old_version)
            if extra_persist is not None:
                await extra_persist(conn)
            await record_audit(conn, AuditEntry(actor, action, tenant_id, draft.license_id))

        return await self.mutate(key_hash, self._for_tenant(tenant_id, change), persist)

    def _for_tenant(self, tenant_id: str, change: Any) -> Any:
        """Another tenant's license answers exactly like one that does not exist."""

        def apply(draft: LicenseEntity) -> Any:
            if draft.tenant_id != tenant_id:
                raise self.not_found(draft.key_hash)
            return change(draft)

        return apply

    async def revoke(self, key_hash: str, *, tenant_id: str, actor: str) -> dict[str, Any]:
        now = now_seconds()
        revoked: list[LicenseEntity] = []

        def apply(draft: LicenseEntity) -> tuple[dict[str, Any], bool]:
            changed = draft.revoke()
            revoked.append(draft)
            return license_view(draft, with_instances=True), changed

        async def announce(conn: AsyncConnection) -> None:
            draft = revoked[-1]
            await insert_event(conn, OutboundEvent(tenant_id, "license.revoked", {
                "license_id": draft.license_id, "product_id": draft.product_id,
                "key_type_id": draft.key_type_id, "reason": "revoked_by_vendor"}), now)

        return await self._audited_change(key_hash, tenant_id, "license.revoke", actor, apply,
                                          announce)

    async def remint(
        self, key_hash: str, *, tenant_id: str, key_prefix: str, actor: str
    ) -> dict[str, Any]:
        now = now_seconds()
        successors: list[tuple[LicenseEntity, dict[str, Any]]] = []

        def apply(draft: LicenseEntity) -> tuple[dict[str, Any], bool]:
            successor, raw_key = draft.remint(
                new_license_id=str(uuid.uuid4()), key_prefix=key_prefix, now=now
            )
            answer = {**license_view(successor), "key": raw_key}
            successors.append((successor, answer))
            return answer, True

        async def insert_successor(conn: AsyncConnection) -> None:
            successor, answer = successors[-1]
            # The answer shows created_at as stored (the database clock), as later reads do.
            answer["created_at"] = iso_time(
                await insert_license(conn, successor, source="remint"))

        return await self._audited_change(
            key_hash, tenant_id, "license.remint", actor, apply, insert_successor
        )

    async def deactivate_instance(
        self, key_hash: str, *, tenant_id: str, instance_id: str, actor: str
    ) -> dict[str, Any]:
        now = now_seconds()

        def apply(draft: LicenseEntity) -> tuple[dict[str, Any], bool]:
            return instance_view(draft.deactivate(instance_id, now)), True

        return await self._audited_change(
            key_hash, tenant_id, "license.instance_deactivate", actor, apply
        )

    async def activate(
        self, key_hash: str, *, tenant_id: str, name: str, machine_hash: str | None
    ) -> dict[str, Any]:
        """Take a seat (the SDK route wraps this with leases and lifecycle checks)."""
        now = now_seconds()

        def apply(draft: LicenseEntity) -> tuple[dict[str, Any], bool]:
            instance, is_new = draft.activate(
                new_instance_id=str(uuid.uuid4()), name=name, machine_hash=machine_hash, now=now
            )
            return {**instance_view(instance), "new": is_new}, is_new

        async def persist(conn: AsyncConnection, draft: LicenseEntity, old_version: int) -> None:
            await save_license(conn, draft, old_version)

        return await self.mutate(key_hash, self._for_tenant(tenant_id, apply), persist)

    # -- the SDK protocol ---------------------------------------------------------------

    async def sdk_activate(
        self, key_hash: str, *, tenant_id: str, product_id: str, name: str,
        machine_hash: str | None, kid: str,
    ) -> dict[str, Any]:
        now = now_seconds()
        kept: list[LicenseEntity] = []

        def apply(draft: LicenseEntity) -> tuple[Outcome, bool]:
            # A revoked key answers as unknown on activation.
            expired = self._usable(draft, tenant_id, product_id, now, kept,
                                   self.not_found(draft.key_hash))
            if expired is not None:
                return expired
            instance, is_new = draft.activate(
                new_instance_id=new_instance_id(), name=name, machine_hash=machine_hash, now=now
            )
            events = (instance_event("license.activated", draft, instance),) if is_new else ()
            return Outcome(instance=instance, events=events), is_new

        outcome = await self._sdk_mutate(key_hash, apply, now)
        license_ = kept[-1]
        if outcome.expired:
            raise Unprocessable("License has expired", code="LICENSE_EXPIRED")
        assert outcome.instance is not None
        return {
            "instance_id": outcome.instance.instance_id,
            "lease": await self.signer.lease(license_, outcome.instance.instance_id, kid, now,
                                             status="active"),
            "license_expires_at": license_.expires_at,  # Unix seconds or None
        }

    async def sdk_validate(
        self, key_hash: str, *, tenant_id: str, product_id: str, instance_id: str,
        machine_hash: str | None, kid: str,
    ) -> dict[str, Any]:
        now = now_seconds()
        kept: list[LicenseEntity] = []

        def apply(draft: LicenseEntity) -> tuple[Outcome, bool]:
            expired = self._usable(draft, tenant_id, product_id, now, kept, Unprocessable(
                "License has been revoked", code="LICENSE_REVOKED"))
            if expired is not None:
                return expired
            instance = draft.instances.get(instance_id)
            if instance is None or (
                machine_hash is not None and instance.machine_hash not in (None, machine_hash)
            ):
                raise Unprocessable("Instance is not active", code="INSTANCE_NOT_ACTIVE")
            return Outcome(instance=instance), False

        def reads_only(current: LicenseEntity) -> bool:
            # Validation writes only to announce an expiry, once.
            return current.expiry_announced or not current.is_expired(now)

        outcome = await self._sdk_mutate(key_hash, apply, now, reads_only=reads_only)
        license_ = kept[-1]
        status = "active"
        if outcome.expired:
            status = "fallback" if license_.fallback_access else "expired"
        return {
            "valid": not outcome.expired,
            "lease": await self.signer.lease(license_, instance_id, kid, now, status=status),
            "license_expires_at": license_.expires_at,  # Unix seconds or None
        }

    async def sdk_deactivate(
        self, key_hash: str, *, tenant_id: str, product_id: str, instance_id: str
    ) -> dict[str, Any]:
        """Free the instance's seat; an instance already inactive answers the same."""
        now = now_seconds()

        def apply(draft: LicenseEntity) -> tuple[Outcome, bool]:
            require_license_for(draft, tenant_id, product_id)
            if instance_id not in draft.instances:
                return Outcome(), False
            instance = draft.deactivate(instance_id, now, by_device=True)
            return Outcome(events=(instance_event("license.deactivated", draft, instance),)), True

        await self._sdk_mutate(key_hash, apply, now)
        return {"deactivated": True}

    @staticmethod
    def _usable(draft: LicenseEntity, tenant_id: str, product_id: str, now: int,
                kept: list[LicenseEntity], refusal: Exception) -> tuple[Outcome, bool] | None:
        """The SDK prologue: the license must be this tenant's and product's and not revoked
        (else ``refusal``); it is kept for the lease; an expired one answers its outcome."""
        require_license_for(draft, tenant_id, product_id)
        if not draft.is_usable:
            raise refusal
        kept.append(draft)
        return expired_outcome(draft, now) if draft.is_expired(now) else None

    async def _sdk_mutate(self, key_hash: str, apply: Any, now: int, *,
                          reads_only: Any = None) -> Outcome:
        outcomes: list[Outcome] = []

        def recording(draft: LicenseEntity) -> tuple[Outcome, bool]:
            outcome, changed = apply(draft)
            outcomes.append(outcome)
            return outcome, changed

        def persist(draft: LicenseEntity, old_version: int) -> BatchedWrite:
            return save_with_events(draft, old_version, outcomes[-1], now)

        return await self.mutate(key_hash, recording, persist_batched=persist,
                                 reads_only=reads_only)

    # -- Stripe's effects on a license -----------------------------------------------

    async def _stripe_change(
        self, key_hash: str, tenant_id: str, event_id: str, action: str,
        change: Any, announce: Any, extra_persist: Any = None,
    ) -> dict[str, Any]:
        """Apply a Stripe-caused change with its event and the event's processed mark."""
        now = now_seconds()
        announcements: list[OutboundEvent | None] = []

        def apply(draft: LicenseEntity) -> tuple[dict[str, Any], bool]:
            announcements.append(announce(draft, change(draft, now)))
            return license_view(draft), True

        async def persist(conn: AsyncConnection, draft: LicenseEntity, old_version: int) -> None:
            await mark_processed(conn, event_id, tenant_id)
            await save_license(conn, draft, old_version)
            if extra_persist is not None:
                await extra_persist(conn, draft)
            if announcements[-1] is not None:
                await insert_event(conn, announcements[-1], now)
            await record_audit(conn, AuditEntry("stripe", action, tenant_id, draft.license_id,
                                                {"event_id": event_id}))

        return await self.mutate(key_hash, self._for_tenant(tenant_id, apply), persist)

    async def stripe_revoke(
        self, key_hash: str, *, tenant_id: str, event_id: str, reason: str
    ) -> dict[str, Any]:
        def change(draft: LicenseEntity, now: int) -> bool:
            return draft.status is LicenseStatus.ACTIVE and draft.revoke()

        def announce(draft: LicenseEntity, changed: bool) -> OutboundEvent | None:
            return OutboundEvent(tenant_id, "license.refunded", {
                "license_id": draft.license_id, "product_id": draft.product_id,
                "reason": reason}) if changed else None

        return await self._stripe_change(key_hash, tenant_id, event_id, "license.refund_revoke",
                                         change, announce)

    async def stripe_renew(
        self, key_hash: str, *, tenant_id: str, event_id: str, invoice_id: str,
        duration_days: int | None,
    ) -> dict[str, Any]:
        def change(draft: LicenseEntity, now: int) -> bool:
            return draft.renew(duration_days)

        def announce(draft: LicenseEntity, changed: bool) -> OutboundEvent | None:
            return OutboundEvent(tenant_id, "subscription.renewed", {
                "license_id": draft.license_id, "product_id": draft.product_id,
                "invoice_id": invoice_id, "expires_at": iso_time(draft.expires_at)})

        async def record_invoice(conn: AsyncConnection, draft: LicenseEntity) -> None:
            if not await record_renewal(conn, invoice_id, draft.license_id, draft.expires_at):
                raise Conflict("this invoice already renewed the license",
                               code="INVOICE_ALREADY_APPLIED")

        return await self._stripe_change(key_hash, tenant_id, event_id, "license.renew",
                                         change, announce, record_invoice)

    async def stripe_expire(self, key_hash: str, *, tenant_id: str, event_id: str
                            ) -> dict[str, Any]:
        def change(draft: LicenseEntity, now: int) -> bool:
            return draft.expire(now)

        def announce(draft: LicenseEntity, announced: bool) -> OutboundEvent | None:
            return expiry_event(draft) if announced else None

        return await self._stripe_change(key_hash, tenant_id, event_id, "license.expire",
                                         change, announce)
