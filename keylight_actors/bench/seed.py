"""Seed a benchmark: tenants, products and key types through the management API (so they get
signing keys, SDK keys and every other row the server expects), then licenses in bulk
straight into PostgreSQL with COPY, in batches, under the real schema."""

from __future__ import annotations

import datetime
import json
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from ..domain.license_key import generate_license_key, hash_license_key, mask_license_key
from .errors import BenchFailed
from .progress import Progress

# A seeded license has room for the devices the load generator gives it (it keeps at most
# ``load.MAX_ACTIVE_PER_LICENSE`` active) and a churn limit no benchmark reaches.
SEED_ACTIVATION_LIMIT = 25
SEED_CHURN_LIMIT_PER_DAY = 1_000_000
SEED_ENTITLEMENTS = ["pro"]
COPY_BATCH = 10_000
PREFIX_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
KEY_TYPE_ID = "bench"

LICENSE_COPY = """COPY licenses (license_id, tenant_id, product_id, key_type_id, key_hash,
                      key_display, status, activation_limit, entitlements, fallback_access,
                      customer_email, source, created_at, churn_limit_per_day)
                  FROM STDIN"""


class SeedFailed(BenchFailed):
    pass


@dataclass(frozen=True)
class BenchTenant:
    tenant_id: str
    sdk_key: str
    product_id: str
    key_prefix: str
    key_type_id: str


@dataclass(frozen=True)
class Seed:
    """What the load generator needs: the tenants and every license's raw key."""

    run_id: str
    tenants: list[BenchTenant]
    licenses: list[tuple[int, str]]  # (index into tenants, raw key)

    def save(self, path: Path) -> None:
        """Raw keys: written owner-only, and the caller removes the file after the run."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"run_id": self.run_id,
                       "tenants": [asdict(tenant) for tenant in self.tenants],
                       "licenses": self.licenses}, handle)

    @classmethod
    def load(cls, path: Path) -> Seed:
        data = json.loads(Path(path).read_text())
        return cls(data["run_id"], [BenchTenant(**tenant) for tenant in data["tenants"]],
                   [(int(index), key) for index, key in data["licenses"]])


def new_run_id() -> str:
    return "bench-" + secrets.token_hex(3)


def _call(client: httpx.Client, method: str, path: str, token: str,
          body: dict[str, Any] | None = None) -> httpx.Response:
    try:
        return client.request(method, path, json=body,
                              headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        raise SeedFailed(f"cannot reach {client.base_url}: {error}") from None


def _expect(answer: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if answer.status_code != status:
        raise SeedFailed(f"{what}: HTTP {answer.status_code} {answer.text[:300]}")
    return answer.json()


def create_tenants(base_url: str, operator_token: str, count: int, *, run_id: str,
                   progress: bool = True) -> list[BenchTenant]:
    """``count`` active tenants, each with one product and one key type, via the API."""
    tenants = []
    bar = Progress(f"tenants ({run_id})", count, enabled=progress)
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for index in range(count):
            tenant_id = f"{run_id}-t{index}"
            created = _expect(_call(client, "POST", "/api/admin/tenants", operator_token,
                                    {"tenant_id": tenant_id, "name": f"Bench tenant {index}"}),
                              201, f"creating tenant {tenant_id}")
            _expect(_call(client, "PATCH", f"/api/admin/tenants/{tenant_id}", operator_token,
                          {"lifecycle": "active"}), 200, f"activating tenant {tenant_id}")
            token = created["management_token"]
            product_id, prefix = "app", _create_product(client, tenant_id, token)
            _expect(_call(client, "POST", f"/api/{tenant_id}/products/{product_id}/key-types",
                          token, {"key_type_id": KEY_TYPE_ID, "display_name": "Bench",
                                  "activation_limit": SEED_ACTIVATION_LIMIT,
                                  "entitlements": SEED_ENTITLEMENTS,
                                  "churn_limit_per_day": 100_000}),
                    201, f"creating the key type of {tenant_id}")
            tenants.append(BenchTenant(tenant_id, created["sdk_key"], product_id, prefix,
                                       KEY_TYPE_ID))
            bar.update()
    bar.close()
    return tenants


def _create_product(client: httpx.Client, tenant_id: str, token: str) -> str:
    """A product with a fresh key prefix (prefixes are unique across all tenants)."""
    for _ in range(20):
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(4))
        answer = _call(client, "POST", f"/api/{tenant_id}/products", token,
                       {"product_id": "app", "display_name": "Bench app", "key_prefix": prefix})
        if answer.status_code == 409:
            continue
        _expect(answer, 201, f"creating the product of {tenant_id}")
        return prefix
    raise SeedFailed("no free key prefix after 20 tries")


def _license_rows(tenants: list[BenchTenant], keys: list[tuple[int, str]],
                  created_at: datetime.datetime) -> Iterator[tuple[Any, ...]]:
    for index, raw_key in keys:
        tenant = tenants[index]
        yield (uuid.uuid4(), tenant.tenant_id, tenant.product_id, tenant.key_type_id,
               hash_license_key(raw_key), mask_license_key(raw_key), "active",
               SEED_ACTIVATION_LIMIT, SEED_ENTITLEMENTS, False, None, "bench", created_at,
               SEED_CHURN_LIMIT_PER_DAY)


def seed_licenses(database_url: str, tenants: list[BenchTenant], count: int, *,
                  batch: int = COPY_BATCH, progress: bool = True) -> list[tuple[int, str]]:
    """``count`` active licenses spread evenly over the tenants, COPYed in committed batches.

    Answers (tenant index, raw key) pairs; the server stores only hashes.
    """
    if not tenants:
        raise SeedFailed("licenses need at least one tenant")
    keys = [(n % len(tenants), generate_license_key(tenants[n % len(tenants)].key_prefix))
            for n in range(count)]
    bar = Progress(f"licenses (COPY, batches of {batch:,})", count, enabled=progress)
    created_at = datetime.datetime.now(datetime.timezone.utc)
    with psycopg.connect(database_url) as conn:
        for start in range(0, count, batch):
            chunk = keys[start:start + batch]
            with conn.cursor() as cursor, cursor.copy(LICENSE_COPY) as copy:
                for row in _license_rows(tenants, chunk, created_at):
                    copy.write_row(row)
            conn.commit()
            bar.update(len(chunk))
    bar.close()
    return keys


def seed(base_url: str, operator_token: str, database_url: str, *, tenants: int,
         licenses: int, run_id: str | None = None, progress: bool = True) -> Seed:
    run_id = run_id or new_run_id()
    created = create_tenants(base_url, operator_token, tenants, run_id=run_id,
                             progress=progress)
    return Seed(run_id, created, seed_licenses(database_url, created, licenses,
                                               progress=progress))
