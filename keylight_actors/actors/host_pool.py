"""Named, detached, restartable Ray actors for the entity hosts, and routing to them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypeVar

import ray
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

from ..domain.errors import Unavailable
from ..settings import Settings
from .allocator_policy import fix_mmap_threshold
from .coalescer import Coalescer
from .host_link import HostLink, HostLinkServer, LinkEndpoint, LinkLost
from .license_host import LicenseHost
from .license_messages import LicenseClient
from .messages import Message, unwrap_reply
from .named_actor import durable_actor_options
from .rendezvous import owner_index
from .tenant_host import TenantHost
from .tenant_messages import TenantClient

log = logging.getLogger(__name__)
C = TypeVar("C")
R = TypeVar("R")

HOST_CONCURRENCY = 1000
HOST_PLACEMENT_MEMORY_BYTES = 1
OUTLIVE_SECONDS = 300
HOST_FAILURES = (ActorDiedError, ActorUnavailableError, RayActorError, LinkLost)

_HOST_CLASSES = {"license": LicenseHost, "tenant": TenantHost}


# Each batch costs a host about the same whatever it holds (a Ray call or a frame, one
# statement, one commit), and a host's batches grow with the calls it receives: fewer,
# busier hosts pay it less often per request (docs/performance.md).
CPUS_PER_LICENSE_HOST = 4


def default_license_hosts(cluster_cpus: float) -> int:
    return max(1, int(cluster_cpus) // CPUS_PER_LICENSE_HOST)


def license_host_count(settings: Settings) -> int:
    if settings.license_hosts > 0:
        return settings.license_hosts
    return default_license_hosts(ray.cluster_resources().get("CPU", 1))


def host_name(kind: str, index: int) -> str:
    return f"{kind}-host-{index}"


class HostActor:
    """A host as Ray sees it: only the entry points. Ray wraps every method of an actor
    class in a tracing shim, one more coroutine layer per call; the host's own methods,
    called many times per request, stay plain."""

    def __init__(self, kind: str, settings: Settings, name: str) -> None:
        fix_mmap_threshold()  # a process of its own: its allocator policy is ours to set
        self.host = _HOST_CLASSES[kind](settings, name)
        self.link: HostLinkServer | None = None

    async def handle_batch(self, payloads: list[bytes]) -> list[bytes]:
        return await self.host.handle_batch(payloads)

    async def stats(self) -> dict[str, Any]:
        return await self.host.stats()

    async def link_endpoint(self) -> tuple[str, int, bytes]:
        """Where this host's link listens, and its token (plain values: nothing of ours is
        pickled across Ray)."""
        if self.link is None:
            self.link = HostLinkServer(self.host.handle_batch,
                                       bind_host=ray.util.get_node_ip_address())
        endpoint = await self.link.endpoint()
        return endpoint.host, endpoint.port, endpoint.token

    async def outlive(self) -> None:
        """Answers after a while: the ingress holds this call open to hear of the host's
        death, and the call of an ingress that died ends here on its own."""
        await asyncio.sleep(OUTLIVE_SECONDS)

    async def ping(self) -> bool:
        return await self.host.ping()


def get_or_create_host(kind: str, index: int, settings: Settings) -> ray.actor.ActorHandle:
    actor_class = ray.remote(HostActor)
    name = host_name(kind, index)
    return actor_class.options(
        **durable_actor_options(name),
        max_concurrency=HOST_CONCURRENCY,
        num_cpus=0,
        # Spread hosts over the cluster's nodes: losing a node loses only its share.
        scheduling_strategy="SPREAD",
        # A nominal byte of memory, so that the hosts' placement is decided by the raylet
        # of the node that creates them, which deals SPREAD's nodes out in turn. An actor
        # that asks for no resource at all is placed by a randomly chosen node's raylet,
        # each starting its own turn at the same first node: 4 hosts then landed on one
        # node of three about once in two test runs (docs/cluster.md).
        memory=HOST_PLACEMENT_MEMORY_BYTES,
    ).remote(kind, settings, name)


def _batch_sender(handle: ray.actor.ActorHandle) -> Any:
    async def send(payloads: list[bytes]) -> list[bytes]:
        return await handle.handle_batch.remote(payloads)  # type: ignore[no-any-return]

    return send


def _link_to(handle: ray.actor.ActorHandle) -> HostLink:
    async def endpoint() -> LinkEndpoint:
        return LinkEndpoint(*await handle.link_endpoint.remote())

    async def outlive() -> None:
        call = handle.outlive.remote()
        try:
            await call
        except asyncio.CancelledError:
            ray.cancel(call)
            raise

    return HostLink(endpoint, outlive)


class HostPool:
    """One kind of host: which one owns an entity, and calls to it.

    Calls bound for one host share batches (see ``coalescer``): the fixed cost of reaching
    a host, over its link or a Ray call, is paid once per batch, not once per request.
    """

    def __init__(self, kind: str, settings: Settings, count: int) -> None:
        self.kind = kind
        self.names = [host_name(kind, index) for index in range(count)]
        self.handles = [get_or_create_host(kind, index, settings) for index in range(count)]
        if settings.host_transport == "link":
            self.links = [_link_to(handle) for handle in self.handles]
            senders = [link.send for link in self.links]
        else:
            self.links = []
            senders = [_batch_sender(handle) for handle in self.handles]
        self.batchers: list[Coalescer[bytes, bytes]] = [
            Coalescer(send, max_batch=settings.host_batch_max,
                      max_in_flight=settings.host_batches_in_flight)
            for send in senders
        ]

    async def close(self) -> None:
        for link in self.links:
            await link.close()

    def owner(self, entity_id: str) -> ray.actor.ActorHandle:
        return self.handles[owner_index(self.names, entity_id)]

    async def send(self, message: Message[C, R], command: C, *, retry_read: bool = False
                   ) -> R:
        """A typed command to the host that owns its entity; its typed result. A read
        (``retry_read``) may safely be sent again once when its host died under it."""
        payload = message.encode(command)
        batcher = self.batchers[owner_index(self.names, message.entity_id(command))]
        for attempt in (1, 2):
            try:
                reply = await batcher.submit(payload)
            except HOST_FAILURES as error:
                log.warning("%s host for %s unavailable: %s", self.kind, message.tag,
                            type(error).__name__)
                if retry_read and attempt == 1:
                    continue
                raise Unavailable(f"the {self.kind} host is restarting; try again") from error
            try:
                return message.decode_result(unwrap_reply(reply))
            except Unavailable:
                if not (retry_read and attempt == 1):
                    raise
        raise AssertionError("unreachable")

    async def stats(self) -> list[dict[str, Any]]:
        return [await handle.stats.remote() for handle in self.handles]

    async def ping_all(self) -> None:
        for handle in self.handles:
            await handle.ping.remote()


class Hosts:
    def __init__(self, settings: Settings) -> None:
        self.license_pool = HostPool("license", settings, license_host_count(settings))
        self.tenant_pool = HostPool("tenant", settings, max(1, settings.tenant_hosts))
        self.licenses = LicenseClient(self.license_pool)
        self.tenants = TenantClient(self.tenant_pool)
