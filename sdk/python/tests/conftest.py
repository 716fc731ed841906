"""Fixtures for the SDK tests: a signing key, an injectable clock, lease and cache
factories, an offline client, and a tiny real HTTP server that answers from a script.
The constants and helper classes they use live in ``sdk_testkit``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from keylight_sdk import KeylightClient
from keylight_sdk.cache import CacheRecord, LeaseCache
from keylight_sdk.lease import Lease, lease_expiry, sign_lease
from keylight_sdk.license_key import hash_license_key
from nacl.signing import SigningKey
from sdk_testkit import (
    INSTANCE_ID,
    KID,
    LICENSE_KEY,
    PRODUCT,
    T0,
    TENANT,
    Clock,
    Recorded,
    StubServer,
    closed_port_url,
)


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
