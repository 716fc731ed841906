"""The host of LicenseEntities, keyed by the license key's hash."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

from ..domain.errors import NotFound
from ..domain.license import LicenseEntity
from ..store.audit import AuditEntry, record_audit
from ..store.licenses import insert_license, load_license, save_license
from .entity_host import EntityHost, Handler, now_seconds
from .license_view import instance_view, license_view


class LicenseHost(EntityHost[LicenseEntity]):
    kind = "license"

    def handlers(self) -> dict[str, Handler]:
        return {
            "get": self.get,
            "revoke": self.revoke,
            "remint": self.remint,
            "deactivate_instance": self.deactivate_instance,
            "activate": self.activate,
        }

    async def load(self, conn: AsyncConnection, entity_id: str) -> LicenseEntity | None:
        return await load_license(conn, entity_id)

    def not_found(self, entity_id: str) -> NotFound:
        return NotFound("license not found", code="LICENSE_NOT_FOUND")

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
        def apply(draft: LicenseEntity) -> tuple[dict[str, Any], bool]:
            changed = draft.revoke()
            return license_view(draft, with_instances=True), changed

        return await self._audited_change(key_hash, tenant_id, "license.revoke", actor, apply)

    async def remint(
        self, key_hash: str, *, tenant_id: str, key_prefix: str, actor: str
    ) -> dict[str, Any]:
        now = now_seconds()
        successors: list[LicenseEntity] = []

        def apply(draft: LicenseEntity) -> tuple[dict[str, Any], bool]:
            successor, raw_key = draft.remint(
                new_license_id=str(uuid.uuid4()), key_prefix=key_prefix, now=now
            )
            successors.append(successor)
            return {**license_view(successor), "key": raw_key}, True

        async def insert_successor(conn: AsyncConnection) -> None:
            await insert_license(conn, successors[-1], source="remint")

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
