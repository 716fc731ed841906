"""The unit of work a use case runs in: the interface, and what it can record.

The entity host provides it (actors/entity_host.py): the use case runs under the entity's
gate on the host's copy of the entity; whatever it records is committed in one
transaction (fenced on the entity's version, retried once on a fence) and only then is
the copy kept and the result answered. A use case that records nothing commits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ..domain.audit import AuditEntry
from ..domain.catalog import KeyType, Product
from ..domain.events import OutboundEvent
from ..domain.license import LicenseEntity
from ..domain.tenant import PublicSigningKey, TenantEntity

E = TypeVar("E")


# -- rows written beside the entity ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductAdded:
    product: Product


@dataclass(frozen=True, slots=True)
class ProductChanged:
    product: Product


@dataclass(frozen=True, slots=True)
class KeyTypeSaved:
    key_type: KeyType


@dataclass(frozen=True, slots=True)
class SigningKeyAdded:
    """A new signing key; the unit of work seals ``private_key`` before it is stored."""

    key: PublicSigningKey
    private_key: bytes


@dataclass(frozen=True, slots=True)
class SigningKeysChanged:
    """Which key is primary, which are retired: written from the tenant as it now is."""


@dataclass(frozen=True, slots=True)
class ManualStripeSecrets:
    """A manual-mode tenant's own Stripe keys; sealed before they are stored."""

    secret_key: str
    webhook_secret: str


@dataclass(frozen=True, slots=True)
class LicenseAdded:
    """A new license row. Its ``created_at`` is set to the stored time by the commit."""

    license: LicenseEntity
    source: str
    checkout_session_id: str | None = None
    stripe_ids: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True, slots=True)
class LicenseDetailsChanged:
    """The vendor's own fields of a license row that the resident license does not carry
    (its metadata) or that the license's save does not write (the customer's email)."""

    license_id: str
    customer_email: str | None
    metadata: dict[str, Any] | None
    set_email: bool = False
    set_metadata: bool = False


@dataclass(frozen=True, slots=True)
class StripeEventProcessed:
    """Claim a Stripe event in the effect's transaction; the commit fails with
    ``Conflict(EVENT_ALREADY_PROCESSED)`` when it was already acted on."""

    event_id: str


Record = (ProductAdded | ProductChanged | KeyTypeSaved | SigningKeyAdded | SigningKeysChanged
          | ManualStripeSecrets | LicenseAdded | LicenseDetailsChanged | StripeEventProcessed)


# -- the interface ----------------------------------------------------------------------


class UnitOfWork(Protocol[E]):
    """One use case's view of one entity, and what its commit will write."""

    @property
    def now(self) -> int:
        """The time of this unit of work, in Unix seconds."""
        ...

    @property
    def instant(self) -> float:
        """The time of this unit of work, to the microsecond (for in-memory windows)."""
        ...

    @property
    def entity(self) -> E:
        """The entity (a private copy when the use case may change it); NotFound when it
        does not exist."""
        ...

    def add(self, entity: E) -> None:
        """A new entity, inserted by the commit (the id must not exist yet)."""

    def save(self) -> None:
        """The entity changed: the commit writes it as its next version."""

    def record(self, row: Record) -> None:
        """A row the commit writes beside the entity."""

    def emit(self, event: OutboundEvent) -> None:
        """An event for the outbox, written by the commit."""

    def audit(self, entry: AuditEntry) -> None:
        """An audit entry, written by the commit."""


class TenantUnitOfWork(UnitOfWork[TenantEntity], Protocol):
    async def license_for_session(self, session_id: str) -> str | None:
        """The id of the license a checkout session minted already, if any."""
        ...


# -- the license side -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RenewalRecorded:
    """An invoice's renewal of a license; the commit fails with
    ``Conflict(INVOICE_ALREADY_APPLIED)`` when that invoice renewed it already."""

    invoice_id: str
    license_id: str
    expires_at: int | None


class LicenseUnitOfWork(UnitOfWork[LicenseEntity], Protocol):
    """A license's unit of work: a license saved alone with its events is one row of its
    group's save statement; one with rows or audit entries, a transaction of its own."""
