"""A direct stream between an ingress replica and a host, for SDK batches.

A Ray actor call costs CPU on both sides and adds to the round trip, more so on a busy
machine: it crosses the core worker's threads and gRPC on both sides. A batch sent as one
frame over a TCP connection between the two event loops costs a fraction of that. Ray
still owns the host (placement, restarts, names); the link only carries batches, and Ray
is how an ingress finds a host's link and hears of its death:

- the host listens on an ephemeral port of its node's address, behind a random token that
  only travels through Ray (``LinkEndpoint``), so only a peer that could call the actor can
  connect;
- the ingress asks the host's actor for its endpoint when it first needs it, and again
  after the connection is lost: a restarted host listens somewhere else;
- alongside each connection the ingress keeps one Ray call open (``outlive``; it answers
  every few minutes and is sent again) that fails when the actor dies: a host on a node
  that vanished without closing its sockets is noticed as fast as Ray notices it.

Frames are a 4-byte big-endian length and a msgpack body. The first frame from the
ingress is the token; then each frame is ``[batch_id, [payload, ...]]`` one way and
``[batch_id, [reply, ...]]`` (or ``[batch_id, None, error]``) the other. Batches on one
connection are answered as they finish, not in order.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
import secrets
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgpack

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
MAX_FRAME_BYTES = 64 * 2**20
TOKEN_BYTES = 32
CONNECT_TIMEOUT_SECONDS = 5.0
HELLO_TIMEOUT_SECONDS = 5.0  # a peer that connects and says nothing is dropped by then
CLOSED_BY_INGRESS = "closed by the ingress"
# uvloop (the loop Ray runs async actors and Serve replicas on) raises RuntimeError on a
# write to a transport that has just closed, where asyncio's own loop drops it silently.
_WRITE_REFUSED = (RuntimeError, ConnectionError)

HandleBatch = Callable[[list[bytes]], Awaitable[list[bytes]]]


class LinkLost(ConnectionError):
    """The connection to a host ended with batches unanswered: the host died or is
    unreachable. Whether those batches were applied is unknown."""


class HostBatchFailed(RuntimeError):
    """The host could not handle a batch at all (a bug, not a domain error)."""


@dataclass(frozen=True, slots=True)
class LinkEndpoint:
    host: str
    port: int
    token: bytes


def _raw_frame(data: bytes) -> bytes:
    return _LENGTH.pack(len(data)) + data


def _frame(body: Any) -> bytes:
    return _raw_frame(msgpack.packb(body, use_bin_type=True))


async def _read_frame(reader: asyncio.StreamReader, max_bytes: int = MAX_FRAME_BYTES
                      ) -> bytes:
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    if length > max_bytes:
        raise ValueError(f"a frame of {length} bytes is over the limit of {max_bytes}")
    return await reader.readexactly(length)


def _is_batch(message: Any) -> bool:
    return (isinstance(message, list) and len(message) == 2 and isinstance(message[0], int)
            and isinstance(message[1], list)
            and all(isinstance(payload, bytes) for payload in message[1]))


class HostLinkServer:
    """The host's side: answers the batches of every connected ingress."""

    def __init__(self, handle_batch: HandleBatch, *, bind_host: str,
                 hello_timeout: float = HELLO_TIMEOUT_SECONDS) -> None:
        self._handle_batch = handle_batch
        self._bind_host = bind_host
        self._hello_timeout = hello_timeout
        self._token = secrets.token_bytes(TOKEN_BYTES)
        self._server: asyncio.Server | None = None
        self._starting = asyncio.Lock()
        self._answering: set[asyncio.Task[None]] = set()
        self._open: set[asyncio.StreamWriter] = set()
        self.connections = 0

    async def endpoint(self) -> LinkEndpoint:
        async with self._starting:
            if self._server is None:
                self._server = await asyncio.start_server(self._serve, self._bind_host, 0)
                port = self._server.sockets[0].getsockname()[1]
                log.info("host link listening on %s:%d", self._bind_host, port)
        port = self._server.sockets[0].getsockname()[1]
        return LinkEndpoint(self._bind_host, port, self._token)

    async def close(self) -> None:
        """Stops listening and drops every connection, as the host's death would."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._open):
            writer.transport.abort()
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                     ) -> None:
        peer = writer.get_extra_info("peername")
        try:
            hello = await asyncio.wait_for(_read_frame(reader, max_bytes=TOKEN_BYTES),
                                           self._hello_timeout)
            if not hmac.compare_digest(hello, self._token):
                log.warning("host link: refused a connection from %s with a wrong token",
                            peer)
                return
            self.connections += 1
            self._open.add(writer)
            while True:
                message = msgpack.unpackb(await _read_frame(reader), raw=False)
                if not _is_batch(message):
                    log.warning("host link: closing the connection from %s after a "
                                "malformed frame", peer)
                    return
                task = asyncio.create_task(self._answer(message[0], message[1], writer))
                self._answering.add(task)
                task.add_done_callback(self._answering.discard)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the ingress went away; batches under way still finish and commit
        except asyncio.TimeoutError:
            log.warning("host link: %s connected but sent no token in %.0f s", peer,
                        self._hello_timeout)
        except (ValueError, TypeError, msgpack.UnpackException) as error:
            # an over-long frame, or one that is not msgpack (or not a batch's shape)
            log.warning("host link: closing the connection from %s: %s", peer, error)
        finally:
            self._open.discard(writer)
            writer.close()

    async def _answer(self, batch_id: int, payloads: list[bytes],
                      writer: asyncio.StreamWriter) -> None:
        try:
            replies = await self._handle_batch(payloads)
        except Exception as error:
            log.exception("host link: a batch of %d failed", len(payloads))
            answer = _frame([batch_id, None, f"{type(error).__name__}: {error}"])
        else:
            answer = _frame([batch_id, replies])
        if not writer.is_closing():
            writer.write(answer)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 on_lost: Callable[[_Connection], None]) -> None:
        self._writer = writer
        self._on_lost = on_lost
        self._pending: dict[int, asyncio.Future[list[bytes]]] = {}
        self._ids = itertools.count()
        self.lost: LinkLost | None = None
        self._reading = asyncio.create_task(self._read_replies(reader))

    async def request(self, payloads: list[bytes]) -> list[bytes]:
        if self.lost is not None:
            raise self.lost
        batch_id = next(self._ids)
        try:
            self._writer.write(_frame([batch_id, payloads]))
        except _WRITE_REFUSED as error:
            reason = f"the connection to the host was lost ({type(error).__name__})"
            self.close(reason)
            raise LinkLost(reason) from error
        future: asyncio.Future[list[bytes]] = asyncio.get_running_loop().create_future()
        self._pending[batch_id] = future
        try:
            return await future
        finally:
            self._pending.pop(batch_id, None)

    def close(self, reason: str) -> None:
        if self.lost is None:
            if reason != CLOSED_BY_INGRESS:
                log.warning("host link lost with %d batches unanswered: %s",
                            len(self._pending), reason)
            self.lost = LinkLost(reason)
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(self.lost)
            self._pending.clear()
            self._writer.close()
            self._reading.cancel()
            self._on_lost(self)

    async def _read_replies(self, reader: asyncio.StreamReader) -> None:
        reason = "the host closed the connection"
        try:
            while True:
                message = msgpack.unpackb(await _read_frame(reader), raw=False)
                future = self._pending.get(message[0])
                if future is None or future.done():
                    continue  # its caller gave up
                if message[1] is None:
                    future.set_exception(HostBatchFailed(message[2]))
                else:
                    future.set_result(message[1])
        except asyncio.CancelledError:
            return
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            reason = f"the connection to the host was lost ({type(error).__name__})"
        except Exception as error:  # a garbled reply ends the connection
            reason = f"an unreadable reply from the host ({error})"
        self.close(reason)


class HostLink:
    """The ingress's side: sends batches to one host over one connection, reconnecting
    (through ``endpoint``) after it is lost. ``outlive`` is awaited again and again
    alongside each connection; when it raises, the host is gone and so is the connection."""

    def __init__(self, endpoint: Callable[[], Awaitable[LinkEndpoint]],
                 outlive: Callable[[], Awaitable[Any]] | None = None) -> None:
        self._endpoint = endpoint
        self._outlive = outlive
        self._connection: _Connection | None = None
        self._connecting = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = None
        self.connects = 0

    async def send(self, payloads: list[bytes]) -> list[bytes]:
        connection = self._connection or await self._connect()
        return await connection.request(payloads)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close(CLOSED_BY_INGRESS)

    async def _connect(self) -> _Connection:
        async with self._connecting:
            if self._connection is not None:
                return self._connection
            endpoint = await self._endpoint()
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(endpoint.host, endpoint.port),
                    CONNECT_TIMEOUT_SECONDS)
            except (OSError, asyncio.TimeoutError) as error:
                raise LinkLost(f"cannot reach the host at {endpoint.host}:{endpoint.port}: "
                               f"{type(error).__name__}") from error
            try:
                writer.write(_raw_frame(endpoint.token))
            except _WRITE_REFUSED as error:
                writer.close()
                raise LinkLost(f"the host at {endpoint.host}:{endpoint.port} closed the "
                               f"connection at once ({type(error).__name__})") from error
            connection = _Connection(reader, writer, self._forget)
            self._connection = connection
            self.connects += 1
            if self._outlive is not None:
                self._watch = asyncio.create_task(self._watch_host(connection))
            return connection

    def _forget(self, connection: _Connection) -> None:
        if self._connection is not connection:
            return  # an older connection: the current one and its watch stay
        self._connection = None
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    async def _watch_host(self, connection: _Connection) -> None:
        assert self._outlive is not None
        try:
            while True:
                await self._outlive()  # returns now and then, so none is left behind forever
        except asyncio.CancelledError:
            raise
        except Exception as error:  # Ray's word that the actor is gone
            reason = f"the host is gone ({type(error).__name__})"
        self._watch = None
        connection.close(reason)
