"""Abuse resistance: body size limits and the key-guessing lock-out."""

from __future__ import annotations

import psycopg

from .sdk_calls import activate, sdk_headers, sdk_path


def test_a_body_over_the_limit_is_413_and_parsed_by_no_one(http, catalog):
    answer = http.post(sdk_path(catalog, "activate"), headers=sdk_headers(catalog),
                       content=b'{"license_key": "' + b"A" * 70_000 + b'"}')
    assert answer.status_code == 413
    assert answer.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_a_chunked_body_over_the_limit_is_413(http, catalog):
    def chunks():
        for _ in range(20):
            yield b"x" * 8192

    answer = http.post(sdk_path(catalog, "activate"), headers=sdk_headers(catalog),
                       content=chunks())
    assert answer.status_code == 413


def test_guessing_keys_locks_the_address_out_and_is_audited(http, catalog, mint,
                                                            database_url):
    real_key = mint(catalog)["key"]
    statuses = [activate(http, catalog, f"{catalog.key_prefix}-0000-0000-0000-{n:04d}"
                         ).status_code for n in range(20)]
    assert statuses == [404] * 20
    locked = activate(http, catalog, real_key)
    assert locked.status_code == 429
    assert locked.json()["code"] == "TOO_MANY_FAILED_LOOKUPS"
    assert int(locked.headers["Retry-After"]) > 0
    with psycopg.connect(database_url) as conn:
        actions = [row[0] for row in conn.execute(
            "SELECT action FROM audit_log WHERE tenant_id = %s", (catalog.tenant.tenant_id,))]
    assert "sdk.lookup_lockout" in actions
