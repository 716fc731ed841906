"""LicenseEntity: one license's status, limits, expiry and active instances.

Every operation runs on a license of its own (a ``copy``, or one the host revives for the
call from its packed form); the host commits its recorded changes to storage and only then
keeps it, so a failed commit changes nothing.

Hosts keep up to a hundred thousand licenses resident each, so the classes use slots and the
instances are packed (``InstanceSet``).
"""

from __future__ import annotations

import copy as shallow
import json
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from .catalog import DEFAULT_CHURN_LIMIT_PER_DAY, KeyType
from .errors import ActivationLimitReached, Conflict, InvalidInput, NotFound, RateLimited
from .instance_set import NO_INSTANCES, Instance, InstanceSet
from .license_key import generate_license_key, hash_license_key, mask_license_key
from .rate_limit import SlidingWindowLimit

SECONDS_PER_DAY = 86_400
# A device's last check-in is stored at most this often: a validate within the hour writes
# nothing.
CHECK_IN_RECORD_SECONDS = 3_600
METADATA_MAX_BYTES = 4_096  # the vendor's metadata, as compact UTF-8 JSON
MAX_ACTIVATION_LIMIT = 100_000  # as a key type's


class LicenseStatus(str, Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # by the vendor, reversibly: its devices stop until reinstated
    REVOKED = "revoked"  # final
    REMINTED = "reminted"  # final: a new key replaced it


SUBSCRIPTION_CANCELLED = "subscription_cancelled"  # a payment_settled mark


DISPUTE_MARK_PREFIX = "dispute:"


def dispute_mark(dispute_id: str) -> str:
    """A dispute's mark, as ``revoked_by`` and in ``payment_settled``."""
    return f"{DISPUTE_MARK_PREFIX}{dispute_id}"


FINAL_STATUSES = frozenset({LicenseStatus.REVOKED, LicenseStatus.REMINTED})


def check_metadata(metadata: object) -> dict[str, Any]:
    """The vendor's metadata: a JSON object of at most ``METADATA_MAX_BYTES``."""
    if not isinstance(metadata, dict):
        raise InvalidInput("metadata: must be a JSON object")
    size = len(json.dumps(metadata, separators=(",", ":"), ensure_ascii=False)
               .encode("utf-8", "surrogatepass"))
    if size > METADATA_MAX_BYTES:
        raise InvalidInput(f"metadata: at most {METADATA_MAX_BYTES} bytes of JSON, got {size}")
    return metadata


def check_activation_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise InvalidInput("activation_limit: must be an integer")
    if not 1 <= limit <= MAX_ACTIVATION_LIMIT:
        raise InvalidInput(f"activation_limit: must be between 1 and {MAX_ACTIVATION_LIMIT}")
    return limit


@dataclass(frozen=True, slots=True)
class InstanceAdded:
    instance: Instance


@dataclass(frozen=True, slots=True)
class InstanceRemoved:
    instance_id: str
    at: int
    by_device: bool = False  # counts against the churn limit


@dataclass(frozen=True, slots=True)
class InstanceCheckedIn:
    """A device's last check-in, stored (at most once an hour)."""

    instance_id: str
    at: int


LicenseChange = InstanceAdded | InstanceRemoved | InstanceCheckedIn


@dataclass(slots=True)
class LicenseEntity:
    license_id: str
    tenant_id: str
    product_id: str
    key_type_id: str
    key_hash: str
    key_display: str
    status: LicenseStatus
    activation_limit: int
    expires_at: int | None
    entitlements: tuple[str, ...]
    fallback_access: bool
    customer_email: str | None
    created_at: int
    version: int = 1
    reminted_from: str | None = None
    # The expires_at whose passing was announced (license.expired); an expiry moved to
    # another value is announced again when that one passes.
    expiry_announced_for: int | None = None
    churn_limit_per_day: int = DEFAULT_CHURN_LIMIT_PER_DAY
    # Why it was revoked by Stripe ("dispute:<dispute id>", "refund"); None for the vendor's
    # own revocation (or none). A won dispute reinstates only a license it revoked.
    revoked_by: str | None = None
    # What Stripe settled for good for this license: a closed dispute ("dispute:<id>"), a
    # cancelled subscription (SUBSCRIPTION_CANCELLED); a later event cannot undo it.
    payment_settled: tuple[str, ...] = ()
    # Whether Stripe revoked it while the vendor had it suspended: a won dispute then gives
    # it back suspended, as it was, not active.
    revoked_while_suspended: bool = False
    churn: SlidingWindowLimit | None = None
    instances: InstanceSet = NO_INSTANCES
    changes: tuple[LicenseChange, ...] = ()

    @classmethod
    def mint(
        cls,
        *,
        license_id: str,
        tenant_id: str,
        key_prefix: str,
        key_type: KeyType,
        customer_email: str | None,
        now: int,
    ) -> tuple[LicenseEntity, str]:
        """A new license and its raw key, which exists only in this answer."""
        raw_key = generate_license_key(key_prefix)
        expires_at = (
            now + key_type.duration_days * SECONDS_PER_DAY if key_type.duration_days else None
        )
        license_ = cls(
            license_id=license_id,
            tenant_id=tenant_id,
            product_id=key_type.product_id,
            key_type_id=key_type.key_type_id,
            key_hash=hash_license_key(raw_key),
            key_display=mask_license_key(raw_key),
            status=LicenseStatus.ACTIVE,
            activation_limit=key_type.activation_limit,
            expires_at=expires_at,
            entitlements=key_type.entitlements,
            fallback_access=key_type.fallback_access,
            customer_email=customer_email,
            created_at=now,
            churn_limit_per_day=key_type.churn_limit_per_day,
        )
        return license_, raw_key

    def copy(self) -> LicenseEntity:
        draft = shallow.copy(self)
        draft.changes = ()
        draft.churn = self.churn.copy() if self.churn is not None else None
        return draft

    def is_expired(self, now: int) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    @property
    def expiry_announced(self) -> bool:
        """Whether the passing of the current expires_at was announced."""
        return self.expires_at is not None and self.expiry_announced_for == self.expires_at

    def announce_expiry(self, now: int) -> bool:
        """True exactly once per expiry value: the first time its passing is noticed (by
        an SDK call or by the expiry sweep), to announce it."""
        if self.expiry_announced or not self.is_expired(now):
            return False
        self.expiry_announced_for = self.expires_at
        return True

    def renew(self, duration_days: int | None) -> bool:
        """Extend a term license by one more period (its new expiry is announced when it
        passes); a perpetual one stays as it is."""
        if self.expires_at is None or not duration_days:
            return False
        self.expires_at += duration_days * SECONDS_PER_DAY
        return True

    def expire(self, now: int) -> bool:
        """End the license now (a cancelled subscription); True when this announces it."""
        if self.expires_at is None or self.expires_at > now:
            self.expires_at = now
        return self.announce_expiry(now)

    @property
    def is_usable(self) -> bool:
        """Revoked and reminted keys answer as if unknown on activation."""
        return self.status is LicenseStatus.ACTIVE

    @property
    def is_suspended(self) -> bool:
        return self.status is LicenseStatus.SUSPENDED

    @property
    def seats_used(self) -> int:
        return len(self.instances)

    @property
    def over_limit_by(self) -> int:
        """Devices beyond the limit (it was lowered under them): they keep working, and no
        new device is activated until the count is below the limit."""
        return max(0, self.seats_used - self.activation_limit)

    def _require_not_final(self, action: str) -> None:
        if self.status in FINAL_STATUSES:
            raise Conflict(
                f"cannot {action} a license that is {self.status.value}",
                code="LICENSE_NOT_ACTIVE",
            )

    def suspend(self) -> bool:
        """Stop its devices until reinstated (they keep their seats); True when this changed
        anything. Revoked and reminted licenses stay as they are (Conflict)."""
        self._require_not_final("suspend")
        if self.status is LicenseStatus.SUSPENDED:
            return False
        self.status = LicenseStatus.SUSPENDED
        return True

    def reinstate(self) -> bool:
        """Undo a suspension; True when this changed anything."""
        self._require_not_final("reinstate")
        if self.status is LicenseStatus.ACTIVE:
            return False
        self.status = LicenseStatus.ACTIVE
        return True

    def edit_terms(self, *, now: int, activation_limit: int | None = None,
                   expires_at: int | None = None, set_expiry: bool = False,
                   customer_email: str | None = None, set_email: bool = False) -> bool:
        """The vendor changes the limit, the expiry (``None``: perpetual) or the customer's
        email; True when anything changed. A limit under the active devices keeps them and
        refuses new ones; an expiry moved into the future makes the license usable again
        (and its next expiry is announced again), one in the past expires it at once."""
        self._require_not_final("edit")
        changed = False
        if activation_limit is not None:
            check_activation_limit(activation_limit)
            changed |= activation_limit != self.activation_limit
            self.activation_limit = activation_limit
        if set_expiry:
            changed |= expires_at != self.expires_at
            was_announced = self.expiry_announced
            self.expires_at = expires_at
            if was_announced and self.is_expired(now):
                # Expired and announced, and still expired: no second license.expired.
                self.expiry_announced_for = expires_at
        if set_email:
            changed |= customer_email != self.customer_email
            self.customer_email = customer_email
        return changed

    def check_in(self, instance: Instance, now: int) -> bool:
        """Record that ``instance`` validated now, when its last stored check-in is an hour
        old or more; True when there is something to store."""
        last = instance.last_validated_at
        if last is not None and now - last < CHECK_IN_RECORD_SECONDS:
            return False
        self.instances = self.instances.replacing(replace(instance, last_validated_at=now))
        self.changes = (*self.changes, InstanceCheckedIn(instance.instance_id, now))
        return True

    def _require_active(self, action: str) -> None:
        if self.status is not LicenseStatus.ACTIVE:
            raise Conflict(
                f"cannot {action} a license that is {self.status.value}",
                code="LICENSE_NOT_ACTIVE",
            )

    def revoke(self, *, by: str | None = None) -> bool:
        """Revoke (an active or a suspended license); answers whether anything changed
        (revoking twice is harmless). ``by`` says why, for Stripe's revocations."""
        if self.status is LicenseStatus.REVOKED:
            return False
        self._require_not_final("revoke")
        self.revoked_while_suspended = by is not None and self.is_suspended
        self.status = LicenseStatus.REVOKED
        self.revoked_by = by
        return True

    def take_over_revocation(self) -> bool:
        """The vendor revokes a license a dispute revoked: the revocation becomes the
        vendor's, final, so the dispute's outcome no longer reinstates it; True when this
        changed anything (a license revoked otherwise stays as it is)."""
        if (self.status is not LicenseStatus.REVOKED or self.revoked_by is None
                or not self.revoked_by.startswith(DISPUTE_MARK_PREFIX)):
            return False
        self.revoked_by = None
        self.revoked_while_suspended = False
        return True

    def settle(self, mark: str) -> bool:
        """Record what Stripe settled for good; True the first time."""
        if mark in self.payment_settled:
            return False
        self.payment_settled = (*self.payment_settled, mark)
        return True

    def reinstate_revoked_by(self, by: str) -> bool:
        """Undo a revocation made for ``by`` (a won dispute), and no other: the license is
        back as it was before (active, or suspended if the vendor had suspended it); True
        when this reinstated the license."""
        if self.status is not LicenseStatus.REVOKED or self.revoked_by != by:
            return False
        self.status = (LicenseStatus.SUSPENDED if self.revoked_while_suspended
                       else LicenseStatus.ACTIVE)
        self.revoked_by = None
        self.revoked_while_suspended = False
        return True

    def remint(
        self, *, new_license_id: str, key_prefix: str, now: int
    ) -> tuple[LicenseEntity, str]:
        """Retire this key and issue a new one with the same terms and no instances."""
        self._require_active("remint")
        self.status = LicenseStatus.REMINTED
        raw_key = generate_license_key(key_prefix)
        successor = LicenseEntity(
            license_id=new_license_id,
            tenant_id=self.tenant_id,
            product_id=self.product_id,
            key_type_id=self.key_type_id,
            key_hash=hash_license_key(raw_key),
            key_display=mask_license_key(raw_key),
            status=LicenseStatus.ACTIVE,
            activation_limit=self.activation_limit,
            expires_at=self.expires_at,
            entitlements=self.entitlements,
            fallback_access=self.fallback_access,
            customer_email=self.customer_email,
            created_at=now,
            reminted_from=self.license_id,
            churn_limit_per_day=self.churn_limit_per_day,
        )
        return successor, raw_key

    def activate(
        self, *, new_instance_id: str, name: str, machine_hash: str | None, now: int
    ) -> tuple[Instance, bool]:
        """Take a seat for a device; the same ``machine_hash`` gets its seat back.

        Answers the instance and whether it is new.
        """
        if machine_hash is not None:
            existing = self.instances.on_machine(machine_hash)
            if existing is not None:
                return existing, False
        if self.seats_used >= self.activation_limit:
            raise ActivationLimitReached(
                f"activation limit of {self.activation_limit} reached",
            )
        self._count_churn(now)
        instance = Instance(new_instance_id, name, machine_hash, now, now)
        self.instances = self.instances.adding(instance)
        self.changes = (*self.changes, InstanceAdded(instance))
        return instance, True

    def churn_window(self) -> SlidingWindowLimit:
        if self.churn is None:
            self.churn = SlidingWindowLimit(self.churn_limit_per_day, SECONDS_PER_DAY)
        return self.churn

    def _count_churn(self, now: int) -> None:
        """Activations and deactivations by devices count; farming a key by cycling hits
        the per-day limit."""
        window = self.churn_window()
        wait = window.retry_after(now)
        if wait:
            raise RateLimited(
                f"this license changed devices {self.churn_limit_per_day} times today",
                retry_after=wait, code="CHURN_LIMIT_REACHED",
            )
        window.record(now)

    def deactivate(self, instance_id: str, now: int, *, by_device: bool = False) -> Instance:
        """Free a seat; ``by_device`` (the SDK) counts against the churn limit, the vendor's
        own deactivation does not."""
        instance = self.instances.get(instance_id)
        if instance is None:
            raise NotFound("no active instance with that id", code="INSTANCE_NOT_FOUND")
        if by_device:
            self._count_churn(now)
        self.instances = self.instances.removing(instance_id)
        self.changes = (*self.changes, InstanceRemoved(instance_id, now, by_device))
        return instance
