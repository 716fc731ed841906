"""Reading and checking license import files: no I/O, every row error, CSV edge cases."""

from __future__ import annotations

import json
from typing import Any

from keylight_actors.domain.catalog import KeyType
from keylight_actors.domain.license import SECONDS_PER_DAY
from keylight_actors.domain.license_import import (
    Catalog,
    ExistingLicense,
    ParsedFile,
    csv_records,
    differences,
    json_records,
    parse_import,
)
from keylight_actors.domain.license_key import hash_license_key

NOW = 1_750_000_000
CATALOG = Catalog(
    key_types={"app": {
        "pro": KeyType("app", "pro", "Pro", activation_limit=2, entitlements=("pro",)),
        "year": KeyType("app", "year", "Year", activation_limit=3, duration_days=365),
    }},
    key_prefixes={"app": "ACME"},
)
UUID_A = "0b6f3c2e-8a52-4d4e-9a57-2f1e3a9d1c01"
UUID_B = "0b6f3c2e-8a52-4d4e-9a57-2f1e3a9d1c02"
UUID_C = "0b6f3c2e-8a52-4d4e-9a57-2f1e3a9d1c03"


def from_csv(text: str | bytes) -> ParsedFile:
    data = text.encode() if isinstance(text, str) else text
    return parse_import(csv_records(data), CATALOG, NOW)


def from_json(*rows: dict[str, Any]) -> ParsedFile:
    return parse_import(json_records(json.dumps({"licenses": list(rows)}).encode()),
                        CATALOG, NOW)


def codes(parsed: ParsedFile) -> list[tuple[int, str | None, str]]:
    return [(error.row, error.field, error.code) for error in parsed.errors]


def row(**fields: Any) -> dict[str, Any]:
    return {"product_id": "app", "key_type_id": "pro", **fields}


def test_defaults_generate_a_key_and_copy_the_key_types_terms() -> None:
    parsed = from_json(row())
    assert parsed.errors == []
    [imported] = parsed.rows
    assert imported.key_generated and imported.key.startswith("ACME-")
    assert imported.key_hash == hash_license_key(imported.key)
    assert imported.status == "active" and imported.activation_limit == 2
    assert imported.expires_at is None and imported.entitlements == ("pro",)
    assert imported.created_at is None and imported.instances == ()


def test_keys_are_kept_trimmed_and_upper_cased() -> None:
    [imported] = from_json(row(license_key="  old_key-1234abc ")).rows
    assert imported.key == "OLD_KEY-1234ABC" and not imported.key_generated
    assert imported.key_hash == hash_license_key(" old_key-1234abc")
    assert "OLD_KEY-1234ABC" not in imported.key_display


def test_key_type_duration_runs_from_created_at_and_never_is_perpetual() -> None:
    parsed = from_json(row(key_type_id="year", created_at="2024-01-01T00:00:00Z"),
                       row(key_type_id="year", expires_at="never"),
                       row(key_type_id="year"),
                       row(expires_at="2030-01-01T00:00:00+00:00"))
    assert parsed.errors == []
    dated, never, from_now, explicit = parsed.rows
    assert dated.expires_at == 1_704_067_200 + 365 * SECONDS_PER_DAY
    assert never.expires_at is None and never.expires_stated
    assert from_now.expires_at == NOW + 365 * SECONDS_PER_DAY and not from_now.expires_stated
    assert explicit.expires_at == 1_893_456_000


def test_every_row_error_is_listed_with_row_and_field() -> None:
    parsed = from_json(
        {"key_type_id": "pro"},
        row(product_id="nope"),
        row(key_type_id="nope"),
        row(license_key="ab"),
        row(license_key="x" * 129),
        row(license_key="has space"),
        row(customer_email="not-an-email"),
        row(external_id="e" * 129),
        row(created_at="yesterday"),
        row(expires_at="soon"),
        row(activation_limit=0),
        row(status="expired"),
        row(status="lost"),
        row(metadata=[1, 2]),
        row(colour="blue"),
        row(instances=[{"instance_id": "old-machine-1", "instance_name": "pc"}]),
        row(instances=[{"instance_id": UUID_A.upper(), "instance_name": "pc"}]),
        row(instances=[{"instance_id": UUID_A, "instance_name": ""}]),
        row(instances=[{"instance_id": UUID_A, "instance_name": "pc", "machine_hash": "xy"}]),
        row(instances=[{"instance_id": UUID_A, "instance_name": "a"},
                       {"instance_id": UUID_B, "instance_name": "b"},
                       {"instance_id": UUID_C, "instance_name": "c"}]),
        row(created_at="2024-02-01T00:00:00Z", expires_at="2024-01-01T00:00:00Z"),
    )
    assert parsed.rows == []
    assert codes(parsed) == [
        (1, "product_id", "REQUIRED"),
        (2, "product_id", "UNKNOWN_PRODUCT"),
        (3, "key_type_id", "UNKNOWN_KEY_TYPE"),
        (4, "license_key", "INVALID_KEY"),
        (5, "license_key", "INVALID_KEY"),
        (6, "license_key", "INVALID_KEY"),
        (7, "customer_email", "INVALID_EMAIL"),
        (8, "external_id", "TOO_LONG"),
        (9, "created_at", "INVALID_TIME"),
        (10, "expires_at", "INVALID_TIME"),
        (11, "activation_limit", "INVALID_LIMIT"),
        (12, "status", "INVALID_STATUS"),
        (13, "status", "INVALID_STATUS"),
        (14, "metadata", "INVALID_METADATA"),
        (15, "colour", "UNKNOWN_FIELD"),
        (16, "instances[0].instance_id", "INVALID_INSTANCE_ID"),
        (17, "instances[0].instance_id", "INVALID_INSTANCE_ID"),
        (18, "instances[0].instance_name", "INVALID_INSTANCE_NAME"),
        (19, "instances[0].machine_hash", "INVALID_MACHINE_HASH"),
        (20, "instances", "TOO_MANY_INSTANCES"),
        (21, "expires_at", "INVALID_TIME"),
    ]


def test_one_row_can_have_several_errors() -> None:
    parsed = from_json(row(product_id="nope", license_key="a", status="x"))
    assert [code for _, _, code in codes(parsed)] == [
        "UNKNOWN_PRODUCT", "INVALID_KEY", "INVALID_STATUS"]


def test_duplicates_in_one_file_are_errors_of_the_later_row() -> None:
    parsed = from_json(
        row(license_key="AAAA-1111", external_id="k1",
            instances=[{"instance_id": UUID_A, "instance_name": "pc"}]),
        row(license_key="aaaa-1111 "),
        row(external_id="k1"),
        row(instances=[{"instance_id": UUID_A, "instance_name": "pc"}]),
    )
    assert codes(parsed) == [(2, "license_key", "DUPLICATE_KEY"),
                             (3, "external_id", "DUPLICATE_EXTERNAL_ID"),
                             (4, "instances[0].instance_id", "DUPLICATE_INSTANCE_ID")]
    assert "row 1" in parsed.errors[0].error


def test_instances_take_their_times_and_the_limit_override_counts() -> None:
    parsed = from_json(row(activation_limit=3, created_at="2024-01-01T00:00:00Z", instances=[
        {"instance_id": UUID_A, "instance_name": "a", "machine_hash": "a" * 64,
         "activated_at": "2024-03-01T10:00:00Z"},
        {"instance_id": UUID_B, "instance_name": "b"},
        {"instance_id": UUID_C, "instance_name": "c"}]))
    assert parsed.errors == []
    [imported] = parsed.rows
    assert imported.activation_limit == 3
    assert [i.activated_at for i in imported.instances] == [1_709_287_200, 1_704_067_200,
                                                            1_704_067_200]


def test_csv_with_bom_crlf_quoted_commas_and_blank_trailing_lines() -> None:
    text = ('\ufeffproduct_id,key_type_id,license_key,customer_email,metadata,expires_at\r\n'
            'app,pro,KEY-0001,"a@example.com","{""note"": ""one, two""}",never\r\n'
            '\r\n'
            'app,year,KEY-0002,,,\r\n'
            '\r\n\r\n')
    parsed = from_csv(text.encode("utf-8"))
    assert parsed.errors == []
    first, second = parsed.rows
    assert first.key == "KEY-0001" and first.customer_email == "a@example.com"
    assert first.metadata == {"note": "one, two"} and first.expires_at is None
    assert second.row == 2 and second.expires_at == NOW + 365 * SECONDS_PER_DAY


def test_csv_header_problems_are_errors_of_the_file() -> None:
    assert codes(from_csv("product_id,instances\napp,x\n")) == [
        (0, "instances", "UNKNOWN_COLUMN"), (0, "key_type_id", "MISSING_COLUMN")]
    assert codes(from_csv("")) == [(0, None, "EMPTY_FILE")]
    assert codes(from_csv("product_id,key_type_id\n")) == [(0, None, "EMPTY_FILE")]
    assert codes(from_csv(b"product_id,key_type_id\n\xff\xfe,pro\n")) == [
        (0, None, "NOT_UTF8")]


def test_csv_row_with_too_many_fields_and_over_long_key() -> None:
    parsed = from_csv("product_id,key_type_id,license_key\napp,pro,K1234,extra\n"
                      f"app,pro,{'K' * 129}\napp,pro,{'K' * 128}\n")
    assert codes(parsed) == [(1, None, "TOO_MANY_FIELDS"), (2, "license_key", "INVALID_KEY")]
    assert parsed.rows[0].key == "K" * 128


def test_json_shape_errors() -> None:
    assert codes(parse_import(json_records(b"[1]"), CATALOG, NOW)) == [
        (0, "licenses", "BAD_JSON")]
    assert codes(parse_import(json_records(b"{"), CATALOG, NOW)) == [(0, None, "BAD_JSON")]
    assert codes(parse_import(json_records(b'{"licenses": [3]}'), CATALOG, NOW)) == [
        (1, None, "BAD_ROW")]


def test_differences_compare_what_the_row_states() -> None:
    [imported] = from_json(row(license_key="KEY-0001", external_id="x1",
                               instances=[{"instance_id": UUID_A, "instance_name": "pc"}])).rows
    existing = ExistingLicense("t", imported.key_hash, "app", "pro", "active", 2, None, None,
                               "x1", None, frozenset({UUID_A, UUID_B}))
    assert differences(imported, existing) == []
    changed = ExistingLicense("t", imported.key_hash, "app", "pro", "revoked", 5, None,
                              "b@example.com", "x2", None, frozenset())
    assert differences(imported, changed) == ["status", "activation_limit", "customer_email",
                                              "external_id", "instances"]
