"""The tenant host's messages: each command type registered once, with its encoding."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ..domain.catalog import KeyType, Product
from ..domain.lifecycle import Lifecycle
from ..domain.tenant import PublicSigningKey
from ..services.catalog import CreateKeyType, CreateProduct, UpdateKeyType, UpdateProduct
from ..services.credentials import (
    RemoveSdkKey,
    RetireSigningKey,
    RotateCredential,
    RotatedCredential,
    RotateSigningKey,
)
from ..services.licenses import MintedLicense, MintLicense
from ..services.payments import (
    AuthorizeCheckout,
    CheckoutMint,
    CheckoutTerms,
    MintFromCheckout,
    SetManualStripe,
)
from ..services.tenants import (
    ConnectStripe,
    CreatedTenant,
    CreateTenant,
    GetSnapshot,
    LeaseSdkTokens,
    SdkTokenLease,
    SetLifecycle,
    SetSdkQuota,
    TenantSnapshot,
    key_type_from_wire,
)
from .license_view import license_view
from .messages import message

if TYPE_CHECKING:
    from .host_pool import HostPool

KEY = "tenant_id"


def _snapshot_message(command: type[Any]) -> Any:
    return message(command, key=KEY, encode_result=TenantSnapshot.to_wire,
                   decode_result=TenantSnapshot.from_wire)


def _created(value: CreatedTenant) -> list[Any]:
    return [value.tenant_id, value.name, value.lifecycle.value, value.sdk_key,
            value.checkout_api_key, value.management_token, asdict(value.signing_key)]


def _created_from(wire: list[Any]) -> CreatedTenant:
    return CreatedTenant(wire[0], wire[1], Lifecycle(wire[2]), wire[3], wire[4], wire[5],
                         PublicSigningKey(**wire[6]))


def _minted(value: MintedLicense) -> dict[str, Any]:
    # Encoded after the commit: created_at is the stored one.
    return {**license_view(value.license), "key": value.key}


def _terms(value: CheckoutTerms) -> list[Any]:
    return [asdict(value.key_type), value.product_name, value.stripe_account_id, value.manual]


def _terms_from(wire: list[Any]) -> CheckoutTerms:
    return CheckoutTerms(key_type_from_wire(wire[0]), wire[1], wire[2], wire[3])


CREATE_TENANT = message(CreateTenant, key=KEY, encode_result=_created,
                        decode_result=_created_from)
GET_SNAPSHOT = _snapshot_message(GetSnapshot)
SET_LIFECYCLE = _snapshot_message(SetLifecycle)
CONNECT_STRIPE = _snapshot_message(ConnectStripe)
SET_SDK_QUOTA = _snapshot_message(SetSdkQuota)
LEASE_SDK_TOKENS = message(
    LeaseSdkTokens, key=KEY,
    encode_result=lambda lease: [lease.unlimited, lease.granted, lease.window_ends],
    decode_result=lambda wire: SdkTokenLease(*wire))

CREATE_PRODUCT = message(
    CreateProduct, key=KEY,
    encode_fields=lambda c: [c.tenant_id, asdict(c.product), c.actor],
    decode_fields=lambda f: CreateProduct(f[0], Product(**f[1]), f[2]),
    encode_result=asdict, decode_result=lambda wire: Product(**wire))
UPDATE_PRODUCT = message(UpdateProduct, key=KEY, encode_result=asdict,
                         decode_result=lambda wire: Product(**wire))
CREATE_KEY_TYPE = message(
    CreateKeyType, key=KEY,
    encode_fields=lambda c: [c.tenant_id, asdict(c.key_type), c.actor],
    decode_fields=lambda f: CreateKeyType(f[0], key_type_from_wire(f[1]), f[2]),
    encode_result=asdict, decode_result=key_type_from_wire)
UPDATE_KEY_TYPE = message(UpdateKeyType, key=KEY, encode_result=asdict,
                          decode_result=key_type_from_wire)
MINT_LICENSE = message(MintLicense, key=KEY, encode_result=_minted,
                       decode_result=lambda wire: wire)

AUTHORIZE_CHECKOUT = message(AuthorizeCheckout, key=KEY, encode_result=_terms,
                             decode_result=_terms_from)
SET_MANUAL_STRIPE = _snapshot_message(SetManualStripe)
MINT_FROM_CHECKOUT = message(
    MintFromCheckout, key=KEY, encode_result=lambda mint: [mint.license_id, mint.minted],
    decode_result=lambda wire: CheckoutMint(*wire))

ROTATE_CREDENTIAL = message(
    RotateCredential, key=KEY,
    encode_result=lambda rotated: [rotated.snapshot.to_wire(), rotated.secret],
    decode_result=lambda wire: RotatedCredential(TenantSnapshot.from_wire(wire[0]), wire[1]))
REMOVE_SDK_KEY = _snapshot_message(RemoveSdkKey)
ROTATE_SIGNING_KEY = _snapshot_message(RotateSigningKey)
RETIRE_SIGNING_KEY = _snapshot_message(RetireSigningKey)


class TenantClient:
    """The tenant hosts as the ingress calls them: one typed method per use case, each
    handing back the pool's own coroutine."""

    def __init__(self, pool: HostPool) -> None:
        self.pool = pool

    def create(self, command: CreateTenant) -> Awaitable[CreatedTenant]:
        return self.pool.send(CREATE_TENANT, command)

    def snapshot(self, command: GetSnapshot) -> Awaitable[TenantSnapshot]:
        return self.pool.send(GET_SNAPSHOT, command, retry_read=True)

    def set_lifecycle(self, command: SetLifecycle) -> Awaitable[TenantSnapshot]:
        return self.pool.send(SET_LIFECYCLE, command)

    def connect_stripe(self, command: ConnectStripe) -> Awaitable[TenantSnapshot]:
        return self.pool.send(CONNECT_STRIPE, command)

    def set_sdk_quota(self, command: SetSdkQuota) -> Awaitable[TenantSnapshot]:
        return self.pool.send(SET_SDK_QUOTA, command)

    def lease_sdk_tokens(self, command: LeaseSdkTokens) -> Awaitable[SdkTokenLease]:
        return self.pool.send(LEASE_SDK_TOKENS, command)

    def create_product(self, command: CreateProduct) -> Awaitable[Product]:
        return self.pool.send(CREATE_PRODUCT, command)

    def update_product(self, command: UpdateProduct) -> Awaitable[Product]:
        return self.pool.send(UPDATE_PRODUCT, command)

    def create_key_type(self, command: CreateKeyType) -> Awaitable[KeyType]:
        return self.pool.send(CREATE_KEY_TYPE, command)

    def update_key_type(self, command: UpdateKeyType) -> Awaitable[KeyType]:
        return self.pool.send(UPDATE_KEY_TYPE, command)

    def mint(self, command: MintLicense) -> Awaitable[dict[str, Any]]:
        """The new license as the management API shows it, with its raw key."""
        return self.pool.send(MINT_LICENSE, command)

    def authorize_checkout(self, command: AuthorizeCheckout) -> Awaitable[CheckoutTerms]:
        return self.pool.send(AUTHORIZE_CHECKOUT, command)

    def set_manual_stripe(self, command: SetManualStripe) -> Awaitable[TenantSnapshot]:
        return self.pool.send(SET_MANUAL_STRIPE, command)

    def mint_from_checkout(self, command: MintFromCheckout) -> Awaitable[CheckoutMint]:
        return self.pool.send(MINT_FROM_CHECKOUT, command)

    def rotate_credential(self, command: RotateCredential) -> Awaitable[RotatedCredential]:
        return self.pool.send(ROTATE_CREDENTIAL, command)

    def remove_sdk_key(self, command: RemoveSdkKey) -> Awaitable[TenantSnapshot]:
        return self.pool.send(REMOVE_SDK_KEY, command)

    def rotate_signing_key(self, command: RotateSigningKey) -> Awaitable[TenantSnapshot]:
        return self.pool.send(ROTATE_SIGNING_KEY, command)

    def retire_signing_key(self, command: RetireSigningKey) -> Awaitable[TenantSnapshot]:
        return self.pool.send(RETIRE_SIGNING_KEY, command)
