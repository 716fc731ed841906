"""Products and key types: what a tenant sells."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .errors import InvalidInput

RECURRING_INTERVALS = frozenset({"day", "week", "month", "year"})
PRODUCT_STATUSES = ("active", "archived")
DEFAULT_CHURN_LIMIT_PER_DAY = 50


@dataclass(frozen=True)
class Product:
    product_id: str
    display_name: str
    key_prefix: str
    status: str = "active"
    trial_duration_days: int = 0
    free_tier_enabled: bool = False

    @property
    def on_sale(self) -> bool:
        """An archived product takes no new activations, checkouts or hand mints; its
        customers' existing seats keep validating and deactivating."""
        return self.status == "active"

    def changed(self, *, display_name: str | None = None, status: str | None = None
                ) -> Product:
        if status is not None and status not in PRODUCT_STATUSES:
            raise InvalidInput(f"status: must be one of {', '.join(PRODUCT_STATUSES)}")
        return replace(self, display_name=display_name or self.display_name,
                       status=status or self.status)


@dataclass(frozen=True)
class KeyType:
    product_id: str
    key_type_id: str
    display_name: str
    activation_limit: int
    duration_days: int | None = None
    price_in_cents: int | None = None
    currency: str | None = None
    recurring_interval: str | None = None
    entitlements: tuple[str, ...] = field(default_factory=tuple)
    fallback_access: bool = False
    stripe_price_id: str | None = None
    churn_limit_per_day: int = DEFAULT_CHURN_LIMIT_PER_DAY

    def __post_init__(self) -> None:
        check_key_type_rules(self)

    def changed(self, **changes: object) -> KeyType:
        """A copy with ``changes``; a new price forgets the old Stripe price id."""
        if "price_in_cents" in changes or "currency" in changes or "recurring_interval" in changes:
            changes.setdefault("stripe_price_id", None)
        return replace(self, **changes)  # type: ignore[arg-type]


def check_key_type_rules(key_type: KeyType) -> None:
    if key_type.activation_limit < 1:
        raise InvalidInput("activation_limit must be at least 1")
    if key_type.churn_limit_per_day < 1:
        raise InvalidInput("churn_limit_per_day must be at least 1")
    if key_type.duration_days is not None and key_type.duration_days < 1:
        raise InvalidInput("duration_days must be at least 1 when given")
    if key_type.price_in_cents is not None:
        if key_type.price_in_cents < 0:
            raise InvalidInput("price_in_cents must not be negative")
        if key_type.currency is None:
            raise InvalidInput("currency is required with price_in_cents")
    if key_type.recurring_interval is not None:
        if key_type.recurring_interval not in RECURRING_INTERVALS:
            raise InvalidInput("recurring_interval must be one of day, week, month, year")
        if key_type.price_in_cents is None:
            raise InvalidInput("recurring_interval needs price_in_cents")
    if len(set(key_type.entitlements)) != len(key_type.entitlements):
        raise InvalidInput("entitlements must not repeat")
