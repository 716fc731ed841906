"""The keylight command's API verbs, run as a user runs them: the installed script in a
subprocess, against the live test server. Tables by default, the API's JSON with --json."""

from __future__ import annotations

import csv
import io
import json
import secrets
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_keylight_serve import keylight_command

from .cli_calls import as_json, clean_environment, fields, ok, rows, run
from .conftest import SECRETS_SEEN, unique_id, unique_key_prefix
from .payments import completed_session, deliver
from .sdk_calls import activate, machine_hash, sdk_headers, sdk_path


@pytest.fixture
def as_operator(base_url, settings):
    def call(*words: str, json_out: bool = False) -> Any:
        if json_out:
            return as_json(*words, url=base_url, token=settings.admin_token)
        return ok(*words, url=base_url, token=settings.admin_token)

    return call


# -- tenants (operator) --------------------------------------------------------------------

def test_tenant_create_shows_the_secrets_once_and_activates(as_operator):
    tenant_id = unique_id("cli")
    text = as_operator("tenant", "create", tenant_id, "--name", "Cli Apps", "--activate")
    shown = fields(text)
    SECRETS_SEEN.update(shown[name] for name in ("sdk_key", "checkout_api_key",
                                                 "management_token"))
    assert shown["tenant_id"] == tenant_id and shown["lifecycle"] == "active"
    assert shown["management_token"] and shown["sdk_key"] and shown["checkout_api_key"]
    assert "Shown once: sdk_key, checkout_api_key, management_token" in text
    listed = rows(as_operator("tenant", "list", "--lifecycle", "active", "--all"))
    assert {"TENANT_ID": tenant_id, "NAME": "Cli Apps", "LIFECYCLE": "active"}.items() <= next(
        row for row in listed if row["TENANT_ID"] == tenant_id).items()


def test_tenant_create_as_json_without_an_sdk_key(as_operator):
    tenant_id = unique_id("cli")
    created = as_operator("tenant", "create", tenant_id, "--name", "No Key", "--no-sdk-key",
                          json_out=True)
    SECRETS_SEEN.update(value for value in (created["checkout_api_key"],
                                            created["management_token"]) if value)
    assert created["sdk_key"] is None and created["lifecycle"] == "pending_verification"


def test_tenant_list_show_lifecycle_quota_and_stripe(as_operator, make_tenant):
    tenant = make_tenant(active=False)
    listed = as_operator("tenant", "list", "--limit", "200", "--all", json_out=True)
    assert tenant.tenant_id in {row["tenant_id"] for row in listed["data"]}
    assert listed["next_cursor"] is None
    shown = fields(as_operator("tenant", "show", tenant.tenant_id))
    assert shown["lifecycle"] == "pending_verification" and shown["name"] == "Acme Apps"
    moved = as_operator("tenant", "lifecycle", tenant.tenant_id, "active", json_out=True)
    assert moved["lifecycle"] == "active"
    quota = fields(as_operator("tenant", "sdk-quota", tenant.tenant_id, "120"))
    assert quota["sdk_quota_per_minute"] == "120"
    cleared = as_operator("tenant", "sdk-quota", tenant.tenant_id, "none", json_out=True)
    assert cleared["sdk_quota_per_minute"] is None
    account = "acct_" + secrets.token_hex(8)
    connected = fields(as_operator("tenant", "connect-stripe", tenant.tenant_id, account))
    assert connected["stripe_account_id"] == account
    page = as_operator("tenant", "list", "--limit", "1", json_out=True)
    assert len(page["data"]) == 1 and page["next_cursor"]
    assert "more: add --cursor " in as_operator("tenant", "list", "--limit", "1")


def test_tenant_list_search_sends_q(as_operator, make_tenant):
    word = secrets.token_hex(5)
    found = make_tenant(name=f"Cli {word} Search")
    make_tenant()
    listed = as_operator("tenant", "list", "--search", word.upper(), json_out=True)
    assert [row["tenant_id"] for row in listed["data"]] == [found.tenant_id]
    table = rows(as_operator("tenant", "list", "--search", word, "--all"))
    assert [row["TENANT_ID"] for row in table] == [found.tenant_id]


# -- catalog ---------------------------------------------------------------------------------

def test_product_create_list_show(as_tenant):
    product_id, prefix = unique_id("app"), unique_key_prefix()
    created = fields(as_tenant("product", "create", product_id, "--name", "Cli Editor",
                               "--key-prefix", prefix, "--trial-days", "14"))
    assert created["product_id"] == product_id and created["trial_duration_days"] == "14"
    listed = rows(as_tenant("product", "list"))
    assert [(row["PRODUCT_ID"], row["KEY_PREFIX"]) for row in listed] == [(product_id, prefix)]
    assert as_tenant("product", "list", json_out=True)["data"][0]["display_name"] == "Cli Editor"
    as_tenant("key-type", "create", "--product", product_id, "basic", "--name", "Basic",
              "--activation-limit", "2")
    shown = as_tenant("product", "show", product_id)
    assert fields(shown)["display_name"] == "Cli Editor"
    assert "key_types:" in shown and "basic" in shown
    assert [item["key_type_id"] for item in
            as_tenant("product", "show", product_id, json_out=True)["key_types"]] == ["basic"]


def test_key_type_create_list_show_edit(as_tenant, catalog):
    created = as_tenant("key-type", "create", "--product", catalog.product_id, "team",
                        "--name", "Team", "--activation-limit", "10", "--duration-days", "365",
                        "--entitlement", "pro", "--entitlement", "team", json_out=True)
    assert created["entitlements"] == ["pro", "team"] and created["duration_days"] == 365
    listed = rows(as_tenant("key-type", "list", "--product", catalog.product_id))
    assert {row["KEY_TYPE_ID"]: row["ACTIVATION_LIMIT"] for row in listed} == {
        "pro": "3", "team": "10"}
    shown = fields(as_tenant("key-type", "show", "--product", catalog.product_id, "team"))
    assert shown["entitlements"] == "pro, team" and shown["activation_limit"] == "10"
    edited = fields(as_tenant("key-type", "edit", "--product", catalog.product_id, "team",
                              "--activation-limit", "20", "--price-in-cents", "4900",
                              "--currency", "eur", "--duration-days", "none"))
    assert edited["activation_limit"] == "20" and edited["price_in_cents"] == "4900"
    assert edited["currency"] == "eur" and edited["duration_days"] == "-"
    again = as_tenant("key-type", "show", "--product", catalog.product_id, "team",
                      json_out=True)
    assert again["price_in_cents"] == 4900 and again["duration_days"] is None


# -- licenses --------------------------------------------------------------------------------

def mint_with_cli(as_tenant, catalog, email: str = "cli@example.com") -> tuple[dict, str]:
    text = as_tenant("license", "mint", "--product", catalog.product_id, "--key-type",
                     catalog.key_type_id, "--email", email)
    minted = fields(text)
    SECRETS_SEEN.add(minted["key"])
    return minted, text


def test_license_mint_shows_the_key_once_and_list_and_show_find_it(as_tenant, catalog):
    minted, text = mint_with_cli(as_tenant, catalog)
    assert minted["key"].startswith(catalog.key_prefix)
    assert "Shown once: key" in text
    listed = rows(as_tenant("license", "list", "--product", catalog.product_id))
    assert [(row["LICENSE_ID"], row["STATUS"], row["CUSTOMER_EMAIL"]) for row in listed] == [
        (minted["license_id"], "active", "cli@example.com")]
    data = as_tenant("license", "list", "--email", "cli@example.com", json_out=True)["data"]
    assert [item["license_id"] for item in data] == [minted["license_id"]]
    shown = fields(as_tenant("license", "show", minted["license_id"]))
    assert shown["status"] == "active" and shown["key_display"] == minted["key_display"]
    assert "key" not in shown


def test_license_revoke_remint_and_free_device(http, as_tenant, catalog, mint):
    first = mint(catalog)
    instance_id = activate(http, catalog, first["key"]).json()["instance_id"]
    shown = as_tenant("license", "show", first["license_id"])
    assert instance_id in shown and "instances:" in shown
    freed = as_tenant("license", "free-device", first["license_id"], instance_id,
                      json_out=True)
    assert freed["instance_id"] == instance_id
    assert as_tenant("license", "show", first["license_id"],
                     json_out=True)["active_instances"] == 0
    reminted_text = as_tenant("license", "remint", first["license_id"])
    reminted = fields(reminted_text)
    SECRETS_SEEN.add(reminted["key"])
    assert reminted["key"] != first["key"] and "Shown once: key" in reminted_text
    assert reminted["reminted_from"] == first["license_id"]
    old = as_tenant("license", "show", first["license_id"], json_out=True)
    assert old["status"] == "reminted"
    revoked = fields(as_tenant("license", "revoke", reminted["license_id"]))
    assert revoked["status"] == "revoked"


def test_license_export_to_stdout_and_to_a_file_with_filters(as_tenant, catalog, mint,
                                                            tmp_path: Path):
    kept = mint(catalog, customer_email="keep@example.com")
    mint(catalog, customer_email="other@example.com")
    table = list(csv.DictReader(io.StringIO(as_tenant("license", "export"))))
    assert len(table) == 2 and "license_id" in table[0]
    target = tmp_path / "kept.csv"
    said = as_tenant("license", "export", "--email", "keep@example.com", "--status", "active",
                     "--product", catalog.product_id, "--key-type", catalog.key_type_id,
                     "--output", str(target))
    assert str(target) in said
    [row] = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert row["license_id"] == kept["license_id"]
    [by_key] = list(csv.DictReader(io.StringIO(as_tenant("license", "export", "--key",
                                                         kept["key"]))))
    assert by_key["license_id"] == kept["license_id"]


def test_keyless_list(http, as_tenant, catalog):
    assert as_tenant("keyless", "list") == "(none)\n"
    install = f"install-{uuid.uuid4()}"
    answer = http.post(sdk_path(catalog, "keyless"), headers=sdk_headers(catalog),
                       json={"instance_id": install, "state": "trial",
                             "machine_hash": machine_hash()})
    assert answer.status_code == 200, answer.text
    listed = rows(as_tenant("keyless", "list", "--product", catalog.product_id))
    assert [(row["INSTANCE_ID"], row["STATE"]) for row in listed] == [(install, "trial")]
    data = as_tenant("keyless", "list", "--state", "trial", json_out=True)["data"]
    assert data[0]["instance_id"] == install and data[0]["license_id"] is None


# -- webhooks --------------------------------------------------------------------------------

def test_webhook_set_show_rotate_and_deliveries(as_tenant, catalog, mint, webhook_receiver):
    url = webhook_receiver.route()
    set_text = as_tenant("webhook", "set", url, "--on", "license.activated")
    secret = fields(set_text)["secret"]
    SECRETS_SEEN.add(secret)
    assert secret and "Shown once: secret" in set_text
    again = as_tenant("webhook", "set", url, "--event", "license.created", json_out=True)
    assert "secret" not in again and again["url"] == url
    shown = as_tenant("webhook", "show")
    assert fields(shown)["url"] == url and "license.created" in shown
    rotated_text = as_tenant("webhook", "rotate-secret")
    rotated = fields(rotated_text)
    SECRETS_SEEN.add(rotated["secret"])
    assert rotated["secret"] != secret and "Shown once: secret" in rotated_text
    assert rotated["previous_secret_signs_until"].endswith("Z")

    minted = mint(catalog)
    deadline = time.monotonic() + 30
    while True:
        listed = as_tenant("delivery", "list", json_out=True)["data"]
        if listed and listed[0]["status"] == "delivered":
            break
        assert time.monotonic() < deadline, listed
        time.sleep(0.2)
    delivery_id = listed[0]["delivery_id"]
    table = rows(as_tenant("delivery", "list", "--status", "delivered"))
    assert [(row["DELIVERY_ID"], row["EVENT"]) for row in table] == [
        (delivery_id, "license.created")]
    shown = as_tenant("delivery", "show", delivery_id)
    assert fields(shown)["status"] == "delivered" and "attempts:" in shown
    resent = as_tenant("delivery", "redeliver", delivery_id, json_out=True)
    assert resent["delivery_id"] == delivery_id and minted["license_id"]


# -- credentials and Stripe ----------------------------------------------------------------

@pytest.mark.parametrize("which,field", [("sdk-key", "sdk_key"),
                                         ("checkout-key", "checkout_api_key"),
                                         ("management-token", "management_token")])
def test_credential_rotate_shows_the_new_secret_once(as_tenant, tenant, which, field):
    text = as_tenant("credential", "rotate", which)
    new = fields(text)[field]
    SECRETS_SEEN.add(new)
    assert new and new != tenant.credentials[field]
    assert f"Shown once: {field}" in text


def test_signing_key_rotate_retire_and_sdk_key_removal(base_url, tenant):
    token = tenant.credentials["management_token"]
    words = ("--tenant", tenant.tenant_id)
    rotated = as_json("credential", "rotate", "signing-key", *words, url=base_url, token=token)
    kids = [key["kid"] for key in rotated["keys"]]
    assert len(kids) == 2 and rotated["primary_kid"] in kids
    old = next(kid for kid in kids if kid != rotated["primary_kid"])
    retired = fields(ok("credential", "retire-signing-key", old, *words, url=base_url,
                        token=token))
    assert retired["primary_kid"] == rotated["primary_kid"]
    removed = as_json("credential", "remove-sdk-key", *words, url=base_url, token=token)
    assert removed["sdk_key_required"] is False


def test_stripe_manual(as_tenant):
    answer = as_tenant("stripe", "manual", "--secret-key", "sk_test_" + secrets.token_hex(8),
                       "--webhook-secret", "whsec_" + secrets.token_hex(8))
    assert fields(answer)["stripe_mode"] == "manual"


def test_stripe_event_list_and_replay(http, as_operator, catalog):
    event = completed_session(catalog, account="acct_" + secrets.token_hex(8))
    assert deliver(http, event).status_code == 200
    listed = rows(as_operator("stripe-event", "list", "--state", "unroutable"))
    assert event["id"] in {row["EVENT_ID"] for row in listed}
    assert event["id"] in {item["event_id"] for item in as_operator(
        "stripe-event", "list", "--limit", "200", json_out=True)["data"]}
    replayed = fields(as_operator("stripe-event", "replay", event["id"]))
    assert replayed["event_id"] == event["id"] and replayed["status"]


# -- reports ---------------------------------------------------------------------------------

def test_audit_and_stats(http, as_tenant, catalog, mint):
    minted = mint(catalog)
    activate(http, catalog, minted["key"]).raise_for_status()
    audit = rows(as_tenant("audit"))
    assert ("license.mint", minted["license_id"]) in {(row["ACTION"], row["TARGET"])
                                                      for row in audit}
    page = as_tenant("audit", "--limit", "1", json_out=True)
    assert len(page["data"]) == 1 and page["next_before"]
    assert "more: add --before " in as_tenant("audit", "--limit", "1")
    stats_text = as_tenant("stats", "--days", "3")
    assert "per UTC day:" in stats_text and "ACTIVATIONS" in stats_text
    stats = as_tenant("stats", "--days", "3", json_out=True)
    assert stats["days"] == 3 and len(stats["activations_per_day"]) == 3
    assert sum(day["count"] for day in stats["activations_per_day"]) == 1
    assert stats["licenses_by_status"].get("active") == 1


# -- errors ----------------------------------------------------------------------------------

def test_an_api_error_is_one_line_and_exit_1(base_url, tenant):
    done = run("product", "show", "nope", "--tenant", tenant.tenant_id, url=base_url,
               token=tenant.credentials["management_token"])
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == "keylight: unknown product 'nope' (PRODUCT_NOT_FOUND, HTTP 404)\n"


def test_an_unknown_stripe_event_is_one_line(base_url, settings):
    done = run("stripe-event", "replay", "evt_nope", url=base_url, token=settings.admin_token)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "keylight: no such Stripe event (EVENT_NOT_FOUND, HTTP 404)"]


def test_a_wrong_token_is_one_line(base_url, tenant):
    done = run("license", "list", "--tenant", tenant.tenant_id, url=base_url,
               token="not-a-token")
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("keylight: ") and "HTTP 401" in line


def test_a_missing_token_is_a_clear_error(base_url, tenant):
    done = run("license", "list", "--tenant", tenant.tenant_id, url=base_url, token=None)
    assert done.returncode == 1 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("keylight: no token: pass --token or set KEYLIGHT_TOKEN")


def test_the_environment_gives_url_token_and_tenant(base_url, tenant, catalog):
    env = clean_environment(KEYLIGHT_URL=base_url, KEYLIGHT_TENANT=tenant.tenant_id,
                            KEYLIGHT_TOKEN=tenant.credentials["management_token"])
    done = subprocess.run([*keylight_command(), "product", "list", "--json"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert [item["product_id"] for item in json.loads(done.stdout)["data"]] == [
        catalog.product_id]


def test_an_export_error_is_one_line(base_url, tenant):
    done = run("license", "export", "--status", "bogus", "--tenant", tenant.tenant_id,
               url=base_url, token=tenant.credentials["management_token"])
    assert done.returncode == 1 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("keylight: status: must be one of") and "HTTP 400" in line
