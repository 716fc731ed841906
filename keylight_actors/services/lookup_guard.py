"""The guess guard's record: a failed license lookup counted per client address, and the
audit rows of a lockout or a key-guessing alarm.

The counting is in memory, per ingress replica (``domain.guess_guard``); what is written is
one audit row per lockout or alarm, a plain store write (``LookupGuardPorts.write_audit``)
of no entity.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from ..domain.audit import AuditEntry
from ..domain.guess_guard import GuessGuard

log = logging.getLogger(__name__)


class LookupGuardPorts(Protocol):
    @property
    def guard(self) -> GuessGuard: ...

    async def write_audit(self, entry: AuditEntry) -> None:
        """One audit row, in a transaction of its own."""


@dataclass(frozen=True, slots=True)
class FailedLookup:
    tenant_id: str
    address: str  # the client's


async def note_failed_lookup(command: FailedLookup, ports: LookupGuardPorts) -> None:
    """Count the failure; a lockout of the address or an alarm for the tenant is audited."""
    locked, alarm = ports.guard.record_failure(command.address, command.tenant_id)
    for happened, action in ((locked, "sdk.lookup_lockout"),
                             (alarm, "sdk.key_guessing_alarm")):
        if happened:
            log.warning("%s for tenant %s from %s", action, command.tenant_id,
                        command.address)
            await ports.write_audit(AuditEntry(f"address:{command.address}", action,
                                               command.tenant_id, command.address))
