"""Tenants' private signing keys, decrypted once per process and kept in memory."""

from __future__ import annotations

from nacl.signing import SigningKey
from psycopg_pool import AsyncConnectionPool

from ..domain.errors import Unavailable
from .encryption import SecretSealer
from .tenants import sealed_signing_key


class SigningKeyring:
    def __init__(self, pool_source, sealer: SecretSealer) -> None:
        self._pool_source = pool_source
        self._sealer = sealer
        self._keys: dict[tuple[str, str], SigningKey] = {}

    async def key(self, tenant_id: str, kid: str) -> SigningKey:
        cached = self._keys.get((tenant_id, kid))
        if cached is not None:
            return cached
        pool: AsyncConnectionPool = await self._pool_source()
        async with pool.connection() as conn:
            sealed = await sealed_signing_key(conn, tenant_id, kid)
        if sealed is None:
            raise Unavailable(f"signing key {kid} of tenant {tenant_id} is missing")
        key = SigningKey(self._sealer.unseal(sealed))
        self._keys[(tenant_id, kid)] = key
        return key

    def __repr__(self) -> str:
        return f"SigningKeyring({len(self._keys)} keys, hidden)"
