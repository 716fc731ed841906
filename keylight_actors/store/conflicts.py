"""Unique-constraint violations translated into the domain's conflicts."""

from __future__ import annotations

from psycopg import errors as pg_errors

from ..domain.errors import Conflict

_CONFLICTS: dict[str, tuple[str, str]] = {
    "tenants_pkey": ("a tenant with that id exists", "TENANT_EXISTS"),
    "tenants_stripe_account_id_key": (
        "that Stripe account is connected to another tenant",
        "STRIPE_ACCOUNT_TAKEN",
    ),
    "products_pkey": ("a product with that id exists", "PRODUCT_EXISTS"),
    "products_key_prefix_key": ("that key prefix is taken", "KEY_PREFIX_TAKEN"),
    "key_types_pkey": ("a key type with that id exists", "KEY_TYPE_EXISTS"),
    "licenses_checkout_session_id_key": (
        "that checkout session already minted a license",
        "SESSION_ALREADY_MINTED",
    ),
}


def conflict_from(violation: pg_errors.UniqueViolation) -> Conflict:
    message, code = _CONFLICTS.get(
        violation.diag.constraint_name or "", ("that record exists", "DUPLICATE")
    )
    return Conflict(message, code=code)
