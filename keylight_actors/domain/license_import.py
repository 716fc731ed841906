"""Importing licenses from another system: parsing and checking the rows, no I/O.

A vendor moving here keeps its customers' keys and devices. A file (CSV with a header row,
or JSON ``{"licenses": [row, ...]}``) is read row by row into ``ImportRow``s, each checked
against the tenant's catalog; every problem becomes a ``RowError`` naming its 1-based data
row (0: the file itself, e.g. its header) and field, and the whole request is refused when
there is any. Whether a row's key or external id is already taken is the store's question
(services/imports.py asks it); ``differences`` says whether a license found there holds the
same data as the row (then the row is ``unchanged``).

Choices this module makes (docs/import.md gives them to vendors):

- Keys are kept as given (4 to 128 letters, digits, ``-`` and ``_``), trimmed and
  upper-cased as the SDKs normalise them; an absent key is generated as a mint does.
- Instance ids must be UUIDs in canonical form (lower-case, 8-4-4-4-12): this server's
  device ids are UUIDs, its device sets match ids in that form only, and the SDK sends back
  the id it was given. Any other id is a row error (``INVALID_INSTANCE_ID``).
- A device's ``machine_hash`` must be the Keylight SDKs' (64 lower-case hex digits) when
  given: validate compares it with what the SDK sends. Leave it out for other fingerprints.
- ``status`` is ``active``, ``suspended`` or ``revoked``; a suspended license keeps its
  devices and refuses activation until it is reinstated.
- Blank lines are skipped and not counted: row n is the n-th non-blank record after the
  header.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .catalog import KeyType
from .license import SECONDS_PER_DAY
from .license_key import generate_license_key, hash_license_key, mask_license_key

MAX_ROWS = 100_000
MAX_METADATA_BYTES = 4096
MAX_ACTIVATION_LIMIT = 1_000_000
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{4,128}")
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MACHINE_HASH = re.compile(r"[0-9a-f]{64}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
IMPORT_STATUSES = ("active", "suspended", "revoked")
CSV_COLUMNS = ("product_id", "key_type_id", "license_key", "customer_email", "external_id",
               "created_at", "expires_at", "activation_limit", "status", "metadata")
JSON_FIELDS = frozenset({*CSV_COLUMNS, "instances"})
INSTANCE_FIELDS = frozenset({"instance_id", "instance_name", "machine_hash", "activated_at"})
FILE = 0  # the row number of an error about the file itself


class ImportRaced(Exception):
    """Another transaction wrote a key or external id an import writes (a unique index
    refused it): the import is run again from the start."""


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str | None
    code: str
    error: str

    def to_wire(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "code": self.code, "error": self.error}


@dataclass(frozen=True, slots=True)
class ImportedInstance:
    instance_id: str
    name: str
    machine_hash: str | None
    activated_at: int


@dataclass(slots=True)
class ImportRow:
    """One checked row: a license as it will be written."""

    row: int
    product_id: str
    key_type_id: str
    key: str  # normalised; generated when the row gave none
    key_generated: bool
    key_hash: str
    key_display: str
    customer_email: str | None
    external_id: str | None
    created_at: int | None  # None: now, by the database clock
    expires_at: int | None
    expires_stated: bool  # the row fixes expires_at (a date, "never", or a created_at)
    activation_limit: int
    status: str
    metadata: dict[str, Any] | None
    instances: tuple[ImportedInstance, ...]
    entitlements: tuple[str, ...]
    fallback_access: bool
    churn_limit_per_day: int


@dataclass(frozen=True, slots=True)
class ExistingLicense:
    """What the store holds of a license an import row may match."""

    tenant_id: str
    key_hash: str
    product_id: str
    key_type_id: str
    status: str
    activation_limit: int
    expires_at: int | None
    customer_email: str | None
    external_id: str | None
    metadata: dict[str, Any] | None
    instance_ids: frozenset[str]  # every device it ever had


@dataclass(slots=True)
class ParsedFile:
    rows: list[ImportRow]
    errors: list[RowError]


@dataclass(frozen=True, slots=True)
class Catalog:
    """What the tenant sells: key types by product, and each product's key prefix (for
    generated keys)."""

    key_types: Mapping[str, Mapping[str, KeyType]]  # product id -> key type id -> key type
    key_prefixes: Mapping[str, str]


# ---------------------------------------------------------------- reading the file


def csv_records(data: bytes) -> Iterator[tuple[int, dict[str, Any]] | RowError]:
    """The data rows of a CSV file (UTF-8, an optional BOM, any line ends, quoted fields),
    as (row number, {column: text}); a bad header or row yields a ``RowError``."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            yield RowError(FILE, None, "EMPTY_FILE", "the file has no header row")
            return
        columns = [cell.strip().lower() for cell in header]
        header_ok = True
        for column in columns:
            if column not in CSV_COLUMNS:
                hint = " (devices can be imported from JSON only)" if column == "instances" \
                    else ""
                yield RowError(FILE, column, "UNKNOWN_COLUMN",
                               f"unknown column {column!r}{hint}")
                header_ok = False
        for column in ("product_id", "key_type_id"):
            if column not in columns:
                yield RowError(FILE, column, "MISSING_COLUMN", f"the {column} column is required")
                header_ok = False
        if len(set(columns)) != len(columns):
            yield RowError(FILE, None, "DUPLICATE_COLUMN", "a column appears twice")
            header_ok = False
        if not header_ok:
            return
        number = 0
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            number += 1
            if len(cells) > len(columns):
                yield RowError(number, None, "TOO_MANY_FIELDS",
                               f"{len(cells)} fields, the header has {len(columns)}")
                continue
            yield number, dict(zip(columns, cells, strict=False))
    except UnicodeDecodeError:
        yield RowError(FILE, None, "NOT_UTF8", "the file is not UTF-8 text")
    except csv.Error as error:
        yield RowError(FILE, None, "BAD_CSV", f"unreadable CSV: {error}")


def json_records(data: bytes) -> Iterator[tuple[int, dict[str, Any]] | RowError]:
    """The rows of ``{"licenses": [row, ...]}``."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        yield RowError(FILE, None, "BAD_JSON", f"unreadable JSON: {error}")
        return
    if not isinstance(document, dict) or not isinstance(document.get("licenses"), list):
        yield RowError(FILE, "licenses", "BAD_JSON", 'the body must be {"licenses": [row, ...]}')
        return
    if set(document) - {"licenses"}:
        yield RowError(FILE, None, "UNKNOWN_FIELD", "the body holds only \"licenses\"")
    rows = document["licenses"]
    for number, record in enumerate(rows, start=1):
        rows[number - 1] = None  # each row is let go once read
        if not isinstance(record, dict):
            yield RowError(number, None, "BAD_ROW", "a row must be a JSON object")
            continue
        yield number, record


# ---------------------------------------------------------------- checking a row


def parse_time(text: str) -> int:
    """ISO 8601 (``Z`` or an offset; none means UTC) as Unix seconds; ValueError if not."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def display_of(key: str) -> str:
    """The masked form a key is shown in: the mint's for keys shaped like ours, else the
    first and last few characters."""
    prefix, dash, rest = key.partition("-")
    if dash and len(prefix) <= 8 and len(rest) >= 8:
        return mask_license_key(key)
    shown = max(1, min(4, len(key) // 4))
    return f"{key[:shown]}…{key[-shown:]}"


class _Row:
    """Collects one row's errors while its fields are read."""

    def __init__(self, number: int, fields: dict[str, Any], errors: list[RowError]) -> None:
        self.number = number
        self.fields = fields
        self.errors = errors
        self.failed = False

    def fail(self, field: str | None, code: str, error: str) -> None:
        self.failed = True
        self.errors.append(RowError(self.number, field, code, error))

    def text(self, name: str, max_length: int = 128) -> str | None:
        """A string field, trimmed; None when absent or empty."""
        value = self.fields.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(name, "INVALID_TYPE", f"{name} must be a string")
            return None
        value = value.strip()
        if len(value) > max_length:
            self.fail(name, "TOO_LONG", f"{name} is longer than {max_length} characters")
            return None
        return value or None


def check_row(number: int, fields: dict[str, Any], catalog: Catalog, now: int,
              errors: list[RowError]) -> ImportRow | None:
    """The row as a license to write, or None (its errors appended to ``errors``)."""
    row = _Row(number, fields, errors)
    for name in fields:
        if name not in JSON_FIELDS:
            row.fail(name, "UNKNOWN_FIELD", f"unknown field {name!r}")

    product_id, key_type_id = row.text("product_id", 64), row.text("key_type_id", 64)
    key_type: KeyType | None = None
    if product_id is None:
        row.fail("product_id", "REQUIRED", "product_id is required")
    elif product_id not in catalog.key_types:
        row.fail("product_id", "UNKNOWN_PRODUCT", f"no product {product_id!r}")
    if key_type_id is None:
        row.fail("key_type_id", "REQUIRED", "key_type_id is required")
    elif product_id is not None and product_id in catalog.key_types:
        key_type = catalog.key_types[product_id].get(key_type_id)
        if key_type is None:
            row.fail("key_type_id", "UNKNOWN_KEY_TYPE",
                     f"no key type {key_type_id!r} for product {product_id!r}")

    key = _key(row)
    customer_email = row.text("customer_email", 254)
    if customer_email is not None and not EMAIL.fullmatch(customer_email):
        row.fail("customer_email", "INVALID_EMAIL", "customer_email is not an email address")
    external_id = row.text("external_id", 128)
    created_at = _time(row, "created_at")
    if created_at is not None and created_at > now + 300:
        row.fail("created_at", "INVALID_TIME", "created_at is in the future")
    expires_at, expires_stated = _expiry(row, key_type, created_at, now)
    activation_limit = _limit(row, key_type)
    status = _status(row)
    metadata = _metadata(row)
    instances = _instances(row, created_at if created_at is not None else now)
    if activation_limit is not None and len(instances) > activation_limit:
        row.fail("instances", "TOO_MANY_INSTANCES",
                 f"{len(instances)} devices over the activation limit of {activation_limit}")

    if row.failed or key_type is None or activation_limit is None:
        return None
    assert product_id is not None and key_type_id is not None
    generated = key is None
    if key is None:
        key = generate_license_key(catalog.key_prefixes[product_id])
    return ImportRow(
        row=number, product_id=product_id, key_type_id=key_type_id, key=key,
        key_generated=generated, key_hash=hash_license_key(key), key_display=display_of(key),
        customer_email=customer_email, external_id=external_id, created_at=created_at,
        expires_at=expires_at, expires_stated=expires_stated,
        activation_limit=activation_limit, status=status, metadata=metadata,
        instances=instances, entitlements=key_type.entitlements,
        fallback_access=key_type.fallback_access,
        churn_limit_per_day=key_type.churn_limit_per_day,
    )


def _key(row: _Row) -> str | None:
    value = row.fields.get("license_key")
    if value is None:
        return None
    if not isinstance(value, str):
        row.fail("license_key", "INVALID_TYPE", "license_key must be a string")
        return None
    value = value.strip()
    if not value:
        return None
    if not KEY_PATTERN.fullmatch(value):
        row.fail("license_key", "INVALID_KEY",
                 "license_key must be 4 to 128 letters, digits, '-' or '_'")
        return None
    return value.upper()


def _time(row: _Row, name: str) -> int | None:
    value = row.text(name, 64)
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        row.fail(name, "INVALID_TIME", f"{name} is not an ISO 8601 time")
        return None


def _expiry(row: _Row, key_type: KeyType | None, created_at: int | None, now: int
            ) -> tuple[int | None, bool]:
    value = row.text("expires_at", 64)
    if value is not None and value.lower() == "never":
        return None, True
    if value is not None:
        expires_at = _time(row, "expires_at")
        if expires_at is not None and created_at is not None and expires_at < created_at:
            row.fail("expires_at", "INVALID_TIME", "expires_at is before created_at")
        return expires_at, True
    if key_type is None or not key_type.duration_days:
        return None, created_at is not None
    start = created_at if created_at is not None else now
    return start + key_type.duration_days * SECONDS_PER_DAY, created_at is not None


def _limit(row: _Row, key_type: KeyType | None) -> int | None:
    value = row.fields.get("activation_limit")
    if isinstance(value, str):
        value = value.strip()
        if not value:
            value = None
        elif re.fullmatch(r"[0-9]{1,9}", value):
            value = int(value)
    if value is None:
        return key_type.activation_limit if key_type is not None else None
    if isinstance(value, bool) or not isinstance(value, int) or not (
            1 <= value <= MAX_ACTIVATION_LIMIT):
        row.fail("activation_limit", "INVALID_LIMIT",
                 f"activation_limit must be a whole number from 1 to {MAX_ACTIVATION_LIMIT}")
        return None
    return value


def _status(row: _Row) -> str:
    value = row.text("status", 32)
    if value is None:
        return "active"
    value = value.lower()
    if value not in IMPORT_STATUSES:
        row.fail("status", "INVALID_STATUS", "status must be active, suspended or revoked")
    return value


def _metadata(row: _Row) -> dict[str, Any] | None:
    value = row.fields.get("metadata")
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError:
            row.fail("metadata", "INVALID_METADATA", "metadata must be a JSON object")
            return None
    if value is None:
        return None
    if not isinstance(value, dict):
        row.fail("metadata", "INVALID_METADATA", "metadata must be a JSON object")
        return None
    if len(json.dumps(value, separators=(",", ":"))) > MAX_METADATA_BYTES:
        row.fail("metadata", "TOO_LONG", f"metadata is over {MAX_METADATA_BYTES} bytes")
        return None
    return value


def _instances(row: _Row, default_time: int) -> tuple[ImportedInstance, ...]:
    value = row.fields.get("instances")
    if value is None:
        return ()
    if not isinstance(value, list):
        row.fail("instances", "INVALID_INSTANCES", "instances must be a list")
        return ()
    found: list[ImportedInstance] = []
    ids: set[str] = set()
    hashes: set[str] = set()
    for position, item in enumerate(value):
        where = f"instances[{position}]"
        if not isinstance(item, dict):
            row.fail(where, "INVALID_INSTANCES", "a device must be a JSON object")
            continue
        unknown = set(item) - INSTANCE_FIELDS
        if unknown:
            row.fail(where, "UNKNOWN_FIELD", f"unknown field {sorted(unknown)[0]!r}")
            continue
        instance_id, name = item.get("instance_id"), item.get("instance_name")
        machine_hash, activated = item.get("machine_hash"), item.get("activated_at")
        ok = True
        if not isinstance(instance_id, str) or not CANONICAL_UUID.fullmatch(instance_id):
            row.fail(f"{where}.instance_id", "INVALID_INSTANCE_ID",
                     "instance_id must be a UUID, lower-case (8-4-4-4-12)")
            ok = False
        elif instance_id in ids:
            row.fail(f"{where}.instance_id", "DUPLICATE_INSTANCE_ID",
                     "this instance_id appears twice in the row")
            ok = False
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            row.fail(f"{where}.instance_name", "INVALID_INSTANCE_NAME",
                     "instance_name must be 1 to 255 characters")
            ok = False
        if machine_hash is not None and (not isinstance(machine_hash, str)
                                         or not MACHINE_HASH.fullmatch(machine_hash)):
            row.fail(f"{where}.machine_hash", "INVALID_MACHINE_HASH",
                     "machine_hash must be 64 lower-case hex digits (the Keylight SDKs')")
            ok = False
        elif machine_hash is not None and machine_hash in hashes:
            row.fail(f"{where}.machine_hash", "DUPLICATE_MACHINE_HASH",
                     "two devices of the row have the same machine_hash")
            ok = False
        at = default_time
        if activated is not None:
            try:
                if not isinstance(activated, str):
                    raise ValueError
                at = parse_time(activated)
            except ValueError:
                row.fail(f"{where}.activated_at", "INVALID_TIME",
                         "activated_at is not an ISO 8601 time")
                ok = False
        if ok:
            ids.add(instance_id)
            if machine_hash is not None:
                hashes.add(machine_hash)
            found.append(ImportedInstance(instance_id, name, machine_hash, at))
    return tuple(found)


# ---------------------------------------------------------------- the whole file


def parse_import(records: Iterable[tuple[int, dict[str, Any]] | RowError], catalog: Catalog,
                 now: int) -> ParsedFile:
    """Every row checked, and the file's duplicates (keys, external ids, device ids)
    reported on the later row; more than ``MAX_ROWS`` rows is an error of the file."""
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    keys: dict[str, int] = {}
    external_ids: dict[str, int] = {}
    instance_ids: dict[str, int] = {}
    count = 0
    for record in records:
        if isinstance(record, RowError):
            errors.append(record)
            continue
        number, fields = record
        count = max(count, number)
        if count > MAX_ROWS:
            errors.append(RowError(FILE, None, "TOO_MANY_ROWS",
                                   f"at most {MAX_ROWS} rows per request"))
            break
        checked = check_row(number, fields, catalog, now, errors)
        if checked is None:
            continue
        duplicate = False
        if not checked.key_generated:
            first = keys.setdefault(checked.key_hash, number)
            if first != number:
                errors.append(RowError(number, "license_key", "DUPLICATE_KEY",
                                       f"the same key as row {first}"))
                duplicate = True
        if checked.external_id is not None:
            first = external_ids.setdefault(checked.external_id, number)
            if first != number:
                errors.append(RowError(number, "external_id", "DUPLICATE_EXTERNAL_ID",
                                       f"the same external_id as row {first}"))
                duplicate = True
        for position, instance in enumerate(checked.instances):
            first = instance_ids.setdefault(instance.instance_id, number)
            if first != number:
                errors.append(RowError(number, f"instances[{position}].instance_id",
                                       "DUPLICATE_INSTANCE_ID",
                                       f"the same instance_id as row {first}"))
                duplicate = True
        if not duplicate:
            rows.append(checked)
    if count == 0 and not errors:
        errors.append(RowError(FILE, None, "EMPTY_FILE", "the file has no rows"))
    return ParsedFile(rows, errors)


# ---------------------------------------------------------------- matching what exists


def differences(row: ImportRow, existing: ExistingLicense) -> list[str]:
    """The fields where ``existing`` does not hold what ``row`` says; empty: the same
    license (the row is ``unchanged``). Fields the row leaves to defaults that depend on
    the time of the import (expiry from now) are not compared; devices activated since the
    import do not count, devices of the row missing from the license do."""
    found = []
    for name in ("product_id", "key_type_id", "status", "activation_limit",
                 "customer_email"):
        if getattr(row, name) != getattr(existing, name):
            found.append(name)
    if row.external_id is not None and row.external_id != existing.external_id:
        found.append("external_id")
    if row.expires_stated and row.expires_at != existing.expires_at:
        found.append("expires_at")
    if row.metadata is not None and row.metadata != existing.metadata:
        found.append("metadata")
    if any(instance.instance_id not in existing.instance_ids for instance in row.instances):
        found.append("instances")
    return found
