"""Retries over real HTTP (a scripted server on 127.0.0.1): backoff, Retry-After, bounds."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from keylight_sdk import KeylightAPIError, KeylightClient, KeylightNetworkError
from keylight_sdk.lease import Lease
from keylight_sdk.transport import Transport
from sdk_testkit import StubServer, closed_port_url

MakeClient = Callable[..., KeylightClient]
UNAVAILABLE = {"error": "Service unavailable", "code": "UNAVAILABLE"}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def transport(sleeps: list[float]) -> Iterator[Transport]:
    http = httpx.Client(timeout=5)
    yield Transport(http, max_retries=3, sleep=sleeps.append)
    http.close()


def test_503_is_retried_after_the_retry_after_seconds(
    transport: Transport, stub_server: StubServer, sleeps: list[float]
) -> None:
    stub_server.reply(503, UNAVAILABLE, {"Retry-After": "2"})
    stub_server.reply(200, {"ok": True})
    response = transport.request("GET", f"{stub_server.url}/x")
    assert response.status_code == 200
    assert sleeps == [2.0]
    assert len(stub_server.requests) == 2


def test_retries_of_one_request_share_its_request_id(
    transport: Transport, stub_server: StubServer
) -> None:
    stub_server.reply(503, UNAVAILABLE, {"Retry-After": "0"})
    stub_server.reply(200, {"ok": True})
    transport.request("GET", f"{stub_server.url}/x")
    ids = [r.headers["x-keylight-request-id"] for r in stub_server.requests]
    assert ids[0] == ids[1]
    assert re.fullmatch(r"[0-9a-f]{8}", ids[0])


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried(
    transport: Transport, stub_server: StubServer, status: int
) -> None:
    stub_server.reply(status, UNAVAILABLE)
    stub_server.reply(200, {"ok": True})
    assert transport.request("GET", f"{stub_server.url}/x").status_code == 200


@pytest.mark.parametrize("status", [400, 401, 402, 404, 422])
def test_client_errors_are_not_retried(
    transport: Transport, stub_server: StubServer, status: int
) -> None:
    stub_server.reply(status, {"error": "no", "code": "NO"})
    assert transport.request("GET", f"{stub_server.url}/x").status_code == status
    assert len(stub_server.requests) == 1


def test_retries_are_bounded(
    transport: Transport, stub_server: StubServer, sleeps: list[float]
) -> None:
    for _ in range(10):
        stub_server.reply(503, UNAVAILABLE)
    assert transport.request("GET", f"{stub_server.url}/x").status_code == 503
    assert len(stub_server.requests) == 4  # the first attempt and 3 retries
    assert len(sleeps) == 3


def test_backoff_doubles_with_jitter_and_is_capped(transport: Transport) -> None:
    for attempt in range(8):
        nominal = min(transport.backoff_max, transport.backoff_base * 2**attempt)
        assert nominal / 2 <= transport.backoff(attempt) <= nominal


def test_a_retry_after_longer_than_the_limit_is_not_waited_for(
    transport: Transport, stub_server: StubServer, sleeps: list[float]
) -> None:
    limited = {"error": "Too many requests", "code": "RATE_LIMITED"}
    stub_server.reply(429, limited, {"Retry-After": "3600"})
    assert transport.request("GET", f"{stub_server.url}/x").status_code == 429
    assert sleeps == []


def test_an_unreachable_server_is_retried_then_reported(sleeps: list[float]) -> None:
    with httpx.Client(timeout=5) as http:
        transport = Transport(http, max_retries=2, sleep=sleeps.append)
        with pytest.raises(KeylightNetworkError):
            transport.request("GET", f"{closed_port_url()}/x")
    assert len(sleeps) == 2


def test_activation_without_machine_hash_is_not_repeated_after_a_500(
    make_client: MakeClient, stub_server: StubServer
) -> None:
    stub_server.reply(500, {"error": "Internal error", "code": "INTERNAL"})
    client = make_client(stub_server.url, max_retries=3)
    with pytest.raises(KeylightAPIError):
        client.activate("ACME-ABCD-EFGH-JKMN-PQRS", "laptop")
    assert len(stub_server.requests) == 1


def test_activation_without_machine_hash_is_repeated_after_a_503(
    make_client: MakeClient, stub_server: StubServer
) -> None:
    stub_server.reply(503, UNAVAILABLE)
    stub_server.reply(402, {"error": "Activation limit reached", "code": "LIMIT"})
    client = make_client(stub_server.url, max_retries=3)
    with pytest.raises(KeylightAPIError):
        client.activate("ACME-ABCD-EFGH-JKMN-PQRS", "laptop")
    assert len(stub_server.requests) == 2


def test_exhausted_retries_raise_the_servers_error(
    make_client: MakeClient, stub_server: StubServer, store_lease: Callable[..., Lease]
) -> None:
    store_lease()
    for _ in range(3):
        stub_server.reply(503, UNAVAILABLE, {"Retry-After": "0"})
    client = make_client(stub_server.url, max_retries=2)
    with pytest.raises(KeylightAPIError) as raised:
        client.validate()
    assert (raised.value.status, raised.value.code) == (503, "UNAVAILABLE")
    assert raised.value.retryable
