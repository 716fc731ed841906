"""Resolve what every process must share before anything starts: database and master key."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .settings import Settings
from .store.embedded import EmbeddedPostgres
from .store.encryption import decode_master_key, generate_master_key

log = logging.getLogger(__name__)

MASTER_KEY_FILE = "master.key"


def load_or_create_master_key(data_dir: Path) -> str:
    """The master key from the data dir, created once with owner-only permissions."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / MASTER_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text("ascii").strip()
    else:
        key = generate_master_key()
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        log.info("generated a master key in %s", path)
    decode_master_key(key)
    return key


def resolve_settings(settings: Settings) -> tuple[Settings, EmbeddedPostgres | None]:
    """Fill in the database URL (starting the embedded server) and the master key."""
    embedded = None
    database_url = settings.database_url
    if not database_url:
        embedded = EmbeddedPostgres(settings.data_dir / "postgres")
        database_url = embedded.start()
    master_key = settings.master_key or load_or_create_master_key(settings.data_dir)
    decode_master_key(master_key)
    return settings.with_changes(database_url=database_url, master_key=master_key), embedded
