"""Tenant isolation: every credential kind of tenant A, on every route of tenant B, is
refused (401, 403 or 404) and never answers B's data."""

from __future__ import annotations

import pytest

from .sdk_calls import activate


@pytest.fixture
def two_tenants(http, make_tenant, make_catalog, mint):
    victim_catalog = make_catalog(make_tenant())
    minted = mint(victim_catalog, customer_email="victim@example.com")
    instance_id = activate(http, victim_catalog, minted["key"]).json()["instance_id"]
    attacker = make_tenant()
    return attacker, victim_catalog, minted, instance_id


def tenant_routes(victim, catalog, minted, instance_id):
    t, p, kt = victim.tenant_id, catalog.product_id, catalog.key_type_id
    lic = minted["license_id"]
    return [
        ("POST", f"/api/{t}/products", {"product_id": "x1", "display_name": "X",
                                        "key_prefix": "QQQ9"}),
        ("POST", f"/api/{t}/products/{p}/key-types", {"key_type_id": "x", "display_name": "X",
                                                      "activation_limit": 1}),
        ("PATCH", f"/api/{t}/products/{p}/key-types/{kt}", {"activation_limit": 9}),
        ("POST", f"/api/{t}/licenses", {"product_id": p, "key_type_id": kt}),
        ("GET", f"/api/{t}/licenses", None),
        ("GET", f"/api/{t}/licenses/{lic}", None),
        ("GET", f"/api/{t}/keyless", None),
        ("GET", f"/api/{t}/products", None),
        ("GET", f"/api/{t}/products/{p}", None),
        ("GET", f"/api/{t}/products/{p}/key-types", None),
        ("GET", f"/api/{t}/products/{p}/key-types/{kt}", None),
        ("GET", f"/api/{t}/licenses/export.csv", None),
        ("GET", f"/api/{t}/stats", None),
        ("POST", f"/api/{t}/licenses/{lic}/revoke", None),
        ("POST", f"/api/{t}/licenses/{lic}/remint", None),
        ("PATCH", f"/api/{t}/licenses/{lic}", {"activation_limit": 1}),
        ("POST", f"/api/{t}/licenses/{lic}/suspend", None),
        ("POST", f"/api/{t}/licenses/{lic}/reinstate", None),
        ("POST", f"/api/{t}/licenses/{lic}/instances/{instance_id}/deactivate", None),
        ("GET", f"/api/{t}/audit", None),
        ("POST", f"/api/{t}/sdk-key/rotate", None),
        ("DELETE", f"/api/{t}/sdk-key", None),
        ("POST", f"/api/{t}/checkout-key/rotate", None),
        ("POST", f"/api/{t}/management-token/rotate", None),
        ("POST", f"/api/{t}/signing-keys/rotate", None),
        ("DELETE", f"/api/{t}/signing-keys/k1", None),
        ("PUT", f"/api/{t}/stripe/manual", {"secret_key": "sk_test_x1",
                                           "webhook_secret": "whsec_x1"}),
        ("POST", f"/api/{t}/checkout", {"product_id": p, "key_type_id": kt,
                                        "success_url": "https://a.example/",
                                        "cancel_url": "https://a.example/"}),
        ("POST", f"/api/admin/tenants/{t}/stripe", None),
        ("PATCH", f"/api/admin/tenants/{t}", {"lifecycle": "suspended"}),
        ("GET", f"/api/admin/tenants/{t}", None),
        ("GET", "/api/admin/tenants", None),
    ]


def credentials_of(attacker):
    creds = attacker.credentials
    return {
        "management token": {"Authorization": f"Bearer {creds['management_token']}"},
        "checkout key": {"Authorization": f"Bearer {creds['checkout_api_key']}"},
        "sdk key": {"X-Keylight-SDK-Key": creds["sdk_key"]},
        "sdk key as bearer": {"Authorization": f"Bearer {creds['sdk_key']}"},
    }


def test_no_credential_of_another_tenant_opens_any_route(http, two_tenants):
    attacker, catalog, minted, instance_id = two_tenants
    victim = catalog.tenant
    secrets_of_victim = [minted["license_id"], "victim@example.com", minted["key_display"]]
    for method, path, body in tenant_routes(victim, catalog, minted, instance_id):
        for kind, headers in credentials_of(attacker).items():
            answer = http.request(method, path, headers=headers, json=body)
            assert answer.status_code in (401, 403, 404, 405), (method, path, kind,
                                                                answer.status_code)
            for secret in secrets_of_victim:
                assert secret not in answer.text, (method, path, kind)
    after = http.get(f"/api/{victim.tenant_id}/licenses/{minted['license_id']}",
                     headers=victim.headers).json()
    assert after["status"] == "active" and len(after["instances"]) == 1


def test_a_license_of_another_tenant_is_not_found_through_ones_own_path(http, two_tenants):
    attacker, _, minted, _ = two_tenants
    for method, suffix, body in (("GET", "", None), ("POST", "/revoke", None),
                                 ("POST", "/remint", None),
                                 ("PATCH", "", {"activation_limit": 1}),
                                 ("POST", "/suspend", None), ("POST", "/reinstate", None)):
        answer = http.request(method,
                              f"/api/{attacker.tenant_id}/licenses/{minted['license_id']}"
                              f"{suffix}", headers=attacker.headers, json=body)
        assert answer.status_code == 404


def test_another_tenants_sdk_key_opens_no_sdk_route(http, two_tenants):
    attacker, catalog, minted, instance_id = two_tenants
    headers = {"X-Keylight-SDK-Key": attacker.credentials["sdk_key"]}
    base = f"/{catalog.tenant.tenant_id}/{catalog.product_id}"
    for action, body in (("activate", {"license_key": minted["key"], "instance_name": "x"}),
                         ("validate", {"license_key": minted["key"],
                                       "instance_id": instance_id}),
                         ("deactivate", {"instance_id": instance_id}),
                         ("keyless", {"instance_id": "i", "state": "trial",
                                      "machine_hash": "a" * 64})):
        assert http.post(f"{base}/{action}", headers=headers, json=body).status_code == 401
    assert http.get(f"{base}/config", headers=headers).status_code == 401


def test_no_route_shares_the_shape_of_an_sdk_route():
    """The SDK router is matched first; a route of the same shape and method would be
    shadowed (GET /api/{tenant}/keyless is not: the SDK's keyless is a POST)."""
    from keylight_actors.api.app import create_app

    sdk_methods = {"activate": "post", "validate": "post", "deactivate": "post",
                   "keyless": "post", "config": "get"}
    paths = create_app(None).openapi()["paths"]  # type: ignore[arg-type]
    shadowed = [(path, method) for path, methods in paths.items()
                if len(path.strip("/").split("/")) == 3
                and not path.startswith("/{tenant_id}/{product_id}/")
                for method in methods
                if sdk_methods.get(path.rsplit("/", 1)[1]) == method]
    assert shadowed == []
