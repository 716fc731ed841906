"""The on-disk lease cache: one JSON file per product, written atomically, readable by the
owner only (file 0600 in a directory created 0700).

Besides the lease it keeps what the SDK needs to refresh (the license key, the instance id)
and the latest wall-clock time the SDK has seen, to notice a clock turned back.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import CacheCorruptError
from .lease import Lease, decode_public_key

CACHE_FORMAT = 1
FILE_MODE = 0o600
DIR_MODE = 0o700
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class CacheRecord:
    license_key: str
    instance_id: str
    lease: Lease
    last_seen: int
    license_expires_at: int | None = None
    machine_hash: str | None = None
    # kid -> raw public key, as fetched from the keyset (empty when keys are pinned)
    keys: Mapping[str, bytes] = field(default_factory=dict)

    def seen_at(self, now: int) -> CacheRecord:
        return replace(self, last_seen=max(self.last_seen, now))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CACHE_FORMAT,
            "license_key": self.license_key,
            "instance_id": self.instance_id,
            "lease": self.lease.to_wire(),
            "last_seen": self.last_seen,
            "license_expires_at": self.license_expires_at,
            "machine_hash": self.machine_hash,
            "keys": {kid: base64.b64encode(raw).decode("ascii") for kid, raw in self.keys.items()},
        }

    @classmethod
    def from_json(cls, data: object) -> CacheRecord:
        """Strict parse; ValueError on anything that is not a record we wrote."""
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
            raise ValueError("not a lease cache record")
        keys = data.get("keys")
        if not isinstance(keys, dict):
            raise ValueError("cache keys must map kids to base64 public keys")
        last_seen = data.get("last_seen")
        if not _is_int(last_seen):
            raise ValueError("cache last_seen must be an integer")
        license_expires_at = data.get("license_expires_at")
        if license_expires_at is not None and not _is_int(license_expires_at):
            raise ValueError("cache license_expires_at must be an integer or null")
        return cls(
            license_key=_string(data, "license_key"),
            instance_id=_string(data, "instance_id"),
            lease=Lease.from_wire(data.get("lease")),
            last_seen=last_seen,
            license_expires_at=license_expires_at,
            machine_hash=_optional_string(data, "machine_hash"),
            keys={kid: decode_public_key(value) for kid, value in keys.items()},
        )


class LeaseCache:
    """The cache file ``<directory>/keylight-<tenant>-<product>-<digest>.json``; the digest
    of the exact ids keeps ids that read alike after sanitising apart."""

    def __init__(self, directory: str | os.PathLike[str], tenant_id: str, product_id: str):
        self.directory = Path(directory)
        digest = hashlib.sha256(f"{tenant_id}\0{product_id}".encode()).hexdigest()[:12]
        readable = f"{_UNSAFE.sub('_', tenant_id)}-{_UNSAFE.sub('_', product_id)}"
        self.path = self.directory / f"keylight-{readable}-{digest}.json"

    def load(self) -> CacheRecord | None:
        """The stored record; None when there is none; CacheCorruptError when unreadable."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise CacheCorruptError(f"cannot read {self.path}: {exc}") from exc
        try:
            return CacheRecord.from_json(json.loads(text))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise CacheCorruptError(f"{self.path} is not a valid lease cache: {exc}") from exc

    def save(self, record: CacheRecord) -> None:
        """Replace the file atomically: a reader sees the old record or the new, never half."""
        self.directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        payload = json.dumps(record.to_json(), separators=(",", ":")).encode("utf-8")
        fd, tmp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as tmp:
                os.chmod(tmp_name, FILE_MODE)
                tmp.write(payload)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _string(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise ValueError(f"cache {name} must be a string")
    return value


def _optional_string(data: dict[str, Any], name: str) -> str | None:
    return None if data.get(name) is None else _string(data, name)
