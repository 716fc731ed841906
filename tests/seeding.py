"""Bulk licenses written straight to Postgres, for tests that need thousands of them."""

from __future__ import annotations

import uuid

import psycopg

from keylight_actors.domain.license_key import (
    generate_license_key,
    hash_license_key,
    mask_license_key,
)


def seed_licenses(database_url: str, tenant_id: str, product_id: str, key_type_id: str,
                  key_prefix: str, count: int, *, activation_limit: int = 3
                  ) -> list[tuple[str, str]]:
    """Insert ``count`` active licenses; answers (license_id, raw key) pairs."""
    rows = [(str(uuid.uuid4()), generate_license_key(key_prefix)) for _ in range(count)]
    with psycopg.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.executemany(
            """INSERT INTO licenses (license_id, tenant_id, product_id, key_type_id, key_hash,
                                     key_display, status, activation_limit, entitlements,
                                     source, created_at)
               VALUES (%s, %s, %s, %s, %s, %s, 'active', %s, '{pro}', 'seed', now())""",
            [(license_id, tenant_id, product_id, key_type_id, hash_license_key(raw_key),
              mask_license_key(raw_key), activation_limit) for license_id, raw_key in rows],
        )
    return rows
