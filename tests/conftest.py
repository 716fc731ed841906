"""Fixtures shared by every test: the database a run uses."""

from __future__ import annotations

import os
import secrets
import tempfile
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


@contextmanager
def folder_outside_pytest_tmp(prefix: str) -> Iterator[Path]:
    """A temporary folder, removed after, that is not under pytest's own (``/tmp/pytest-of-
    <user>``), for an embedded PostgreSQL's data. Run as root, pgserver runs PostgreSQL as the
    user ``pgserver`` and opens the data folder's parents to it; every pytest session that
    starts on the machine closes pytest's folder to its owner again (mode 0700), and initdb
    then failed with "Permission denied" in the middle of a run."""
    with tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True) as folder:
        yield Path(folder)


@pytest.fixture
def data_root() -> Iterator[Path]:
    """Where a test's ``keylight serve`` keeps its data dir (``data_root / "data"``)."""
    with folder_outside_pytest_tmp("keylight-test-") as folder:
        yield folder


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """The local server when it answers, else an embedded one for this run."""
    if _local_server_answers():
        yield LOCAL_POSTGRES
        return
    from keylight_actors.store.embedded import EmbeddedPostgres

    with folder_outside_pytest_tmp("keylight-test-pgdata-") as folder:
        embedded = EmbeddedPostgres(folder)
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
