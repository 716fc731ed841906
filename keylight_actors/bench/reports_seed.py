"""Seed for ``keylight bench-reports``: one tenant (through the management API, keeping its
management token) and its licenses and devices COPYed straight into PostgreSQL with a
realistic spread: created over the last 60 days, a mix of statuses (revoked, reminted, some
active ones whose ``expires_at`` has passed), and devices activated since their license was
created, some of them deactivated since."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from ..domain.license_key import generate_license_key, hash_license_key, mask_license_key
from .progress import Progress
from .seed import (
    KEY_TYPE_ID,
    SEED_ACTIVATION_LIMIT,
    SEED_CHURN_LIMIT_PER_DAY,
    SEED_ENTITLEMENTS,
    SeedFailed,
    _call,
    _create_product,
    _expect,
)

SPREAD_DAYS = 60
COPY_BATCH = 20_000
# Shares of the seeded licenses (the rest are active without an expiry).
REVOKED_SHARE = 0.06
REMINTED_SHARE = 0.02
EXPIRED_SHARE = 0.10      # active, expires_at in the past: counted as expired
EXPIRING_SHARE = 0.20     # active, expires_at in the future
WITH_EMAIL_SHARE = 0.85
# Devices: this share of licenses has one, a fifth of those a second; a device is
# activated between its license's creation and now and sometimes deactivated since.
DEVICE_SHARE = 0.35
SECOND_DEVICE_SHARE = 0.2
DEACTIVATED_SHARE = 0.15

LICENSE_COPY = """COPY licenses (license_id, tenant_id, product_id, key_type_id, key_hash,
                      key_display, status, activation_limit, expires_at, entitlements,
                      fallback_access, customer_email, source, created_at,
                      churn_limit_per_day, expiry_announced_for)
                  FROM STDIN"""
INSTANCE_COPY = """COPY license_instances (instance_id, license_id, tenant_id, name,
                       machine_hash, activated_at, deactivated_at,
                       deactivated_by_device)
                   FROM STDIN"""


@dataclass(frozen=True)
class ReportTenant:
    tenant_id: str
    management_token: str
    product_id: str
    key_prefix: str


@dataclass
class SeedFacts:
    """What was seeded, for the report and for picking filters that match something."""

    licenses: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    instances: int = 0
    instances_last_30_days: int = 0
    sample_email: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"licenses": self.licenses, "by_status": dict(sorted(self.by_status.items())),
                "instances": self.instances,
                "instances_activated_last_30_days": self.instances_last_30_days}


def create_report_tenant(base_url: str, operator_token: str, tenant_id: str
                         ) -> ReportTenant:
    """An active tenant with one product and one key type, created through the API."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        created = _expect(_call(client, "POST", "/api/admin/tenants", operator_token,
                                {"tenant_id": tenant_id, "name": f"Reports bench {tenant_id}"}),
                          201, f"creating tenant {tenant_id}")
        _expect(_call(client, "PATCH", f"/api/admin/tenants/{tenant_id}", operator_token,
                      {"lifecycle": "active"}), 200, f"activating tenant {tenant_id}")
        token = created["management_token"]
        prefix = _create_product(client, tenant_id, token)
        _expect(_call(client, "POST", f"/api/{tenant_id}/products/app/key-types", token,
                      {"key_type_id": KEY_TYPE_ID, "display_name": "Bench",
                       "activation_limit": SEED_ACTIVATION_LIMIT,
                       "entitlements": SEED_ENTITLEMENTS, "churn_limit_per_day": 100_000}),
                201, f"creating the key type of {tenant_id}")
    return ReportTenant(tenant_id, token, "app", prefix)


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    return start + (end - start) * rng.random()


def spread_rows(tenant: ReportTenant, count: int, now: dt.datetime, rng: random.Random,
                facts: SeedFacts) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """(license row, its device rows) for ``count`` licenses; counts them into ``facts``."""
    oldest = now - dt.timedelta(days=SPREAD_DAYS)
    month_ago = now - dt.timedelta(days=30)
    for n in range(count):
        created_at = _between(rng, oldest, now)
        draw = rng.random()
        expires_at = None
        if draw < REVOKED_SHARE:
            status = counted = "revoked"
        elif draw < REVOKED_SHARE + REMINTED_SHARE:
            status = counted = "reminted"
        else:
            status = counted = "active"
            draw = rng.random()
            if draw < EXPIRED_SHARE:
                expires_at = _between(rng, created_at, now)
                counted = "expired"
            elif draw < EXPIRED_SHARE + EXPIRING_SHARE:
                expires_at = now + dt.timedelta(days=rng.uniform(1, 365))
        email = f"customer{n}@example.com" if rng.random() < WITH_EMAIL_SHARE else None
        if email and facts.sample_email is None and n >= count // 2:
            facts.sample_email = email
        raw_key = generate_license_key(tenant.key_prefix)
        license_id = uuid.uuid4()
        devices = []
        if rng.random() < DEVICE_SHARE:
            for index in range(2 if rng.random() < SECOND_DEVICE_SHARE else 1):
                activated_at = _between(rng, created_at, now)
                deactivated_at = (_between(rng, activated_at, now)
                                  if rng.random() < DEACTIVATED_SHARE else None)
                devices.append((uuid.uuid4(), license_id, tenant.tenant_id, f"device {index}",
                                f"{rng.getrandbits(128):032x}", activated_at, deactivated_at,
                                True))
                facts.instances_last_30_days += activated_at >= month_ago
        facts.licenses += 1
        facts.by_status[counted] += 1
        facts.instances += len(devices)
        yield ((license_id, tenant.tenant_id, tenant.product_id, KEY_TYPE_ID,
                hash_license_key(raw_key), mask_license_key(raw_key), status,
                SEED_ACTIVATION_LIMIT, expires_at, SEED_ENTITLEMENTS, False, email, "bench",
                created_at, SEED_CHURN_LIMIT_PER_DAY,
                # Expired before the run: announced already, as on a server that has been
                # running (else the expiry sweeper rewrites ~92,000 rows during the timings).
                expires_at if counted == "expired" else None), devices)


def seed_spread(database_url: str, tenant: ReportTenant, count: int, *,
                now: dt.datetime | None = None, seed: int = 20, batch: int = COPY_BATCH,
                progress: bool = True) -> SeedFacts:
    """COPY ``count`` licenses and their devices into ``tenant``, in committed batches."""
    if count < 1:
        raise SeedFailed("seed at least one license")
    now = now or dt.datetime.now(dt.timezone.utc)
    rng = random.Random(seed)
    facts = SeedFacts()
    rows = spread_rows(tenant, count, now, rng, facts)
    bar = Progress(f"{tenant.tenant_id}: licenses + devices (COPY)", count, enabled=progress)
    with psycopg.connect(database_url) as conn:
        done = 0
        while done < count:
            size = min(batch, count - done)
            devices: list[tuple[Any, ...]] = []
            with conn.cursor() as cursor:
                with cursor.copy(LICENSE_COPY) as copy:
                    for _ in range(size):
                        license_row, license_devices = next(rows)
                        copy.write_row(license_row)
                        devices += license_devices
                with cursor.copy(INSTANCE_COPY) as copy:
                    for device in devices:
                        copy.write_row(device)
            conn.commit()
            done += size
            bar.update(size)
    bar.close()
    return facts


def analyze(database_url: str) -> None:
    """VACUUM (ANALYZE) the report tables: fresh statistics and visibility maps, the state
    autovacuum keeps a long-lived table in (COPYed rows are not all-visible yet)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in ("licenses", "license_instances", "webhook_deliveries"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
