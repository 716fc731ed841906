"""Fixtures shared by every test: the database a run uses."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

LOCAL_POSTGRES = os.environ.get(
    "KEYLIGHT_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _local_server_answers() -> bool:
    try:
        with psycopg.connect(LOCAL_POSTGRES, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The local server when it answers, else an embedded one for this run."""
    if _local_server_answers():
        yield LOCAL_POSTGRES
        return
    from keylight_actors.store.embedded import EmbeddedPostgres

    embedded = EmbeddedPostgres(Path(tmp_path_factory.mktemp("pgdata")))
    yield embedded.start()
    embedded.stop()


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    name = f"keylight_test_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database for this run's server."""
    with fresh_database(postgres_admin_url) as url:
        yield url
