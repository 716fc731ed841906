"""Tenant lifecycle: pending_verification → active ⇄ suspended → closed."""

from __future__ import annotations

from enum import Enum

from .errors import Conflict, InvalidInput


class Lifecycle(str, Enum):
    PENDING_VERIFICATION = "pending_verification"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


ALLOWED_MOVES: dict[Lifecycle, frozenset[Lifecycle]] = {
    Lifecycle.PENDING_VERIFICATION: frozenset({Lifecycle.ACTIVE}),
    Lifecycle.ACTIVE: frozenset({Lifecycle.SUSPENDED}),
    Lifecycle.SUSPENDED: frozenset({Lifecycle.ACTIVE, Lifecycle.CLOSED}),
    Lifecycle.CLOSED: frozenset(),
}


def parse_lifecycle(value: str) -> Lifecycle:
    try:
        return Lifecycle(value)
    except ValueError:
        allowed = ", ".join(item.value for item in Lifecycle)
        raise InvalidInput(f"lifecycle must be one of: {allowed}") from None


def check_move(current: Lifecycle, target: Lifecycle) -> None:
    if target not in ALLOWED_MOVES[current]:
        raise Conflict(
            f"a tenant cannot move from {current.value} to {target.value}",
            code="ILLEGAL_LIFECYCLE_MOVE",
        )


def allows_new_licenses(lifecycle: Lifecycle) -> bool:
    """Checkout, mint and activation need an active tenant."""
    return lifecycle is Lifecycle.ACTIVE


def allows_validation(lifecycle: Lifecycle) -> bool:
    """A suspended tenant's existing customers keep working."""
    return lifecycle in (Lifecycle.ACTIVE, Lifecycle.SUSPENDED)
