"""A lean HTTP/1.1 keep-alive client on asyncio streams, for the load generator.

httpx's AsyncClient spends more client CPU per request than a cheap endpoint spends
answering it (httpcore's per-request pool bookkeeping and, without ``sniffio`` installed, a
failed import on every request), so it caps the load it can offer and takes a core from the
server it measures. This client costs a small fraction of that per request (figures:
docs/performance.md). It speaks only what the benchmark needs: one request
at a time per connection, ``Content-Length`` or chunked answers, reconnecting when the server
closes. ``keylight bench --client httpx`` uses httpx instead, to cross-check.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any
from urllib.parse import urlsplit

from .errors import BenchFailed


class HTTPFailure(Exception):
    """A transport failure (connection refused or dropped, malformed answer, timeout)."""


class Response:
    __slots__ = ("content", "status_code")

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content

    def json(self) -> Any:
        return json.loads(self.content)


if sys.version_info >= (3, 11):
    def _timeout(seconds: float) -> Any:
        return asyncio.timeout(seconds)
else:  # pragma: no cover - Python 3.10
    import contextlib

    def _timeout(seconds: float) -> Any:
        return contextlib.nullcontext()


class Connection:
    """One keep-alive connection to a base URL; requests on it run one at a time."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise BenchFailed(f"the load generator speaks plain http only, not {base_url}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._host_header = f"Host: {self.host}:{self.port}\r\n".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, *, json: Any = None,
                   headers: dict[str, str] | None = None) -> Response:
        body = b"" if json is None else _dumps(json)
        return await self.request("POST", path, body, headers)

    async def get(self, path: str, *, headers: dict[str, str] | None = None) -> Response:
        return await self.request("GET", path, None, headers)

    async def request(self, method: str, path: str, body: bytes | None,
                      headers: dict[str, str] | None) -> Response:
        head = [f"{method} {self.prefix}{path} HTTP/1.1\r\n".encode(), self._host_header]
        for name, value in (headers or {}).items():
            head.append(f"{name}: {value}\r\n".encode())
        if body is not None:
            head.append(b"Content-Type: application/json\r\n")
            head.append(f"Content-Length: {len(body)}\r\n".encode())
        head.append(b"\r\n")
        try:
            async with _timeout(self.timeout):
                if self._writer is None:
                    self._reader, self._writer = await asyncio.open_connection(
                        self.host, self.port)
                assert self._reader is not None
                self._writer.write(b"".join(head) + (body or b""))
                return await self._read(self._reader)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                TimeoutError, ValueError) as error:
            self.close()
            raise HTTPFailure(type(error).__name__) from error

    async def _read(self, reader: asyncio.StreamReader) -> Response:
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name:
                fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            content = await reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            content = await _read_chunked(reader)
        else:  # the answer ends when the server closes
            content = await reader.read()
            self.close()
        if fields.get("connection", "").lower() == "close":
            self.close()
        return Response(status, content)

    def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
