"""Tenants: creation, lifecycle, Stripe connection, SDK quota, and the tenant snapshot."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from nacl.signing import SigningKey

from ..domain.audit import AuditEntry
from ..domain.catalog import KeyType, Product
from ..domain.credentials import (
    CHECKOUT_KEY_PREFIX,
    MANAGEMENT_TOKEN_PREFIX,
    SDK_KEY_PREFIX,
    generate_credential,
    hash_credential,
)
from ..domain.lifecycle import Lifecycle, parse_lifecycle
from ..domain.tenant import PublicSigningKey, TenantEntity
from .unit_of_work import SigningKeyAdded, TenantUnitOfWork

FIRST_KID = "k1"


@dataclass(frozen=True, slots=True)
class TenantSnapshot:
    """What an ingress caches of a tenant to authenticate and route without asking again."""

    tenant_id: str
    name: str
    lifecycle: Lifecycle
    version: int
    management_token_hash: str
    checkout_key_hash: str
    sdk_key_hash: str | None
    sdk_key_previous_hash: str | None
    sdk_key_previous_until: int | None
    stripe_account_id: str | None
    sdk_quota_per_minute: int | None
    products: Mapping[str, Product]
    key_types: Mapping[str, Mapping[str, KeyType]]  # product id -> key type id -> key type
    primary_kid: str | None
    signing_keys: tuple[PublicSigningKey, ...]  # the published ones

    @classmethod
    def of(cls, tenant: TenantEntity) -> TenantSnapshot:
        key_types: dict[str, dict[str, KeyType]] = {}
        for (product_id, key_type_id), key_type in tenant.key_types.items():
            key_types.setdefault(product_id, {})[key_type_id] = key_type
        return cls(
            tenant_id=tenant.tenant_id,
            name=tenant.name,
            lifecycle=tenant.lifecycle,
            version=tenant.version,
            management_token_hash=tenant.management_token_hash,
            checkout_key_hash=tenant.checkout_key_hash,
            sdk_key_hash=tenant.sdk_key_hash,
            sdk_key_previous_hash=tenant.sdk_key_previous_hash,
            sdk_key_previous_until=tenant.sdk_key_previous_until,
            stripe_account_id=tenant.stripe_account_id,
            sdk_quota_per_minute=tenant.sdk_quota_per_minute,
            products=dict(tenant.products),
            key_types=key_types,
            primary_kid=tenant.primary_kid,
            signing_keys=tuple(tenant.published_keys),
        )

    def key_type(self, product_id: str, key_type_id: str) -> KeyType | None:
        return self.key_types.get(product_id, {}).get(key_type_id)

    def to_wire(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "name": self.name,
            "lifecycle": self.lifecycle.value,
            "version": self.version,
            "management_token_hash": self.management_token_hash,
            "checkout_key_hash": self.checkout_key_hash,
            "sdk_key_hash": self.sdk_key_hash,
            "sdk_key_previous_hash": self.sdk_key_previous_hash,
            "sdk_key_previous_until": self.sdk_key_previous_until,
            "stripe_account_id": self.stripe_account_id,
            "sdk_quota_per_minute": self.sdk_quota_per_minute,
            "products": {pid: asdict(product) for pid, product in self.products.items()},
            "key_types": {pid: {kid: asdict(key_type) for kid, key_type in types.items()}
                          for pid, types in self.key_types.items()},
            "primary_kid": self.primary_kid,
            "signing_keys": [asdict(key) for key in self.signing_keys],
        }

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> TenantSnapshot:
        return cls(
            tenant_id=wire["tenant_id"],
            name=wire["name"],
            lifecycle=Lifecycle(wire["lifecycle"]),
            version=wire["version"],
            management_token_hash=wire["management_token_hash"],
            checkout_key_hash=wire["checkout_key_hash"],
            sdk_key_hash=wire["sdk_key_hash"],
            sdk_key_previous_hash=wire["sdk_key_previous_hash"],
            sdk_key_previous_until=wire["sdk_key_previous_until"],
            stripe_account_id=wire["stripe_account_id"],
            sdk_quota_per_minute=wire["sdk_quota_per_minute"],
            products={pid: Product(**product) for pid, product in wire["products"].items()},
            key_types={pid: {kid: key_type_from_wire(kt) for kid, kt in types.items()}
                       for pid, types in wire["key_types"].items()},
            primary_kid=wire["primary_kid"],
            signing_keys=tuple(PublicSigningKey(**key) for key in wire["signing_keys"]),
        )


def key_type_from_wire(wire: Mapping[str, Any]) -> KeyType:
    return KeyType(**{**wire, "entitlements": tuple(wire["entitlements"])})


# -- creation ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateTenant:
    tenant_id: str
    name: str
    with_sdk_key: bool
    actor: str


@dataclass(frozen=True, slots=True)
class CreatedTenant:
    """The new tenant and its secrets: the only answer that ever shows them."""

    tenant_id: str
    name: str
    lifecycle: Lifecycle
    sdk_key: str | None
    checkout_api_key: str
    management_token: str
    signing_key: PublicSigningKey


def create_tenant(command: CreateTenant, uow: TenantUnitOfWork) -> CreatedTenant:
    sdk_key = generate_credential(SDK_KEY_PREFIX) if command.with_sdk_key else None
    checkout_key = generate_credential(CHECKOUT_KEY_PREFIX)
    management_token = generate_credential(MANAGEMENT_TOKEN_PREFIX)
    private_key = SigningKey.generate()
    public = PublicSigningKey(
        FIRST_KID, base64.b64encode(bytes(private_key.verify_key)).decode(), True)
    tenant = TenantEntity(
        tenant_id=command.tenant_id,
        name=command.name,
        lifecycle=Lifecycle.PENDING_VERIFICATION,
        management_token_hash=hash_credential(management_token),
        checkout_key_hash=hash_credential(checkout_key),
        sdk_key_hash=hash_credential(sdk_key) if sdk_key else None,
        signing_keys={FIRST_KID: public},
    )
    uow.add(tenant)
    uow.record(SigningKeyAdded(public, bytes(private_key)))
    uow.audit(AuditEntry(command.actor, "tenant.create", command.tenant_id, command.tenant_id,
                         {"name": command.name}))
    return CreatedTenant(command.tenant_id, command.name, tenant.lifecycle, sdk_key,
                         checkout_key, management_token, public)


# -- reads ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetSnapshot:
    tenant_id: str


def snapshot(command: GetSnapshot, uow: TenantUnitOfWork) -> TenantSnapshot:
    return TenantSnapshot.of(uow.entity)


# -- changes to the tenant's own settings ------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetLifecycle:
    tenant_id: str
    lifecycle: str
    actor: str


def set_lifecycle(command: SetLifecycle, uow: TenantUnitOfWork) -> TenantSnapshot:
    target = parse_lifecycle(command.lifecycle)
    tenant = uow.entity
    tenant.move_to(target)
    uow.save()
    uow.audit(AuditEntry(command.actor, "tenant.lifecycle", tenant.tenant_id, tenant.tenant_id,
                         {"lifecycle": target.value}))
    return TenantSnapshot.of(tenant)


@dataclass(frozen=True, slots=True)
class ConnectStripe:
    tenant_id: str
    stripe_account_id: str
    actor: str


def connect_stripe(command: ConnectStripe, uow: TenantUnitOfWork) -> TenantSnapshot:
    tenant = uow.entity
    tenant.stripe_account_id = command.stripe_account_id
    uow.save()
    uow.audit(AuditEntry(command.actor, "tenant.stripe_connect", tenant.tenant_id,
                         tenant.tenant_id, {"stripe_account_id": command.stripe_account_id}))
    return TenantSnapshot.of(tenant)


@dataclass(frozen=True, slots=True)
class SetSdkQuota:
    tenant_id: str
    per_minute: int | None
    actor: str


def set_sdk_quota(command: SetSdkQuota, uow: TenantUnitOfWork) -> TenantSnapshot:
    tenant = uow.entity
    tenant.set_sdk_quota(command.per_minute)
    uow.save()
    uow.audit(AuditEntry(command.actor, "tenant.sdk_quota", tenant.tenant_id, tenant.tenant_id,
                         {"sdk_quota_per_minute": command.per_minute}))
    return TenantSnapshot.of(tenant)


# -- the SDK quota ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeaseSdkTokens:
    tenant_id: str
    want: int


@dataclass(frozen=True, slots=True)
class SdkTokenLease:
    unlimited: bool
    granted: int = 0
    window_ends: float = 0.0


def lease_sdk_tokens(command: LeaseSdkTokens, uow: TenantUnitOfWork) -> SdkTokenLease:
    """Tokens of the tenant's per-minute quota for one ingress; counted in memory only (a
    restarted host starts a fresh window, which errs towards serving customers)."""
    lease = uow.entity.lease_sdk_tokens(command.want, uow.instant)
    if lease is None:
        return SdkTokenLease(unlimited=True)
    granted, window_ends = lease
    return SdkTokenLease(unlimited=False, granted=granted, window_ends=window_ends)
