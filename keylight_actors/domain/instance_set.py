"""InstanceSet: a license's active instances, packed into one ``bytes``.

A host keeps up to a hundred thousand licenses resident, and a busy license carries several
devices. Held as an ``Instance`` in a dict, a device was several objects (the object, its
four fields as separate strings and an int, the dict slot); packed, an SDK device costs 65
bytes and its name. Records decode to ``Instance`` on the way out, so the license rules and
the views never see the packing. The set is immutable: a changed license holds a new one,
and copying a license copies nothing.

Each record follows its length: the instance id's 16 UUID bytes, ``activated_at`` as a
signed 64-bit integer, ``last_validated_at`` as unsigned 32-bit seconds after it (all ones
for none), the machine hash, then the name's UTF-8 bytes to the record's end.
A machine hash in the SDK's form (64 lowercase hex digits) packs to its 32 bytes; any other
text is kept as it is, after its length.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_LENGTH = struct.Struct("<I")  # of the record, or the text hash, that follows
# instance id, activated_at, last_validated_at after it; then how the hash is kept
_HEAD = struct.Struct("<16sqI")
_NEVER = 0xFFFF_FFFF  # no last_validated_at
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
    # When the device last checked in, as stored (at most once an hour): its activation, or
    # a later validate.
    last_validated_at: int | None = None


class InstanceSet:
    __slots__ = ("_count", "_packed")

    def __init__(self, packed: bytes = b"", count: int = 0) -> None:
        self._packed = packed
        self._count = count

    @classmethod
    def of(cls, instances: Iterable[Instance]) -> InstanceSet:
        records = [_encode(instance) for instance in instances]
        if not records:
            return NO_INSTANCES
        return cls(b"".join(_LENGTH.pack(len(record)) + record for record in records),
                   len(records))

    @classmethod
    def from_packed(cls, packed: bytes, count: int) -> InstanceSet:
        """The set whose ``packed`` bytes these are, holding ``count`` instances."""
        return cls(packed, count) if count else NO_INSTANCES

    @property
    def packed(self) -> bytes:
        """Every record, each after its length: what ``from_packed`` takes back."""
        return self._packed

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Instance]:
        return (_decode(self._packed, start, end) for start, end in self._spans())

    def __contains__(self, instance_id: object) -> bool:
        return isinstance(instance_id, str) and self._span_of(instance_id) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InstanceSet) and self._packed == other._packed

    def __hash__(self) -> int:
        return hash(self._packed)

    def __repr__(self) -> str:
        return f"InstanceSet({list(self)!r})"

    def get(self, instance_id: str) -> Instance | None:
        span = self._span_of(instance_id)
        return None if span is None else _decode(self._packed, *span)

    def on_machine(self, machine_hash: str) -> Instance | None:
        """The instance activated on this machine, if one is."""
        packed_hash = _pack_hash(machine_hash)
        for start, end in self._spans():
            if self._packed.startswith(packed_hash, start + _HEAD.size):
                return _decode(self._packed, start, end)
        return None

    def adding(self, instance: Instance) -> InstanceSet:
        record = _encode(instance)
        return InstanceSet(self._packed + _LENGTH.pack(len(record)) + record, self._count + 1)

    def removing(self, instance_id: str) -> InstanceSet:
        span = self._span_of(instance_id)
        if span is None:
            return self
        start, end = span
        packed = self._packed[:start - _LENGTH.size] + self._packed[end:]
        return InstanceSet(packed, self._count - 1) if packed else NO_INSTANCES

    def replacing(self, instance: Instance) -> InstanceSet:
        """The set with the instance of the same id recorded as ``instance``, in place."""
        span = self._span_of(instance.instance_id)
        if span is None:
            return self
        start, end = span
        record = _encode(instance)
        return InstanceSet(self._packed[:start - _LENGTH.size] + _LENGTH.pack(len(record))
                           + record + self._packed[end:], self._count)

    def _spans(self) -> Iterator[tuple[int, int]]:
        """Where each record lies in the packed bytes."""
        offset = 0
        while offset < len(self._packed):
            (length,) = _LENGTH.unpack_from(self._packed, offset)
            start = offset + _LENGTH.size
            offset = start + length
            yield start, offset

    def _span_of(self, instance_id: str) -> tuple[int, int] | None:
        id_bytes = _uuid_bytes(instance_id)
        if id_bytes is None:
            return None
        for start, end in self._spans():
            if self._packed.startswith(id_bytes, start):
                return start, end
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
    return bytes((_TEXT_HASH,)) + _LENGTH.pack(len(text)) + text


def _encode(instance: Instance) -> bytes:
    id_bytes = _uuid_bytes(instance.instance_id)
    if id_bytes is None:
        raise ValueError(f"instance ids are UUIDs, got {instance.instance_id!r}")
    validated = instance.last_validated_at
    head = _HEAD.pack(id_bytes, instance.activated_at,
                      _NEVER if validated is None
                      else min(max(validated - instance.activated_at, 0), _NEVER - 1))
    return head + _pack_hash(instance.machine_hash) + instance.name.encode(_UTF8, _LONE_SURROGATES)


def _decode(packed: bytes, start: int, end: int) -> Instance:
    record = packed[start:end]
    id_bytes, activated_at, validated_after = _HEAD.unpack_from(record)
    form = record[_HEAD.size]
    offset = _HEAD.size + 1
    machine_hash: str | None = None
    if form == _HEX_HASH:
        machine_hash = record[offset:offset + 32].hex()
        offset += 32
    elif form == _TEXT_HASH:
        (length,) = _LENGTH.unpack_from(record, offset)
        offset += _LENGTH.size
        machine_hash = record[offset:offset + length].decode(_UTF8, _LONE_SURROGATES)
        offset += length
    digits = id_bytes.hex()
    instance_id = (f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-"
                   f"{digits[20:]}")
    name = record[offset:].decode(_UTF8, _LONE_SURROGATES)
    return Instance(instance_id, name, machine_hash, activated_at,
                    None if validated_after == _NEVER else activated_at + validated_after)
