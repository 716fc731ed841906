"""A tenant's credentials: SDK key, checkout key, management token, signing keys."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from nacl.signing import SigningKey

from ..domain.audit import AuditEntry
from ..domain.credentials import (
    CHECKOUT_KEY_PREFIX,
    MANAGEMENT_TOKEN_PREFIX,
    SDK_KEY_PREFIX,
    generate_credential,
    hash_credential,
)
from ..domain.errors import InvalidInput
from ..domain.tenant import PublicSigningKey
from .tenants import TenantSnapshot
from .unit_of_work import SigningKeyAdded, SigningKeysChanged, TenantUnitOfWork

ROTATABLE = {"sdk_key": SDK_KEY_PREFIX, "checkout_api_key": CHECKOUT_KEY_PREFIX,
             "management_token": MANAGEMENT_TOKEN_PREFIX}


@dataclass(frozen=True, slots=True)
class RotateCredential:
    tenant_id: str
    which: str  # sdk_key, checkout_api_key or management_token
    actor: str


@dataclass(frozen=True, slots=True)
class RotatedCredential:
    snapshot: TenantSnapshot
    secret: str  # the new credential, answered this once

    def __repr__(self) -> str:
        return f"RotatedCredential({self.snapshot.tenant_id!r}, <secret hidden>)"


def rotate_credential(command: RotateCredential, uow: TenantUnitOfWork) -> RotatedCredential:
    """A new SDK key (the old one works for a day more), checkout key or management token."""
    prefix = ROTATABLE.get(command.which)
    if prefix is None:
        raise InvalidInput(f"cannot rotate {command.which!r}")
    raw = generate_credential(prefix)
    tenant = uow.entity
    if command.which == "sdk_key":
        tenant.rotate_sdk_key(hash_credential(raw), uow.now)
    elif command.which == "checkout_api_key":
        tenant.checkout_key_hash = hash_credential(raw)
    else:
        tenant.management_token_hash = hash_credential(raw)
    uow.save()
    uow.audit(AuditEntry(command.actor, f"credential.rotate.{command.which}", tenant.tenant_id,
                         tenant.tenant_id))
    return RotatedCredential(TenantSnapshot.of(tenant), raw)


@dataclass(frozen=True, slots=True)
class RemoveSdkKey:
    tenant_id: str
    actor: str


def remove_sdk_key(command: RemoveSdkKey, uow: TenantUnitOfWork) -> TenantSnapshot:
    """Stop requiring an SDK key, for SDKs that send none."""
    tenant = uow.entity
    tenant.remove_sdk_key()
    uow.save()
    uow.audit(AuditEntry(command.actor, "credential.remove.sdk_key", tenant.tenant_id,
                         tenant.tenant_id))
    return TenantSnapshot.of(tenant)


@dataclass(frozen=True, slots=True)
class RotateSigningKey:
    tenant_id: str
    actor: str


def rotate_signing_key(command: RotateSigningKey, uow: TenantUnitOfWork) -> TenantSnapshot:
    """A new primary Ed25519 key; earlier keys stay published until retired."""
    private_key = SigningKey.generate()
    tenant = uow.entity
    key = PublicSigningKey(tenant.next_kid(),
                           base64.b64encode(bytes(private_key.verify_key)).decode(), True)
    tenant.add_primary_signing_key(key)
    uow.save()
    uow.record(SigningKeyAdded(key, bytes(private_key)))
    uow.record(SigningKeysChanged())
    uow.audit(AuditEntry(command.actor, "signing_key.rotate", tenant.tenant_id, key.kid))
    return TenantSnapshot.of(tenant)


@dataclass(frozen=True, slots=True)
class RetireSigningKey:
    tenant_id: str
    kid: str
    actor: str


def retire_signing_key(command: RetireSigningKey, uow: TenantUnitOfWork) -> TenantSnapshot:
    """Stop publishing an old key: leases it signed no longer verify."""
    tenant = uow.entity
    tenant.retire_signing_key(command.kid)
    uow.save()
    uow.record(SigningKeysChanged())
    uow.audit(AuditEntry(command.actor, "signing_key.retire", tenant.tenant_id, command.kid))
    return TenantSnapshot.of(tenant)
