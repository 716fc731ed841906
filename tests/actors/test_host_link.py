"""The host link on real loopback sockets: batches, concurrency, and every way it can end."""

from __future__ import annotations

import asyncio
import struct

import msgpack
import pytest
import uvloop

from keylight_actors.actors.host_link import (
    HostBatchFailed,
    HostLink,
    HostLinkServer,
    LinkEndpoint,
    LinkLost,
)


class EchoHost:
    """Answers each payload upper-cased; ``slow:`` payloads take 50 ms, ``hang`` never
    answers, and a batch holding ``boom`` fails as a whole."""

    def __init__(self) -> None:
        self.batches: list[list[bytes]] = []
        self.release = asyncio.Event()

    async def handle_batch(self, payloads: list[bytes]) -> list[bytes]:
        self.batches.append(payloads)
        if b"boom" in payloads:
            raise RuntimeError("the host tripped")
        if b"hang" in payloads:
            await self.release.wait()
        if any(payload.startswith(b"slow:") for payload in payloads):
            await asyncio.sleep(0.05)
        return [payload.upper() for payload in payloads]


@pytest.fixture
async def host():
    echo = EchoHost()
    server = HostLinkServer(echo.handle_batch, bind_host="127.0.0.1")
    yield echo, server
    echo.release.set()
    await server.close()


def link_to(server: HostLinkServer, outlive=None) -> HostLink:
    return HostLink(server.endpoint, outlive)


async def raw_connection(endpoint: LinkEndpoint, hello: bytes):
    reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
    writer.write(struct.pack(">I", len(hello)) + hello)
    return reader, writer


async def closed_by_peer(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(), timeout=5) == b""


# -- batches -------------------------------------------------------------------------------


async def test_a_batch_gets_the_hosts_replies_in_order(host):
    echo, server = host
    link = link_to(server)
    assert await link.send([b"a", b"b", b"c"]) == [b"A", b"B", b"C"]
    assert echo.batches == [[b"a", b"b", b"c"]]
    await link.close()


async def test_batches_share_one_connection_and_a_slow_one_holds_back_no_other(host):
    _, server = host
    link = link_to(server)
    slow = asyncio.create_task(link.send([b"slow:1"]))
    await asyncio.sleep(0.01)
    assert await asyncio.wait_for(link.send([b"quick"]), timeout=0.04) == [b"QUICK"]
    assert await slow == [b"SLOW:1"]
    assert link.connects == 1 and server.connections == 1
    await link.close()


async def test_a_failing_batch_fails_alone_and_the_connection_stays_up(host):
    _, server = host
    link = link_to(server)
    with pytest.raises(HostBatchFailed, match="the host tripped"):
        await link.send([b"boom"])
    assert await link.send([b"after"]) == [b"AFTER"]
    assert link.connects == 1
    await link.close()


async def test_a_caller_that_gives_up_leaves_the_connection_usable(host):
    echo, server = host
    link = link_to(server)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(link.send([b"hang"]), timeout=0.05)
    echo.release.set()  # the late reply arrives for nobody and is dropped
    assert await link.send([b"next"]) == [b"NEXT"]
    assert link.connects == 1
    await link.close()


# -- the link ending -----------------------------------------------------------------------


class Restarts:
    """A host that can die and come back listening elsewhere, as a restarted actor does."""

    def __init__(self) -> None:
        self.incarnations = [HostLinkServer(EchoHost().handle_batch, bind_host="127.0.0.1")]

    async def endpoint(self) -> LinkEndpoint:
        return await self.incarnations[-1].endpoint()

    async def crash_and_restart(self) -> None:
        await self.incarnations[-1].close()
        self.incarnations.append(HostLinkServer(EchoHost().handle_batch, bind_host="127.0.0.1"))

    async def close(self) -> None:
        for server in self.incarnations:
            await server.close()


async def test_a_host_going_away_fails_the_batches_under_way_with_a_lost_link():
    restarts = Restarts()
    link = HostLink(restarts.endpoint)
    hanging = asyncio.create_task(link.send([b"hang"]))
    await asyncio.sleep(0.05)
    await restarts.crash_and_restart()
    with pytest.raises(LinkLost, match=r"lost|closed"):
        await asyncio.wait_for(hanging, timeout=5)
    await link.close()
    await restarts.close()


async def test_after_a_lost_link_the_next_send_reconnects_through_a_fresh_endpoint():
    restarts = Restarts()
    link = HostLink(restarts.endpoint)
    assert await link.send([b"one"]) == [b"ONE"]
    await restarts.crash_and_restart()
    await asyncio.sleep(0.05)  # the reset reaches the ingress
    assert await link.send([b"two"]) == [b"TWO"]
    assert link.connects == 2
    assert [server.connections for server in restarts.incarnations] == [1, 1]
    await link.close()
    await restarts.close()


async def test_the_hosts_death_as_ray_reports_it_fails_batches_even_with_the_socket_open(host):
    _, server = host
    death = asyncio.Event()
    watches = []

    async def outlive() -> None:
        watches.append(len(watches))
        if len(watches) <= 3:  # the first incarnation answers twice, then dies
            if len(watches) == 3:
                await death.wait()
                raise ConnectionError("actor died")
            return
        await asyncio.Event().wait()

    link = link_to(server, outlive)
    hanging = asyncio.create_task(link.send([b"hang"]))
    await asyncio.sleep(0.05)
    death.set()
    with pytest.raises(LinkLost, match="the host is gone"):
        await asyncio.wait_for(hanging, timeout=5)
    assert await link.send([b"back"]) == [b"BACK"]
    assert link.connects == 2 and len(watches) == 4
    await link.close()


@pytest.mark.parametrize("new_loop", [asyncio.new_event_loop, uvloop.new_event_loop],
                         ids=["asyncio", "uvloop"])
def test_a_send_racing_the_hosts_death_is_a_lost_link_on_either_event_loop(new_loop):
    """The transport can close before the link's reader has run; a batch sent in between
    must fail as a lost link (503), not with uvloop's RuntimeError (500). Ray runs Serve
    replicas on uvloop."""

    async def scenario() -> None:
        server = HostLinkServer(EchoHost().handle_batch, bind_host="127.0.0.1")
        link = link_to(server)
        assert await link.send([b"before"]) == [b"BEFORE"]
        link._connection._writer.transport.abort()  # what a reset from a killed host does
        with pytest.raises(LinkLost):
            await asyncio.wait_for(link.send([b"during"]), timeout=5)
        assert await link.send([b"after"]) == [b"AFTER"]
        assert link.connects == 2
        await link.close()
        await server.close()

    with asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(scenario())


async def test_an_unreachable_host_is_a_lost_link():
    server = HostLinkServer(EchoHost().handle_batch, bind_host="127.0.0.1")
    endpoint = await server.endpoint()
    await server.close()

    async def stale() -> LinkEndpoint:
        return endpoint

    with pytest.raises(LinkLost, match="cannot reach the host"):
        await HostLink(stale).send([b"x"])


# -- hostile peers -------------------------------------------------------------------------


async def test_a_connection_with_a_wrong_token_is_closed_without_an_answer(host):
    echo, server = host
    endpoint = await server.endpoint()
    reader, writer = await raw_connection(endpoint, b"\0" * len(endpoint.token))
    frame = msgpack.packb([1, [b"sneaky"]])
    writer.write(struct.pack(">I", len(frame)) + frame)
    assert await closed_by_peer(reader)
    assert echo.batches == [] and server.connections == 0
    writer.close()


async def test_a_peer_that_never_sends_its_token_is_dropped():
    server = HostLinkServer(EchoHost().handle_batch, bind_host="127.0.0.1", hello_timeout=0.1)
    endpoint = await server.endpoint()
    reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
    assert await closed_by_peer(reader)
    assert server.connections == 0
    writer.close()
    await server.close()


async def test_an_over_long_token_frame_is_refused(host):
    echo, server = host
    endpoint = await server.endpoint()
    reader, writer = await raw_connection(endpoint, endpoint.token + b"extra")
    assert await closed_by_peer(reader)
    assert echo.batches == []
    writer.close()


@pytest.mark.parametrize("body", [
    msgpack.packb({"not": "a batch"}),
    msgpack.packb([1, ["text, not bytes"]]),
    msgpack.packb(["one", [b"x"]]),
    msgpack.packb({(1, 2): "a map keyed by an array"}),
    b"\xc1 not msgpack",
])
async def test_a_malformed_frame_closes_only_that_connection(host, body):
    echo, server = host
    endpoint = await server.endpoint()
    reader, writer = await raw_connection(endpoint, endpoint.token)
    writer.write(struct.pack(">I", len(body)) + body)
    assert await closed_by_peer(reader)
    writer.close()
    link = link_to(server)
    assert await link.send([b"fine"]) == [b"FINE"]
    assert echo.batches == [[b"fine"]]
    await link.close()


async def test_a_frame_over_the_size_limit_closes_the_connection_before_it_is_read(host):
    echo, server = host
    endpoint = await server.endpoint()
    reader, writer = await raw_connection(endpoint, endpoint.token)
    writer.write(struct.pack(">I", 2**31))
    assert await closed_by_peer(reader)
    assert echo.batches == []
    writer.close()
