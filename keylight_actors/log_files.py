"""Where a Ray process's Keylight log records go: a file of its own in Ray's log directory.

A Ray Serve replica redirects stderr through a logger that walks the stack for every
write; at thousands of request lines a second that costs the ingress a tenth of its CPU.
A plain file handler writes the same line for a fraction of that, and the file sits with
Ray's own logs (``keylight-<component>-<pid>.log``), where log shippers already look.

Files rotate by size as Ray's own logs do, with Ray's settings: ``RAY_ROTATION_MAX_BYTES``
(512 MiB) and ``RAY_ROTATION_BACKUP_COUNT`` (5 older files kept).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
PACKAGE_LOGGER = "keylight_actors"


def rotation_max_bytes() -> int:
    return int(os.environ.get("RAY_ROTATION_MAX_BYTES", 512 * 1024 * 1024))


def rotation_backup_count() -> int:
    return int(os.environ.get("RAY_ROTATION_BACKUP_COUNT", 5))


def ray_logs_dir() -> Path | None:
    try:
        import ray._private.worker as ray_worker

        return Path(ray_worker.global_worker.node.get_logs_dir_path())
    except Exception:  # not in a Ray process, or Ray's internals moved
        return None


def log_to_ray_logs_dir(component: str, level: str | int = "INFO") -> Path | None:
    """Send this process's Keylight records to their own file; answers its path, or None
    when there is no Ray log directory (records then go wherever logging is configured)."""
    logs_dir = ray_logs_dir()
    package = logging.getLogger(PACKAGE_LOGGER)
    package.setLevel(level)
    if logs_dir is None:
        return None
    path = logs_dir / f"keylight-{component}-{os.getpid()}.log"
    if any(isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path
           for handler in package.handlers):
        return path
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=rotation_max_bytes(), backupCount=rotation_backup_count(),
        encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    package.addHandler(handler)
    package.propagate = False
    return path
