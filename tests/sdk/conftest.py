"""Shared pieces for the SDK tests: a signing key, an injectable clock, lease and cache
factories, an offline client, and a tiny real HTTP server that answers from a script."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from keylight_actors.domain.lease import Lease, lease_expiry, sign_lease
from keylight_actors.domain.license_key import hash_license_key
from keylight_actors.sdk import KeylightClient
from keylight_actors.sdk.cache import CacheRecord, LeaseCache

TENANT = "acme"
PRODUCT = "editor"
KID = "k1"
LICENSE_KEY = "ACME-ABCD-EFGH-JKMN-PQRS"
INSTANCE_ID = "00000000-0000-4000-8000-000000000001"
T0 = 1_781_076_246
HOUR = 3600
DAY = 86400


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def make_lease(signing_key: SigningKey) -> Callable[..., Lease]:
    def make(key: SigningKey | None = None, **overrides: Any) -> Lease:
        fields: dict[str, Any] = {
            "kid": KID,
            "license_key_hash": hash_license_key(LICENSE_KEY),
            "instance_id": INSTANCE_ID,
            "issued_at": T0,
            "expires_at": lease_expiry(T0, None),
            "status": "active",
            "entitlements": ("pro",),
            **overrides,
        }
        return sign_lease(key or signing_key, **fields)

    return make


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "keylight-cache"


@pytest.fixture
def cache(cache_dir: Path) -> LeaseCache:
    return LeaseCache(cache_dir, TENANT, PRODUCT)


@pytest.fixture
def store_lease(cache: LeaseCache, make_lease: Callable[..., Lease]) -> Callable[..., Lease]:
    """Put an activation into the cache, as a successful activate would have."""

    def store(lease: Lease | None = None, **record_fields: Any) -> Lease:
        lease = lease or make_lease()
        fields: dict[str, Any] = {
            "license_key": LICENSE_KEY,
            "instance_id": INSTANCE_ID,
            "last_seen": lease.issued_at,
            **record_fields,
        }
        cache.save(CacheRecord(lease=lease, **fields))
        return lease

    return store


def closed_port_url() -> str:
    """A local URL nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def pinned_keys(signing_key: SigningKey) -> dict[str, bytes]:
    return {KID: bytes(signing_key.verify_key)}


@pytest.fixture
def make_client(
    cache_dir: Path, clock: Clock, pinned_keys: dict[str, bytes]
) -> Iterator[Callable[..., KeylightClient]]:
    clients: list[KeylightClient] = []

    def make(base_url: str | None = None, **options: Any) -> KeylightClient:
        settings: dict[str, Any] = {
            "cache_dir": cache_dir,
            "trusted_keys": pinned_keys,
            "clock": clock,
            "max_retries": 0,
            "sleep": lambda seconds: None,
            **options,
        }
        client = KeylightClient(base_url or closed_port_url(), TENANT, PRODUCT, **settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class StubServer:
    """Answers each request with the next scripted reply (500 when the script runs out)."""

    url: str = ""
    replies: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def reply(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.replies.append((status, body, headers or {}))


@pytest.fixture
def stub_server() -> Iterator[StubServer]:
    stub = StubServer()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            with lock:
                stub.requests.append(
                    Recorded(
                        self.command,
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        json.loads(raw) if raw else None,
                    )
                )
                status, body, headers = (
                    stub.replies.pop(0) if stub.replies else (500, {"error": "no reply"}, {})
                )
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield stub
    server.shutdown()
    server.server_close()
    thread.join()
