"""The signed product config an ingress answers (GET config, POST keyless, and riding along
on validate), signed once per product and reused for a few minutes.

A cached config is re-signed when it is older than ``REFRESH_SECONDS`` or when what it signs
(the primary kid, the trial length, the free-tier switch) no longer matches the tenant
snapshot, so a product change shows as soon as the snapshot does. A config is valid for 24 h
from its ``issued_at``; serving one up to ``REFRESH_SECONDS`` old leaves nearly all of that.
"""

from __future__ import annotations

import time
from typing import Any

from ..domain.product_config import sign_product_config
from ..services.tenants import TenantSnapshot
from ..store.signing_keys import SigningKeyring

REFRESH_SECONDS = 300
MAX_CACHED_PRODUCTS = 10_000


class SignedConfigs:
    def __init__(self, refresh_seconds: int = REFRESH_SECONDS,
                 max_products: int = MAX_CACHED_PRODUCTS) -> None:
        self._refresh_seconds = refresh_seconds
        self._max_products = max_products
        self._signed: dict[tuple[str, str], tuple[tuple[Any, ...], dict[str, Any]]] = {}

    async def of(self, keyring: SigningKeyring, snapshot: TenantSnapshot, product_id: str
                 ) -> dict[str, Any]:
        """The product's signed config as the tenant ``snapshot`` states it (a new dict)."""
        tenant_id = snapshot.tenant_id
        product = snapshot.products[product_id]
        kid = snapshot.primary_kid or ""
        terms = (kid, product.trial_duration_days, product.free_tier_enabled)
        now = int(time.time())
        cached = self._signed.get((tenant_id, product_id))
        if cached is not None and cached[0] == terms and (
                0 <= now - cached[1]["issued_at"] < self._refresh_seconds):
            return dict(cached[1])
        signed = sign_product_config(
            await keyring.key(tenant_id, kid),
            kid=kid,
            tenant_id=tenant_id,
            product_id=product_id,
            trial_duration_days=product.trial_duration_days,
            free_tier_enabled=product.free_tier_enabled,
            issued_at=now,
        )
        if len(self._signed) >= self._max_products:
            self._signed.clear()
        self._signed[(tenant_id, product_id)] = (terms, signed)
        return dict(signed)
