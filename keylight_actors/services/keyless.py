"""Keyless installs (trial and free-tier devices without a license key): their check-ins,
and the link from a free-tier install to the license it later activated.

These are plain store writes of their own, not an entity's: a keyless install belongs to no
host (it is a row of ``keyless_instances``, written by whichever replica the SDK reached).
``KeylessUnitOfWork`` writes one row per call; a check-in is written at most once per
install per six hours from a replica (its ``throttle``), and the store also refuses to
refresh a fresher row written by another replica.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..domain.write_throttle import WriteThrottle


class KeylessUnitOfWork(Protocol):
    @property
    def throttle(self) -> WriteThrottle:
        """This replica's memory of the check-ins it wrote lately."""
        ...

    async def record_install(self, tenant_id: str, product_id: str, instance_id: str,
                             state: str, machine_hash: str) -> None:
        """Insert the install, or refresh its check-in if the stored one is old."""

    async def link_install(self, tenant_id: str, product_id: str, instance_id: str,
                           key_hash: str) -> bool:
        """Link an unlinked install to the license of ``key_hash``; True when linked."""
        ...


@dataclass(frozen=True, slots=True)
class RecordKeylessCheckIn:
    tenant_id: str
    product_id: str
    instance_id: str
    state: str  # trial, free
    machine_hash: str


async def record_keyless_check_in(command: RecordKeylessCheckIn, uow: KeylessUnitOfWork
                                  ) -> bool:
    """Record the install's check-in unless this replica wrote it lately; True if written."""
    if not uow.throttle.due((command.tenant_id, command.product_id, command.instance_id)):
        return False
    await uow.record_install(command.tenant_id, command.product_id, command.instance_id,
                             command.state, command.machine_hash)
    return True


@dataclass(frozen=True, slots=True)
class LinkFreeTierInstall:
    tenant_id: str
    product_id: str
    instance_id: str  # the keyless install's
    key_hash: str  # the license it activated


async def link_free_tier_install(command: LinkFreeTierInstall, uow: KeylessUnitOfWork
                                 ) -> bool:
    """Record that the free-tier install became this license (after the activation
    committed); an unknown or already linked install is left as it is (False)."""
    return await uow.link_install(command.tenant_id, command.product_id, command.instance_id,
                                  command.key_hash)
