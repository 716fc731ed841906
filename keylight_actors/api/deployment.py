"""The Ray Serve deployment: one FastAPI ingress, replicated across the cluster."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from ..log_files import log_to_ray_logs_dir
from ..settings import Settings
from .app import create_app
from .ingress_context import IngressContext

DEPLOYMENT_NAME = "KeylightIngress"
MAX_ONGOING_REQUESTS = 1000


@serve.ingress()
class KeylightIngress:
    async def __init__(self, settings: Settings) -> None:
        logging.basicConfig(level=settings.log_level)
        log_to_ray_logs_dir("ingress", settings.log_level)
        self.services = await IngressContext.start(settings)

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_app(self.services)


def build_app(settings: Settings, *, ray_actor_options: dict | None = None) -> Application:
    """The Serve application; ``ray_actor_options`` may pin the ingress (e.g. to the head)."""
    deployment = serve.deployment(
        KeylightIngress,
        name=DEPLOYMENT_NAME,
        num_replicas=settings.ingress_replicas,
        max_ongoing_requests=MAX_ONGOING_REQUESTS,
        # Keylight writes its own access log (request id, route template, tenant); Serve's
        # would be a second line per request in the replica's log.
        logging_config={"enable_access_log": False},
        ray_actor_options={"num_cpus": 0, **(ray_actor_options or {})},
    )
    return deployment.bind(settings)
