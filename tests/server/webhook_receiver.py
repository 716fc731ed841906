"""A vendor's webhook receiver on loopback: records every request, answers as each path is
told to (status codes in turn, a hang, a gate the test opens), and counts concurrency."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from .conftest import Tenant


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float


@dataclass
class Behaviour:
    statuses: list[int] = field(default_factory=lambda: [200])  # in turn; the last repeats
    hang_seconds: list[float] = field(default_factory=list)  # per request, in turn
    delay_seconds: float = 0.0
    gate: threading.Event | None = None  # the first request waits for it
    arrived: threading.Event = field(default_factory=threading.Event)
    in_flight: int = 0
    max_in_flight: int = 0


class WebhookReceiver:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._behaviours: dict[str, Behaviour] = {}
        self._received: dict[str, list[Received]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def route(self, **behaviour: Any) -> str:
        """A fresh path answering as told; returns its URL."""
        path = f"/hooks/{secrets.token_hex(6)}"
        with self._lock:
            self._behaviours[path] = Behaviour(**behaviour)
            self._received[path] = []
        return self.base_url + path

    def behaviour(self, url: str) -> Behaviour:
        return self._behaviours[url.removeprefix(self.base_url)]

    def received(self, url: str) -> list[Received]:
        with self._lock:
            return list(self._received[url.removeprefix(self.base_url)])

    def wait_for(self, url: str, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.received(url)
            if len(got) >= count:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(got)} of {count} deliveries arrived in {timeout} s")
            time.sleep(0.05)

    def _answer(self, path: str, headers: dict[str, str], body: bytes
                ) -> tuple[int, Behaviour | None]:
        """The status to answer, and the behaviour whose request is now in flight."""
        with self._lock:
            behaviour = self._behaviours.get(path)
            if behaviour is None:
                return 404, None
            requests = self._received[path]
            requests.append(Received(path, headers, body, time.time()))
            n = len(requests) - 1
            behaviour.in_flight += 1
            behaviour.max_in_flight = max(behaviour.max_in_flight, behaviour.in_flight)
        behaviour.arrived.set()
        if behaviour.gate is not None and n == 0:
            behaviour.gate.wait(30)
        hang = behaviour.hang_seconds[n] if n < len(behaviour.hang_seconds) else 0.0
        time.sleep(hang + behaviour.delay_seconds)
        return behaviour.statuses[min(n, len(behaviour.statuses) - 1)], behaviour

    def _done(self, behaviour: Behaviour) -> None:
        with self._lock:
            behaviour.in_flight -= 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, behaviour = receiver._answer(self.path, headers, body)
                try:
                    reply = f'{{"received": true, "status": {status}}}'.encode()
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the sender gave up (timeout) or died
                finally:
                    if behaviour is not None:
                        receiver._done(behaviour)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def set_webhook(http: httpx.Client, tenant: Tenant, url: str, events: Any = None
                ) -> httpx.Response:
    body: dict[str, Any] = {"url": url}
    if events is not None:
        body["events"] = events
    return http.put(f"/api/{tenant.tenant_id}/webhook", headers=tenant.headers, json=body)


def deliveries(http: httpx.Client, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    answer = http.get(f"/api/{tenant.tenant_id}/deliveries", headers=tenant.headers,
                      params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def wait_for_delivery(http: httpx.Client, tenant: Tenant, done: Callable[[dict[str, Any]], bool],
                      *, event: str | None = None, timeout: float = 30) -> dict[str, Any]:
    """The tenant's (newest) delivery of ``event`` once ``done`` holds for it."""
    deadline = time.monotonic() + timeout
    while True:
        found = [item for item in deliveries(http, tenant)
                 if event is None or item["event"] == event]
        if found and done(found[0]):
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no finished delivery in {timeout} s: {found[:1]}")
        time.sleep(0.1)
