"""Tenant rows, their catalog and signing keys."""

from __future__ import annotations

from psycopg import AsyncConnection

from ..domain.catalog import KeyType, Product
from ..domain.lifecycle import Lifecycle
from ..domain.rate_limit import SlidingWindowLimit
from ..domain.tenant import (
    CHECKOUT_WINDOW_SECONDS,
    CHECKOUTS_PER_MINUTE,
    MINT_WINDOW_SECONDS,
    MINTS_PER_HOUR,
    PublicSigningKey,
    TenantEntity,
)
from .database import StaleVersion


async def load_tenant(conn: AsyncConnection, tenant_id: str, now: int) -> TenantEntity | None:
    cursor = await conn.execute("SELECT * FROM tenants WHERE tenant_id = %s", (tenant_id,))
    row = await cursor.fetchone()
    if row is None:
        return None
    tenant = TenantEntity(
        tenant_id=row["tenant_id"],
        name=row["name"],
        lifecycle=Lifecycle(row["lifecycle"]),
        management_token_hash=row["management_token_hash"],
        checkout_key_hash=row["checkout_key_hash"],
        sdk_key_hash=row["sdk_key_hash"],
        sdk_key_previous_hash=row["sdk_key_previous_hash"],
        sdk_key_previous_until=int(row["sdk_key_previous_until"].timestamp())
        if row["sdk_key_previous_until"] else None,
        stripe_account_id=row["stripe_account_id"],
        stripe_manual=row["stripe_manual_secret_key_sealed"] is not None,
        sdk_quota_per_minute=row["sdk_quota_per_minute"],
        version=row["version"],
    )
    cursor = await conn.execute(
        "SELECT * FROM products WHERE tenant_id = %s ORDER BY product_id", (tenant_id,)
    )
    for product_row in await cursor.fetchall():
        tenant.products[product_row["product_id"]] = Product(
            product_id=product_row["product_id"],
            display_name=product_row["display_name"],
            key_prefix=product_row["key_prefix"],
            status=product_row["status"],
            trial_duration_days=product_row["trial_duration_days"],
            free_tier_enabled=product_row["free_tier_enabled"],
        )
    cursor = await conn.execute("SELECT * FROM key_types WHERE tenant_id = %s", (tenant_id,))
    for kt in await cursor.fetchall():
        tenant.key_types[(kt["product_id"], kt["key_type_id"])] = KeyType(
            product_id=kt["product_id"],
            key_type_id=kt["key_type_id"],
            display_name=kt["display_name"],
            activation_limit=kt["activation_limit"],
            duration_days=kt["duration_days"],
            price_in_cents=kt["price_in_cents"],
            currency=kt["currency"],
            recurring_interval=kt["recurring_interval"],
            entitlements=tuple(kt["entitlements"]),
            fallback_access=kt["fallback_access"],
            stripe_price_id=kt["stripe_price_id"],
            churn_limit_per_day=kt["churn_limit_per_day"],
        )
    cursor = await conn.execute(
        """SELECT kid, public_key, is_primary, retired_at IS NOT NULL AS retired
             FROM signing_keys WHERE tenant_id = %s ORDER BY created_at""",
        (tenant_id,),
    )
    for key in await cursor.fetchall():
        tenant.signing_keys[key["kid"]] = PublicSigningKey(
            key["kid"], key["public_key"], key["is_primary"], key["retired"]
        )
    cursor = await conn.execute(
        """SELECT extract(epoch FROM created_at)::float8 AS at FROM licenses
            WHERE tenant_id = %s AND source = 'manual'
              AND created_at > to_timestamp(%s) - make_interval(secs => %s)""",
        (tenant_id, now, MINT_WINDOW_SECONDS),
    )
    tenant.mint_limit = SlidingWindowLimit.from_history(
        MINTS_PER_HOUR, MINT_WINDOW_SECONDS, [row["at"] for row in await cursor.fetchall()]
    )
    cursor = await conn.execute(
        """SELECT extract(epoch FROM created_at)::float8 AS at FROM checkout_sessions
            WHERE tenant_id = %s
              AND created_at > to_timestamp(%s) - make_interval(secs => %s)""",
        (tenant_id, now, CHECKOUT_WINDOW_SECONDS),
    )
    tenant.checkout_limit = SlidingWindowLimit.from_history(
        CHECKOUTS_PER_MINUTE, CHECKOUT_WINDOW_SECONDS,
        [row["at"] for row in await cursor.fetchall()],
    )
    return tenant


async def insert_tenant(conn: AsyncConnection, tenant: TenantEntity) -> None:
    await conn.execute(
        """INSERT INTO tenants (tenant_id, name, lifecycle, management_token_hash,
                                checkout_key_hash, sdk_key_hash, version)
           VALUES (%s, %s, %s, %s, %s, %s, %s)""",
        (
            tenant.tenant_id,
            tenant.name,
            tenant.lifecycle.value,
            tenant.management_token_hash,
            tenant.checkout_key_hash,
            tenant.sdk_key_hash,
            tenant.version,
        ),
    )


async def insert_signing_key(
    conn: AsyncConnection, tenant_id: str, key: PublicSigningKey, private_key_sealed: bytes
) -> None:
    await conn.execute(
        """INSERT INTO signing_keys (tenant_id, kid, public_key, private_key_sealed, is_primary)
           VALUES (%s, %s, %s, %s, %s)""",
        (tenant_id, key.kid, key.public_key, private_key_sealed, key.primary),
    )


async def sealed_signing_key(conn: AsyncConnection, tenant_id: str, kid: str) -> bytes | None:
    cursor = await conn.execute(
        "SELECT private_key_sealed FROM signing_keys WHERE tenant_id = %s AND kid = %s",
        (tenant_id, kid),
    )
    row = await cursor.fetchone()
    return bytes(row["private_key_sealed"]) if row else None


async def save_tenant(conn: AsyncConnection, tenant: TenantEntity, expected_version: int) -> None:
    """Write the tenant's own columns and bump its version, fenced on ``expected_version``."""
    cursor = await conn.execute(
        """UPDATE tenants
              SET name = %s, lifecycle = %s, management_token_hash = %s,
                  checkout_key_hash = %s, sdk_key_hash = %s, stripe_account_id = %s,
                  sdk_key_previous_hash = %s, sdk_key_previous_until = to_timestamp(%s),
                  sdk_quota_per_minute = %s, version = %s, updated_at = now()
            WHERE tenant_id = %s AND version = %s
           RETURNING version""",
        (
            tenant.name,
            tenant.lifecycle.value,
            tenant.management_token_hash,
            tenant.checkout_key_hash,
            tenant.sdk_key_hash,
            tenant.stripe_account_id,
            tenant.sdk_key_previous_hash,
            tenant.sdk_key_previous_until,
            tenant.sdk_quota_per_minute,
            tenant.version,
            tenant.tenant_id,
            expected_version,
        ),
    )
    # A returned row, not rowcount: hosts write in pipeline mode, where only fetching a
    # statement's result waits for it.
    if await cursor.fetchone() is None:
        raise StaleVersion(f"tenant {tenant.tenant_id} is no longer at version {expected_version}")


async def insert_product(conn: AsyncConnection, tenant_id: str, product: Product) -> None:
    await conn.execute(
        """INSERT INTO products (tenant_id, product_id, display_name, key_prefix, status,
                                 trial_duration_days, free_tier_enabled)
           VALUES (%s, %s, %s, %s, %s, %s, %s)""",
        (
            tenant_id,
            product.product_id,
            product.display_name,
            product.key_prefix,
            product.status,
            product.trial_duration_days,
            product.free_tier_enabled,
        ),
    )


async def update_product(conn: AsyncConnection, tenant_id: str, product: Product) -> None:
    await conn.execute(
        """UPDATE products SET display_name = %s, status = %s
            WHERE tenant_id = %s AND product_id = %s""",
        (product.display_name, product.status, tenant_id, product.product_id))


async def upsert_key_type(conn: AsyncConnection, tenant_id: str, key_type: KeyType) -> None:
    await conn.execute(
        """INSERT INTO key_types (tenant_id, product_id, key_type_id, display_name,
                                  activation_limit, duration_days, price_in_cents, currency,
                                  recurring_interval, entitlements, fallback_access,
                                  stripe_price_id, churn_limit_per_day)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (tenant_id, product_id, key_type_id) DO UPDATE SET
               display_name = EXCLUDED.display_name,
               activation_limit = EXCLUDED.activation_limit,
               duration_days = EXCLUDED.duration_days,
               price_in_cents = EXCLUDED.price_in_cents,
               currency = EXCLUDED.currency,
               recurring_interval = EXCLUDED.recurring_interval,
               entitlements = EXCLUDED.entitlements,
               fallback_access = EXCLUDED.fallback_access,
               stripe_price_id = EXCLUDED.stripe_price_id,
               churn_limit_per_day = EXCLUDED.churn_limit_per_day,
               updated_at = now()""",
        (
            tenant_id,
            key_type.product_id,
            key_type.key_type_id,
            key_type.display_name,
            key_type.activation_limit,
            key_type.duration_days,
            key_type.price_in_cents,
            key_type.currency,
            key_type.recurring_interval,
            list(key_type.entitlements),
            key_type.fallback_access,
            key_type.stripe_price_id,
            key_type.churn_limit_per_day,
        ),
    )


async def management_token_in_use(conn: AsyncConnection, token_hash: str) -> bool:
    cursor = await conn.execute(
        "SELECT 1 FROM tenants WHERE management_token_hash = %s", (token_hash,)
    )
    return await cursor.fetchone() is not None


async def save_manual_stripe_secrets(
    conn: AsyncConnection, tenant_id: str, secret_key_sealed: bytes, webhook_secret_sealed: bytes
) -> None:
    await conn.execute(
        """UPDATE tenants SET stripe_manual_secret_key_sealed = %s,
                              stripe_manual_webhook_secret_sealed = %s
            WHERE tenant_id = %s""",
        (secret_key_sealed, webhook_secret_sealed, tenant_id),
    )


async def manual_stripe_secrets(
    conn: AsyncConnection, tenant_id: str
) -> tuple[bytes, bytes] | None:
    """The sealed (secret key, webhook secret) of a manual-mode tenant."""
    cursor = await conn.execute(
        """SELECT stripe_manual_secret_key_sealed AS key,
                  stripe_manual_webhook_secret_sealed AS webhook
             FROM tenants WHERE tenant_id = %s""",
        (tenant_id,),
    )
    row = await cursor.fetchone()
    if row is None or row["key"] is None:
        return None
    return bytes(row["key"]), bytes(row["webhook"])


async def tenant_for_stripe_account(conn: AsyncConnection, account: str) -> str | None:
    cursor = await conn.execute(
        "SELECT tenant_id FROM tenants WHERE stripe_account_id = %s", (account,)
    )
    row = await cursor.fetchone()
    return row["tenant_id"] if row else None


async def save_signing_keys(conn: AsyncConnection, tenant: TenantEntity) -> None:
    """Write which key is primary and which are retired (keys themselves never change)."""
    for key in tenant.signing_keys.values():
        await conn.execute(
            """UPDATE signing_keys
                  SET is_primary = %s,
                      retired_at = CASE WHEN %s THEN coalesce(retired_at, now()) END
                WHERE tenant_id = %s AND kid = %s""",
            (key.primary, key.retired, tenant.tenant_id, key.kid),
        )
