"""One structured access-log line and metrics per request, carrying the request id.

Request bodies, query strings and credentials are never logged: paths identify tenants and
products only, and the route template names what was called.
"""

from __future__ import annotations

import os
import re
import time

from ...observability import REQUEST_LATENCY, REQUESTS
from .access_log import AccessLog
from .request_guard import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-keylight-request-id"
REQUEST_ID_PATTERN = re.compile(rb"^[0-9a-fA-F]{8}$")


class RequestLog:
    def __init__(self, app: ASGIApp, access_log: AccessLog | None = None) -> None:
        """``access_log`` None: no access-log lines (metrics and request ids still)."""
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        offered = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER, b"")
        request_id = (offered if REQUEST_ID_PATTERN.match(offered)
                      else os.urandom(4).hex().encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-keylight-request-id", request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            seconds = time.perf_counter() - started
            REQUESTS.inc(template, scope["method"], str(status))
            REQUEST_LATENCY.observe(seconds, tags={"route": template})
            if self.access_log is not None:
                self.access_log.record({
                    "ts": round(time.time(), 3), "event": "request",
                    "request_id": request_id.decode(), "method": scope["method"],
                    "route": template, "status": status, "ms": round(seconds * 1000, 2),
                    "tenant_id": (scope.get("path_params") or {}).get("tenant_id"),
                })
