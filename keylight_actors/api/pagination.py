"""Opaque cursors for newest-first lists."""

from __future__ import annotations

import base64
import binascii
import uuid

from ..domain.errors import InvalidInput


def encode_cursor(created_at: int, row_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at}:{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, uuid_ids: bool = True) -> tuple[int, str] | None:
    """The (created_at, row id) of a cursor; row ids are UUIDs unless ``uuid_ids`` is false
    (keyless instance ids are any text)."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, _, row_id = base64.urlsafe_b64decode(padded).decode().partition(":")
        if uuid_ids:
            uuid.UUID(row_id)
        elif not row_id:
            raise ValueError("no row id")
        return int(created), row_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("cursor is not one this server issued", code="INVALID_CURSOR") from None
