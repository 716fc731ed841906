"""Deploying on a Ray cluster: the Serve config, and what ``serve deploy`` needs.

``serve_config.yaml`` (here) is the config for ``serve deploy``; ``cluster.yaml`` at the
top of the repository launches a cluster that deploys it. ``serve_app.py`` calls
:func:`settings_for_serve` so that a deployment on a cluster is configured explicitly and
sized once, for every replica alike.
"""

from __future__ import annotations

from pathlib import Path

from ..settings import Settings

SERVE_CONFIG = Path(__file__).with_name("serve_config.yaml")

# What `serve deploy` must be given: a cluster shares one database and one master key, and
# a generated operator token would have nowhere to be shown but the Ray logs.
REQUIRED_ON_CLUSTER = {
    "KEYLIGHT_DATABASE_URL": "database_url",
    "KEYLIGHT_MASTER_KEY": "master_key",
    "KEYLIGHT_ADMIN_TOKEN": "admin_token",
}


class MissingClusterSetting(RuntimeError):
    pass


def in_ray_worker() -> bool:
    """True inside a Ray task or actor: ``serve deploy`` builds the app in one."""
    import ray

    if not ray.is_initialized():
        return False
    return ray.get_runtime_context().worker.mode == ray.WORKER_MODE


def require_cluster_settings(settings: Settings) -> None:
    missing = [name for name, field in REQUIRED_ON_CLUSTER.items()
               if not getattr(settings, field)]
    if missing:
        raise MissingClusterSetting(
            f"serve deploy needs {', '.join(missing)} in the environment Ray was started "
            "with on the cluster's nodes (see docs/cluster.md); a cluster "
            "never starts an embedded PostgreSQL or generates its own keys"
        )


def pin_host_counts(settings: Settings) -> Settings:
    """Resolve ``KEYLIGHT_LICENSE_HOSTS=0`` (one per 4 CPUs) now, once for every replica.

    Each ingress replica routes by rendezvous hashing over the host names, so all of them
    must agree on the count: a replica restarted after a node was lost must not count fewer
    CPUs than the others did.
    """
    if settings.license_hosts > 0:
        return settings
    from ..actors.host_pool import license_host_count

    return settings.with_changes(license_hosts=license_host_count(settings))


def settings_for_serve(settings: Settings) -> Settings:
    """Checks and pins for a Serve application built inside a Ray cluster.

    Outside Ray (``serve run serve_app:app`` imports the module before Ray starts) the
    settings pass unchanged, and the local defaults (embedded PostgreSQL, generated keys)
    apply.
    """
    import ray

    if in_ray_worker():
        require_cluster_settings(settings)
    if ray.is_initialized():
        settings = pin_host_counts(settings)
    return settings
