"""Importing licenses with their keys and devices (issue 21): all or nothing, idempotent.

``read_import`` parses and checks the file against the tenant's catalog (pure and CPU-bound:
the route runs it off the event loop). ``import_licenses`` then, in ONE transaction of the
store (``ImportStore``), under a per-tenant lock: looks up every key hash, external id and
device id the file names; a row that matches a license holding the same data is
``unchanged`` (nothing is written for it), a row that matches one holding other data (or
another tenant's license: the answer is the same and says nothing about it) is an error;
and only when there is no error at all, and not a dry run, writes the new licenses, their
devices, their ``license.created`` events (``announce``) and one audit entry.

Hosts never hold a stale copy of an imported license: every license written here is a new
row (a new key hash no host can have loaded, since a host loads only rows that exist), an
``unchanged`` row writes nothing, and a row that would change an existing license is an
error. License hosts keep no "not found" answers: a miss is answered and forgotten
(``EntityHost.entity``: a load that finds nothing caches nothing), so a key looked up before
its import is found by the first lookup after the commit. The per-address guess guard only
counts misses per client address, not per key.

Two imports of overlapping files for one tenant serialise on the tenant's advisory lock (the
second sees the first's rows as ``unchanged``); across tenants, or against a concurrent
mint, the unique index on ``key_hash`` (and on ``(tenant_id, external_id)``) refuses the
second writer, whose whole transaction is rolled back and run once more (``ImportRaced``),
when the row is then reported as taken.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from ..domain.audit import AuditEntry
from ..domain.errors import Unavailable
from ..domain.events import OutboundEvent
from ..domain.license import LicenseEntity, LicenseStatus
from ..domain.license_import import (
    Catalog,
    ExistingLicense,
    ImportRaced,
    ImportRow,
    ParsedFile,
    RowError,
    csv_records,
    differences,
    json_records,
    parse_import,
)
from .licenses import license_created

__all__ = ["ImportLicenses", "ImportRaced", "ImportResult", "ImportStore", "NewLicense",
           "import_licenses", "read_import"]

KEY_TAKEN = "this license key is already in use"


@dataclass(frozen=True, slots=True)
class ImportLicenses:
    tenant_id: str
    actor: str
    body: bytes
    format: str  # "csv" or "json"
    catalog: Catalog
    dry_run: bool
    announce: bool
    now: int


@dataclass(frozen=True, slots=True)
class NewLicense:
    license_id: str
    row: ImportRow


@dataclass(slots=True)
class ImportResult:
    dry_run: bool
    imported: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    generated_keys: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_wire(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "imported": self.imported,
            "unchanged": self.unchanged,
            "errors": [error.to_wire() for error in self.errors],
            "generated_keys": [{"row": row, "license_key": key}
                               for row, key in self.generated_keys],
        }


class ImportStore(Protocol):
    """One transaction of the store, for one tenant's import."""

    async def lock_tenant(self) -> None:
        """Serialise with the tenant's other imports until the transaction ends."""

    async def licenses_by_key_hash(self, key_hashes: Sequence[str]
                                   ) -> Mapping[str, ExistingLicense]:
        """Licenses of any tenant holding these key hashes."""

    async def licenses_by_external_id(self, external_ids: Sequence[str]
                                      ) -> Mapping[str, ExistingLicense]:
        """This tenant's licenses with these external ids."""

    async def instance_ids_taken(self, instance_ids: Sequence[str]) -> set[str]:
        """Which of these device ids exist already (on any license)."""

    async def write(self, licenses: Sequence[NewLicense], events: Sequence[OutboundEvent],
                    audit: AuditEntry, now: int) -> None:
        """Write the new licenses and their devices, the events and the audit entry; raises
        ``ImportRaced`` when a unique index refuses a row."""


def read_import(command: ImportLicenses) -> ParsedFile:
    """The file's rows, checked (no I/O; CPU-bound for a large file)."""
    records = csv_records(command.body) if command.format == "csv" else json_records(
        command.body)
    return parse_import(records, command.catalog, command.now)


async def import_licenses(command: ImportLicenses, parsed: ParsedFile,
                          transaction: Callable[[], AbstractAsyncContextManager[ImportStore]]
                          ) -> ImportResult:
    """Match the rows with what exists, then write them all or nothing (see the module's
    docstring); a race with another writer runs the whole transaction once more."""
    for attempt in (1, 2):
        try:
            async with transaction() as store:
                return await _import_once(command, parsed, store)
        except ImportRaced:
            if attempt == 2:
                raise Unavailable("another import or mint wrote the same keys; try again"
                                  ) from None
    raise AssertionError("unreachable")


async def _import_once(command: ImportLicenses, parsed: ParsedFile, store: ImportStore
                       ) -> ImportResult:
    result = ImportResult(command.dry_run, errors=list(parsed.errors))
    rows = parsed.rows
    await store.lock_tenant()
    by_key = await store.licenses_by_key_hash(
        [row.key_hash for row in rows if not row.key_generated])
    by_external = await store.licenses_by_external_id(
        [row.external_id for row in rows if row.external_id is not None])
    new_rows: list[ImportRow] = []
    for row in rows:
        matched = _match(row, command.tenant_id, by_key, by_external, result.errors)
        if matched is None:
            new_rows.append(row)
        elif matched:
            result.unchanged += 1
    taken = await store.instance_ids_taken(
        [instance.instance_id for row in new_rows for instance in row.instances])
    if taken:
        for row in new_rows:
            for position, instance in enumerate(row.instances):
                if instance.instance_id in taken:
                    result.errors.append(RowError(
                        row.row, f"instances[{position}].instance_id", "INSTANCE_ID_TAKEN",
                        "this instance_id is already in use"))
    if result.errors:
        result.errors.sort(key=lambda error: error.row)
        result.unchanged = 0
        return result
    result.imported = len(new_rows)
    if command.dry_run:
        return result
    licenses = [NewLicense(str(uuid.uuid4()), row) for row in new_rows]
    events = [_created_event(command, new) for new in licenses] if command.announce else []
    await store.write(licenses, events, AuditEntry(
        command.actor, "license.import", command.tenant_id, None,
        {"imported": result.imported, "unchanged": result.unchanged,
         "devices": sum(len(row.instances) for row in new_rows),
         "announced": command.announce}), command.now)
    result.generated_keys = [(row.row, row.key) for row in new_rows if row.key_generated]
    return result


def _match(row: ImportRow, tenant_id: str, by_key: Mapping[str, ExistingLicense],
           by_external: Mapping[str, ExistingLicense], errors: list[RowError]
           ) -> bool | None:
    """None: a new license; True: the same as one that exists (unchanged); False: an error
    (appended)."""
    existing = None if row.key_generated else by_key.get(row.key_hash)
    if existing is not None:
        if existing.tenant_id != tenant_id or differences(row, existing):
            errors.append(RowError(row.row, "license_key", "KEY_TAKEN", KEY_TAKEN))
            return False
        return True
    if row.external_id is None:
        return None
    existing = by_external.get(row.external_id)
    if existing is None:
        return None
    # A key given with the row matched no license, so this one holds another key.
    if not row.key_generated or differences(row, existing):
        errors.append(RowError(row.row, "external_id", "EXTERNAL_ID_TAKEN",
                               "a license with this external_id holds other data"))
        return False
    return True


def _created_event(command: ImportLicenses, new: NewLicense) -> OutboundEvent:
    """A mint's ``license.created``, for an imported license (``announce=true``)."""
    row = new.row
    license_ = LicenseEntity(
        license_id=new.license_id, tenant_id=command.tenant_id, product_id=row.product_id,
        key_type_id=row.key_type_id, key_hash=row.key_hash, key_display=row.key_display,
        status=LicenseStatus(row.status), activation_limit=row.activation_limit,
        expires_at=row.expires_at, entitlements=row.entitlements,
        fallback_access=row.fallback_access, customer_email=row.customer_email,
        created_at=row.created_at if row.created_at is not None else command.now)
    return license_created(license_, row.key, session_id=None)
