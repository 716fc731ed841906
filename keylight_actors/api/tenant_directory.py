"""Each ingress keeps tenant snapshots briefly, so hot paths skip the tenant host.

A snapshot is trusted for ``ttl_seconds`` at most; a change made through this ingress
replaces it at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..actors.tenant_messages import TenantClient
from ..domain.errors import NotFound
from ..services.tenants import GetSnapshot, TenantSnapshot

TENANT_ID_MAX_LENGTH = 64


class TenantDirectory:
    def __init__(
        self,
        tenant_hosts: TenantClient,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._hosts = tenant_hosts
        self._ttl = ttl_seconds
        self._clock = clock
        self._snapshots: dict[str, tuple[TenantSnapshot, float]] = {}

    async def snapshot(self, tenant_id: str) -> TenantSnapshot:
        if len(tenant_id) > TENANT_ID_MAX_LENGTH:
            raise NotFound(f"unknown tenant {tenant_id[:64]!r}", code="TENANT_NOT_FOUND")
        cached = self._snapshots.get(tenant_id)
        if cached is not None and self._clock() - cached[1] < self._ttl:
            return cached[0]
        snapshot = await self._hosts.snapshot(GetSnapshot(tenant_id))
        self.remember(snapshot)
        return snapshot

    async def fresh_snapshot(self, tenant_id: str) -> TenantSnapshot:
        """The tenant as its host holds it now, for decisions a stale copy would get wrong."""
        self.forget(tenant_id)
        return await self.snapshot(tenant_id)

    def remember(self, snapshot: TenantSnapshot) -> None:
        self._snapshots[snapshot.tenant_id] = (snapshot, self._clock())

    def forget(self, tenant_id: str) -> None:
        self._snapshots.pop(tenant_id, None)
