"""Bearer authentication for operator and tenant management routes."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from ..domain.credentials import credential_matches, hash_credential
from ..domain.errors import Forbidden, Unauthorized
from ..services.tenants import TenantSnapshot
from ..store.tenants import management_token_in_use
from .ingress_context import IngressContext

OPERATOR = "operator"


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token", code="MISSING_TOKEN")
    return token.strip()


async def require_operator(request: Request, services: IngressContext) -> str:
    if not credential_matches(bearer_token(request), await services.operator_hash()):
        raise Unauthorized("invalid operator token", code="INVALID_TOKEN")
    return OPERATOR


@dataclass(frozen=True)
class TenantCaller:
    actor: str
    snapshot: TenantSnapshot


async def require_tenant(request: Request, services: IngressContext, tenant_id: str
                         ) -> TenantCaller:
    """The tenant's management token, or the operator's, for ``tenant_id``."""
    token = bearer_token(request)
    snapshot = await services.tenants.snapshot(tenant_id)
    if credential_matches(token, snapshot.management_token_hash):
        return TenantCaller(f"tenant:{tenant_id}", snapshot)
    if credential_matches(token, await services.operator_hash()):
        return TenantCaller(OPERATOR, snapshot)
    async with services.pool.connection() as conn:
        belongs_elsewhere = await management_token_in_use(conn, hash_credential(token))
    if belongs_elsewhere:
        raise Forbidden("this token belongs to another tenant", code="WRONG_TENANT")
    raise Unauthorized("invalid management token", code="INVALID_TOKEN")
