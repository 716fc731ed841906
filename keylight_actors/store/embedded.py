"""The embedded PostgreSQL (the ``pgserver`` wheel) used when no database URL is given."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A real PostgreSQL server whose data lives in ``data_dir`` across restarts."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        import pgserver

        self.data_dir.mkdir(parents=True, exist_ok=True)
        # "stop": the server stops when the last process that asked for it exits.
        self._server = pgserver.get_server(self.data_dir, cleanup_mode="stop")
        log.info("embedded PostgreSQL running in %s", self.data_dir)
        return self._server.get_uri()

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
