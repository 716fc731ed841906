"""An ingress replica's share of each tenant's SDK quota, leased from the tenant's host."""

from __future__ import annotations

import asyncio
import math
import time

from ..actors.tenant_messages import TenantClient
from ..domain.errors import RateLimited
from ..domain.sdk_quota import lease_size
from ..services.tenants import LeaseSdkTokens, TenantSnapshot


class SdkQuotaLeases:
    def __init__(self, tenant_hosts: TenantClient) -> None:
        self._hosts = tenant_hosts
        self._tokens: dict[str, tuple[int, float]] = {}  # tenant → (tokens, window end)
        self._locks: dict[str, asyncio.Lock] = {}

    def _take_local(self, tenant_id: str, now: float) -> bool:
        tokens, window_ends = self._tokens.get(tenant_id, (0, 0.0))
        if tokens > 0 and now < window_ends:
            self._tokens[tenant_id] = (tokens - 1, window_ends)
            return True
        return False

    async def spend(self, tenant_id: str, snapshot: TenantSnapshot) -> None:
        """Spend one call of the tenant's quota, or refuse with 429 and ``Retry-After``."""
        limit = snapshot.sdk_quota_per_minute
        if limit is None or self._take_local(tenant_id, time.time()):
            return
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        async with lock:
            if self._take_local(tenant_id, time.time()):
                return
            lease = await self._hosts.lease_sdk_tokens(
                LeaseSdkTokens(tenant_id, lease_size(limit)))
            if lease.unlimited:
                return
            now = time.time()
            if lease.granted == 0:
                raise RateLimited(
                    f"this vendor's quota of {limit} SDK calls per minute is used up",
                    retry_after=math.ceil(lease.window_ends - now), code="SDK_QUOTA_EXCEEDED")
            self._tokens[tenant_id] = (lease.granted - 1, lease.window_ends)
