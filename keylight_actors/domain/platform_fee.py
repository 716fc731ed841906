"""The platform's fee on Connect checkouts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

BASIS_POINTS = 10_000


def application_fee_cents(price_in_cents: int, fee_bps: int) -> int:
    """The fee on a one-off price, rounded to the nearest cent (halves up)."""
    fee = Decimal(price_in_cents) * Decimal(fee_bps) / Decimal(BASIS_POINTS)
    return int(fee.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def application_fee_percent(fee_bps: int) -> float:
    """The fee on subscription prices, as Stripe's percent (50 bps → 0.5)."""
    return fee_bps / 100
