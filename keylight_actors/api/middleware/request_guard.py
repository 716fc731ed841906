"""Refuse what no route should parse, before anyone parses it: bodies over a size limit
(413), and NUL bytes anywhere in the path, query or body (400; PostgreSQL text cannot hold
them, so they would otherwise surface as storage errors)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_LIMIT_BYTES = 64 * 1024
STRIPE_WEBHOOK_LIMIT_BYTES = 512 * 1024
LICENSE_IMPORT_LIMIT_BYTES = 64 * 1024 * 1024  # up to 100,000 rows (docs/import.md)
# The JSON route, and the dashboard's import form (the file, then its content again).
LICENSE_IMPORT_PATH = re.compile(r"^/(api|dashboard/tenants)/[^/]+/licenses/import$")


def limit_for(path: str) -> int:
    if LICENSE_IMPORT_PATH.match(path):
        return LICENSE_IMPORT_LIMIT_BYTES
    return STRIPE_WEBHOOK_LIMIT_BYTES if path.startswith("/api/stripe/webhook/") else (
        DEFAULT_LIMIT_BYTES)


class RequestGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
            await _refuse_nul(send)
            return
        limit = limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        # Read the body here, so a body over the limit is refused before any parsing.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, replay_body([], message), send)
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                await self._refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if b"\x00" in body or b"\\u0000" in body:
            await _refuse_nul(send)
            return
        await self.app(scope, replay_body([body], None, receive), send)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        await _error(send, 413, f"request body over {limit} bytes", "PAYLOAD_TOO_LARGE")


async def _refuse_nul(send: Send) -> None:
    await _error(send, 400, "NUL bytes are not accepted", "INVALID_INPUT")


async def _error(send: Send, status: int, message: str, code: str) -> None:
    body = json.dumps({"error": message, "code": code}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def header_value(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower-case, as ASGI servers give names)."""
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay_body(bodies: list[bytes], pending: Message | None, then: Receive | None = None
            ) -> Receive:
    """A receive() that hands the app the body already read, then carries on as usual."""
    queue: list[Message] = [{"type": "http.request", "body": body, "more_body": False}
                            for body in bodies]
    if pending is not None:
        queue.append(pending)

    async def receive_again() -> Message:
        if queue:
            return queue.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive_again
