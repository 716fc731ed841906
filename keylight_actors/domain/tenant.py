"""TenantEntity: a vendor's lifecycle, catalog, credentials and rate limits."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .catalog import KeyType, Product
from .errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited, Unprocessable
from .lifecycle import Lifecycle, allows_new_licenses, check_move
from .rate_limit import SlidingWindowLimit
from .sdk_quota import QuotaWindow, lease_size

MINTS_PER_HOUR = 20
MINT_WINDOW_SECONDS = 3600
CHECKOUTS_PER_MINUTE = 20
CHECKOUT_WINDOW_SECONDS = 60


SDK_KEY_OVERLAP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class PublicSigningKey:
    kid: str
    public_key: str  # base64 of the raw 32 bytes
    primary: bool
    retired: bool = False


@dataclass
class TenantEntity:
    tenant_id: str
    name: str
    lifecycle: Lifecycle
    management_token_hash: str
    checkout_key_hash: str
    sdk_key_hash: str | None
    sdk_key_previous_hash: str | None = None
    sdk_key_previous_until: int | None = None
    stripe_account_id: str | None = None
    stripe_manual: bool = False
    sdk_quota_per_minute: int | None = None
    version: int = 1
    products: dict[str, Product] = field(default_factory=dict)
    key_types: dict[tuple[str, str], KeyType] = field(default_factory=dict)
    signing_keys: dict[str, PublicSigningKey] = field(default_factory=dict)
    mint_limit: SlidingWindowLimit = field(
        default_factory=lambda: SlidingWindowLimit(MINTS_PER_HOUR, MINT_WINDOW_SECONDS)
    )
    checkout_limit: SlidingWindowLimit = field(
        default_factory=lambda: SlidingWindowLimit(CHECKOUTS_PER_MINUTE, CHECKOUT_WINDOW_SECONDS)
    )
    sdk_quota: QuotaWindow | None = None

    def copy(self) -> TenantEntity:
        return replace(
            self,
            products=dict(self.products),
            key_types=dict(self.key_types),
            signing_keys=dict(self.signing_keys),
            mint_limit=self.mint_limit.copy(),
            checkout_limit=self.checkout_limit.copy(),
        )

    def set_sdk_quota(self, per_minute: int | None) -> None:
        if per_minute is not None and per_minute < 1:
            raise InvalidInput("sdk_quota_per_minute must be at least 1, or null for none")
        self.sdk_quota_per_minute = per_minute
        self.sdk_quota = None

    def lease_sdk_tokens(self, want: int, now: float) -> tuple[int, float] | None:
        """Tokens for an ingress replica; None when the tenant has no quota."""
        if self.sdk_quota_per_minute is None:
            return None
        if self.sdk_quota is None or self.sdk_quota.limit != self.sdk_quota_per_minute:
            self.sdk_quota = QuotaWindow(self.sdk_quota_per_minute)
        return self.sdk_quota.lease(min(want, lease_size(self.sdk_quota_per_minute)), now)

    @property
    def primary_kid(self) -> str | None:
        return next((key.kid for key in self.signing_keys.values() if key.primary), None)

    @property
    def published_keys(self) -> list[PublicSigningKey]:
        return [key for key in self.signing_keys.values() if not key.retired]

    def rotate_sdk_key(self, new_hash: str, now: int) -> None:
        """Apps in the field carry the old key: it keeps working for a day."""
        if self.sdk_key_hash is not None:
            self.sdk_key_previous_hash = self.sdk_key_hash
            self.sdk_key_previous_until = now + SDK_KEY_OVERLAP_SECONDS
        self.sdk_key_hash = new_hash

    def remove_sdk_key(self) -> None:
        """Stop requiring an SDK key (for SDKs that send none)."""
        self.sdk_key_hash = None
        self.sdk_key_previous_hash = None
        self.sdk_key_previous_until = None

    def next_kid(self) -> str:
        return f"k{len(self.signing_keys) + 1}"

    def add_primary_signing_key(self, key: PublicSigningKey) -> None:
        """The new key signs from now on; the old ones stay published until retired."""
        for kid, existing in list(self.signing_keys.items()):
            if existing.primary:
                self.signing_keys[kid] = replace(existing, primary=False)
        self.signing_keys[key.kid] = replace(key, primary=True)

    def retire_signing_key(self, kid: str) -> None:
        key = self.signing_keys.get(kid)
        if key is None or key.retired:
            raise NotFound(f"no published signing key {kid!r}", code="SIGNING_KEY_NOT_FOUND")
        if key.primary:
            raise Conflict("the primary signing key cannot be retired; rotate first",
                           code="PRIMARY_SIGNING_KEY")
        self.signing_keys[kid] = replace(key, retired=True)

    def move_to(self, target: Lifecycle) -> None:
        check_move(self.lifecycle, target)
        self.lifecycle = target

    def product(self, product_id: str) -> Product:
        product = self.products.get(product_id)
        if product is None:
            raise NotFound(f"unknown product {product_id!r}", code="PRODUCT_NOT_FOUND")
        return product

    def key_type(self, product_id: str, key_type_id: str) -> KeyType:
        self.product(product_id)
        key_type = self.key_types.get((product_id, key_type_id))
        if key_type is None:
            raise NotFound(f"unknown key type {key_type_id!r}", code="KEY_TYPE_NOT_FOUND")
        return key_type

    def add_product(self, product: Product) -> None:
        if product.product_id in self.products:
            raise Conflict(f"product {product.product_id!r} exists", code="PRODUCT_EXISTS")
        self.products[product.product_id] = product

    def add_key_type(self, key_type: KeyType) -> None:
        self.product(key_type.product_id)
        ident = (key_type.product_id, key_type.key_type_id)
        if ident in self.key_types:
            raise Conflict(f"key type {key_type.key_type_id!r} exists", code="KEY_TYPE_EXISTS")
        self.key_types[ident] = key_type

    def replace_product(self, product: Product) -> None:
        self.product(product.product_id)
        self.products[product.product_id] = product

    def sellable_key_type(self, product_id: str, key_type_id: str) -> KeyType:
        """The key type, when its product is on sale (403 ``PRODUCT_NOT_ACTIVE`` if not)."""
        key_type = self.key_type(product_id, key_type_id)
        if not self.products[product_id].on_sale:
            raise Forbidden(f"product {product_id!r} is archived", code="PRODUCT_NOT_ACTIVE")
        return key_type

    def replace_key_type(self, key_type: KeyType) -> None:
        self.key_type(key_type.product_id, key_type.key_type_id)
        self.key_types[(key_type.product_id, key_type.key_type_id)] = key_type

    def require_new_licenses_allowed(self) -> None:
        if not allows_new_licenses(self.lifecycle):
            raise Forbidden(
                f"tenant is {self.lifecycle.value}: no new licenses",
                code="TENANT_NOT_ACTIVE",
            )

    def authorize_mint(self, product_id: str, key_type_id: str, now: float) -> KeyType:
        """Check a hand mint and count it against the hourly limit."""
        self.require_new_licenses_allowed()
        key_type = self.sellable_key_type(product_id, key_type_id)
        wait = self.mint_limit.retry_after(now)
        if wait:
            raise RateLimited(
                f"at most {MINTS_PER_HOUR} licenses per hour may be minted by hand",
                retry_after=wait,
            )
        self.mint_limit.record(now)
        return key_type

    def authorize_checkout(
        self, product_id: str, key_type_id: str, now: float, *, platform_ready: bool
    ) -> KeyType:
        """Check a checkout in the contract's order and count it against the minute limit.

        ``platform_ready``: the platform's own Stripe key is configured (Connect mode).
        """
        self.require_new_licenses_allowed()
        key_type = self.sellable_key_type(product_id, key_type_id)
        connected = self.stripe_manual or (self.stripe_account_id is not None and platform_ready)
        if not connected:
            raise Conflict("this tenant is not connected to Stripe", code="STRIPE_NOT_CONNECTED")
        if key_type.stripe_price_id is None:
            raise Unprocessable("this key type has no Stripe price", code="NO_STRIPE_PRICE")
        wait = self.checkout_limit.retry_after(now)
        if wait:
            raise RateLimited(
                f"at most {CHECKOUTS_PER_MINUTE} checkouts per minute", retry_after=wait
            )
        self.checkout_limit.record(now)
        return key_type
