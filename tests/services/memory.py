"""An in-memory unit of work: what a use case recorded, kept for the test to read.

It behaves as the entity host's does for a use case (services/unit_of_work.py): the
entity, ``save`` bumping its version once, rows, events and audit entries in order.
Nothing is written anywhere.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from keylight_actors.domain.audit import AuditEntry
from keylight_actors.domain.catalog import KeyType, Product
from keylight_actors.domain.errors import NotFound
from keylight_actors.domain.events import OutboundEvent
from keylight_actors.domain.license import LicenseEntity
from keylight_actors.domain.lifecycle import Lifecycle
from keylight_actors.domain.tenant import PublicSigningKey, TenantEntity

E = TypeVar("E")

NOW = 1_800_000_000


class InMemoryUnitOfWork(Generic[E]):
    def __init__(self, entity: E | None = None, *, now: int = NOW,
                 sessions: dict[str, str] | None = None) -> None:
        self.now = now
        self.instant = float(now)
        self._entity = entity
        self.sessions = sessions or {}  # checkout session id -> license id, as stored
        self.added: E | None = None
        self.saved = False
        self.records: list[Any] = []
        self.events: list[OutboundEvent] = []
        self.audits: list[AuditEntry] = []

    @property
    def entity(self) -> E:
        if self._entity is None:
            raise NotFound("no such entity")
        return self._entity

    @property
    def writes_anything(self) -> bool:
        return bool(self.added or self.saved or self.records or self.events or self.audits)

    def add(self, entity: E) -> None:
        assert self._entity is None
        self._entity = self.added = entity

    def save(self) -> None:
        if not self.saved:
            self.entity.version += 1  # type: ignore[attr-defined]
            self.saved = True

    def record(self, row: Any) -> None:
        self.records.append(row)

    def emit(self, event: OutboundEvent) -> None:
        self.events.append(event)

    def audit(self, entry: AuditEntry) -> None:
        self.audits.append(entry)

    async def license_for_session(self, session_id: str) -> str | None:
        return self.sessions.get(session_id)

    def event_types(self) -> list[str]:
        return [event.event_type for event in self.events]

    def audit_actions(self) -> list[str]:
        return [entry.action for entry in self.audits]


def a_tenant(*, lifecycle: Lifecycle = Lifecycle.ACTIVE, with_catalog: bool = True,
             **changes: Any) -> TenantEntity:
    tenant = TenantEntity(
        tenant_id="acme", name="Acme", lifecycle=lifecycle,
        management_token_hash="m" * 64, checkout_key_hash="c" * 64, sdk_key_hash="s" * 64,
        signing_keys={"k1": PublicSigningKey("k1", "cHVibGlj", True)}, **changes)
    if with_catalog:
        tenant.add_product(Product("app", "The App", "ACME"))
        tenant.add_key_type(KeyType("app", "pro", "Pro", activation_limit=3,
                                    duration_days=365, price_in_cents=4900, currency="usd",
                                    stripe_price_id="price_1", entitlements=("pro",)))
    return tenant


def a_license(*, activation_limit: int = 2, expires_at: int | None = NOW + 86_400,
              fallback_access: bool = False) -> LicenseEntity:
    """An active license of tenant acme's product app, with no devices."""
    license_, _ = LicenseEntity.mint(
        license_id="lic-1", tenant_id="acme", key_prefix="ACME",
        key_type=KeyType("app", "pro", "Pro", activation_limit=activation_limit,
                         entitlements=("pro",), fallback_access=fallback_access),
        customer_email=None, now=NOW - 100)
    license_.expires_at = expires_at
    return license_
