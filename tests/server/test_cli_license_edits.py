"""keylight license edit | suspend | reinstate, run as a subprocess against the live test
server (issue 20)."""

from __future__ import annotations

from .cli_calls import fields, run
from .sdk_calls import activate, machine_hash, validate


def test_license_edit_changes_the_terms_and_clears_the_expiry(as_tenant, catalog, mint):
    minted = mint(catalog)
    edited = as_tenant("license", "edit", minted["license_id"], "--activation-limit", "9",
                       "--expires-at", "2031-01-31T00:00:00Z", "--email", "new@example.com",
                       "--metadata", '{"crm_id": "C-7"}', json_out=True)
    assert (edited["activation_limit"], edited["expires_at"], edited["customer_email"],
            edited["metadata"]) == (9, "2031-01-31T00:00:00Z", "new@example.com",
                                    {"crm_id": "C-7"})
    shown = fields(as_tenant("license", "edit", minted["license_id"], "--expires-at", "none"))
    assert shown["activation_limit"] == "9" and shown["expires_at"] in ("", "-", "none")


def test_license_suspend_and_reinstate(http, as_tenant, catalog, mint):
    minted = mint(catalog)
    instance_id = activate(http, catalog, minted["key"],
                           machine_hash=machine_hash()).json()["instance_id"]
    assert fields(as_tenant("license", "suspend", minted["license_id"]))["status"] == \
        "suspended"
    assert validate(http, catalog, minted["key"], instance_id).status_code == 422
    listed = as_tenant("license", "list", "--status", "suspended", json_out=True)["data"]
    assert [item["license_id"] for item in listed] == [minted["license_id"]]
    assert fields(as_tenant("license", "reinstate", minted["license_id"]))["status"] == \
        "active"
    assert validate(http, catalog, minted["key"], instance_id).status_code == 200


def test_license_edit_of_a_revoked_license_is_one_line(base_url, tenant, catalog, mint,
                                                       as_tenant):
    minted = mint(catalog)
    as_tenant("license", "revoke", minted["license_id"])
    done = run("license", "edit", minted["license_id"], "--activation-limit", "2",
               "--tenant", tenant.tenant_id, url=base_url,
               token=tenant.credentials["management_token"])
    assert done.returncode == 1 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("keylight: ") and "HTTP 409" in line
