"""Fixtures shared by every test: the database a run uses."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
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
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this run: on the local server, else on an embedded one."""
    embedded = None
    if _local_server_answers():
        admin_url = LOCAL_POSTGRES
    else:
        from keylight_actors.store.embedded import EmbeddedPostgres

        embedded = EmbeddedPostgres(Path(tmp_path_factory.mktemp("pgdata")))
        admin_url = embedded.start()
    name = f"keylight_test_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if embedded is not None:
        embedded.stop()
