"""Configuration from the environment (DESIGN §7), resolved once and passed to every process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
HOST_TRANSPORTS = ("link", "ray")


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``, read in any case and with stray spaces."""
    raw = os.environ.get(name) or default
    by_folded = {choice.casefold(): choice for choice in choices}
    choice = by_folded.get(raw.strip().casefold())
    if choice is None:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return choice


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "keylight"


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    # Straight to PostgreSQL when database_url goes through a transaction pooler: LISTEN
    # and migrations need a session of their own.
    direct_database_url: str | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8000
    master_key: str | None = field(default=None, repr=False)
    admin_token: str | None = field(default=None, repr=False)
    ray_address: str | None = None
    stripe_secret_key: str | None = field(default=None, repr=False)
    stripe_connect_webhook_secret: str | None = field(default=None, repr=False)
    stripe_api_base: str | None = None
    platform_fee_bps: int = 50
    webhook_retry_schedule: tuple[int, ...] = (60, 300, 1800)
    allow_private_webhook_urls: bool = False
    webhook_timeout_seconds: float = 10.0
    webhook_concurrency: int = 16
    webhook_poll_seconds: float = 1.0
    webhook_lease_seconds: float = 60.0  # a claim not finished by then is due again
    webhook_dispatchers: int = 1
    # An expiry is announced (license.expired) at most this long after it passes, even
    # when no SDK call sees it (actors/expiry_sweeper.py).
    expiry_sweep_seconds: float = 60.0
    expiry_sweepers: int = 1
    # How often each ingress replica applies Stripe events held for a license that exists
    # now (a mint that died before applying them: services/stripe_inbox.py).
    held_retry_seconds: float = 60.0
    license_hosts: int = 0  # 0: one per 4 CPUs of the cluster (at least one)
    tenant_hosts: int = 1
    host_max_entities: int = 100_000
    host_idle_seconds: float = 600.0
    host_gc_freeze_seconds: float = 5.0  # 0: CPython's automatic collections only
    tenant_cache_seconds: float = 2.0
    ingress_replicas: int = 1
    db_pool_size: int = 4
    host_batch_max: int = 64  # SDK calls one Ray call to a host carries at most
    host_batches_in_flight: int = 1  # per host, from each ingress replica
    # How SDK batches reach a host: "link", a TCP connection between the two event loops
    # (the host listens on an ephemeral port of its node), or "ray", an actor call each.
    host_transport: str = "link"
    commit_group_max: int = 64  # writes one host commits in one transaction at most
    commits_in_flight: int = 1  # per host; at most db_pool_size
    lookup_failures_per_address: int = 20
    lookup_lockout_seconds: int = 900
    log_level: str = "INFO"
    # Proxies (addresses or networks) whose X-Forwarded-For / X-Forwarded-Proto the dashboard
    # believes; none by default.
    trusted_proxies: tuple[str, ...] = ()

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        schedule = env.get("KEYLIGHT_WEBHOOK_RETRY_SCHEDULE", "60,300,1800")
        try:
            retry_schedule = tuple(int(part) for part in schedule.split(",") if part.strip())
        except ValueError:
            raise ValueError(
                "KEYLIGHT_WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds"
            ) from None
        return cls(
            database_url=env.get("KEYLIGHT_DATABASE_URL") or None,
            direct_database_url=env.get("KEYLIGHT_DIRECT_DATABASE_URL") or None,
            data_dir=Path(env["KEYLIGHT_DATA_DIR"]) if env.get("KEYLIGHT_DATA_DIR")
            else default_data_dir(),
            host=env.get("KEYLIGHT_HOST", "127.0.0.1"),
            port=_env_int("KEYLIGHT_PORT", 8000),
            master_key=env.get("KEYLIGHT_MASTER_KEY") or None,
            admin_token=env.get("KEYLIGHT_ADMIN_TOKEN") or None,
            ray_address=env.get("KEYLIGHT_RAY_ADDRESS") or None,
            stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
            stripe_connect_webhook_secret=env.get("STRIPE_CONNECT_WEBHOOK_SECRET") or None,
            stripe_api_base=env.get("STRIPE_API_BASE") or None,
            platform_fee_bps=_env_int("KEYLIGHT_PLATFORM_FEE_BPS", 50),
            webhook_retry_schedule=retry_schedule,
            allow_private_webhook_urls=_env_flag("KEYLIGHT_ALLOW_PRIVATE_WEBHOOK_URLS"),
            webhook_timeout_seconds=_env_float("KEYLIGHT_WEBHOOK_TIMEOUT_SECONDS", 10.0),
            webhook_concurrency=_env_int("KEYLIGHT_WEBHOOK_CONCURRENCY", 16),
            webhook_poll_seconds=_env_float("KEYLIGHT_WEBHOOK_POLL_SECONDS", 1.0),
            webhook_lease_seconds=_env_float("KEYLIGHT_WEBHOOK_LEASE_SECONDS", 60.0),
            webhook_dispatchers=_env_int("KEYLIGHT_WEBHOOK_DISPATCHERS", 1),
            expiry_sweep_seconds=_env_float("KEYLIGHT_EXPIRY_SWEEP_SECONDS", 60.0),
            expiry_sweepers=_env_int("KEYLIGHT_EXPIRY_SWEEPERS", 1),
            held_retry_seconds=_env_float("KEYLIGHT_HELD_RETRY_SECONDS", 60.0),
            license_hosts=_env_int("KEYLIGHT_LICENSE_HOSTS", 0),
            tenant_hosts=_env_int("KEYLIGHT_TENANT_HOSTS", 1),
            host_max_entities=_env_int("KEYLIGHT_HOST_MAX_ENTITIES", 100_000),
            host_idle_seconds=float(_env_int("KEYLIGHT_HOST_IDLE_SECONDS", 600)),
            host_gc_freeze_seconds=_env_float("KEYLIGHT_HOST_GC_FREEZE_SECONDS", 5.0),
            ingress_replicas=_env_int("KEYLIGHT_INGRESS_REPLICAS", 1),
            db_pool_size=_env_int("KEYLIGHT_DB_POOL_SIZE", 4),
            host_batch_max=_env_int("KEYLIGHT_HOST_BATCH_MAX", 64),
            host_batches_in_flight=_env_int("KEYLIGHT_HOST_BATCHES_IN_FLIGHT", 1),
            host_transport=_env_choice("KEYLIGHT_HOST_TRANSPORT", "link", HOST_TRANSPORTS),
            commit_group_max=_env_int("KEYLIGHT_COMMIT_GROUP_MAX", 64),
            commits_in_flight=_env_int("KEYLIGHT_COMMITS_IN_FLIGHT", 1),
            lookup_failures_per_address=_env_int("KEYLIGHT_LOOKUP_FAILURES_PER_ADDRESS", 20),
            lookup_lockout_seconds=_env_int("KEYLIGHT_LOOKUP_LOCKOUT_SECONDS", 900),
            log_level=_env_choice("KEYLIGHT_LOG_LEVEL", "INFO", LOG_LEVELS),
            trusted_proxies=tuple(part.strip() for part in
                                  env.get("KEYLIGHT_TRUSTED_PROXIES", "").split(",")
                                  if part.strip()),
        )

    @property
    def session_database_url(self) -> str | None:
        """Where to hold a session (LISTEN, migrations): the direct URL when one is set."""
        return self.direct_database_url or self.database_url

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
