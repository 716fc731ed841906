"""What the official SDKs decode, checked field by field against live answers of this server.

The expectations below are data taken from the SDKs' own sources (docs/sdk-compatibility.md
has the prose and the compatibility table). Each ``Field`` names the SDK file and line that
reads it. Versions read:

- rust:   keylight-rust v0.3.3 (+1 fmt commit, a5ccc52), ``keylight/src/...``
- js:     keylight-js 0.1.6+ (src/client.ts at 958fa26, src/productConfig.ts)
- cpp:    keylight-cpp v0.1.2 (2c36e22), ``include/keylight/...``
- csharp: keylight-csharp 0.3.0 (src/Keylight/Wire.cs at 1a2dcab)

Types are strict: an ``int`` field is a JSON integer (never a string, never a bool), a
``bool`` is a JSON boolean, and nullability is as declared. The SDKs do not all fail loudly on
a wrong type (the C++ ``Json::as_int`` and the C# ``JsonValue.AsLong`` answer 0/null for a
string, JS ``Number("2027-…")`` is NaN), which is exactly why the server must get it right.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from keylight_sdk.lease import Lease, verify_lease

from keylight_actors.domain.license_key import hash_license_key
from keylight_actors.domain.product_config import verify_product_config

from .sdk_calls import activate, deactivate, machine_hash, sdk_headers, sdk_path, validate

# --------------------------------------------------------------------------------------------
# The contract as data
# --------------------------------------------------------------------------------------------

INT, STR, BOOL, OBJECT, LIST, STR_LIST = "int", "str", "bool", "object", "list", "list[str]"

KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
    STR: lambda v: isinstance(v, str),
    BOOL: lambda v: isinstance(v, bool),
    OBJECT: lambda v: isinstance(v, dict),
    LIST: lambda v: isinstance(v, list),
    STR_LIST: lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
}


@dataclass(frozen=True)
class Field:
    """One response field as an SDK decodes it."""

    name: str
    kind: str
    nullable: bool = False
    required: bool = True
    source: str = ""
    inner: tuple[Field, ...] = ()  # the fields of a nested object (the lease)


def problems(body: Mapping[str, Any], fields: tuple[Field, ...], where: str = "") -> list[str]:
    """Every way ``body`` breaks ``fields``; empty when it decodes as the SDK expects."""
    found: list[str] = []
    for field in fields:
        path = f"{where}{field.name}"
        if field.name not in body:
            if field.required:
                found.append(f"{path}: missing [{field.source}]")
            continue
        value = body[field.name]
        if value is None:
            if not field.nullable:
                found.append(f"{path}: null but not nullable [{field.source}]")
            continue
        if not KIND_CHECKS[field.kind](value):
            found.append(f"{path}: {value!r} is not {field.kind} [{field.source}]")
            continue
        if field.inner:
            found.extend(problems(value, field.inner, f"{path}."))
    return found


RUST, JS, CPP, CSHARP = "rust", "js", "cpp", "csharp"
SDKS = (RUST, JS, CPP, CSHARP)
R = "keylight-rust keylight/src/"
J = "keylight-js src/"
C = "keylight-cpp include/keylight/"
N = "keylight-csharp src/Keylight/Wire.cs"

LEASE: dict[str, tuple[Field, ...]] = {
    # serde: every Lease field is a non-Option String/i64/Vec, so each is required non-null.
    RUST: (Field("kid", STR, source=R + "lease.rs:8"),
           Field("licenseKeyHash", STR, source=R + "lease.rs:9-10"),
           Field("instanceId", STR, source=R + "lease.rs:11-12"),
           Field("issuedAt", INT, source=R + "lease.rs:13-14"),
           Field("expiresAt", INT, source=R + "lease.rs:15-16"),
           Field("status", STR, source=R + "lease.rs:17"),
           Field("signature", STR, source=R + "lease.rs:18"),
           Field("entitlements", STR_LIST, source=R + "lease.rs:19")),
    # JS verifies the lease (verifyLease) with the same eight fields as the v3 payload.
    JS: (Field("kid", STR, source=J + "lease.ts Lease"),
         Field("licenseKeyHash", STR, source=J + "lease.ts Lease"),
         Field("instanceId", STR, source=J + "lease.ts Lease"),
         Field("issuedAt", INT, source=J + "lease.ts Lease"),
         Field("expiresAt", INT, source=J + "lease.ts Lease"),
         Field("status", STR, source=J + "lease.ts Lease"),
         Field("signature", STR, source=J + "lease.ts Lease"),
         Field("entitlements", STR_LIST, source=J + "lease.ts Lease")),
    # as_string()/as_int() answer ""/0 for a wrong type; kid and status must be non-empty.
    CPP: (Field("kid", STR, source=C + "lease.hpp:28,41"),
          Field("licenseKeyHash", STR, source=C + "lease.hpp:29"),
          Field("instanceId", STR, source=C + "lease.hpp:30"),
          Field("issuedAt", INT, source=C + "lease.hpp:31"),
          Field("expiresAt", INT, source=C + "lease.hpp:32"),
          Field("status", STR, source=C + "lease.hpp:33,41"),
          Field("signature", STR, source=C + "lease.hpp:34"),
          Field("entitlements", STR_LIST, source=C + "lease.hpp:36-40")),
    CSHARP: (Field("kid", STR, source=N + " WireHelpers.ParseLease"),
             Field("licenseKeyHash", STR, source=N + " WireHelpers.ParseLease"),
             Field("instanceId", STR, source=N + " WireHelpers.ParseLease"),
             Field("issuedAt", INT, source=N + " WireHelpers.ParseLease (AsLong)"),
             Field("expiresAt", INT, source=N + " WireHelpers.ParseLease (AsLong)"),
             Field("status", STR, source=N + " WireHelpers.ParseLease"),
             Field("signature", STR, source=N + " WireHelpers.ParseLease"),
             Field("entitlements", STR_LIST, source=N + " WireHelpers.ParseLease")),
}

# license_expires_at: every SDK decodes it as an integer (i64 / number / int64_t / long?) or
# null. It is required here because absence reads as "never expires" in every SDK.
ACTIVATE_200: dict[str, tuple[Field, ...]] = {
    RUST: (Field("activated", BOOL, source=R + "client.rs:32"),
           Field("instance_id", STR, nullable=True, source=R + "client.rs:33"),
           Field("license_expires_at", INT, nullable=True, source=R + "client.rs:34"),
           Field("lease", OBJECT, nullable=True, source=R + "client.rs:35", inner=LEASE[RUST]),
           Field("error", STR, nullable=True, required=False, source=R + "client.rs:36")),
    JS: (Field("activated", BOOL, source=J + "client.ts:24"),
         Field("instance_id", STR, nullable=True, source=J + "client.ts:25"),
         Field("license_expires_at", INT, nullable=True, source=J + "client.ts:26"),
         Field("lease", OBJECT, nullable=True, source=J + "client.ts:27", inner=LEASE[JS]),
         Field("error", STR, nullable=True, required=False, source=J + "client.ts:28")),
    CPP: (Field("activated", BOOL, source=C + "client.hpp:181"),
          Field("lease", OBJECT, source=C + "client.hpp:189-196", inner=LEASE[CPP]),
          Field("license_expires_at", INT, nullable=True, source=C + "client.hpp:199-203"),
          Field("instance_id", STR, source=C + "client.hpp:206-210")),
    CSHARP: (Field("activated", BOOL, source=N + " ActivateResponse.Parse (AsBool)"),
             Field("instance_id", STR, nullable=True, source=N + " ActivateResponse.Parse"),
             Field("license_expires_at", INT, nullable=True,
                   source=N + " ActivateResponse.Parse (AsLong)"),
             Field("lease", OBJECT, nullable=True, source=N + " ActivateResponse.Parse",
                   inner=LEASE[CSHARP])),
}

# The signed product config as JS reads it off any body (readConfigFields) and C# reads the two
# settings (WireHelpers.ReadConfigFields); a wrong type is silently dropped by both.
CONFIG_FIELDS: dict[str, tuple[Field, ...]] = {
    JS: (Field("trial_duration_days", INT, source=J + "productConfig.ts:42"),
         Field("free_tier_enabled", BOOL, source=J + "productConfig.ts:43"),
         Field("issued_at", INT, source=J + "productConfig.ts:47"),
         Field("expires_at", INT, source=J + "productConfig.ts:48"),
         Field("kid", STR, source=J + "productConfig.ts:49"),
         Field("signature", STR, source=J + "productConfig.ts:50")),
    CSHARP: (Field("trial_duration_days", INT, source=N + " WireHelpers.ReadConfigFields"),
             Field("free_tier_enabled", BOOL, source=N + " WireHelpers.ReadConfigFields")),
}
SIGNED_CONFIG_KEYS = ("trial_duration_days", "free_tier_enabled", "issued_at", "expires_at",
                      "kid", "signature")

VALIDATE_200: dict[str, tuple[Field, ...]] = {
    RUST: (Field("valid", BOOL, source=R + "client.rs:44-45"),
           Field("license_expires_at", INT, nullable=True, source=R + "client.rs:46"),
           Field("lease", OBJECT, nullable=True, source=R + "client.rs:47", inner=LEASE[RUST]),
           Field("error", STR, nullable=True, required=False, source=R + "client.rs:48")),
    JS: (Field("valid", BOOL, source=J + "client.ts:32"),
         Field("license_expires_at", INT, nullable=True, source=J + "client.ts:32"),
         Field("lease", OBJECT, nullable=True, source=J + "client.ts:32", inner=LEASE[JS]),
         *CONFIG_FIELDS[JS]),
    CPP: (Field("lease", OBJECT, source=C + "client.hpp:261-268", inner=LEASE[CPP]),
          Field("license_expires_at", INT, nullable=True, source=C + "client.hpp:271-275")),
    CSHARP: (Field("valid", BOOL, source=N + " ValidateResponse.Parse (AsBool)"),
             Field("license_expires_at", INT, nullable=True,
                   source=N + " ValidateResponse.Parse (AsLong)"),
             Field("lease", OBJECT, nullable=True, source=N + " ValidateResponse.Parse",
                   inner=LEASE[CSHARP]),
             *CONFIG_FIELDS[CSHARP]),
}

# 422 with a signed expired/fallback lease: Rust and JS opt 422 in as a decodable body
# (client.rs:319, client.ts validate `[422]`) and persist the lease; C++ ignores every
# non-200 validate (client.hpp:250-252); C# reads the same ValidateResponse.
VALIDATE_422_EXPIRED: dict[str, tuple[Field, ...]] = {
    RUST: (Field("valid", BOOL, source=R + "client.rs:44-45"),
           Field("license_expires_at", INT, nullable=True, source=R + "client.rs:46"),
           Field("lease", OBJECT, source=R + "client.rs:47,347-348", inner=LEASE[RUST]),
           Field("error", STR, nullable=True, source=R + "client.rs:48")),
    JS: (Field("valid", BOOL, source=J + "client.ts:32"),
         Field("license_expires_at", INT, nullable=True, source=J + "client.ts:32"),
         Field("lease", OBJECT, source=J + "client.ts:32", inner=LEASE[JS]),
         Field("error", STR, nullable=True, source=J + "client.ts:32"),
         *CONFIG_FIELDS[JS]),
    CPP: (),
    CSHARP: VALIDATE_200[CSHARP] + (Field("error", STR, nullable=True,
                                          source=N + " ValidateResponse.Parse"),),
}

# Revoked / instance not active: `{"error": ...}` and nothing else. Rust's `valid` is
# #[serde(default)] (client.rs:40-45) so a missing `valid` reads as a definitive false; a
# missing lease makes Rust and JS drop the cached one (client.rs:349).
VALIDATE_422_REJECTED: dict[str, tuple[Field, ...]] = {
    RUST: (Field("valid", BOOL, required=False, source=R + "client.rs:44-45"),
           Field("error", STR, source=R + "client.rs:48")),
    JS: (Field("valid", BOOL, required=False, source=J + "client.ts:32"),
         Field("error", STR, source=J + "client.ts:32")),
    CPP: (),
    CSHARP: (Field("valid", BOOL, required=False, source=N + " ValidateResponse.Parse"),
             Field("error", STR, source=N + " ValidateResponse.Parse")),
}

# Any other error: the SDKs read only `error` (Rust ErrorResp client.rs:51-53 at :170-173;
# JS post() `{ error?: string }`).
ERROR_BODY: dict[str, tuple[Field, ...]] = {
    RUST: (Field("error", STR, source=R + "client.rs:51-53,170-173"),),
    JS: (Field("error", STR, source=J + "client.ts post()"),),
    CPP: (),
    CSHARP: (Field("error", STR, source=N + " (error text)"),),
}

KEYSET_200: dict[str, tuple[Field, ...]] = {
    RUST: (Field("primary_kid", STR, source=R + "keyset.rs:10"),
           Field("keys", LIST, source=R + "keyset.rs:11")),
    CPP: (Field("keys", LIST, source=C + "keyset.hpp:57-61"),),
}
KEYSET_ENTRY: dict[str, tuple[Field, ...]] = {
    RUST: (Field("kid", STR, source=R + "keyset.rs:15"),
           Field("public_key", STR, source=R + "keyset.rs:16")),
    CPP: (Field("kid", STR, source=C + "keyset.hpp:66"),
          Field("public_key", STR, source=C + "keyset.hpp:67")),
}

# Statuses Rust and JS retry (retry.rs:27-29, retry.ts decide): 408, 429 and every 5xx. Every
# other non-200 (and validate's 422) is a definitive answer. C++ 0.1.2 retries nothing.
RETRYABLE = frozenset({408, 429, *range(500, 600)})


def assert_decodes(body: Mapping[str, Any], fields: tuple[Field, ...]) -> None:
    found = problems(body, fields)
    assert not found, "\n".join(found)


def assert_definitive_error(answer, status: int, sdk: str) -> None:
    assert answer.status_code == status, answer.text
    assert status not in RETRYABLE
    assert_decodes(answer.json(), ERROR_BODY[sdk])


# --------------------------------------------------------------------------------------------
# What each SDK sends (request side)
# --------------------------------------------------------------------------------------------

TELEMETRY: dict[str, dict[str, Any]] = {
    RUST: {"sdk_version": "0.3.3", "platform": "linux", "app_version": "1.0.0"},  # telemetry.rs:22
    # js telemetry.ts + client.ts addSeedTrialTelemetry (a number, diagnostic only)
    JS: {"sdk_version": "0.1.6", "platform": "linux", "sdk": "js", "sdk_trial_duration_days": 14},
    CPP: {"sdk_version": "0.1.2", "platform": "linux", "app_version": "1.0.0"},  # client.hpp:627
    # C# writes every optional member, null included (Wire.cs ActivateRequest.ToJson)
    CSHARP: {"sdk_version": "0.3.0", "platform": "linux", "app_version": None, "sdk": "csharp",
             "sdk_trial_duration_days": None},
}


def activate_body(sdk: str, key: str) -> dict[str, Any]:
    body: dict[str, Any] = {"license_key": key, "instance_name": "device", **TELEMETRY[sdk]}
    if sdk in (RUST, JS):  # client.rs:244-246, client.ts activate (when a hardware id exists)
        body["machine_hash"] = machine_hash()
    if sdk == CSHARP:  # Wire.cs ActivateRequest.ToJson writes it even when null
        body["free_tier_instance_id"] = None
    return body


def validate_body(sdk: str, key: str, instance_id: str) -> dict[str, Any]:
    body = {"license_key": key, "instance_id": instance_id, **TELEMETRY[sdk]}
    if sdk == CSHARP:
        body.pop("app_version")
    return body


def deactivate_body(sdk: str, key: str, instance_id: str) -> dict[str, Any]:
    if sdk == CPP:  # client.hpp:302-304: instance_id only, no telemetry
        return {"instance_id": instance_id}
    body = {"license_key": key, "instance_id": instance_id}
    if sdk == RUST:  # client.rs:380-383 adds telemetry; JS and C# send none
        body.update(TELEMETRY[RUST])
    return body


def headers_for(sdk: str, catalog) -> dict[str, str]:
    """X-Keylight-Request-Id (8 hex) and the SDK key, as each SDK sets them."""
    if sdk == CPP:  # client.hpp:600-604: Content-Type only; Config::sdkKey is never sent
        return {}
    return {"X-Keylight-Request-Id": uuid.uuid4().hex[:8], **sdk_headers(catalog)}


@pytest.fixture
def keyless_catalog(make_tenant, make_catalog):
    """A tenant created with ``"sdk_key": false``, the setting C++ 0.1.x needs."""
    return make_catalog(make_tenant(sdk_key=False))


def catalog_for(sdk: str, catalog, keyless_catalog):
    return keyless_catalog if sdk == CPP else catalog


def post(http, catalog, action: str, sdk: str, body: dict[str, Any]):
    return http.post(sdk_path(catalog, action), json=body, headers=headers_for(sdk, catalog))


def expire(database_url: str, key: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE licenses SET expires_at = now() - interval '1 day', "
                     "version = version + 1 WHERE key_hash = %s", (hash_license_key(key),))


def stored_instance(database_url: str, key: str) -> str:
    """An instance written straight to Postgres, as if activated before the license expired."""
    instance_id = str(uuid.uuid4())
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO license_instances (instance_id, license_id, tenant_id, "
                     "name, activated_at) SELECT %s, license_id, tenant_id, 'old', now() "
                     "FROM licenses WHERE key_hash = %s", (instance_id, hash_license_key(key)))
    return instance_id


def trusted_keys(http, tenant_id: str) -> dict[str, bytes]:
    keyset = http.get(f"/{tenant_id}/.well-known/keylight-keys").json()
    return {item["kid"]: base64.b64decode(item["public_key"]) for item in keyset["keys"]}


def dated_catalog(make_catalog, tenant):
    """A catalog whose licenses expire (365 days), so license_expires_at is not null."""
    return make_catalog(tenant, duration_days=365)


# --------------------------------------------------------------------------------------------
# activate
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sdk", SDKS)
def test_activate_200_decodes_field_by_field(http, tenant, make_catalog, make_tenant, mint,
                                             sdk):
    owner = make_tenant(sdk_key=False) if sdk == CPP else tenant
    catalog = dated_catalog(make_catalog, owner)
    key = mint(catalog)["key"]
    answer = post(http, catalog, "activate", sdk, activate_body(sdk, key))
    assert answer.status_code == 200, answer.text
    assert_decodes(answer.json(), ACTIVATE_200[sdk])
    assert answer.json()["activated"] is True


def test_activate_license_expires_at_is_the_licenses_expiry_in_unix_seconds(
        http, tenant, make_catalog, mint):
    catalog = dated_catalog(make_catalog, tenant)
    before = int(time.time())
    key = mint(catalog)["key"]
    expires_at = activate(http, catalog, key).json()["license_expires_at"]
    assert KIND_CHECKS[INT](expires_at), repr(expires_at)
    assert abs(expires_at - (before + 365 * 86400)) < 120


def test_activate_license_expires_at_is_null_for_a_perpetual_license(http, catalog, mint):
    key = mint(catalog)["key"]
    body = activate(http, catalog, key).json()
    assert "license_expires_at" in body and body["license_expires_at"] is None


def test_activate_lease_never_outlives_the_license(http, tenant, make_catalog, mint):
    catalog = dated_catalog(make_catalog, tenant)
    body = activate(http, catalog, mint(catalog)["key"]).json()
    assert KIND_CHECKS[INT](body["license_expires_at"]), repr(body["license_expires_at"])
    assert body["lease"]["expiresAt"] <= body["license_expires_at"]


def test_activate_echoes_the_request_id_the_sdks_send(http, catalog, mint):
    key = mint(catalog)["key"]
    answer = http.post(sdk_path(catalog, "activate"), json=activate_body(RUST, key),
                       headers={**sdk_headers(catalog), "X-Keylight-Request-Id": "00c0ffee"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Keylight-Request-Id"] == "00c0ffee"


@pytest.mark.parametrize("sdk", (RUST, JS, CSHARP))
def test_activate_limit_is_a_definitive_402_with_an_error_text(http, tenant, make_catalog,
                                                               mint, sdk):
    catalog = make_catalog(tenant, activation_limit=1)
    key = mint(catalog)["key"]
    assert post(http, catalog, "activate", sdk, activate_body(sdk, key)).status_code == 200
    assert_definitive_error(post(http, catalog, "activate", sdk, activate_body(sdk, key)),
                            402, sdk)


@pytest.mark.parametrize("sdk", (RUST, JS, CSHARP))
def test_activate_unknown_key_is_a_definitive_404_with_an_error_text(http, catalog, sdk):
    key = f"{catalog.key_prefix}-0000-0000-0000-0000"
    assert_definitive_error(post(http, catalog, "activate", sdk, activate_body(sdk, key)),
                            404, sdk)


@pytest.mark.parametrize("sdk", (RUST, JS, CSHARP))
def test_activate_wrong_sdk_key_is_a_definitive_401_with_an_error_text(http, catalog, mint,
                                                                       sdk):
    key = mint(catalog)["key"]
    answer = http.post(sdk_path(catalog, "activate"), json=activate_body(sdk, key),
                       headers={"X-Keylight-SDK-Key": "sdk_live_" + "0" * 64})
    assert_definitive_error(answer, 401, sdk)


def test_activate_from_cpp_without_sdk_key_is_401_when_the_tenant_has_one(http, catalog,
                                                                          mint):
    key = mint(catalog)["key"]
    answer = post(http, catalog, "activate", CPP, activate_body(CPP, key))
    assert answer.status_code == 401, answer.text


def test_activate_from_cpp_works_once_the_sdk_key_is_deleted(http, catalog, mint):
    deleted = http.delete(f"/api/{catalog.tenant.tenant_id}/sdk-key",
                          headers=catalog.tenant.headers)
    assert deleted.status_code == 200, deleted.text
    key = mint(catalog)["key"]
    time.sleep(1.5)  # the ingress' tenant snapshot ages out (tenant_cache_seconds = 0.5)
    answer = post(http, catalog, "activate", CPP, activate_body(CPP, key))
    assert answer.status_code == 200, answer.text


def test_activate_from_cpp_takes_a_new_seat_on_every_launch(http, keyless_catalog, mint):
    """C++ 0.1.2 sends no machine_hash, so a relaunch that activates again is a new device."""
    key = mint(keyless_catalog)["key"]
    first = post(http, keyless_catalog, "activate", CPP, activate_body(CPP, key)).json()
    second = post(http, keyless_catalog, "activate", CPP, activate_body(CPP, key)).json()
    assert first["instance_id"] != second["instance_id"]


def test_activate_again_with_the_same_machine_hash_keeps_the_seat(http, catalog, mint):
    """Rust and JS send machine_hash (client.rs:244-246), so a relaunch keeps its instance."""
    key = mint(catalog)["key"]
    body = activate_body(RUST, key)
    first = post(http, catalog, "activate", RUST, body).json()
    second = post(http, catalog, "activate", RUST, body).json()
    assert first["instance_id"] == second["instance_id"]


# --------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sdk", SDKS)
def test_validate_200_decodes_field_by_field(http, tenant, make_catalog, make_tenant, mint,
                                             sdk):
    owner = make_tenant(sdk_key=False) if sdk == CPP else tenant
    catalog = dated_catalog(make_catalog, owner)
    key = mint(catalog)["key"]
    instance_id = post(http, catalog, "activate", sdk, activate_body(sdk, key)
                       ).json()["instance_id"]
    answer = post(http, catalog, "validate", sdk, validate_body(sdk, key, instance_id))
    assert answer.status_code == 200, answer.text
    assert_decodes(answer.json(), VALIDATE_200[sdk])
    assert answer.json()["valid"] is True


def test_validate_200_license_expires_at_matches_activate(http, tenant, make_catalog, mint):
    catalog = dated_catalog(make_catalog, tenant)
    key = mint(catalog)["key"]
    activated = activate(http, catalog, key).json()
    validated = validate(http, catalog, key, activated["instance_id"]).json()
    assert KIND_CHECKS[INT](validated["license_expires_at"]), repr(
        validated["license_expires_at"])
    assert validated["license_expires_at"] == activated["license_expires_at"]


def test_validate_200_carries_the_signed_product_config_as_config_answers_it(http, catalog,
                                                                            mint):
    key = mint(catalog)["key"]
    instance_id = activate(http, catalog, key).json()["instance_id"]
    body = validate(http, catalog, key, instance_id).json()
    config = http.get(sdk_path(catalog, "config"), headers=sdk_headers(catalog)).json()
    missing = [name for name in SIGNED_CONFIG_KEYS if name not in body]
    assert not missing, f"validate 200 lacks {missing}"
    for name in ("trial_duration_days", "free_tier_enabled", "kid"):
        assert body[name] == config[name]
        assert type(body[name]) is type(config[name])
    assert body["expires_at"] - body["issued_at"] == config["expires_at"] - config["issued_at"]


def test_validate_200_product_config_signature_verifies(http, catalog, mint):
    key = mint(catalog)["key"]
    instance_id = activate(http, catalog, key).json()["instance_id"]
    body = validate(http, catalog, key, instance_id).json()
    riding = {name: body.get(name) for name in SIGNED_CONFIG_KEYS}
    assert verify_product_config(riding, tenant_id=catalog.tenant.tenant_id,
                                 product_id=catalog.product_id,
                                 trusted_keys=trusted_keys(http, catalog.tenant.tenant_id),
                                 now=int(time.time()))


@pytest.mark.parametrize("sdk", (RUST, JS, CSHARP))
def test_validate_422_expired_decodes_with_a_signed_expired_lease(http, catalog, mint,
                                                                  database_url, sdk):
    key = mint(catalog)["key"]
    expire(database_url, key)
    instance_id = stored_instance(database_url, key)
    answer = post(http, catalog, "validate", sdk, validate_body(sdk, key, instance_id))
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert_decodes(body, VALIDATE_422_EXPIRED[sdk])
    assert body["valid"] is False
    lease = Lease.from_wire(body["lease"])
    assert lease.status == "expired"
    assert verify_lease(lease, trusted_keys(http, catalog.tenant.tenant_id), lease.issued_at).ok


def test_validate_422_expired_license_expires_at_is_in_the_past(http, catalog, mint,
                                                                database_url):
    key = mint(catalog)["key"]
    expire(database_url, key)
    instance_id = stored_instance(database_url, key)
    expires_at = validate(http, catalog, key, instance_id).json()["license_expires_at"]
    assert KIND_CHECKS[INT](expires_at), repr(expires_at)
    assert expires_at < time.time()


def test_validate_422_expired_carries_the_signed_product_config(http, catalog, mint,
                                                                database_url):
    key = mint(catalog)["key"]
    expire(database_url, key)
    instance_id = stored_instance(database_url, key)
    body = validate(http, catalog, key, instance_id).json()
    riding = {name: body.get(name) for name in SIGNED_CONFIG_KEYS}
    assert verify_product_config(riding, tenant_id=catalog.tenant.tenant_id,
                                 product_id=catalog.product_id,
                                 trusted_keys=trusted_keys(http, catalog.tenant.tenant_id),
                                 now=int(time.time()))


@pytest.mark.parametrize("sdk", (RUST, JS, CSHARP))
def test_validate_422_revoked_is_an_error_without_lease_read_as_definitive(http, catalog,
                                                                           mint, sdk):
    minted = mint(catalog)
    instance_id = activate(http, catalog, minted["key"]).json()["instance_id"]
    http.post(f"/api/{catalog.tenant.tenant_id}/licenses/{minted['license_id']}/revoke",
              headers=catalog.tenant.headers).raise_for_status()
    answer = post(http, catalog, "validate", sdk, validate_body(sdk, minted["key"], instance_id))
    assert answer.status_code == 422, answer.text
    assert_decodes(answer.json(), VALIDATE_422_REJECTED[sdk])
    assert answer.json().get("valid", False) is False
    assert answer.json().get("lease") is None


@pytest.mark.parametrize("sdk", (RUST, JS, CSHARP))
def test_validate_422_instance_not_active_is_read_as_definitive(http, catalog, mint, sdk):
    key = mint(catalog)["key"]
    answer = post(http, catalog, "validate", sdk,
                  validate_body(sdk, key, "00000000-0000-4000-8000-000000000000"))
    assert answer.status_code == 422, answer.text
    assert_decodes(answer.json(), VALIDATE_422_REJECTED[sdk])
    assert answer.json().get("lease") is None


def test_validate_unknown_key_is_a_definitive_404(http, catalog):
    key = f"{catalog.key_prefix}-0000-0000-0000-0000"
    answer = post(http, catalog, "validate", RUST, validate_body(RUST, key, str(uuid.uuid4())))
    assert_definitive_error(answer, 404, RUST)


# --------------------------------------------------------------------------------------------
# deactivate
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sdk", SDKS)
def test_deactivate_200_as_each_sdk_sends_it_frees_the_seat(http, tenant, make_tenant,
                                                            make_catalog, mint, sdk):
    owner = make_tenant(sdk_key=False) if sdk == CPP else tenant
    catalog = make_catalog(owner, activation_limit=1)
    key = mint(catalog)["key"]
    instance_id = post(http, catalog, "activate", sdk, activate_body(sdk, key)
                       ).json()["instance_id"]
    answer = post(http, catalog, "deactivate", sdk, deactivate_body(sdk, key, instance_id))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"deactivated": True}
    assert post(http, catalog, "activate", sdk, activate_body(sdk, key)).status_code == 200


def test_deactivate_again_is_200_so_a_retried_call_is_harmless(http, catalog, mint):
    key = mint(catalog)["key"]
    instance_id = activate(http, catalog, key).json()["instance_id"]
    assert deactivate(http, catalog, instance_id, license_key=key).status_code == 200
    assert deactivate(http, catalog, instance_id, license_key=key).status_code == 200


# --------------------------------------------------------------------------------------------
# keyless
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sdk", (RUST, JS))
def test_keyless_200_answers_the_signed_config_as_each_sdk_sends_it(http, catalog, sdk):
    # client.rs:521-527 / client.ts reportKeylessState: instance_id, state, machine_hash,
    # telemetry. Success is the status alone for Rust; JS reads the config off the body.
    body = {"instance_id": str(uuid.uuid4()), "state": "trial", "machine_hash": machine_hash(),
            **TELEMETRY[sdk]}
    answer = post(http, catalog, "keyless", sdk, body)
    assert answer.status_code == 200, answer.text
    assert_decodes(answer.json(), CONFIG_FIELDS[JS])


# --------------------------------------------------------------------------------------------
# config
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sdk", (JS, CSHARP))
def test_config_200_decodes_field_by_field(http, catalog, sdk):
    answer = http.get(sdk_path(catalog, "config"), headers=headers_for(sdk, catalog))
    assert answer.status_code == 200, answer.text
    assert_decodes(answer.json(), CONFIG_FIELDS[sdk])


def test_config_200_signature_verifies_for_the_tenant_and_product(http, catalog):
    config = http.get(sdk_path(catalog, "config"), headers=sdk_headers(catalog)).json()
    assert verify_product_config(config, tenant_id=catalog.tenant.tenant_id,
                                 product_id=catalog.product_id,
                                 trusted_keys=trusted_keys(http, catalog.tenant.tenant_id),
                                 now=int(time.time()))


# --------------------------------------------------------------------------------------------
# .well-known/keylight-keys
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sdk", (RUST, CPP))
def test_keyset_200_decodes_field_by_field_without_an_sdk_key(http, catalog, sdk):
    answer = http.get(f"/{catalog.tenant.tenant_id}/.well-known/keylight-keys")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert_decodes(body, KEYSET_200[sdk])
    assert body["keys"], "an empty keyset is an error for keylight-cpp keyset.hpp:72-75"
    for entry in body["keys"]:
        assert_decodes(entry, KEYSET_ENTRY[sdk])
        assert len(base64.b64decode(entry["public_key"])) == 32


def test_keyset_primary_kid_signs_new_leases(http, catalog, mint):
    keyset = http.get(f"/{catalog.tenant.tenant_id}/.well-known/keylight-keys").json()
    lease = activate(http, catalog, mint(catalog)["key"]).json()["lease"]
    assert lease["kid"] == keyset["primary_kid"]


# --------------------------------------------------------------------------------------------
# 429: the one retryable status the server chooses on purpose
# --------------------------------------------------------------------------------------------

def test_quota_429_carries_integer_retry_after_seconds(http, catalog, operator_headers,
                                                       settings):
    """Rust parses Retry-After as u64 seconds (ureq_transport.rs:21-23) and sleeps that long."""
    tenant_id = catalog.tenant.tenant_id
    http.patch(f"/api/admin/tenants/{tenant_id}", headers=operator_headers,
               json={"sdk_quota_per_minute": 1}).raise_for_status()
    time.sleep(2 * settings.tenant_cache_seconds)
    while time.time() % 60 > 55:  # stay inside one quota window
        time.sleep(0.5)
    answers = [http.get(sdk_path(catalog, "config"), headers=sdk_headers(catalog))
               for _ in range(2)]
    refused = answers[-1]
    assert refused.status_code == 429, refused.text
    assert refused.headers["Retry-After"].isdigit()
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert_decodes(refused.json(), ERROR_BODY[RUST])
