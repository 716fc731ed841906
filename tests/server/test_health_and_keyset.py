"""Liveness, readiness and the public keyset (DESIGN §4 keyset row, §5 health routes)."""

from __future__ import annotations

import base64

from .conftest import unique_id


def test_healthz_is_200(http):
    answer = http.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_healthz_needs_no_credential(http):
    assert http.get("/healthz", headers={"Authorization": "Bearer nonsense"}).status_code == 200


def test_readyz_is_200_when_the_database_and_hosts_answer(http):
    answer = http.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ready"


def test_readyz_reports_each_check(http):
    assert http.get("/readyz").json()["checks"] == {"database": "ok", "hosts": "ok"}


def test_the_keyset_of_a_tenant_is_200_without_an_sdk_key(http, tenant):
    assert http.get(f"/{tenant.tenant_id}/.well-known/keylight-keys").status_code == 200


def test_the_keyset_publishes_the_primary_kid_and_its_ed25519_key(http, tenant):
    keyset = http.get(f"/{tenant.tenant_id}/.well-known/keylight-keys").json()
    assert keyset["primary_kid"] == "k1"
    [key] = keyset["keys"]
    assert key == {"kid": "k1", "alg": "ed25519", "public_key": key["public_key"]}
    assert len(base64.b64decode(key["public_key"], validate=True)) == 32


def test_the_keyset_matches_the_one_answered_at_tenant_creation(http, tenant):
    keyset = http.get(f"/{tenant.tenant_id}/.well-known/keylight-keys").json()
    assert keyset == tenant.credentials["keyset"]


def test_the_keyset_is_cacheable(http, tenant):
    answer = http.get(f"/{tenant.tenant_id}/.well-known/keylight-keys")
    assert "public" in answer.headers["Cache-Control"]
    assert "max-age=" in answer.headers["Cache-Control"]


def test_the_keyset_of_an_unknown_tenant_is_404(http):
    answer = http.get(f"/{unique_id('nobody')}/.well-known/keylight-keys")
    assert answer.status_code == 404
    assert set(answer.json()) == {"error", "code"}


def test_the_keyset_of_a_pending_tenant_is_published(http, make_tenant):
    tenant = make_tenant(active=False)
    assert http.get(f"/{tenant.tenant_id}/.well-known/keylight-keys").status_code == 200
