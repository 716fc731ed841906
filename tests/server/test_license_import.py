"""POST /api/{tenant}/licenses/import against the live server: keys and devices kept, all or
nothing, idempotent, isolated (issue 21)."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import httpx
import psycopg

from .conftest import SECRETS_SEEN, Catalog
from .sdk_calls import activate, machine_hash, validate

JSON_TYPE = {"Content-Type": "application/json"}
CSV_TYPE = {"Content-Type": "text/csv"}


def post_import(http: httpx.Client, catalog: Catalog, body: Any, *, csv: bool = False,
                headers: dict[str, str] | None = None, **query: str) -> httpx.Response:
    tenant = catalog.tenant
    content = body.encode() if isinstance(body, str) else (
        body if isinstance(body, bytes) else json.dumps(body).encode())
    return http.post(f"/api/{tenant.tenant_id}/licenses/import", params=query,
                     content=content,
                     headers={**(headers or tenant.headers), **(CSV_TYPE if csv else JSON_TYPE)},
                     timeout=120)


def rows(catalog: Catalog, *items: dict[str, Any]) -> dict[str, Any]:
    return {"licenses": [{"product_id": catalog.product_id, "key_type_id": catalog.key_type_id,
                          **item} for item in items]}


def old_key() -> str:
    return "OLD-" + uuid.uuid4().hex[:16].upper()


def license_rows(database_url: str, tenant_id: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url) as conn:
        cursor = conn.execute(
            """SELECT key_hash, source, status, external_id, metadata, customer_email,
                      activation_limit, extract(epoch FROM expires_at)::bigint AS expires_at
                 FROM licenses WHERE tenant_id = %s""", (tenant_id,))
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_an_imported_key_and_its_devices_work_through_the_sdk(http, catalog, database_url):
    key, old_ids = old_key(), [str(uuid.uuid4()), str(uuid.uuid4())]
    hashes = [machine_hash(), machine_hash()]
    answer = post_import(http, catalog, rows(catalog, {
        "license_key": key.lower(), "customer_email": "old@example.com", "external_id": "kg-1",
        "metadata": {"plan": "legacy"},
        "instances": [{"instance_id": old_ids[0], "instance_name": "desk",
                       "machine_hash": hashes[0], "activated_at": "2024-05-01T10:00:00Z"},
                      {"instance_id": old_ids[1], "instance_name": "laptop"}]}))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"dry_run": False, "imported": 1, "unchanged": 0, "errors": [],
                             "generated_keys": []}
    [stored] = license_rows(database_url, catalog.tenant.tenant_id)
    assert stored["source"] == "import" and stored["external_id"] == "kg-1"
    assert stored["metadata"] == {"plan": "legacy"}

    # The old devices validate with their old ids, without activating again.
    for instance_id in old_ids:
        checked = validate(http, catalog, key, instance_id)
        assert checked.status_code == 200, checked.text
        assert checked.json()["valid"] is True
    assert validate(http, catalog, key, old_ids[0], machine_hash=hashes[0]).status_code == 200
    # The same machine activating again gets its old seat back.
    again = activate(http, catalog, key, machine_hash=hashes[0])
    assert again.status_code == 200 and again.json()["instance_id"] == old_ids[0]
    # They hold two of the three seats: one more device fits, the next does not.
    third = activate(http, catalog, key, machine_hash=machine_hash())
    assert third.status_code == 200, third.text
    assert third.json()["lease"]["signature"]
    assert activate(http, catalog, key, machine_hash=machine_hash()).status_code == 402


def test_generated_keys_appear_in_the_answer_and_activate(http, catalog, database_url):
    answer = post_import(http, catalog, rows(catalog, {"customer_email": "a@example.com"},
                                             {"license_key": old_key()}))
    assert answer.status_code == 200, answer.text
    [generated] = answer.json()["generated_keys"]
    SECRETS_SEEN.add(generated["license_key"])
    assert generated["row"] == 1 and generated["license_key"].startswith(catalog.key_prefix)
    activated = activate(http, catalog, generated["license_key"])
    assert activated.status_code == 200, activated.text
    assert {row["source"] for row in license_rows(database_url, catalog.tenant.tenant_id)} == {
        "import"}


def test_one_bad_row_in_ten_thousand_imports_nothing(http, catalog, database_url):
    lines = ["product_id,key_type_id,license_key,customer_email"]
    for number in range(1, 10_001):
        key_type = "nope" if number == 7_531 else catalog.key_type_id
        lines.append(f"{catalog.product_id},{key_type},BULK-{uuid.uuid4().hex[:20]},"
                     f"c{number}@example.com")
    body = "\n".join(lines) + "\n"
    assert len(body) > 64 * 1024  # over every other route's limit
    answer = post_import(http, catalog, body, csv=True)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "IMPORT_INVALID"
    assert answer.json()["errors"] == [{"row": 7_531, "field": "key_type_id",
                                        "code": "UNKNOWN_KEY_TYPE",
                                        "error": answer.json()["errors"][0]["error"]}]
    assert license_rows(database_url, catalog.tenant.tenant_id) == []
    fixed = post_import(http, catalog, body.replace(",nope,", f",{catalog.key_type_id},"),
                        csv=True)
    assert fixed.status_code == 200 and fixed.json()["imported"] == 10_000
    assert len(license_rows(database_url, catalog.tenant.tenant_id)) == 10_000


def test_an_imported_suspended_license_refuses_activation_until_reinstated(http, catalog,
                                                                          database_url):
    key, old_id = old_key(), str(uuid.uuid4())
    answer = post_import(http, catalog, rows(catalog, {
        "license_key": key, "status": "suspended",
        "instances": [{"instance_id": old_id, "instance_name": "desk"}]}))
    assert answer.status_code == 200, answer.text
    [stored] = license_rows(database_url, catalog.tenant.tenant_id)
    assert stored["status"] == "suspended"
    refused = activate(http, catalog, key, machine_hash=machine_hash())
    assert refused.status_code == 403 and refused.json()["code"] == "LICENSE_SUSPENDED"
    tenant = catalog.tenant
    listed = http.get(f"/api/{tenant.tenant_id}/licenses", headers=tenant.headers).json()
    license_id = listed["data"][0]["license_id"]
    assert http.post(f"/api/{tenant.tenant_id}/licenses/{license_id}/reinstate",
                     headers=tenant.headers).status_code == 200
    assert validate(http, catalog, key, old_id).status_code == 200
    assert activate(http, catalog, key, machine_hash=machine_hash()).status_code == 200


def test_a_dry_run_writes_nothing(http, catalog, database_url):
    answer = post_import(http, catalog, rows(catalog, {"license_key": old_key()}, {}),
                         dry_run="true")
    assert answer.status_code == 200, answer.text
    assert answer.json()["dry_run"] is True and answer.json()["imported"] == 2
    assert answer.json()["generated_keys"] == []
    assert license_rows(database_url, catalog.tenant.tenant_id) == []
    bad = post_import(http, catalog, rows(catalog, {"status": "lost"}), dry_run="true")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["code"] == "INVALID_STATUS"


def test_the_same_file_twice_imports_once(http, catalog, database_url):
    body = rows(catalog, {"license_key": old_key(), "expires_at": "never"},
                {"external_id": "gum-7", "customer_email": "g@example.com"},
                {"license_key": old_key(), "instances": [
                    {"instance_id": str(uuid.uuid4()), "instance_name": "pc"}]})
    first = post_import(http, catalog, body)
    assert first.status_code == 200 and first.json()["imported"] == 3, first.text
    second = post_import(http, catalog, body)
    assert second.status_code == 200, second.text
    assert (second.json()["imported"], second.json()["unchanged"]) == (0, 3)
    assert second.json()["generated_keys"] == []
    assert len(license_rows(database_url, catalog.tenant.tenant_id)) == 3
    # The same key with other data is an error.
    body["licenses"][0]["customer_email"] = "someone@example.com"
    changed = post_import(http, catalog, body)
    assert changed.status_code == 422
    assert [(e["row"], e["code"]) for e in changed.json()["errors"]] == [(1, "KEY_TAKEN")]
    body["licenses"][0].pop("customer_email")
    body["licenses"][1]["customer_email"] = "other@example.com"
    changed = post_import(http, catalog, body)
    assert [(e["row"], e["code"]) for e in changed.json()["errors"]] == [
        (2, "EXTERNAL_ID_TAKEN")]


def test_csv_with_bom_crlf_and_quoted_commas(http, catalog, database_url):
    key = old_key()
    text = ("\ufeffproduct_id,key_type_id,license_key,customer_email,metadata,status\r\n"
            f'{catalog.product_id},{catalog.key_type_id},{key},"x@example.com",'
            '"{""seats"": ""a, b""}",revoked\r\n\r\n')
    answer = post_import(http, catalog, text.encode("utf-8"), csv=True)
    assert answer.status_code == 200 and answer.json()["imported"] == 1, answer.text
    [stored] = license_rows(database_url, catalog.tenant.tenant_id)
    assert stored["metadata"] == {"seats": "a, b"} and stored["status"] == "revoked"
    assert stored["customer_email"] == "x@example.com"


def test_taken_keys_reveal_nothing(http, catalog, mint, make_tenant, make_catalog):
    minted = mint(catalog)["key"]
    answer = post_import(http, catalog, rows(catalog, {"license_key": minted}))
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert (error["row"], error["field"], error["code"]) == (1, "license_key", "KEY_TAKEN")

    other = make_catalog(make_tenant())
    theirs = old_key()
    assert post_import(http, other, rows(other, {"license_key": theirs})).status_code == 200
    answer = post_import(http, catalog, rows(catalog, {"license_key": theirs}))
    assert answer.status_code == 422
    [foreign] = answer.json()["errors"]
    assert foreign == {**error, "row": 1}  # the same answer as for a key of this tenant
    assert other.tenant.tenant_id not in answer.text and other.product_id not in answer.text


def test_concurrent_overlapping_imports_make_no_duplicate(http, catalog, database_url,
                                                          base_url):
    keys = [old_key() for _ in range(300)]
    files = [rows(catalog, *({"license_key": key} for key in keys[:200])),
             rows(catalog, *({"license_key": key} for key in keys[100:]))]
    answers: list[httpx.Response] = []

    def run(body: dict[str, Any]) -> None:
        with httpx.Client(base_url=base_url, timeout=120) as client:
            answers.append(post_import(client, catalog, body))

    threads = [threading.Thread(target=run, args=(body,)) for body in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in answers] == [200, 200], [a.text for a in answers]
    imported = sum(answer.json()["imported"] for answer in answers)
    unchanged = sum(answer.json()["unchanged"] for answer in answers)
    assert (imported, unchanged) == (300, 100)
    assert len(license_rows(database_url, catalog.tenant.tenant_id)) == 300


def test_announce_emits_license_created_and_the_audit_counts(http, catalog, database_url):
    quiet, loud = old_key(), old_key()
    assert post_import(http, catalog, rows(catalog, {"license_key": quiet})).status_code == 200
    answer = post_import(http, catalog, rows(catalog, {"license_key": loud},
                                             {"license_key": quiet}), announce="true")
    assert answer.status_code == 200, answer.text
    with psycopg.connect(database_url) as conn:
        payloads = [row[0] for row in conn.execute(
            "SELECT payload FROM events WHERE tenant_id = %s AND event_type = %s",
            (catalog.tenant.tenant_id, "license.created"))]
    assert [payload["key"] for payload in payloads] == [loud]
    assert payloads[0]["product_id"] == catalog.product_id
    assert payloads[0]["session_id"] is None

    audit = http.get(f"/api/{catalog.tenant.tenant_id}/audit",
                     headers=catalog.tenant.headers).json()["data"]
    imports = [entry for entry in audit if entry["action"] == "license.import"]
    assert [entry["details"]["imported"] for entry in imports] == [1, 1]
    assert imports[0]["details"]["unchanged"] == 1 and imports[0]["details"]["announced"]


def test_another_tenants_token_is_refused(http, catalog, make_tenant, database_url):
    stranger = make_tenant()
    answer = post_import(http, catalog, rows(catalog, {"license_key": old_key()}),
                         headers=stranger.headers)
    assert answer.status_code == 403
    assert license_rows(database_url, catalog.tenant.tenant_id) == []
    assert post_import(http, catalog, "x").json()["errors"][0]["code"] == "BAD_JSON"
    wrong_type = http.post(f"/api/{catalog.tenant.tenant_id}/licenses/import",
                           content=b"x", headers={**catalog.tenant.headers,
                                                  "Content-Type": "text/plain"})
    assert wrong_type.status_code == 415


def test_the_cli_uploads_with_progress_and_lists_errors(catalog, base_url, tmp_path,
                                                        database_url):
    from .test_cli_verbs import run

    token, words = catalog.tenant.credentials["management_token"], (
        "--tenant", catalog.tenant.tenant_id)
    good = tmp_path / "licenses.csv"
    good.write_text("product_id,key_type_id,license_key,customer_email\n"
                    f"{catalog.product_id},{catalog.key_type_id},{old_key()},a@example.com\n"
                    f"{catalog.product_id},{catalog.key_type_id},,b@example.com\n")
    dry = run("license", "import", str(good), "--dry-run", *words, url=base_url, token=token)
    assert dry.returncode == 0, dry.stderr
    assert "would import: 2, unchanged: 0, errors: 0" in dry.stdout
    assert "bytes" in dry.stderr  # the upload's progress
    assert license_rows(database_url, catalog.tenant.tenant_id) == []
    done = run("license", "import", str(good), *words, url=base_url, token=token)
    assert done.returncode == 0, done.stderr
    assert "imported: 2, unchanged: 0, errors: 0" in done.stdout
    assert "LICENSE_KEY" in done.stdout and "Shown once" in done.stdout
    SECRETS_SEEN.update(line.split()[-1] for line in done.stdout.splitlines()
                        if line.startswith("2 "))

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(rows(catalog, {"license_key": "x"}, {"product_id": "nope"})))
    failed = run("license", "import", str(bad), *words, url=base_url, token=token)
    assert failed.returncode == 1
    assert "ROW" in failed.stdout and "FIELD" in failed.stdout
    assert "license_key" in failed.stdout and "product_id" in failed.stdout
    assert "nothing was imported" in failed.stderr
