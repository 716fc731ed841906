"""Idempotency-Key: the first answer replayed for 24 h; reuse for another request is 409."""

from __future__ import annotations

import secrets

import psycopg

from .sdk_calls import sdk_headers, sdk_path


def mint_with_key(http, catalog, key, **body):
    return http.post(
        f"/api/{catalog.tenant.tenant_id}/licenses",
        headers={**catalog.tenant.headers, "Idempotency-Key": key},
        json={"product_id": catalog.product_id, "key_type_id": catalog.key_type_id, **body})


def licenses(http, catalog):
    return http.get(f"/api/{catalog.tenant.tenant_id}/licenses",
                    headers=catalog.tenant.headers).json()["data"]


def test_a_repeated_mint_replays_the_first_answer_and_mints_once(http, catalog):
    key = secrets.token_hex(8)
    first = mint_with_key(http, catalog, key)
    again = mint_with_key(http, catalog, key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(licenses(http, catalog)) == 1


def test_the_same_key_with_another_body_is_409_and_changes_nothing(http, catalog):
    key = secrets.token_hex(8)
    assert mint_with_key(http, catalog, key).status_code == 201
    reused = mint_with_key(http, catalog, key, customer_email="other@example.com")
    assert reused.status_code == 409
    assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(licenses(http, catalog)) == 1


def test_a_repeated_activation_takes_one_seat_even_without_machine_hash(http, catalog, mint):
    license_key = mint(catalog)["key"]
    headers = {**sdk_headers(catalog), "Idempotency-Key": secrets.token_hex(8)}
    body = {"license_key": license_key, "instance_name": "flaky network"}
    answers = [http.post(sdk_path(catalog, "activate"), json=body, headers=headers)
               for _ in range(3)]
    assert {answer.json()["instance_id"] for answer in answers} == {
        answers[0].json()["instance_id"]}
    [listed] = licenses(http, catalog)
    assert listed["active_instances"] == 1


def test_after_24_hours_the_key_may_be_used_again(http, catalog, database_url):
    key = secrets.token_hex(8)
    first = mint_with_key(http, catalog, key)
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' "
                     "WHERE idempotency_key = %s", (key,))
    later = mint_with_key(http, catalog, key)
    assert later.status_code == 201
    assert later.json()["license_id"] != first.json()["license_id"]


def test_the_stored_answer_is_sealed_at_rest(http, catalog, database_url):
    key = secrets.token_hex(8)
    raw_key = mint_with_key(http, catalog, key).json()["key"]
    with psycopg.connect(database_url) as conn:
        sealed = conn.execute("SELECT response_sealed FROM idempotency_keys "
                              "WHERE idempotency_key = %s", (key,)).fetchone()[0]
    assert raw_key.encode() not in bytes(sealed)


def test_an_over_long_key_is_400(http, catalog):
    assert mint_with_key(http, catalog, "k" * 256).status_code == 400
