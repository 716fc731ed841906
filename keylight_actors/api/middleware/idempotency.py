"""``Idempotency-Key`` on management POSTs and on activate: the first answer is replayed for
24 h to the same caller with the same body; the key reused for anything else is 409."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ...store.idempotency import claim, complete, release
from .request_guard import ASGIApp, Message, Receive, Scope, Send, read_body, replay_body

HEADER = b"idempotency-key"
KEY_MAX_LENGTH = 255
# Management POSTs (not Stripe's webhooks, which carry their own event ids) and activate.
COVERED = re.compile(r"^/api/(?!stripe/)[^/]+/.+$|^/[^/]+/[^/]+/activate$")


def _scope_of(path: str) -> str:
    parts = path.strip("/").split("/")
    return "admin" if parts[:2] == ["api", "admin"] else (
        parts[1] if parts[0] == "api" else parts[0])


def _error(status: int, message: str, code: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"error": message, "code": code}).encode()
    return status, [(b"content-type", b"application/json")], body


class IdempotencyReplay:
    def __init__(self, app: ASGIApp, services_of_app: Any) -> None:
        self.app = app
        self._services_of_app = services_of_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        key = headers.get(HEADER)
        if (scope["type"] != "http" or scope["method"] != "POST" or key is None
                or not COVERED.match(scope["path"])):
            await self.app(scope, receive, send)
            return
        if not key or len(key) > KEY_MAX_LENGTH:
            await _send(send, *_error(400, "Idempotency-Key must be 1 to 255 characters",
                                      "INVALID_IDEMPOTENCY_KEY"))
            return
        body = await read_body(receive)
        request_hash = hashlib.sha256(b"\0".join([
            scope["path"].encode(), headers.get(b"authorization", b""),
            headers.get(b"x-keylight-sdk-key", b""), body])).hexdigest()
        services = self._services_of_app()
        owner, idem_key = _scope_of(scope["path"]), key.decode("utf-8", "replace")
        async with services.pool.connection() as conn, conn.transaction():
            stored = await claim(conn, owner, idem_key, request_hash)
        if stored is not None:
            await _send(send, *self._stored_answer(services, stored, request_hash))
            return
        status, response_headers, response_body = await _capture(
            self.app, scope, replay_body([body], None, receive))
        async with services.pool.connection() as conn, conn.transaction():
            if status >= 500:
                await release(conn, owner, idem_key)
            else:
                sealed = services.sealer.seal(json.dumps({
                    "headers": [[k.decode("latin-1"), v.decode("latin-1")]
                                for k, v in response_headers],
                    "body": response_body.decode("utf-8", "replace")}).encode())
                await complete(conn, owner, idem_key, status, sealed)
        await _send(send, status, response_headers, response_body)

    @staticmethod
    def _stored_answer(services: Any, stored: Any, request_hash: str
                       ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if stored.request_hash != request_hash:
            return _error(409, "this Idempotency-Key was used for a different request",
                          "IDEMPOTENCY_KEY_REUSED")
        if stored.status_code is None or stored.response_sealed is None:
            return _error(409, "a request with this Idempotency-Key is still running",
                          "IDEMPOTENCY_KEY_IN_PROGRESS")
        saved = json.loads(services.sealer.unseal(stored.response_sealed))
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in saved["headers"]
                   if k.lower() != "content-length"]
        return stored.status_code, [*headers, (b"idempotent-replayed", b"true")], (
            saved["body"].encode())


async def _capture(app: ASGIApp, scope: Scope, receive: Receive
                   ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    body: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, capture)
    return status, headers, b"".join(body)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
                ) -> None:
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
