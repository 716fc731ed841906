"""Rendezvous (highest-random-weight) hashing: which host owns an entity.

Adding or removing a host moves only the entities that hash to it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def _weight(host: str, entity_id: str) -> int:
    digest = hashlib.blake2b(f"{host}\x00{entity_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner_index(hosts: Sequence[str], entity_id: str) -> int:
    if not hosts:
        raise ValueError("no hosts to choose from")
    return max(range(len(hosts)), key=lambda index: _weight(hosts[index], entity_id))
