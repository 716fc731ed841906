"""InstanceSet: a license's active instances, packed one ``bytes`` record per device.

A host keeps up to a hundred thousand licenses resident, and a busy license carries several
devices. Held as an ``Instance`` in a dict, a device cost ≈ 420 bytes (the object, its four
fields as separate strings and an int, the dict slot); packed into one record it costs about
a quarter of that. Records decode to ``Instance`` on the way out, so the license rules and
the views never see the packing. The set is immutable: a changed license holds a new one,
and copying a license copies nothing.

A record is the instance id's 16 UUID bytes, ``activated_at`` as a signed 64-bit integer,
the machine hash, then the name's UTF-8 bytes to the end. A machine hash in the SDK's form
(64 lowercase hex digits) packs to its 32 bytes; any other text is kept as it is, after its
length.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_HEAD = struct.Struct("<16sq")  # instance id, activated_at; then how the hash is kept
_TEXT_LENGTH = struct.Struct("<I")
_NO_HASH, _HEX_HASH, _TEXT_HASH = 0, 1, 2
# JSON can carry a lone surrogate ("\ud800"); it must come back out as it went in.
_UTF8, _LONE_SURROGATES = "utf-8", "surrogatepass"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True, slots=True)
class Instance:
    instance_id: str
    name: str
    machine_hash: str | None
    activated_at: int


class InstanceSet:
    __slots__ = ("_records",)

    def __init__(self, records: tuple[bytes, ...] = ()) -> None:
        self._records = records

    @classmethod
    def of(cls, instances: Iterable[Instance]) -> InstanceSet:
        records = tuple(_encode(instance) for instance in instances)
        return cls(records) if records else NO_INSTANCES

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Instance]:
        return (_decode(record) for record in self._records)

    def __contains__(self, instance_id: object) -> bool:
        return isinstance(instance_id, str) and self._index_of(instance_id) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InstanceSet) and self._records == other._records

    def __hash__(self) -> int:
        return hash(self._records)

    def __repr__(self) -> str:
        return f"InstanceSet({list(self)!r})"

    def get(self, instance_id: str) -> Instance | None:
        index = self._index_of(instance_id)
        return None if index is None else _decode(self._records[index])

    def on_machine(self, machine_hash: str) -> Instance | None:
        """The instance activated on this machine, if one is."""
        packed = _pack_hash(machine_hash)
        end = _HEAD.size + len(packed)
        for record in self._records:
            if record[_HEAD.size:end] == packed:
                return _decode(record)
        return None

    def adding(self, instance: Instance) -> InstanceSet:
        return InstanceSet((*self._records, _encode(instance)))

    def removing(self, instance_id: str) -> InstanceSet:
        index = self._index_of(instance_id)
        if index is None:
            return self
        records = self._records[:index] + self._records[index + 1:]
        return InstanceSet(records) if records else NO_INSTANCES

    def _index_of(self, instance_id: str) -> int | None:
        id_bytes = _uuid_bytes(instance_id)
        if id_bytes is None:
            return None
        for index, record in enumerate(self._records):
            if record.startswith(id_bytes):
                return index
        return None


NO_INSTANCES = InstanceSet()


def _uuid_bytes(instance_id: str) -> bytes | None:
    """The id's 16 bytes, or None unless it is a UUID in canonical form (as PostgreSQL
    prints one and ``uuid.uuid4()`` makes one): any other spelling names no instance."""
    if not _CANONICAL_UUID.fullmatch(instance_id):
        return None
    return bytes.fromhex(instance_id.replace("-", ""))


def _pack_hash(machine_hash: str | None) -> bytes:
    """How the hash is kept, as one byte, then the hash."""
    if machine_hash is None:
        return bytes((_NO_HASH,))
    if _HEX_DIGEST.fullmatch(machine_hash):
        return bytes((_HEX_HASH,)) + bytes.fromhex(machine_hash)
    text = machine_hash.encode(_UTF8, _LONE_SURROGATES)
    return bytes((_TEXT_HASH,)) + _TEXT_LENGTH.pack(len(text)) + text


def _encode(instance: Instance) -> bytes:
    id_bytes = _uuid_bytes(instance.instance_id)
    if id_bytes is None:
        raise ValueError(f"instance ids are UUIDs, got {instance.instance_id!r}")
    head = _HEAD.pack(id_bytes, instance.activated_at)
    return head + _pack_hash(instance.machine_hash) + instance.name.encode(_UTF8, _LONE_SURROGATES)


def _decode(record: bytes) -> Instance:
    id_bytes, activated_at = _HEAD.unpack_from(record)
    form = record[_HEAD.size]
    offset = _HEAD.size + 1
    machine_hash: str | None = None
    if form == _HEX_HASH:
        machine_hash = record[offset:offset + 32].hex()
        offset += 32
    elif form == _TEXT_HASH:
        (length,) = _TEXT_LENGTH.unpack_from(record, offset)
        offset += _TEXT_LENGTH.size
        machine_hash = record[offset:offset + length].decode(_UTF8, _LONE_SURROGATES)
        offset += length
    digits = id_bytes.hex()
    instance_id = (f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-"
                   f"{digits[20:]}")
    name = record[offset:].decode(_UTF8, _LONE_SURROGATES)
    return Instance(instance_id, name, machine_hash, activated_at)
