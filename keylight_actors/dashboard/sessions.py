"""Dashboard sessions: signing in with a token, finding the session of a request, signing out.

Everything lives in PostgreSQL (``store/dashboard_sessions.py``), so any ingress replica
serves any session. The cookie holds a random 256-bit id; the table holds its SHA-256. A
session keeps the hash of the token it signed in with: once the tenant's management token
(or the operator token) is rotated, the hashes differ and the session is dead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ..domain.audit import AuditEntry
from ..domain.credentials import CREDENTIAL_MAX_LENGTH, credential_matches, hash_credential
from ..domain.errors import NotFound, RateLimited, Unauthorized
from ..store import dashboard_sessions as store
from ..store.audit import record_audit
from .security import (
    SESSION_COOKIE,
    client_address,
    csrf_token,
    new_session_id,
    same_token,
    session_hash,
)

IDLE_SECONDS = 8 * 3600
ABSOLUTE_SECONDS = 7 * 24 * 3600
TOUCH_AFTER_SECONDS = 60  # a session's last use is written at most once a minute
SIGNIN_FAILURES_PER_ADDRESS = 10
SIGNIN_WINDOW_SECONDS = 15 * 60
SIGNIN_FAILURES_KEPT_SECONDS = 24 * 3600

VENDOR = "vendor"
OPERATOR = "operator"


@dataclass(frozen=True)
class DashboardUser:
    role: str
    tenant_id: str | None  # the vendor's tenant; None for the operator
    session_id: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.session_id)

    @property
    def actor(self) -> str:
        """Who the audit log names: done through the dashboard, by whom."""
        return f"dashboard:tenant:{self.tenant_id}" if self.role == VENDOR else (
            "dashboard:operator")

    def may_open(self, tenant_id: str) -> bool:
        """A vendor sees only its own tenant; the operator, any."""
        return self.role == OPERATOR or same_token(tenant_id, self.tenant_id)


async def sign_in(services: Any, request: Request, tenant_id: str, token: str
                  ) -> DashboardUser:
    """A new session for a tenant's management token or the operator token; a failure is
    counted against the caller's address, and too many refuse further tries for a while."""
    address = client_address(request, services.settings.trusted_proxies)
    async with services.pool.connection() as conn:
        failures, wait = await store.recent_failures(conn, address, SIGNIN_WINDOW_SECONDS)
    if failures >= SIGNIN_FAILURES_PER_ADDRESS:
        raise RateLimited("too many failed sign-ins from your address; try again later",
                          retry_after=int(wait) + 1, code="SIGNIN_RATE_LIMITED")
    token = token.strip()[:CREDENTIAL_MAX_LENGTH + 1]
    role: str | None = None
    if credential_matches(token, await services.operator_hash()):
        role = OPERATOR
    elif tenant_id:
        try:
            snapshot = await services.tenants.snapshot(tenant_id)
        except NotFound:
            snapshot = None
        if snapshot is not None and credential_matches(token, snapshot.management_token_hash):
            role = VENDOR
    session_id = new_session_id()
    async with services.pool.connection() as conn:
        if role is None:
            await store.record_failure(conn, address, keep_seconds=SIGNIN_FAILURES_KEPT_SECONDS)
        else:
            await store.delete_dead_sessions(conn, idle_seconds=IDLE_SECONDS)
            await store.create_session(
                conn, session_hash=session_hash(session_id), role=role,
                tenant_id=tenant_id if role == VENDOR else None,
                token_hash=hash_credential(token), absolute_seconds=ABSOLUTE_SECONDS)
            user = DashboardUser(role, tenant_id if role == VENDOR else None, session_id)
            await record_audit(conn, _session_entry(user, "dashboard.sign_in",
                                                    tenant_id or None, address))
    if role is None:
        raise Unauthorized("wrong tenant id or token", code="INVALID_TOKEN")
    return user


def _session_entry(user: DashboardUser, action: str, tenant_id: str | None, address: str
                   ) -> AuditEntry:
    """A sign-in or sign-out, in the audit log of the tenant it opened (the operator's
    without one: no tenant)."""
    return AuditEntry(user.actor, action, tenant_id, tenant_id, {"address": address})


async def current_user(services: Any, request: Request) -> DashboardUser | None:
    """The signed-in user of this request, or None (no cookie, expired, signed out, or the
    token it signed in with has been rotated)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > 128:
        return None
    hashed = session_hash(session_id)
    async with services.pool.connection() as conn:
        row = await store.live_session(conn, hashed, idle_seconds=IDLE_SECONDS,
                                       touch_after_seconds=TOUCH_AFTER_SECONDS)
    if row is None:
        return None
    if row["role"] == OPERATOR:
        current = await services.operator_hash()
    else:
        try:
            current = (await services.tenants.snapshot(row["tenant_id"])).management_token_hash
        except NotFound:
            current = None
    if not same_token(row["token_hash"], current):
        async with services.pool.connection() as conn:
            await store.delete_session(conn, hashed)
        return None
    return DashboardUser(row["role"], row["tenant_id"], session_id)


async def sign_out(services: Any, user: DashboardUser, request: Request) -> None:
    address = client_address(request, services.settings.trusted_proxies)
    async with services.pool.connection() as conn:
        await store.delete_session(conn, session_hash(user.session_id))
        await record_audit(conn, _session_entry(user, "dashboard.sign_out", user.tenant_id,
                                                address))
