"""Bodies outside the contract are 400 with {"error", "code"} and change nothing
(DESIGN §4 error body, §5 "every body and answer is JSON")."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import pytest

from .conftest import unique_id, unique_key_prefix

# -- the management routes that take a body, each with a body it accepts ------------------------


@dataclass
class World:
    """An active tenant with a product, a key type and one license."""

    catalog: Any
    operator_headers: dict[str, str]

    @property
    def tenant(self):
        return self.catalog.tenant


@pytest.fixture
def world(catalog, mint, operator_headers) -> World:
    mint(catalog)
    return World(catalog, operator_headers)


def route(world: World, name: str) -> tuple[str, str, dict[str, str]]:
    t, p, kt = world.tenant.tenant_id, world.catalog.product_id, world.catalog.key_type_id
    op, mgmt = world.operator_headers, world.tenant.headers
    return {
        "create tenant": ("POST", "/api/admin/tenants", op),
        "change lifecycle": ("PATCH", f"/api/admin/tenants/{t}", op),
        "connect stripe": ("PUT", f"/api/admin/tenants/{t}/stripe", op),
        "create product": ("POST", f"/api/{t}/products", mgmt),
        "create key type": ("POST", f"/api/{t}/products/{p}/key-types", mgmt),
        "change key type": ("PATCH", f"/api/{t}/products/{p}/key-types/{kt}", mgmt),
        "mint": ("POST", f"/api/{t}/licenses", mgmt),
    }[name]


def valid_body(world: World, name: str) -> dict[str, Any]:
    return {
        "create tenant": {"tenant_id": unique_id("t"), "name": "Acme Apps"},
        "change lifecycle": {"lifecycle": "suspended"},
        "connect stripe": {"stripe_account_id": "acct_" + secrets.token_hex(8)},
        "create product": {"product_id": unique_id("app"), "display_name": "Editor",
                           "key_prefix": unique_key_prefix()},
        "create key type": {"key_type_id": unique_id("kt"), "display_name": "Team",
                            "activation_limit": 2},
        "change key type": {"activation_limit": 9},
        "mint": {"product_id": world.catalog.product_id,
                 "key_type_id": world.catalog.key_type_id},
    }[name]


ROUTES = ["create tenant", "change lifecycle", "connect stripe", "create product",
          "create key type", "change key type", "mint"]


def state(http, world: World) -> dict[str, Any]:
    """Everything a refused request might have changed: the tenant as the operator sees it,
    its licenses, its audit log, and the terms its next license would be minted with."""
    tenant = world.tenant
    return {
        "tenant": http.get(f"/api/admin/tenants/{tenant.tenant_id}",
                           headers=world.operator_headers).json(),
        "licenses": http.get(f"/api/{tenant.tenant_id}/licenses?limit=200",
                             headers=tenant.headers).json(),
        "audit": http.get(f"/api/{tenant.tenant_id}/audit?limit=200",
                          headers=tenant.headers).json(),
    }


def send(http, world: World, name: str, **kwargs):
    method, path, headers = route(world, name)
    return http.request(method, path, headers=headers, **kwargs)


def send_raw(http, world: World, name: str, payload: bytes):
    method, path, headers = route(world, name)
    return http.request(method, path, content=payload,
                        headers={**headers, "content-type": "application/json"})


def assert_refused_with_400(answer) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert set(body) == {"error", "code"}
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["code"], str) and body["code"]


def assert_nothing_created(http, world: World, before: dict[str, Any], body: Any) -> None:
    assert state(http, world) == before
    if isinstance(body, dict) and isinstance(body.get("tenant_id"), str):
        shown = http.get(f"/api/admin/tenants/{body['tenant_id']}",
                         headers=world.operator_headers)
        assert shown.status_code == 404, body


def refuse_and_check(http, world: World, name: str, body: Any) -> None:
    before = state(http, world)
    assert_refused_with_400(send(http, world, name, json=body))
    assert_nothing_created(http, world, before, body)


@pytest.mark.parametrize("name", ROUTES)
def test_the_valid_body_of_each_route_is_accepted(http, world, name):
    """The control for every case below: only the one flaw makes them fail."""
    answer = send(http, world, name, json=valid_body(world, name))
    assert answer.status_code in (200, 201), answer.text


# -- malformed JSON ------------------------------------------------------------------------------

MALFORMED = {
    "truncated": b'{"name": ',
    "single quotes": b"{'name': 'x'}",
    "trailing comma": b'{"name": "x",}',
    "bare word": b"hello",
    "two documents": b'{"a": 1}{"b": 2}',
    "invalid utf-8": b'{"name": "\xff\xfe"}',
}


# Body parsing is the same on every route: each way of breaking it is tried on one operator
# route and one tenant route; one way is tried on every route.
TWO_ROUTES = ["create tenant", "mint"]


@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("name", TWO_ROUTES)
def test_malformed_json_is_400_invalid_json(http, world, name, payload):
    answer = send_raw(http, world, name, payload)
    assert_refused_with_400(answer)
    assert answer.json()["code"] == "INVALID_JSON"


@pytest.mark.parametrize("name", ROUTES)
def test_malformed_json_on_any_route_is_400_invalid_json_and_changes_nothing(http, world,
                                                                             name):
    before = state(http, world)
    answer = send_raw(http, world, name, b'{"tenant_id": "x", "name": ')
    assert_refused_with_400(answer)
    assert answer.json()["code"] == "INVALID_JSON"
    assert_nothing_created(http, world, before, None)


# -- bodies that are not one JSON object ----------------------------------------------------------

@pytest.mark.parametrize("body", [[], ["tenant_id", "name"], "text", 42, None],
                         ids=["empty array", "array", "string", "number", "null"])
@pytest.mark.parametrize("name", TWO_ROUTES)
def test_a_body_that_is_not_a_json_object_is_400_and_changes_nothing(http, world, name, body):
    before = state(http, world)
    answer = send_raw(http, world, name, json.dumps(body).encode())
    assert_refused_with_400(answer)
    assert_nothing_created(http, world, before, None)


@pytest.mark.parametrize("name", ROUTES)
def test_an_array_holding_the_valid_body_is_400_and_changes_nothing(http, world, name):
    refuse_and_check(http, world, name, [valid_body(world, name)])


@pytest.mark.parametrize("name", TWO_ROUTES)
def test_a_body_nested_too_deep_to_decode_is_400_and_changes_nothing(http, world, name):
    before = state(http, world)
    assert_refused_with_400(send_raw(http, world, name, b"[" * 30_000 + b"]" * 30_000))
    assert_nothing_created(http, world, before, None)


@pytest.mark.parametrize("name", TWO_ROUTES)
def test_an_empty_body_is_400_and_changes_nothing(http, world, name):
    before = state(http, world)
    assert_refused_with_400(send_raw(http, world, name, b""))
    assert_nothing_created(http, world, before, None)


# -- wrong types ---------------------------------------------------------------------------------

WRONG_TYPES = [
    ("create tenant", "name", 5),
    ("create tenant", "tenant_id", 5),
    ("create tenant", "sdk_key", "no"),
    ("create tenant", "name", ["Acme"]),
    ("change lifecycle", "lifecycle", 5),
    ("connect stripe", "stripe_account_id", 5),
    ("create product", "display_name", 5),
    ("create product", "key_prefix", 1234),
    ("create product", "trial_duration_days", "14"),
    ("create product", "free_tier_enabled", "true"),
    ("create key type", "activation_limit", "3"),
    ("create key type", "activation_limit", 3.5),
    ("create key type", "activation_limit", True),
    ("create key type", "display_name", 5),
    ("create key type", "entitlements", "pro"),
    ("create key type", "fallback_access", 1),
    ("change key type", "activation_limit", "3"),
    ("change key type", "display_name", 5),
    ("mint", "product_id", 5),
    ("mint", "key_type_id", ["pro"]),
    ("mint", "customer_email", 5),
]


@pytest.mark.parametrize(("name", "field", "value"), WRONG_TYPES,
                         ids=[f"{n}.{f}={v!r}" for n, f, v in WRONG_TYPES])
def test_a_field_of_the_wrong_type_is_400_and_changes_nothing(http, world, name, field, value):
    refuse_and_check(http, world, name, {**valid_body(world, name), field: value})


# -- missing required fields ---------------------------------------------------------------------

MISSING = [
    ("create tenant", "name"),
    ("create tenant", "tenant_id"),
    ("connect stripe", "stripe_account_id"),
    ("create product", "product_id"),
    ("create product", "display_name"),
    ("create product", "key_prefix"),
    ("create key type", "key_type_id"),
    ("create key type", "display_name"),
    ("create key type", "activation_limit"),
    ("mint", "product_id"),
    ("mint", "key_type_id"),
]


@pytest.mark.parametrize(("name", "field"), MISSING, ids=[f"{n} without {f}" for n, f in MISSING])
def test_a_missing_required_field_is_400_and_changes_nothing(http, world, name, field):
    body = valid_body(world, name)
    del body[field]
    refuse_and_check(http, world, name, body)


@pytest.mark.parametrize("name", ROUTES)
def test_an_empty_object_is_400_and_changes_nothing(http, world, name):
    refuse_and_check(http, world, name, {})


# -- over-long and out-of-range values ------------------------------------------------------------

TOO_LONG = [
    ("create tenant", "name", "n" * 201),
    ("create tenant", "tenant_id", "t" * 65),
    ("create product", "display_name", "d" * 201),
    ("create product", "product_id", "p" * 65),
    ("create key type", "key_type_id", "k" * 65),
    ("create key type", "display_name", "d" * 201),
    ("create key type", "entitlements", ["e" * 65]),
    ("create key type", "entitlements", [f"e{i}" for i in range(65)]),
    ("change key type", "display_name", "d" * 201),
    ("change lifecycle", "lifecycle", "a" * 33),
    ("mint", "customer_email", "a" * 64 + "@" + "b" * 186 + ".com"),
    ("connect stripe", "stripe_account_id", "acct_" + "a" * 65),
]


@pytest.mark.parametrize(("name", "field", "value"), TOO_LONG,
                         ids=[f"{n}.{f}" + f"[{len(v)}]" for n, f, v in TOO_LONG])
def test_an_over_long_field_is_400_and_changes_nothing(http, world, name, field, value):
    refuse_and_check(http, world, name, {**valid_body(world, name), field: value})


def test_a_name_of_exactly_200_characters_is_accepted(http, world):
    body = {**valid_body(world, "create tenant"), "name": "n" * 200}
    assert send(http, world, "create tenant", json=body).status_code == 201


def test_a_tenant_id_of_exactly_64_characters_is_accepted(http, world):
    body = {**valid_body(world, "create tenant"), "tenant_id": secrets.token_hex(32)}
    assert send(http, world, "create tenant", json=body).status_code == 201


OUT_OF_RANGE = [
    ("create tenant", "tenant_id", "bad id!"),
    ("create tenant", "tenant_id", "-leading-dash"),
    ("create tenant", "name", ""),
    ("create key type", "activation_limit", 0),
    ("create key type", "activation_limit", -1),
    ("create key type", "activation_limit", 10**20),
    ("create key type", "duration_days", 0),
    ("create key type", "entitlements", ["pro", "pro"]),
    ("change key type", "activation_limit", 0),
    ("mint", "customer_email", "not an email"),
    ("connect stripe", "stripe_account_id", "acc_123"),
]


@pytest.mark.parametrize(("name", "field", "value"), OUT_OF_RANGE,
                         ids=[f"{n}.{f}={v!r}"[:60] for n, f, v in OUT_OF_RANGE])
def test_a_value_outside_its_range_or_pattern_is_400_and_changes_nothing(http, world, name,
                                                                         field, value):
    refuse_and_check(http, world, name, {**valid_body(world, name), field: value})


# -- unknown fields ------------------------------------------------------------------------------

UNKNOWN = [
    ("create tenant", "is_admin", True),
    ("create tenant", "lifecycle", "active"),
    ("change lifecycle", "name", "Renamed"),
    ("connect stripe", "stripe_secret", "sk_test_x"),
    ("create product", "tenant_id", "someone-else"),
    ("create key type", "product_id", "another"),
    ("change key type", "key_type_id", "renamed"),
    ("change key type", "stripe_price_id", "price_free"),
    ("mint", "key", "FAKE-0000-0000-0000-0000"),
    ("mint", "activation_limit", 1000),
]


@pytest.mark.parametrize(("name", "field", "value"), UNKNOWN,
                         ids=[f"{n}+{f}" for n, f, _ in UNKNOWN])
def test_an_unknown_field_is_400_and_changes_nothing(http, world, name, field, value):
    refuse_and_check(http, world, name, {**valid_body(world, name), field: value})


# -- every error body ----------------------------------------------------------------------------

def error_answers(http, world: World):
    t = world.tenant.tenant_id
    mgmt, op = world.tenant.headers, world.operator_headers
    yield "400 bad JSON", send_raw(http, world, "mint", b"{")
    yield "401 no token", http.get(f"/api/{t}/licenses")
    yield "401 wrong token", http.get(f"/api/{t}/licenses",
                                      headers={"Authorization": "Bearer nope"})
    yield "404 unknown route", http.get("/api/nowhere/at/all/really")
    yield "404 unknown tenant", http.get(f"/api/{unique_id('nobody')}/licenses", headers=op)
    yield "404 unknown license", http.get(
        f"/api/{t}/licenses/00000000-0000-4000-8000-000000000000", headers=mgmt)
    yield "405 wrong method", http.delete("/api/admin/tenants", headers=op)
    yield "409 duplicate tenant", http.post("/api/admin/tenants", headers=op,
                                            json={"tenant_id": t, "name": "Again"})
    yield "413 body too large", http.post(f"/api/{t}/licenses", headers=mgmt,
                                          content=b"{" + b" " * 70_000 + b"}")


def test_every_error_body_has_exactly_error_and_code(http, world):
    for what, answer in error_answers(http, world):
        assert answer.status_code == int(what[:3]), (what, answer.text)
        assert set(answer.json()) == {"error", "code"}, what
        assert isinstance(answer.json()["error"], str) and answer.json()["error"], what
