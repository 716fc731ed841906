"""Operator API: creating tenants, moving them through their lifecycle, connecting Stripe
(DESIGN §5, management API table and tenant lifecycle)."""

from __future__ import annotations

import base64
import re
import secrets

import pytest

from .conftest import SECRETS_SEEN, unique_id

ADMIN = "/api/admin/tenants"


def new_tenant_body(**extra):
    return {"tenant_id": unique_id("t"), "name": "Acme Apps", **extra}


@pytest.fixture
def create(http, operator_headers):
    def create_tenant(**extra):
        answer = http.post(ADMIN, headers=operator_headers, json=new_tenant_body(**extra))
        if answer.status_code == 201:
            SECRETS_SEEN.update(value for name, value in answer.json().items()
                                if name in {"sdk_key", "checkout_api_key", "management_token"}
                                and value)
        return answer

    return create_tenant


@pytest.fixture
def created(create):
    answer = create()
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture
def move(http, operator_headers):
    def move_tenant(tenant_id, lifecycle):
        return http.patch(f"{ADMIN}/{tenant_id}", headers=operator_headers,
                          json={"lifecycle": lifecycle})

    return move_tenant


# The moves that bring a new tenant into each lifecycle state.
ROUTE_TO = {
    "pending_verification": [],
    "active": ["active"],
    "suspended": ["active", "suspended"],
    "closed": ["active", "suspended", "closed"],
}


@pytest.fixture
def tenant_in(make_tenant, move):
    def tenant_in_state(lifecycle):
        tenant = make_tenant(active=False)
        for step in ROUTE_TO[lifecycle]:
            answer = move(tenant.tenant_id, step)
            assert answer.status_code == 200, answer.text
        return tenant

    return tenant_in_state


def lifecycle_of(http, operator_headers, tenant_id):
    answer = http.get(f"{ADMIN}/{tenant_id}", headers=operator_headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["lifecycle"]


def stripe_account():
    return "acct_" + secrets.token_hex(8)


# -- creation ----------------------------------------------------------------------------------

def test_creating_a_tenant_answers_201_with_its_tenant_id(http, operator_headers):
    body = new_tenant_body()
    answer = http.post(ADMIN, headers=operator_headers, json=body)
    assert answer.status_code == 201, answer.text
    SECRETS_SEEN.update(value for name, value in answer.json().items()
                        if name in {"sdk_key", "checkout_api_key", "management_token"}
                        and value)
    assert answer.json()["tenant_id"] == body["tenant_id"]


def test_a_new_tenant_is_pending_verification(created):
    assert created["lifecycle"] == "pending_verification"


def test_a_new_tenant_gets_an_sdk_key_of_sdk_live_and_64_hex(created):
    assert re.fullmatch(r"sdk_live_[0-9a-f]{64}", created["sdk_key"])


def test_a_new_tenant_gets_a_checkout_api_key_and_a_management_token(created):
    assert isinstance(created["checkout_api_key"], str) and created["checkout_api_key"]
    assert isinstance(created["management_token"], str) and created["management_token"]
    assert created["checkout_api_key"] != created["management_token"]


def test_a_new_tenant_gets_a_keyset_with_primary_k1_and_an_ed25519_public_key(created):
    keyset = created["keyset"]
    assert keyset["primary_kid"] == "k1"
    [key] = keyset["keys"]
    assert key["kid"] == "k1" and key["alg"] == "ed25519"
    assert len(base64.b64decode(key["public_key"], validate=True)) == 32


def test_the_created_tenant_can_be_read_back_by_the_operator(http, operator_headers, created):
    shown = http.get(f"{ADMIN}/{created['tenant_id']}", headers=operator_headers)
    assert shown.status_code == 200
    assert shown.json()["tenant_id"] == created["tenant_id"]
    assert shown.json()["lifecycle"] == "pending_verification"


def test_the_tenant_secrets_are_not_shown_again_after_creation(http, operator_headers, created):
    shown = http.get(f"{ADMIN}/{created['tenant_id']}", headers=operator_headers).text
    for secret in ("sdk_key", "checkout_api_key", "management_token"):
        assert created[secret] not in shown


def test_sdk_key_false_creates_a_tenant_with_a_null_sdk_key(create):
    answer = create(sdk_key=False)
    assert answer.status_code == 201, answer.text
    assert answer.json()["sdk_key"] is None


def test_a_tenant_created_without_an_sdk_key_does_not_require_one(http, operator_headers,
                                                                  create):
    tenant_id = create(sdk_key=False).json()["tenant_id"]
    shown = http.get(f"{ADMIN}/{tenant_id}", headers=operator_headers)
    assert shown.json()["sdk_key_required"] is False


def test_a_duplicate_tenant_id_is_409(http, operator_headers, created):
    again = http.post(ADMIN, headers=operator_headers,
                      json={"tenant_id": created["tenant_id"], "name": "Someone Else"})
    assert again.status_code == 409
    assert again.json()["code"] == "TENANT_EXISTS"


def test_a_duplicate_tenant_id_leaves_the_first_tenant_as_it_was(http, operator_headers,
                                                                 created):
    http.post(ADMIN, headers=operator_headers,
              json={"tenant_id": created["tenant_id"], "name": "Someone Else"})
    shown = http.get(f"{ADMIN}/{created['tenant_id']}", headers=operator_headers).json()
    assert shown["name"] == "Acme Apps"
    still_works = http.get(f"/api/{created['tenant_id']}/licenses",
                           headers={"Authorization": f"Bearer {created['management_token']}"})
    assert still_works.status_code == 200


# -- lifecycle ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "target"), [
    ("pending_verification", "active"),
    ("active", "suspended"),
    ("suspended", "active"),
    ("suspended", "closed"),
])
def test_a_legal_lifecycle_move_is_200_and_takes_effect(http, operator_headers, tenant_in,
                                                        move, start, target):
    tenant = tenant_in(start)
    answer = move(tenant.tenant_id, target)
    assert answer.status_code == 200, answer.text
    assert answer.json()["lifecycle"] == target
    assert lifecycle_of(http, operator_headers, tenant.tenant_id) == target


@pytest.mark.parametrize(("start", "target"), [
    ("pending_verification", "suspended"),
    ("pending_verification", "closed"),
    ("active", "closed"),
    ("active", "pending_verification"),
    ("suspended", "pending_verification"),
    ("closed", "active"),
    ("closed", "suspended"),
])
def test_an_illegal_lifecycle_move_is_409(tenant_in, move, start, target):
    answer = move(tenant_in(start).tenant_id, target)
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "ILLEGAL_LIFECYCLE_MOVE"


def test_an_illegal_lifecycle_move_leaves_the_lifecycle_unchanged(http, operator_headers,
                                                                  tenant_in, move):
    tenant = tenant_in("closed")
    move(tenant.tenant_id, "active")
    assert lifecycle_of(http, operator_headers, tenant.tenant_id) == "closed"


@pytest.mark.parametrize("lifecycle", ["deleted", "ACTIVE", ""])
def test_an_unknown_lifecycle_value_is_400(http, operator_headers, tenant_in, move, lifecycle):
    tenant = tenant_in("pending_verification")
    answer = move(tenant.tenant_id, lifecycle)
    assert answer.status_code == 400, answer.text
    assert lifecycle_of(http, operator_headers, tenant.tenant_id) == "pending_verification"


def test_a_lifecycle_change_with_nothing_to_change_is_400(http, operator_headers, tenant):
    answer = http.patch(f"{ADMIN}/{tenant.tenant_id}", headers=operator_headers, json={})
    assert answer.status_code == 400


# -- Stripe ------------------------------------------------------------------------------------

def test_connecting_a_stripe_account_is_200_and_answers_the_account(http, operator_headers,
                                                                    tenant):
    account = stripe_account()
    answer = http.put(f"{ADMIN}/{tenant.tenant_id}/stripe", headers=operator_headers,
                      json={"stripe_account_id": account})
    assert answer.status_code == 200, answer.text
    assert answer.json()["stripe_account_id"] == account
    shown = http.get(f"{ADMIN}/{tenant.tenant_id}", headers=operator_headers).json()
    assert shown["stripe_account_id"] == account


def test_the_same_stripe_account_on_a_second_tenant_is_409(http, operator_headers,
                                                           make_tenant):
    first, second = make_tenant(), make_tenant()
    account = {"stripe_account_id": stripe_account()}
    http.put(f"{ADMIN}/{first.tenant_id}/stripe", headers=operator_headers,
             json=account).raise_for_status()
    taken = http.put(f"{ADMIN}/{second.tenant_id}/stripe", headers=operator_headers,
                     json=account)
    assert taken.status_code == 409
    assert taken.json()["code"] == "STRIPE_ACCOUNT_TAKEN"


def test_a_refused_stripe_account_leaves_the_second_tenant_unconnected(http, operator_headers,
                                                                       make_tenant):
    first, second = make_tenant(), make_tenant()
    account = {"stripe_account_id": stripe_account()}
    http.put(f"{ADMIN}/{first.tenant_id}/stripe", headers=operator_headers,
             json=account).raise_for_status()
    http.put(f"{ADMIN}/{second.tenant_id}/stripe", headers=operator_headers, json=account)
    shown = http.get(f"{ADMIN}/{second.tenant_id}", headers=operator_headers).json()
    assert shown["stripe_account_id"] is None


def test_connecting_the_same_account_to_the_same_tenant_again_is_200(http, operator_headers,
                                                                     tenant):
    account = {"stripe_account_id": stripe_account()}
    path = f"{ADMIN}/{tenant.tenant_id}/stripe"
    http.put(path, headers=operator_headers, json=account).raise_for_status()
    assert http.put(path, headers=operator_headers, json=account).status_code == 200


# -- unknown tenants and operator authentication ------------------------------------------------

@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("GET", "", None),
    ("PATCH", "", {"lifecycle": "active"}),
    ("PUT", "/stripe", {"stripe_account_id": "acct_unknown1"}),
])
def test_an_operator_route_on_an_unknown_tenant_is_404(http, operator_headers, method, suffix,
                                                       body):
    answer = http.request(method, f"{ADMIN}/{unique_id('nobody')}{suffix}",
                          headers=operator_headers, json=body)
    assert answer.status_code == 404, answer.text
    assert answer.json()["code"] == "TENANT_NOT_FOUND"


def operator_routes(tenant_id):
    return [
        ("POST", ADMIN, new_tenant_body()),
        ("GET", f"{ADMIN}/{tenant_id}", None),
        ("PATCH", f"{ADMIN}/{tenant_id}", {"lifecycle": "suspended"}),
        ("PUT", f"{ADMIN}/{tenant_id}/stripe", {"stripe_account_id": stripe_account()}),
    ]


OPERATOR_ROUTE_NAMES = ["create tenant", "get tenant", "change lifecycle", "connect stripe"]


def bad_operator_credentials(tenant):
    return {
        "missing": {},
        "wrong": {"Authorization": "Bearer kop_" + secrets.token_hex(32)},
        "tenant management token": tenant.headers,
    }


@pytest.mark.parametrize("credential", ["missing", "wrong", "tenant management token"])
@pytest.mark.parametrize("route", range(len(OPERATOR_ROUTE_NAMES)), ids=OPERATOR_ROUTE_NAMES)
def test_an_operator_route_refuses_a_non_operator_credential_with_401(
    http, operator_headers, tenant, credential, route
):
    method, path, body = operator_routes(tenant.tenant_id)[route]
    answer = http.request(method, path, headers=bad_operator_credentials(tenant)[credential],
                          json=body)
    assert answer.status_code == 401, answer.text
    assert set(answer.json()) == {"error", "code"}
    assert lifecycle_of(http, operator_headers, tenant.tenant_id) == "active"


def test_a_tenant_created_with_a_refused_credential_does_not_exist(http, operator_headers,
                                                                   tenant):
    body = new_tenant_body()
    http.post(ADMIN, headers=tenant.headers, json=body)
    shown = http.get(f"{ADMIN}/{body['tenant_id']}", headers=operator_headers)
    assert shown.status_code == 404
