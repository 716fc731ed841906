"""Importing licenses (issue 21, docs/import.md): all or nothing, dry runs, idempotent
re-posts, taken keys and external ids that say nothing of other tenants, generated keys, one
audit entry per import; against in-memory store transactions (``InMemoryImports``)."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import pytest

from keylight_actors.domain.catalog import KeyType
from keylight_actors.domain.errors import Unavailable
from keylight_actors.domain.license_import import Catalog
from keylight_actors.domain.license_key import hash_license_key
from keylight_actors.services.imports import (
    KEY_TAKEN,
    ImportLicenses,
    ImportResult,
    import_licenses,
    read_import,
)

from .fakes import InMemoryImports, existing_license
from .memory import NOW

CATALOG = Catalog(
    key_types={"app": {
        "pro": KeyType("app", "pro", "Pro", activation_limit=3, duration_days=365,
                       entitlements=("pro",)),
        "life": KeyType("app", "life", "Lifetime", activation_limit=1)}},
    key_prefixes={"app": "ACME"})
DEVICE = "5b0e7d4c-2f0b-4b8e-9d51-6a1c0f3e2a10"


def licenses(*rows: dict[str, Any]) -> bytes:
    """A JSON file of app/pro rows (a row may say otherwise)."""
    return json.dumps({"licenses": [{"product_id": "app", "key_type_id": "pro", **row}
                                    for row in rows]}).encode()


def importing(body: bytes, *, tenant_id: str = "acme", file_format: str = "json",
              dry_run: bool = False, announce: bool = False) -> ImportLicenses:
    return ImportLicenses(tenant_id, f"tenant:{tenant_id}", body, file_format, CATALOG,
                          dry_run, announce, NOW)


async def run(tables: InMemoryImports, command: ImportLicenses) -> ImportResult:
    """The use case as the route runs it: the file read, then one store transaction."""
    return await import_licenses(command, read_import(command),
                                 partial(tables.transaction, command.tenant_id))


def coded(result: ImportResult) -> list[tuple[int, str | None, str]]:
    return [(error.row, error.field, error.code) for error in result.errors]


def writes_nothing(tables: InMemoryImports, before: int) -> bool:
    return (len(tables.licenses) == before and not tables.written and not tables.events
            and not tables.audits and "write" not in tables.calls)


# ---------------------------------------------------------------- a valid file


async def test_a_valid_file_imports_every_row_and_reports_the_counts():
    tables = InMemoryImports()
    result = await run(tables, importing(licenses(
        {"license_key": "old-0001-abcd", "customer_email": "ada@example.com"},
        {"license_key": "LEGACY_0042", "external_id": "gum-77", "status": "revoked"},
        {"license_key": "OLDK-7Q2M-99XA-K3PD", "key_type_id": "life"})))
    assert result.ok and (result.imported, result.unchanged) == (3, 0)
    assert result.to_wire() == {"dry_run": False, "imported": 3, "unchanged": 0,
                                "errors": [], "generated_keys": []}
    stored = {license_.key_hash: license_ for license_ in tables.of_tenant("acme")}
    assert set(stored) == {hash_license_key(key) for key in (
        "OLD-0001-ABCD", "LEGACY_0042", "OLDK-7Q2M-99XA-K3PD")}
    assert stored[hash_license_key("OLD-0001-ABCD")].customer_email == "ada@example.com"
    assert stored[hash_license_key("LEGACY_0042")].status == "revoked"
    assert stored[hash_license_key("OLDK-7Q2M-99XA-K3PD")].activation_limit == 1


async def test_imported_licenses_take_the_key_type_terms_unless_the_row_overrides_them():
    tables = InMemoryImports()
    await run(tables, importing(licenses(
        {"license_key": "TERMS-0001", "created_at": "2024-01-15T09:30:00Z"},
        {"license_key": "TERMS-0002", "activation_limit": 5, "expires_at": "never"})))
    by_key = {new.row.key: new.row for new in tables.written}
    first, second = by_key["TERMS-0001"], by_key["TERMS-0002"]
    assert first.entitlements == ("pro",) and first.activation_limit == 3
    assert first.expires_at == 1_705_311_000 + 365 * 86_400  # a year from created_at
    assert (second.activation_limit, second.expires_at) == (5, None)


async def test_a_csv_file_is_imported_as_its_json_twin():
    tables = InMemoryImports()
    body = ("\ufeffproduct_id,key_type_id,license_key,metadata\r\n"
            'app,pro,CSV-0001,"{""seats"": ""a, b""}"\r\n\r\n'
            "app,life,,\r\n").encode()
    result = await run(tables, importing(body, file_format="csv"))
    assert (result.imported, coded(result)) == (2, [])
    [given] = [new.row for new in tables.written if not new.row.key_generated]
    assert given.key == "CSV-0001" and given.metadata == {"seats": "a, b"}
    assert [row for row, _ in result.generated_keys] == [2]


async def test_the_import_takes_the_tenants_lock_before_it_reads_anything():
    tables = InMemoryImports()
    await run(tables, importing(licenses({"license_key": "LOCK-0001", "external_id": "x"})))
    assert tables.calls[0] == "lock_tenant" and tables.calls[-1] == "write"
    assert tables.transactions == tables.committed == 1


# ---------------------------------------------------------------- all or nothing


async def test_one_bad_row_imports_nothing():
    tables = InMemoryImports()
    result = await run(tables, importing(licenses(
        {"license_key": "GOOD-0001"}, {"license_key": "GOOD-0002", "key_type_id": "nope"},
        {"license_key": "GOOD-0003"})))
    assert not result.ok and (result.imported, result.unchanged) == (0, 0)
    assert coded(result) == [(2, "key_type_id", "UNKNOWN_KEY_TYPE")]
    assert writes_nothing(tables, 0)


async def test_every_error_of_every_row_is_listed_with_its_row_and_field():
    tables = InMemoryImports()
    result = await run(tables, importing(licenses(
        {"license_key": "x", "customer_email": "not-an-email"},
        {"license_key": "FINE-0001"},
        {"product_id": "nope", "status": "lost", "activation_limit": 0},
        {"license_key": "FINE-0001"})))
    assert coded(result) == [
        (1, "license_key", "INVALID_KEY"), (1, "customer_email", "INVALID_EMAIL"),
        (3, "product_id", "UNKNOWN_PRODUCT"), (3, "activation_limit", "INVALID_LIMIT"),
        (3, "status", "INVALID_STATUS"),
        (4, "license_key", "DUPLICATE_KEY")]
    assert all(error.error for error in result.errors)
    assert writes_nothing(tables, 0)


async def test_errors_found_in_the_store_are_listed_with_the_files_in_row_order():
    tables = InMemoryImports([existing_license(hash_license_key("TAKEN-0001"),
                                               tenant_id="other")])
    result = await run(tables, importing(licenses(
        {"license_key": "FREE-0001"}, {"license_key": "TAKEN-0001"},
        {"license_key": "FREE-0002", "status": "lost"},
        {"license_key": "FREE-0003", "instances": [
            {"instance_id": DEVICE, "instance_name": "desk"}]})))
    assert coded(result) == [(2, "license_key", "KEY_TAKEN"),
                             (3, "status", "INVALID_STATUS")]
    assert writes_nothing(tables, 1)


async def test_an_error_of_the_file_itself_is_row_zero():
    tables = InMemoryImports()
    result = await run(tables, importing(b"product_id,key_type_id,colour\napp,pro,red\n",
                                         file_format="csv"))
    assert coded(result) == [(0, "colour", "UNKNOWN_COLUMN")]
    assert writes_nothing(tables, 0)


# ---------------------------------------------------------------- dry runs


async def test_a_dry_run_writes_nothing_but_reports_what_an_import_would_do():
    tables = InMemoryImports([existing_license(hash_license_key("KEPT-0001"))])
    result = await run(tables, importing(licenses(
        {"license_key": "KEPT-0001"}, {"license_key": "NEW-00001"}, {}),
        dry_run=True, announce=True))
    assert result.to_wire() == {"dry_run": True, "imported": 2, "unchanged": 1,
                                "errors": [], "generated_keys": []}
    assert writes_nothing(tables, 1)


async def test_a_dry_run_checks_the_store_too():
    tables = InMemoryImports([
        existing_license(hash_license_key("THEIRS-0001"), tenant_id="other"),
        existing_license(hash_license_key("MINE-0001"), external_id="kg-1"),
        existing_license("h-with-device", tenant_id="other", instance_ids=frozenset({DEVICE}))])
    result = await run(tables, importing(licenses(
        {"license_key": "THEIRS-0001"},
        {"license_key": "OTHER-0001", "external_id": "kg-1"},
        {"license_key": "OTHER-0002", "instances": [
            {"instance_id": DEVICE, "instance_name": "desk"}]}), dry_run=True))
    assert coded(result) == [(1, "license_key", "KEY_TAKEN"),
                             (2, "external_id", "EXTERNAL_ID_TAKEN"),
                             (3, "instances[0].instance_id", "INSTANCE_ID_TAKEN")]
    assert result.dry_run and writes_nothing(tables, 3)


# ---------------------------------------------------------------- idempotent re-posts


async def test_posting_the_same_file_again_reports_every_row_unchanged_and_adds_no_license():
    tables = InMemoryImports()
    body = licenses(
        {"license_key": "SAME-0001", "expires_at": "never", "metadata": {"plan": "old"}},
        {"external_id": "gum-7", "customer_email": "g@example.com"},
        {"license_key": "SAME-0002", "created_at": "2024-01-15T09:30:00Z", "instances": [
            {"instance_id": DEVICE, "instance_name": "pc"}]})
    first = await run(tables, importing(body, announce=True))
    assert (first.imported, first.unchanged) == (3, 0)
    written, events = list(tables.written), list(tables.events)

    again = await run(tables, importing(body, announce=True))
    assert again.to_wire() == {"dry_run": False, "imported": 0, "unchanged": 3,
                               "errors": [], "generated_keys": []}
    assert len(tables.licenses) == 3
    assert tables.written == written and tables.events == events


async def test_a_row_left_to_defaults_that_depend_on_now_is_unchanged_later():
    tables = InMemoryImports([existing_license(hash_license_key("DEFAULT-0001"),
                                               expires_at=NOW - 1_000)])
    result = await run(tables, importing(licenses({"license_key": "DEFAULT-0001"})))
    assert (result.imported, result.unchanged, coded(result)) == (0, 1, [])


async def test_devices_activated_since_the_import_do_not_make_a_row_differ():
    tables = InMemoryImports([existing_license(
        hash_license_key("DEVICES-01"),
        instance_ids=frozenset({DEVICE, "00000000-0000-4000-8000-000000000001"}))])
    result = await run(tables, importing(licenses({"license_key": "DEVICES-01", "instances": [
        {"instance_id": DEVICE, "instance_name": "desk"}]})))
    assert (result.unchanged, coded(result)) == (1, [])


async def test_a_row_without_a_key_or_external_id_is_a_new_license_each_time():
    tables = InMemoryImports()
    body = licenses({"customer_email": "anon@example.com"})
    await run(tables, importing(body))
    again = await run(tables, importing(body))
    assert (again.imported, again.unchanged) == (1, 0)
    assert len(tables.of_tenant("acme")) == 2


async def test_a_refused_file_counts_no_row_unchanged():
    tables = InMemoryImports([existing_license(hash_license_key("KEPT-0001"))])
    result = await run(tables, importing(licenses(
        {"license_key": "KEPT-0001"}, {"license_key": "BAD", "status": "lost"})))
    assert not result.ok and (result.imported, result.unchanged) == (0, 0)


# ---------------------------------------------------------------- taken keys and ids


async def test_this_tenants_key_holding_other_data_is_key_taken():
    tables = InMemoryImports([existing_license(hash_license_key("MINE-0001"),
                                               customer_email="ada@example.com")])
    result = await run(tables, importing(licenses(
        {"license_key": "MINE-0001", "customer_email": "eve@example.com"})))
    assert coded(result) == [(1, "license_key", "KEY_TAKEN")]
    assert writes_nothing(tables, 1)


async def test_an_external_id_holding_other_data_is_external_id_taken():
    tables = InMemoryImports([existing_license("h-1", external_id="kg-1",
                                               customer_email="ada@example.com")])
    result = await run(tables, importing(licenses(
        {"external_id": "kg-1", "customer_email": "eve@example.com"})))
    assert coded(result) == [(1, "external_id", "EXTERNAL_ID_TAKEN")]
    assert writes_nothing(tables, 1)


async def test_an_external_id_held_by_a_license_with_another_key_is_taken():
    tables = InMemoryImports([existing_license(hash_license_key("FIRST-0001"),
                                               external_id="kg-1")])
    result = await run(tables, importing(licenses(
        {"license_key": "SECOND-0001", "external_id": "kg-1"})))
    assert coded(result) == [(1, "external_id", "EXTERNAL_ID_TAKEN")]


async def test_another_tenants_key_is_taken_in_the_same_words_as_one_of_this_tenant():
    mine, theirs = hash_license_key("MINE-0001"), hash_license_key("THEIRS-0001")
    tables = InMemoryImports([
        existing_license(mine, customer_email="ada@example.com"),
        existing_license(theirs, tenant_id="globex", product_id="rocket",
                         key_type_id="gold", customer_email="wile@globex.example")])
    body = licenses({"license_key": "MINE-0001"}, {"license_key": "THEIRS-0001"})
    result = await run(tables, importing(body))
    own, foreign = result.errors
    assert (own.row, foreign.row) == (1, 2)
    assert (own.field, own.code, own.error) == (foreign.field, foreign.code, foreign.error) == (
        "license_key", "KEY_TAKEN", KEY_TAKEN)
    answer = json.dumps(result.to_wire())
    assert not any(word in answer for word in ("globex", "rocket", "gold", "wile"))


async def test_another_tenants_key_is_taken_even_when_it_holds_the_same_data():
    tables = InMemoryImports([existing_license(hash_license_key("TWIN-0001"),
                                               tenant_id="globex")])
    result = await run(tables, importing(licenses({"license_key": "TWIN-0001"})))
    assert coded(result) == [(1, "license_key", "KEY_TAKEN")]
    assert result.unchanged == 0 and writes_nothing(tables, 1)


async def test_another_tenants_external_id_is_free_here():
    tables = InMemoryImports([existing_license("h-1", tenant_id="globex",
                                               external_id="kg-1")])
    result = await run(tables, importing(licenses({"license_key": "NEW-00001",
                                                   "external_id": "kg-1"})))
    assert (result.imported, coded(result)) == (1, [])


async def test_a_device_id_in_use_on_any_license_is_instance_id_taken():
    tables = InMemoryImports([existing_license("h-1", tenant_id="globex",
                                               instance_ids=frozenset({DEVICE}))])
    result = await run(tables, importing(licenses({"license_key": "NEW-00001", "instances": [
        {"instance_id": "00000000-0000-4000-8000-000000000001", "instance_name": "a"},
        {"instance_id": DEVICE, "instance_name": "b"}]})))
    assert coded(result) == [(1, "instances[1].instance_id", "INSTANCE_ID_TAKEN")]
    assert writes_nothing(tables, 1)


# ---------------------------------------------------------------- generated keys


async def test_a_row_without_a_key_gets_a_generated_key_in_the_answer():
    tables = InMemoryImports()
    result = await run(tables, importing(licenses(
        {"license_key": "GIVEN-0001"}, {"customer_email": "a@example.com"}, {})))
    assert [row for row, _ in result.generated_keys] == [2, 3]
    for row, key in result.generated_keys:
        assert key.startswith("ACME-")
        [stored] = [new.row for new in tables.written if new.row.row == row]
        assert stored.key_hash == hash_license_key(key)
    assert result.to_wire()["generated_keys"] == [
        {"row": row, "license_key": key} for row, key in result.generated_keys]


async def test_a_row_matched_by_its_external_id_answers_no_generated_key():
    tables = InMemoryImports()
    body = licenses({"external_id": "kg-1"})
    [(_, key)] = (await run(tables, importing(body))).generated_keys
    again = await run(tables, importing(body))
    assert (again.unchanged, again.generated_keys) == (1, [])
    assert [license_.key_hash for license_ in tables.of_tenant("acme")] == [
        hash_license_key(key)]


# ---------------------------------------------------------------- audit and events


async def test_an_import_leaves_one_audit_entry_with_the_counts_and_no_key():
    tables = InMemoryImports([existing_license(hash_license_key("KEPT-0001"))])
    result = await run(tables, importing(licenses(
        {"license_key": "KEPT-0001"}, {"license_key": "NEW-00001", "instances": [
            {"instance_id": DEVICE, "instance_name": "desk"}]}, {})))
    [entry] = tables.audits
    assert (entry.actor, entry.action, entry.tenant_id, entry.target) == (
        "tenant:acme", "license.import", "acme", None)
    assert entry.details == {"imported": 2, "unchanged": 1, "devices": 1, "announced": False}
    [(_, generated)] = result.generated_keys
    assert generated not in repr(entry) and "NEW-00001" not in repr(entry)


async def test_a_repost_that_imports_nothing_is_still_audited_once():
    tables = InMemoryImports()
    body = licenses({"license_key": "SAME-0001"})
    await run(tables, importing(body))
    await run(tables, importing(body))
    assert [entry.details["imported"] for entry in tables.audits] == [1, 0]
    assert tables.audits[1].details["unchanged"] == 1


async def test_a_refused_file_or_a_dry_run_leaves_no_audit_entry():
    tables = InMemoryImports()
    await run(tables, importing(licenses({"status": "lost"})))
    await run(tables, importing(licenses({"license_key": "DRY-00001"}), dry_run=True))
    assert tables.audits == []


async def test_an_import_announces_nothing_unless_asked():
    tables = InMemoryImports()
    await run(tables, importing(licenses({"license_key": "QUIET-0001"})))
    assert tables.events == [] and len(tables.written) == 1


async def test_announce_sends_a_mints_license_created_for_each_imported_license_only():
    tables = InMemoryImports([existing_license(hash_license_key("KEPT-0001"))])
    result = await run(tables, importing(licenses(
        {"license_key": "KEPT-0001"},
        {"license_key": "LOUD-0001", "customer_email": "ada@example.com"}, {}),
        announce=True))
    assert [event.event_type for event in tables.events] == ["license.created"] * 2
    [(_, generated)] = result.generated_keys
    by_key = {event.fields["key"]: event for event in tables.events}
    assert set(by_key) == {"LOUD-0001", generated}
    loud = by_key["LOUD-0001"]
    [written] = [new for new in tables.written if new.row.key == "LOUD-0001"]
    assert loud.tenant_id == "acme" and loud.fields == {
        "license_id": written.license_id, "key": "LOUD-0001", "product_id": "app",
        "key_type_id": "pro", "customer_email": "ada@example.com", "session_id": None}
    assert tables.audits[0].details["announced"] is True


# ---------------------------------------------------------------- races


async def test_a_race_with_another_writer_runs_the_import_again_and_reports_the_key_taken():
    tables = InMemoryImports()
    tables.commit_before_next_write(existing_license(hash_license_key("RACE-0001"),
                                                     tenant_id="globex"))
    result = await run(tables, importing(licenses({"license_key": "RACE-0001"},
                                                  {"license_key": "CALM-0001"})))
    assert coded(result) == [(1, "license_key", "KEY_TAKEN")]
    assert (tables.transactions, tables.committed) == (2, 1)
    assert tables.written == [] and tables.audits == [] and tables.of_tenant("acme") == []


async def test_a_race_with_the_same_licenses_makes_the_rows_unchanged():
    tables = InMemoryImports()
    tables.commit_before_next_write(existing_license(hash_license_key("RACE-0001")))
    result = await run(tables, importing(licenses({"license_key": "RACE-0001"},
                                                  {"license_key": "CALM-0001"})))
    assert (result.imported, result.unchanged, coded(result)) == (1, 1, [])
    assert [new.row.key for new in tables.written] == ["CALM-0001"]


async def test_a_second_race_in_a_row_is_unavailable_and_writes_nothing():
    tables = InMemoryImports()
    tables.commit_before_next_write(existing_license(hash_license_key("RACE-0001")))
    tables.commit_before_next_write(existing_license("h-2", tenant_id="globex",
                                                     instance_ids=frozenset({DEVICE})))
    with pytest.raises(Unavailable):
        await run(tables, importing(licenses(
            {"license_key": "RACE-0001"},
            {"license_key": "RACE-0002", "instances": [
                {"instance_id": DEVICE, "instance_name": "desk"}]})))
    assert (tables.transactions, tables.committed) == (2, 0)
    assert tables.written == [] and tables.audits == []
