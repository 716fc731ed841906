"""The host of TenantEntities: lifecycle, catalog, credentials and hand mints."""

from __future__ import annotations

import base64
import dataclasses
import time
import uuid
from typing import Any

import psycopg
from nacl.signing import SigningKey
from psycopg import AsyncConnection

from ..domain.catalog import KeyType, Product
from ..domain.credentials import (
    CHECKOUT_KEY_PREFIX,
    MANAGEMENT_TOKEN_PREFIX,
    SDK_KEY_PREFIX,
    generate_credential,
    hash_credential,
)
from ..domain.errors import Forbidden, InvalidInput, NotFound, Unavailable
from ..domain.license import LicenseEntity
from ..domain.license_key import is_valid_key_prefix
from ..domain.lifecycle import Lifecycle, parse_lifecycle
from ..domain.tenant import PublicSigningKey, TenantEntity
from ..settings import Settings
from ..store import tenants as tenant_rows
from ..store.audit import AuditEntry, record_audit
from ..store.conflicts import conflict_from
from ..store.encryption import SecretSealer, decode_master_key
from ..store.events import OutboundEvent, insert_event
from ..store.licenses import insert_license, license_for_session
from ..store.stripe_events import mark_processed
from .entity_host import EntityHost, Handler, now_seconds
from .license_view import iso_time, license_view

FIRST_KID = "k1"


def tenant_snapshot(tenant: TenantEntity) -> dict[str, Any]:
    """What an ingress caches to authenticate and route without asking again."""
    key_types: dict[str, dict[str, Any]] = {}
    for (product_id, key_type_id), key_type in tenant.key_types.items():
        key_types.setdefault(product_id, {})[key_type_id] = dataclasses.asdict(key_type)
    return {
        "tenant_id": tenant.tenant_id,
        "name": tenant.name,
        "lifecycle": tenant.lifecycle.value,
        "version": tenant.version,
        "management_token_hash": tenant.management_token_hash,
        "checkout_key_hash": tenant.checkout_key_hash,
        "sdk_key_hash": tenant.sdk_key_hash,
        "sdk_key_previous_hash": tenant.sdk_key_previous_hash,
        "sdk_key_previous_until": tenant.sdk_key_previous_until,
        "stripe_account_id": tenant.stripe_account_id,
        "sdk_quota_per_minute": tenant.sdk_quota_per_minute,
        "products": {pid: dataclasses.asdict(p) for pid, p in tenant.products.items()},
        "key_types": key_types,
        "primary_kid": tenant.primary_kid,
        "signing_keys": [dataclasses.asdict(key) for key in tenant.published_keys],
    }


class TenantHost(EntityHost[TenantEntity]):
    kind = "tenant"

    def __init__(self, settings: Settings, name: str) -> None:
        super().__init__(settings, name)
        assert settings.master_key, "hosts need the resolved master key"
        self._sealer = SecretSealer(decode_master_key(settings.master_key))

    def handlers(self) -> dict[str, Handler]:
        return {
            "create": self.create,
            "snapshot": self.snapshot,
            "set_lifecycle": self.set_lifecycle,
            "connect_stripe": self.connect_stripe,
            "create_product": self.create_product,
            "create_key_type": self.create_key_type,
            "update_key_type": self.update_key_type,
            "mint": self.mint,
            "authorize_checkout": self.authorize_checkout,
            "set_manual_stripe": self.set_manual_stripe,
            "mint_from_checkout": self.mint_from_checkout,
            "rotate_credential": self.rotate_credential,
            "set_sdk_quota": self.set_sdk_quota,
            "lease_sdk_tokens": self.lease_sdk_tokens,
            "remove_sdk_key": self.remove_sdk_key,
            "rotate_signing_key": self.rotate_signing_key,
            "retire_signing_key": self.retire_signing_key,
        }

    async def load(self, conn: AsyncConnection, entity_id: str) -> TenantEntity | None:
        return await tenant_rows.load_tenant(conn, entity_id, now_seconds())

    def not_found(self, entity_id: str) -> NotFound:
        return NotFound(f"unknown tenant {entity_id!r}", code="TENANT_NOT_FOUND")

    async def create(
        self, tenant_id: str, *, name: str, with_sdk_key: bool, actor: str
    ) -> dict[str, Any]:
        sdk_key = generate_credential(SDK_KEY_PREFIX) if with_sdk_key else None
        checkout_key = generate_credential(CHECKOUT_KEY_PREFIX)
        management_token = generate_credential(MANAGEMENT_TOKEN_PREFIX)
        signing_key = SigningKey.generate()
        public = PublicSigningKey(
            FIRST_KID, base64.b64encode(bytes(signing_key.verify_key)).decode(), True
        )
        tenant = TenantEntity(
            tenant_id=tenant_id,
            name=name,
            lifecycle=Lifecycle.PENDING_VERIFICATION,
            management_token_hash=hash_credential(management_token),
            checkout_key_hash=hash_credential(checkout_key),
            sdk_key_hash=hash_credential(sdk_key) if sdk_key else None,
            signing_keys={FIRST_KID: public},
        )
        async with self.cache.gate(tenant_id):
            pool = await self.pool()
            try:
                async with pool.connection() as conn, conn.transaction():
                    await tenant_rows.insert_tenant(conn, tenant)
                    await tenant_rows.insert_signing_key(
                        conn, tenant_id, public, self._sealer.seal(bytes(signing_key))
                    )
                    await record_audit(
                        conn,
                        AuditEntry(actor, "tenant.create", tenant_id, tenant_id, {"name": name}),
                    )
            except psycopg.errors.UniqueViolation as violation:
                raise conflict_from(violation) from None
            except psycopg.Error as error:
                raise Unavailable(f"storage unavailable: {type(error).__name__}") from error
            self.cache.put(tenant_id, tenant)
        return {
            "tenant_id": tenant_id,
            "name": name,
            "lifecycle": tenant.lifecycle.value,
            "sdk_key": sdk_key,
            "checkout_api_key": checkout_key,
            "management_token": management_token,
            "keyset": {
                "primary_kid": FIRST_KID,
                "keys": [{"kid": FIRST_KID, "alg": "ed25519", "public_key": public.public_key}],
            },
        }

    async def snapshot(self, tenant_id: str) -> dict[str, Any]:
        async with self.cache.gate(tenant_id):
            return tenant_snapshot(await self.entity(tenant_id))

    async def _change_tenant(
        self, tenant_id: str, action: str, actor: str, details: dict[str, Any], change: Any
    ) -> dict[str, Any]:
        """A change to the tenant's own columns, audited, answered as a snapshot."""

        def apply(draft: TenantEntity) -> tuple[dict[str, Any], bool]:
            change(draft)
            return tenant_snapshot(draft), True

        async def persist(conn: AsyncConnection, draft: TenantEntity, old_version: int) -> None:
            await tenant_rows.save_tenant(conn, draft, old_version)
            await record_audit(conn, AuditEntry(actor, action, tenant_id, tenant_id, details))

        return await self.mutate(tenant_id, apply, persist)

    async def set_lifecycle(self, tenant_id: str, *, lifecycle: str, actor: str) -> dict[str, Any]:
        target = parse_lifecycle(lifecycle)
        return await self._change_tenant(
            tenant_id,
            "tenant.lifecycle",
            actor,
            {"lifecycle": target.value},
            lambda draft: draft.move_to(target),
        )

    async def connect_stripe(
        self, tenant_id: str, *, stripe_account_id: str, actor: str
    ) -> dict[str, Any]:
        def connect(draft: TenantEntity) -> None:
            draft.stripe_account_id = stripe_account_id

        return await self._change_tenant(
            tenant_id,
            "tenant.stripe_connect",
            actor,
            {"stripe_account_id": stripe_account_id},
            connect,
        )

    async def create_product(
        self, tenant_id: str, *, product: dict[str, Any], actor: str
    ) -> dict[str, Any]:
        new_product = Product(**product)
        if not is_valid_key_prefix(new_product.key_prefix):
            raise InvalidInput("key_prefix must be 4 uppercase letters or digits")

        def apply(draft: TenantEntity) -> tuple[dict[str, Any], bool]:
            draft.add_product(new_product)
            return dataclasses.asdict(new_product), True

        async def persist(conn: AsyncConnection, draft: TenantEntity, old_version: int) -> None:
            await tenant_rows.save_tenant(conn, draft, old_version)
            await tenant_rows.insert_product(conn, tenant_id, new_product)
            await record_audit(
                conn,
                AuditEntry(actor, "product.create", tenant_id, new_product.product_id, product),
            )

        return await self.mutate(tenant_id, apply, persist)

    async def create_key_type(
        self, tenant_id: str, *, key_type: dict[str, Any], actor: str
    ) -> dict[str, Any]:
        new_key_type = KeyType(**{**key_type, "entitlements": tuple(key_type["entitlements"])})

        def apply(draft: TenantEntity) -> tuple[dict[str, Any], bool]:
            draft.add_key_type(new_key_type)
            return dataclasses.asdict(new_key_type), True

        async def persist(conn: AsyncConnection, draft: TenantEntity, old_version: int) -> None:
            await tenant_rows.save_tenant(conn, draft, old_version)
            await tenant_rows.upsert_key_type(conn, tenant_id, new_key_type)
            await record_audit(
                conn,
                AuditEntry(
                    actor,
                    "key_type.create",
                    tenant_id,
                    f"{new_key_type.product_id}/{new_key_type.key_type_id}",
                    key_type,
                ),
            )

        return await self.mutate(tenant_id, apply, persist)

    async def update_key_type(
        self,
        tenant_id: str,
        *,
        product_id: str,
        key_type_id: str,
        changes: dict[str, Any],
        actor: str,
    ) -> dict[str, Any]:
        if "entitlements" in changes:
            changes = {**changes, "entitlements": tuple(changes["entitlements"])}
        updated: list[KeyType] = []

        def apply(draft: TenantEntity) -> tuple[dict[str, Any], bool]:
            key_type = draft.key_type(product_id, key_type_id).changed(**changes)
            draft.replace_key_type(key_type)
            updated.append(key_type)
            return dataclasses.asdict(key_type), True

        async def persist(conn: AsyncConnection, draft: TenantEntity, old_version: int) -> None:
            await tenant_rows.save_tenant(conn, draft, old_version)
            await tenant_rows.upsert_key_type(conn, tenant_id, updated[-1])
            await record_audit(
                conn,
                AuditEntry(
                    actor,
                    "key_type.update",
                    tenant_id,
                    f"{product_id}/{key_type_id}",
                    {key: list(v) if isinstance(v, tuple) else v for key, v in changes.items()},
                ),
            )

        return await self.mutate(tenant_id, apply, persist)

    async def mint(
        self,
        tenant_id: str,
        *,
        product_id: str,
        key_type_id: str,
        customer_email: str | None,
        actor: str,
    ) -> dict[str, Any]:
        """Mint by hand: counted against the hourly limit, announced as license.created."""
        now = now_seconds()
        minted: list[tuple[LicenseEntity, str, dict[str, Any]]] = []

        def apply(draft: TenantEntity) -> tuple[dict[str, Any], bool]:
            key_type = draft.authorize_mint(product_id, key_type_id, now)
            license_, raw_key = LicenseEntity.mint(
                license_id=str(uuid.uuid4()),
                tenant_id=tenant_id,
                key_prefix=draft.product(product_id).key_prefix,
                key_type=key_type,
                customer_email=customer_email,
                now=now,
            )
            answer = {**license_view(license_), "key": raw_key}
            minted.append((license_, raw_key, answer))
            return answer, True

        async def persist(conn: AsyncConnection, draft: TenantEntity, old_version: int) -> None:
            license_, raw_key, answer = minted[-1]
            await tenant_rows.save_tenant(conn, draft, old_version)
            # The answer shows created_at as stored (the database clock), as later reads do.
            answer["created_at"] = iso_time(
                await insert_license(conn, license_, source="manual"))
            await insert_event(
                conn,
                OutboundEvent(
                    tenant_id,
                    "license.created",
                    {
                        "license_id": license_.license_id,
                        "key": raw_key,
                        "product_id": product_id,
                        "key_type_id": key_type_id,
                        "customer_email": customer_email,
                        "session_id": None,
                    },
                ),
                now,
            )
            await record_audit(
                conn,
                AuditEntry(
                    actor,
                    "license.mint",
                    tenant_id,
                    license_.license_id,
                    {"product_id": product_id, "key_type_id": key_type_id},
                ),
            )

        return await self.mutate(tenant_id, apply, persist)

    # -- payments -----------------------------------------------------------------------

    async def authorize_checkout(
        self, tenant_id: str, *, product_id: str, key_type_id: str, platform_ready: bool
    ) -> dict[str, Any]:
        """Count a checkout against the exact per-tenant minute limit (in memory, rebuilt
        from recorded sessions after a restart)."""
        async with self.cache.gate(tenant_id):
            tenant = await self.entity(tenant_id)
            key_type = tenant.authorize_checkout(
                product_id, key_type_id, now_seconds(), platform_ready=platform_ready
            )
            return {
                "key_type": dataclasses.asdict(key_type),
                "product_name": tenant.product(product_id).display_name,
                "stripe_account_id": tenant.stripe_account_id,
                "manual": tenant.stripe_manual,
            }

    async def set_manual_stripe(
        self, tenant_id: str, *, secret_key: str, webhook_secret: str, actor: str
    ) -> dict[str, Any]:
        sealed_key = self._sealer.seal(secret_key.encode())
        sealed_webhook = self._sealer.seal(webhook_secret.encode())

        def apply(draft: TenantEntity) -> tuple[dict[str, Any], bool]:
            draft.stripe_manual = True
            return tenant_snapshot(draft), True

        async def persist(conn: AsyncConnection, draft: TenantEntity, old_version: int) -> None:
            await tenant_rows.save_tenant(conn, draft, old_version)
            await tenant_rows.save_manual_stripe_secrets(conn, tenant_id, sealed_key,
                                                         sealed_webhook)
            await record_audit(conn, AuditEntry(actor, "tenant.stripe_manual", tenant_id,
                                                tenant_id))

        return await self.mutate(tenant_id, apply, persist)

    async def mint_from_checkout(
        self,
        tenant_id: str,
        *,
        event_id: str,
        session_id: str,
        product_id: str,
        key_type_id: str,
        customer_email: str | None,
        stripe_ids: dict[str, str | None],
    ) -> dict[str, Any]:
        """Mint for a paid session: at most one license per session, once per event."""
        now = now_seconds()
        minted: list[tuple[LicenseEntity, str]] = []

        def apply(draft: TenantEntity) -> tuple[dict[str, Any], bool]:
            if draft.lifecycle is Lifecycle.CLOSED:
                raise Forbidden("the tenant is closed", code="TENANT_CLOSED")
            key_type = draft.key_type(product_id, key_type_id)
            license_, raw_key = LicenseEntity.mint(
                license_id=str(uuid.uuid4()),
                tenant_id=tenant_id,
                key_prefix=draft.product(product_id).key_prefix,
                key_type=key_type,
                customer_email=customer_email,
                now=now,
            )
            minted.append((license_, raw_key))
            return {"license_id": license_.license_id}, True

        async def persist(conn: AsyncConnection, draft: TenantEntity, old_version: int) -> None:
            license_, raw_key = minted[-1]
            await mark_processed(conn, event_id, tenant_id)
            await tenant_rows.save_tenant(conn, draft, old_version)
            existing = await license_for_session(conn, session_id)
            if existing is not None:
                minted[-1] = (dataclasses.replace(license_, license_id=existing), "")
                return
            await insert_license(conn, license_, source="stripe", checkout_session_id=session_id,
                                 stripe_ids=stripe_ids)
            await insert_event(conn, OutboundEvent(tenant_id, "license.created", {
                "license_id": license_.license_id,
                "key": raw_key,
                "product_id": product_id,
                "key_type_id": key_type_id,
                "customer_email": customer_email,
                "session_id": session_id,
            }), now)
            await record_audit(conn, AuditEntry(
                "stripe", "license.mint", tenant_id, license_.license_id,
                {"session_id": session_id, "event_id": event_id}))

        await self.mutate(tenant_id, apply, persist)
        license_, raw_key = minted[-1]
        return {"license_id": license_.license_id, "minted": bool(raw_key)}

    # -- rotation -------------------------------------------------------------------------

    async def rotate_credential(self, tenant_id: str, *, which: str, actor: str
                                ) -> dict[str, Any]:
        """A new SDK key, checkout key or management token, answered once."""
        prefixes = {"sdk_key": SDK_KEY_PREFIX, "checkout_api_key": CHECKOUT_KEY_PREFIX,
                    "management_token": MANAGEMENT_TOKEN_PREFIX}
        if which not in prefixes:
            raise InvalidInput(f"cannot rotate {which!r}")
        raw = generate_credential(prefixes[which])
        now = now_seconds()

        def rotate(draft: TenantEntity) -> None:
            if which == "sdk_key":
                draft.rotate_sdk_key(hash_credential(raw), now)
            elif which == "checkout_api_key":
                draft.checkout_key_hash = hash_credential(raw)
            else:
                draft.management_token_hash = hash_credential(raw)

        snapshot = await self._change_tenant(tenant_id, f"credential.rotate.{which}", actor,
                                             {}, rotate)
        return {"snapshot": snapshot, which: raw}

    async def remove_sdk_key(self, tenant_id: str, *, actor: str) -> dict[str, Any]:
        return await self._change_tenant(tenant_id, "credential.remove.sdk_key", actor, {},
                                         lambda draft: draft.remove_sdk_key())

    async def rotate_signing_key(self, tenant_id: str, *, actor: str) -> dict[str, Any]:
        signing_key = SigningKey.generate()
        public_b64 = base64.b64encode(bytes(signing_key.verify_key)).decode()
        sealed = self._sealer.seal(bytes(signing_key))
        added: list[PublicSigningKey] = []

        def apply(draft: TenantEntity) -> tuple[dict[str, Any], bool]:
            key = PublicSigningKey(draft.next_kid(), public_b64, True)
            draft.add_primary_signing_key(key)
            added.append(key)
            return tenant_snapshot(draft), True

        async def persist(conn: AsyncConnection, draft: TenantEntity, old_version: int) -> None:
            await tenant_rows.save_tenant(conn, draft, old_version)
            await tenant_rows.insert_signing_key(conn, tenant_id, added[-1], sealed)
            await tenant_rows.save_signing_keys(conn, draft)
            await record_audit(conn, AuditEntry(actor, "signing_key.rotate", tenant_id,
                                                added[-1].kid))

        return await self.mutate(tenant_id, apply, persist)

    async def retire_signing_key(self, tenant_id: str, *, kid: str, actor: str
                                 ) -> dict[str, Any]:
        def apply(draft: TenantEntity) -> tuple[dict[str, Any], bool]:
            draft.retire_signing_key(kid)
            return tenant_snapshot(draft), True

        async def persist(conn: AsyncConnection, draft: TenantEntity, old_version: int) -> None:
            await tenant_rows.save_tenant(conn, draft, old_version)
            await tenant_rows.save_signing_keys(conn, draft)
            await record_audit(conn, AuditEntry(actor, "signing_key.retire", tenant_id, kid))

        return await self.mutate(tenant_id, apply, persist)

    # -- SDK quota ------------------------------------------------------------------------

    async def set_sdk_quota(self, tenant_id: str, *, per_minute: int | None, actor: str
                            ) -> dict[str, Any]:
        return await self._change_tenant(
            tenant_id, "tenant.sdk_quota", actor, {"sdk_quota_per_minute": per_minute},
            lambda draft: draft.set_sdk_quota(per_minute))

    async def lease_sdk_tokens(self, tenant_id: str, *, want: int) -> dict[str, Any]:
        """Tokens of the tenant's per-minute quota for one ingress; counted in memory only
        (a restarted host starts a fresh window, which errs towards serving customers)."""
        async with self.cache.gate(tenant_id):
            tenant = await self.entity(tenant_id)
            lease = tenant.lease_sdk_tokens(want, time.time())
        if lease is None:
            return {"unlimited": True}
        granted, window_ends = lease
        return {"unlimited": False, "granted": granted, "window_ends": window_ends}
