"""The dashboard's pure parts: addresses and scheme behind proxies, CSRF tokens, charts."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request

from keylight_actors.dashboard.charts import bar_chart
from keylight_actors.dashboard.pages_catalog import key_type_changes
from keylight_actors.dashboard.security import (
    client_address,
    csrf_token,
    new_session_id,
    over_https,
    same_token,
    session_hash,
)
from keylight_actors.domain.catalog import KeyType
from keylight_actors.store.reports import DayCount


def request(peer: str, headers: dict[str, str], scheme: str = "http") -> Request:
    return Request({"type": "http", "method": "GET", "path": "/dashboard", "scheme": scheme,
                    "server": ("keylight", 80), "client": (peer, 5000), "query_string": b"",
                    "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]})


FORWARDED = {"X-Forwarded-For": "203.0.113.9, 10.0.0.7", "X-Forwarded-Proto": "https"}


def test_forwarded_headers_count_only_from_trusted_proxies():
    assert client_address(request("198.51.100.1", FORWARDED), ()) == "198.51.100.1"
    assert not over_https(request("198.51.100.1", FORWARDED), ())
    trusted = ("10.0.0.0/8",)
    assert client_address(request("10.0.0.8", FORWARDED), trusted) == "203.0.113.9"
    assert over_https(request("10.0.0.8", FORWARDED), trusted)
    assert not over_https(request("198.51.100.1", FORWARDED), trusted)
    # A claimed https from an untrusted peer loses even when the scheme was rewritten.
    assert not over_https(request("198.51.100.1", FORWARDED, scheme="https"), trusted)
    assert over_https(request("198.51.100.1", {}, scheme="https"), ())


def test_session_ids_and_csrf_tokens():
    first, second = new_session_id(), new_session_id()
    assert first != second and len(first) >= 43  # 256 bits, URL-safe base64
    assert session_hash(first) != first and len(session_hash(first)) == 64
    assert csrf_token(first) == csrf_token(first) != csrf_token(second)
    assert csrf_token(first) != session_hash(first)
    assert same_token(csrf_token(first), csrf_token(first))
    assert not same_token("", csrf_token(first)) and not same_token(None, "x")


def test_bar_chart_geometry():
    start = dt.date(2026, 11, 7)
    days = [DayCount(start + dt.timedelta(days=n), n % 3) for n in range(30)]
    chart = bar_chart("Activations per day", days)
    assert len(chart.bars) == 30 and chart.peak == 2 and chart.total == sum(n % 3
                                                                           for n in range(30))
    tallest = [bar for bar in chart.bars if bar.count == 2]
    assert all(bar.y == chart.bars[2].y for bar in tallest)
    assert all(bar.height == 0 for bar in chart.bars if bar.count == 0)
    assert chart.bars[0].show_day and chart.bars[-1].show_day and not chart.bars[1].show_day
    empty = bar_chart("none", [DayCount(start, 0)])
    assert empty.peak == 0 and empty.bars[0].height == 0


def test_key_type_form_sends_only_what_changed():
    current = KeyType("app", "pro", "Pro", 3, duration_days=None, price_in_cents=1900,
                      currency="usd", entitlements=("pro", "export"))
    same = {"display_name": "Pro", "activation_limit": "3", "duration_days": "",
            "entitlements": "pro, export", "price_in_cents": "1900", "currency": "USD",
            "recurring_interval": ""}
    assert key_type_changes(current, same) == {}
    assert key_type_changes(current, {**same, "activation_limit": "7"}) == {
        "activation_limit": 7}
    assert key_type_changes(current, {**same, "duration_days": "30", "price_in_cents": ""}) == {
        "duration_days": 30, "price_in_cents": None}
    assert key_type_changes(current, {**same, "activation_limit": "x"}) == {
        "activation_limit": "x"}  # the body's check names it
