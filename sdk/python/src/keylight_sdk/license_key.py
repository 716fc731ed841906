"""License keys as the lease names them: the normalised form and its SHA-256.

A lease carries ``licenseKeyHash``, the SHA-256 hex of the normalised key; the server keeps
only that hash, and the SDK compares it with the key it was given. Generating keys is the
server's business and lives there.
"""

from __future__ import annotations

import hashlib


def normalise_license_key(raw_key: str) -> str:
    return raw_key.strip().upper()


def hash_license_key(raw_key: str) -> str:
    """SHA-256 hex of the normalised key: the lease's ``licenseKeyHash``."""
    return hashlib.sha256(normalise_license_key(raw_key).encode("utf-8")).hexdigest()
