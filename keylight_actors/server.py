"""``keylight serve``: a local (or existing) Ray cluster, the entity hosts and the Serve app."""

from __future__ import annotations

import logging

from .actors.named_actor import NAMESPACE
from .bootstrap import resolve_settings
from .settings import Settings
from .stop_signal import StopSignal
from .store.migrate import apply_migrations
from .store.operator import ensure_operator_token

log = logging.getLogger(__name__)

APP_NAME = "keylight"


def say(message: str) -> None:
    """Print at once: the URL and a first token matter even when output goes to a file."""
    print(message, flush=True)


def run_server(settings: Settings, *, announce=say) -> None:
    resolved, embedded = resolve_settings(settings)
    try:
        prepare_database(resolved, announce)
        _serve_until_stopped(resolved, announce)
    finally:
        if embedded is not None:
            embedded.stop()


def prepare_database(settings: Settings, announce=say) -> None:
    """Migrate, and on first start generate the operator token and show it once."""
    assert settings.database_url and settings.session_database_url
    applied = apply_migrations(settings.session_database_url)
    if applied:
        announce(f"applied migrations: {', '.join(f'{n:04d}' for n in applied)}")
    generated = ensure_operator_token(settings.database_url, settings.admin_token)
    if generated:
        announce(f"operator token (shown once, keep it safe): {generated}")


def _serve_until_stopped(settings: Settings, announce) -> None:
    import ray
    from ray import serve

    from .actors.host_pool import license_host_count
    from .api.deployment import build_app

    # Without KEYLIGHT_RAY_ADDRESS: a fresh local instance, never a cluster left running by
    # someone else on this machine.
    ray.init(address=settings.ray_address or "local", namespace=NAMESPACE,
             configure_logging=False)
    # Fixed once here, so every ingress replica routes over the same pool of hosts even if
    # one restarts when the cluster has fewer CPUs.
    settings = settings.with_changes(license_hosts=license_host_count(settings))
    stop = StopSignal()
    stop.install()
    try:
        serve.start(http_options={"host": settings.host, "port": settings.port})
        serve.run(build_app(settings), name=APP_NAME, route_prefix="/")
        announce(f"Keylight is listening on http://{settings.host}:{settings.port}")
        announce(f"stopping ({stop.wait().name})")
    finally:
        if settings.ray_address is None:
            # Ctrl-C reaches the local raylet too; shutting Ray down ends Serve with it,
            # and everything acknowledged is already in Postgres.
            ray.shutdown()
        else:
            serve.delete(APP_NAME)
