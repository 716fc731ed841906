"""The ingress's access log: one JSON line per request, written to its file in batches.

Through ``logging`` every request costs a record, a format, a lock and a write with a
flush; here a request costs one ``json.dumps`` and a list append, a fraction of that.
The lines reach the file at most ``flush_seconds`` later, or as soon as ``max_pending`` of
them wait. Lines not yet
written when the process is killed are lost: this is the access log, not a record of
anything acknowledged. The file rotates by size like Ray's own logs (``log_files``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any, TextIO

from ...log_files import ray_logs_dir, rotation_backup_count, rotation_max_bytes

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5
MAX_PENDING = 512


class AccessLog:
    def __init__(self, path: Path | None, *, flush_seconds: float = FLUSH_SECONDS,
                 max_pending: int = MAX_PENDING, max_bytes: int | None = None,
                 backup_count: int | None = None) -> None:
        self.path = path
        self._max_bytes = rotation_max_bytes() if max_bytes is None else max_bytes
        self._backup_count = rotation_backup_count() if backup_count is None else backup_count
        self._file: TextIO | None = None
        self._pending: list[str] = []
        self._flush_seconds = flush_seconds
        self._max_pending = max_pending
        self._flush_scheduled = False

    @classmethod
    def in_ray_logs_dir(cls) -> AccessLog:
        """``keylight-access-<pid>.log`` beside Ray's own logs; through ``logging`` when
        this process has no Ray log directory."""
        logs_dir = ray_logs_dir()
        return cls(logs_dir / f"keylight-access-{os.getpid()}.log" if logs_dir else None)

    def record(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry)
        if self.path is None:
            log.info(line)
            return
        self._pending.append(line)
        if len(self._pending) >= self._max_pending:
            self.flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_later(self._flush_seconds, self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        if not self._pending or self.path is None:
            return
        lines, self._pending = self._pending, []
        try:
            if self._file is None:
                self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 — kept open
            self._file.write("\n".join(lines) + "\n")
            self._file.flush()
            if self._max_bytes > 0 and self._file.tell() >= self._max_bytes:
                self._rotate()
        except OSError as error:
            log.warning("access log: %d lines not written to %s: %s", len(lines), self.path,
                        error)

    def _rotate(self) -> None:
        """``access.log`` becomes ``access.log.1``, ``.1`` becomes ``.2``…; the oldest goes."""
        assert self._file is not None and self.path is not None
        self._file.close()
        self._file = None
        for number in range(self._backup_count - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{number}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{number + 1}"))
        if self._backup_count > 0:
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink()
