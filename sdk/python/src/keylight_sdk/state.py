"""What the app may do, as decided offline from the cached lease."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .lease import Lease


class LicenseState(str, Enum):
    LICENSED = "licensed"  # an active lease: full entitlements
    LIMITED = "limited"  # a fallback lease: the app runs without entitlements
    EXPIRED = "expired"  # the license or the lease has run out; the app must go online
    INVALID = "invalid"  # no activation, or the cache cannot be trusted


@dataclass(frozen=True)
class LicenseStatus:
    state: LicenseState
    reason: str
    lease: Lease | None = None

    @property
    def entitlements(self) -> tuple[str, ...]:
        if self.state is LicenseState.LICENSED and self.lease is not None:
            return self.lease.entitlements
        return ()

    @property
    def instance_id(self) -> str | None:
        return self.lease.instance_id if self.lease is not None else None
