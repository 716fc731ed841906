"""One Ray instance and one deployed Serve app per test run; fresh tenants per test."""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from keylight_actors.actors.named_actor import NAMESPACE
from keylight_actors.settings import Settings
from keylight_actors.store.encryption import generate_master_key
from tests.stripe_standin import StripeStandIn

TEST_HOST_MAX_ENTITIES = 500
# High enough that the suite's own deliberate misses from 127.0.0.1 never lock it out.
LOOKUP_FAILURES_PER_ADDRESS = 40
# Outbound webhooks: retries after 1, 2 and 3 s; no answer within 1 s is a failure.
WEBHOOK_RETRY_SCHEDULE = (1, 2, 3)
WEBHOOK_TIMEOUT_SECONDS = 1.0
WEBHOOK_CONCURRENCY = 8


# Every secret and raw key the suite handles, for the log scan that runs last.
SECRETS_SEEN: set[str] = set()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``runs_last`` (the log scan) run after everything else."""
    items.sort(key=lambda item: item.get_closest_marker("runs_last") is not None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CONNECT_WEBHOOK_SECRET = "whsec_connect_" + secrets.token_hex(16)
PLATFORM_STRIPE_KEY = "sk_test_platform" + secrets.token_hex(8)


@pytest.fixture(scope="session")
def stripe_standin() -> Iterator[StripeStandIn]:
    standin = StripeStandIn()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory,
             stripe_standin: StripeStandIn) -> Settings:
    return Settings(
        stripe_secret_key=PLATFORM_STRIPE_KEY,
        stripe_connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        stripe_api_base=stripe_standin.url,
        database_url=database_url,
        data_dir=Path(tmp_path_factory.mktemp("keylight-data")),
        master_key=generate_master_key(),
        admin_token="kop_" + secrets.token_hex(32),
        license_hosts=2,
        tenant_hosts=1,
        host_max_entities=TEST_HOST_MAX_ENTITIES,
        host_idle_seconds=300,
        tenant_cache_seconds=0.5,
        lookup_failures_per_address=LOOKUP_FAILURES_PER_ADDRESS,
        allow_private_webhook_urls=True,  # the receivers listen on loopback
        webhook_retry_schedule=WEBHOOK_RETRY_SCHEDULE,
        webhook_timeout_seconds=WEBHOOK_TIMEOUT_SECONDS,
        webhook_concurrency=WEBHOOK_CONCURRENCY,
        webhook_lease_seconds=5.0,
        expiry_sweep_seconds=1,
        held_retry_seconds=1,  # held Stripe events whose mint died before applying them
    )


@pytest.fixture(scope="session")
def webhook_receiver():
    """The vendors' webhook receiver, on loopback, for the whole run."""
    from .webhook_receiver import WebhookReceiver

    receiver = WebhookReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    import ray

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    # address="local": always a fresh instance, never a cluster another process left running.
    ray.init(address="local", num_cpus=2, namespace=NAMESPACE, include_dashboard=False,
             configure_logging=False, log_to_driver=False,
             _system_config={"metrics_report_interval_ms": 1000})
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def base_url(settings: Settings, ray_session: None) -> Iterator[str]:
    from ray import serve

    from keylight_actors.api.deployment import build_app
    from keylight_actors.server import prepare_database

    prepare_database(settings)  # as every start does, once, before the app is built
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build_app(settings), name="keylight", route_prefix="/", blocking=False)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the Serve app did not become ready in 120 s")
        time.sleep(0.25)
    yield url
    serve.shutdown()


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


@pytest.fixture
def operator_headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.admin_token}"}


@dataclass
class Tenant:
    tenant_id: str
    credentials: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credentials['management_token']}"}


def unique_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


_issued_key_prefixes: set[str] = set()


def unique_key_prefix() -> str:
    """A prefix no other product of this run holds.

    Prefixes are unique across all tenants and there are only 32**4 of them, so random
    draws alone collide within a run of a few hundred products (a CI run once did).
    """
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        prefix = "".join(secrets.choice(alphabet) for _ in range(4))
        if prefix not in _issued_key_prefixes:
            _issued_key_prefixes.add(prefix)
            return prefix


@pytest.fixture
def make_tenant(http: httpx.Client, operator_headers: dict[str, str]):
    def make(*, active: bool = True, **extra: Any) -> Tenant:
        tenant_id = unique_id("t")
        answer = http.post("/api/admin/tenants", headers=operator_headers,
                           json={"tenant_id": tenant_id, "name": "Acme Apps", **extra})
        assert answer.status_code == 201, answer.text
        SECRETS_SEEN.update(value for name, value in answer.json().items()
                            if name in {"sdk_key", "checkout_api_key", "management_token"}
                            and value)
        if active:
            moved = http.patch(f"/api/admin/tenants/{tenant_id}", headers=operator_headers,
                               json={"lifecycle": "active"})
            assert moved.status_code == 200, moved.text
        return Tenant(tenant_id, answer.json())

    return make


@pytest.fixture
def tenant(make_tenant) -> Tenant:
    return make_tenant()


@dataclass
class Catalog:
    tenant: Tenant
    product_id: str
    key_prefix: str
    key_type_id: str


@pytest.fixture
def make_catalog(http: httpx.Client):
    def make(tenant: Tenant, *, activation_limit: int = 3, **key_type: Any) -> Catalog:
        product_id, prefix, key_type_id = unique_id("app"), unique_key_prefix(), "pro"
        created = http.post(f"/api/{tenant.tenant_id}/products", headers=tenant.headers,
                            json={"product_id": product_id, "display_name": "Acme Editor",
                                  "key_prefix": prefix})
        assert created.status_code == 201, created.text
        created = http.post(
            f"/api/{tenant.tenant_id}/products/{product_id}/key-types", headers=tenant.headers,
            json={"key_type_id": key_type_id, "display_name": "Pro",
                  "activation_limit": activation_limit, "entitlements": ["pro"], **key_type})
        assert created.status_code == 201, created.text
        return Catalog(tenant, product_id, prefix, key_type_id)

    return make


@pytest.fixture
def catalog(tenant: Tenant, make_catalog) -> Catalog:
    return make_catalog(tenant)


@pytest.fixture
def mint(http: httpx.Client):
    def mint_one(catalog: Catalog, **extra: Any) -> dict[str, Any]:
        answer = http.post(
            f"/api/{catalog.tenant.tenant_id}/licenses", headers=catalog.tenant.headers,
            json={"product_id": catalog.product_id, "key_type_id": catalog.key_type_id,
                  "customer_email": "buyer@example.com", **extra})
        assert answer.status_code == 201, answer.text
        SECRETS_SEEN.add(answer.json()["key"])
        return answer.json()

    return mint_one


@pytest.fixture
async def plain_license_hosts(settings: Settings):
    """Two license hosts as plain objects outside Ray, sharing the run's database."""
    from keylight_actors.actors.license_host import LicenseHost

    # Not freezing the test process's objects: that is for a host's own process.
    settings = settings.with_changes(host_gc_freeze_seconds=0)
    hosts = (LicenseHost(settings, "plain-a"), LicenseHost(settings, "plain-b"))
    yield hosts
    for host in hosts:
        await host.close()


@pytest.fixture
def as_tenant(base_url: str, tenant: Tenant):
    """Run a tenant-scoped ``keylight`` verb with the tenant's management token."""
    from .cli_calls import tenant_cli

    return tenant_cli(base_url, tenant)


@pytest.fixture
def shop(http: httpx.Client, operator_headers: dict[str, str], tenant: Tenant, make_catalog):
    """A tenant connected to Stripe selling a one-off key type: (catalog, account)."""
    from .payments import connect

    account = connect(http, operator_headers, tenant)
    return make_catalog(tenant, price_in_cents=2500, currency="usd"), account


@pytest.fixture
def subscription_shop(http: httpx.Client, operator_headers: dict[str, str], tenant: Tenant,
                      make_catalog):
    """A tenant connected to Stripe selling a monthly subscription: (catalog, account)."""
    from .payments import connect

    account = connect(http, operator_headers, tenant)
    catalog = make_catalog(tenant, price_in_cents=900, currency="usd",
                           recurring_interval="month", duration_days=30)
    return catalog, account
