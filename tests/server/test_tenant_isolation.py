"""Tenant A's management token opens none of tenant B's management routes, and nothing it is
answered names B's data (DESIGN §5: tenant routes take the tenant's own management token)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from .sdk_calls import activate

VICTIM_EMAIL = "victim-buyer@example.com"


@dataclass
class Victim:
    catalog: Any
    license: dict[str, Any]
    instance_id: str

    @property
    def tenant(self):
        return self.catalog.tenant


@pytest.fixture
def victim(http, make_tenant, make_catalog, mint) -> Victim:
    catalog = make_catalog(make_tenant())
    minted = mint(catalog, customer_email=VICTIM_EMAIL)
    activated = activate(http, catalog, minted["key"])
    assert activated.status_code == 200, activated.text
    return Victim(catalog, minted, activated.json()["instance_id"])


@pytest.fixture
def attacker(make_tenant):
    return make_tenant()


def victim_routes(victim: Victim) -> dict[str, tuple[str, str, Any]]:
    t, p, kt = victim.tenant.tenant_id, victim.catalog.product_id, victim.catalog.key_type_id
    lic = victim.license["license_id"]
    return {
        "create product": ("POST", f"/api/{t}/products",
                           {"product_id": "stolen", "display_name": "X", "key_prefix": "QQQ9"}),
        "create key type": ("POST", f"/api/{t}/products/{p}/key-types",
                            {"key_type_id": "stolen", "display_name": "X",
                             "activation_limit": 1}),
        "change key type": ("PATCH", f"/api/{t}/products/{p}/key-types/{kt}",
                            {"activation_limit": 99}),
        "mint": ("POST", f"/api/{t}/licenses", {"product_id": p, "key_type_id": kt}),
        "list licenses": ("GET", f"/api/{t}/licenses", None),
        "list by email": ("GET", f"/api/{t}/licenses?email={VICTIM_EMAIL}", None),
        "get license": ("GET", f"/api/{t}/licenses/{lic}", None),
        "revoke": ("POST", f"/api/{t}/licenses/{lic}/revoke", None),
        "remint": ("POST", f"/api/{t}/licenses/{lic}/remint", None),
        "deactivate instance": (
            "POST", f"/api/{t}/licenses/{lic}/instances/{victim.instance_id}/deactivate", None),
        "audit": ("GET", f"/api/{t}/audit", None),
    }


ROUTE_NAMES = ["create product", "create key type", "change key type", "mint",
               "list licenses", "list by email", "get license", "revoke", "remint",
               "deactivate instance", "audit"]


def victim_secrets(victim: Victim) -> list[str]:
    return [victim.license["license_id"], VICTIM_EMAIL, victim.license["key_display"],
            victim.license["key"], victim.instance_id]


def victim_state(http, victim: Victim, operator_headers) -> dict[str, Any]:
    tenant = victim.tenant
    return {
        "tenant": http.get(f"/api/admin/tenants/{tenant.tenant_id}",
                           headers=operator_headers).json(),
        "licenses": http.get(f"/api/{tenant.tenant_id}/licenses",
                             headers=tenant.headers).json(),
        "license": http.get(f"/api/{tenant.tenant_id}/licenses/{victim.license['license_id']}",
                            headers=tenant.headers).json(),
        "audit": http.get(f"/api/{tenant.tenant_id}/audit", headers=tenant.headers).json(),
    }


@pytest.mark.parametrize("route_name", ROUTE_NAMES)
def test_another_tenants_management_token_is_refused_without_naming_its_data(
    http, victim, attacker, route_name
):
    method, path, body = victim_routes(victim)[route_name]
    answer = http.request(method, path, headers=attacker.headers, json=body)
    assert answer.status_code in (403, 404), (route_name, answer.status_code, answer.text)
    assert set(answer.json()) == {"error", "code"}
    for secret in victim_secrets(victim):
        assert secret not in answer.text, (route_name, secret)


@pytest.mark.parametrize("route_name", ROUTE_NAMES)
def test_another_tenants_management_token_changes_nothing(http, operator_headers, victim,
                                                          attacker, route_name):
    before = victim_state(http, victim, operator_headers)
    method, path, body = victim_routes(victim)[route_name]
    http.request(method, path, headers=attacker.headers, json=body)
    after = victim_state(http, victim, operator_headers)
    assert after == before
    assert after["license"]["status"] == "active"
    assert [item["instance_id"] for item in after["license"]["instances"]] == [
        victim.instance_id]


def test_another_tenants_token_mints_no_license_for_either_tenant(http, victim, attacker):
    method, path, body = victim_routes(victim)["mint"]
    http.request(method, path, headers=attacker.headers, json=body)
    mine = http.get(f"/api/{attacker.tenant_id}/licenses", headers=attacker.headers).json()
    assert mine["data"] == []


@pytest.mark.parametrize(("method", "suffix"), [
    ("GET", ""),
    ("POST", "/revoke"),
    ("POST", "/remint"),
    ("POST", "/instances/{instance_id}/deactivate"),
])
def test_another_tenants_license_id_through_ones_own_path_is_404(http, victim, attacker,
                                                                 method, suffix):
    path = (f"/api/{attacker.tenant_id}/licenses/{victim.license['license_id']}"
            + suffix.format(instance_id=victim.instance_id))
    answer = http.request(method, path, headers=attacker.headers)
    assert answer.status_code == 404, answer.text
    for secret in victim_secrets(victim):
        assert secret not in answer.text


def test_another_tenants_license_through_ones_own_path_stays_untouched(
    http, operator_headers, victim, attacker
):
    before = victim_state(http, victim, operator_headers)
    base = f"/api/{attacker.tenant_id}/licenses/{victim.license['license_id']}"
    for suffix in ("/revoke", "/remint", f"/instances/{victim.instance_id}/deactivate"):
        http.post(base + suffix, headers=attacker.headers)
    assert victim_state(http, victim, operator_headers) == before


def test_another_tenants_licenses_are_not_in_ones_own_list(http, victim, attacker):
    answer = http.get(f"/api/{attacker.tenant_id}/licenses?email={VICTIM_EMAIL}",
                      headers=attacker.headers)
    assert answer.status_code == 200
    assert answer.json()["data"] == []
