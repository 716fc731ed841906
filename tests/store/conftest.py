"""A database with one tenant, product and key type, for the store's own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from psycopg.rows import dict_row

from keylight_actors.domain.catalog import KeyType
from keylight_actors.store.migrate import apply_migrations
from tests.conftest import fresh_database

TENANT = "acme"
KEY_TYPE = KeyType(product_id="editor", key_type_id="pro", display_name="Pro",
                   activation_limit=3)


@pytest.fixture(scope="package")
def store_database(postgres_admin_url: str) -> Iterator[str]:
    with fresh_database(postgres_admin_url) as url:
        apply_migrations(url)
        seed_tenant(url)
        yield url


def seed_tenant(url: str) -> None:
    """TENANT with its product and KEY_TYPE."""
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO tenants (tenant_id, name, lifecycle, management_token_hash,"
                     " checkout_key_hash) VALUES (%s, 'Acme', 'active', 'x', 'y')", (TENANT,))
        conn.execute("INSERT INTO products (tenant_id, product_id, display_name, key_prefix)"
                     " VALUES (%s, 'editor', 'Editor', 'OBXT')", (TENANT,))
        conn.execute("INSERT INTO key_types (tenant_id, product_id, key_type_id, "
                     "display_name, activation_limit) VALUES (%s, 'editor', 'pro', 'Pro', 3)",
                     (TENANT,))


@pytest.fixture
async def conn(store_database: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(store_database,
                                                     row_factory=dict_row) as connection:
        yield connection
