"""Lease v3: our signer and verifier against the SDKs' conformance vectors, and the rules.

The vectors in ``fixtures/lease-vectors.json`` are the Keylight SDKs' published lease
conformance vectors, kept here as this project's own test data. The file is byte-identical to
``keylight/tests/fixtures/vectors.json`` in keylight-dev/keylight-rust since commit 728df51
("test(conformance): pass SP-0 lease vectors"), first released in v0.1.0 and unchanged through
v0.3.3, and to ``tests/fixtures/vectors.json`` in keylight-dev/keylight-cpp v0.1.2. See
``fixtures/README.md``. The file is read relative to this module, nothing outside the
repository.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from keylight_sdk.lease import (
    LEASE_LIFETIME_SECONDS,
    VERIFY_SKEW_SECONDS,
    Lease,
    LeaseCheck,
    decode_public_key,
    lease_expiry,
    lease_signing_message,
    public_key_b64,
    sign_lease,
    verify_lease,
)
from nacl.signing import SigningKey, VerifyKey

VECTORS_FILE = Path(__file__).resolve().parent / "fixtures" / "lease-vectors.json"

CONFORMANCE = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
VECTORS = CONFORMANCE["vectors"]
VALID_SIGNATURE_VECTORS = [v for v in VECTORS if v["expect"]["signatureValid"]]
KEY_HASH = "ab" * 32


def _by_name(vector: dict[str, Any]) -> str:
    return vector["name"]


def _trusted(vector: dict[str, Any]) -> dict[str, bytes]:
    return {kid: decode_public_key(b64) for kid, b64 in vector["trustedKeys"].items()}


def _payload(wire: dict[str, Any]) -> dict[str, Any]:
    """The signed fields of a wire lease, as sign_lease takes them."""
    return {
        "kid": wire["kid"],
        "license_key_hash": wire["licenseKeyHash"],
        "instance_id": wire["instanceId"],
        "issued_at": wire["issuedAt"],
        "expires_at": wire["expiresAt"],
        "status": wire["status"],
        "entitlements": wire["entitlements"],
    }


def _lease(key: SigningKey, **overrides: Any) -> Lease:
    fields: dict[str, Any] = {
        "kid": "k1",
        "license_key_hash": KEY_HASH,
        "instance_id": "inst-1",
        "issued_at": 1_000,
        "expires_at": 1_000 + LEASE_LIFETIME_SECONDS,
        "status": "active",
        "entitlements": ("pro",),
        **overrides,
    }
    return sign_lease(key, **fields)


# -- conformance vectors ------------------------------------------------------------------


def test_conformance_vectors_use_our_skew() -> None:
    assert CONFORMANCE["skewSeconds"] == VERIFY_SKEW_SECONDS


@pytest.mark.parametrize("vector", VECTORS, ids=_by_name)
def test_verifier_reaches_the_vectors_verdict(vector: dict[str, Any]) -> None:
    check = verify_lease(Lease.from_wire(vector["lease"]), _trusted(vector), vector["now"])
    expect = vector["expect"]
    assert check == LeaseCheck(
        kid_known=expect["kidKnown"],
        signature_valid=expect["signatureValid"],
        expired=expect["expired"],
    )


@pytest.mark.parametrize("vector", VECTORS, ids=_by_name)
def test_vector_lease_round_trips_through_the_wire_form(vector: dict[str, Any]) -> None:
    assert Lease.from_wire(vector["lease"]).to_wire() == vector["lease"]


@pytest.mark.parametrize("vector", VALID_SIGNATURE_VECTORS, ids=_by_name)
def test_signing_message_of_valid_vector_verifies_with_plain_pynacl(
    vector: dict[str, Any],
) -> None:
    wire = vector["lease"]
    message = lease_signing_message(**_payload(wire))
    public_key = base64.b64decode(vector["trustedKeys"][wire["kid"]])
    VerifyKey(public_key).verify(message, base64.b64decode(wire["signature"]))


@pytest.mark.parametrize("vector", VALID_SIGNATURE_VECTORS, ids=_by_name)
def test_valid_vector_cannot_be_resigned_without_its_key(vector: dict[str, Any]) -> None:
    forged = sign_lease(SigningKey.generate(), **_payload(vector["lease"]))
    assert forged.signing_message() == Lease.from_wire(vector["lease"]).signing_message()
    assert forged.signature != vector["lease"]["signature"]
    assert not verify_lease(forged, _trusted(vector), vector["now"]).signature_valid


@pytest.mark.parametrize("vector", VECTORS, ids=_by_name)
def test_our_signer_and_verifier_agree_on_every_vector_payload(vector: dict[str, Any]) -> None:
    key = SigningKey.generate()
    wire = vector["lease"]
    lease = sign_lease(key, **_payload(wire))
    check = verify_lease(lease, {wire["kid"]: bytes(key.verify_key)}, vector["now"])
    assert check == LeaseCheck(
        kid_known=True, signature_valid=True, expired=vector["expect"]["expired"]
    )
    assert lease.to_wire().keys() == wire.keys()


# -- lifetime -----------------------------------------------------------------------------


def test_lease_lives_seven_days() -> None:
    assert lease_expiry(1_000, None) == 1_000 + 7 * 86400


def test_lease_never_outlives_its_license() -> None:
    assert lease_expiry(1_000, 5_000) == 5_000


def test_license_expiring_after_seven_days_does_not_lengthen_the_lease() -> None:
    assert lease_expiry(1_000, 1_000 + 30 * 86400) == 1_000 + LEASE_LIFETIME_SECONDS


def test_lease_is_not_expired_within_the_skew_after_expiry() -> None:
    lease = _lease(SigningKey.generate())
    assert not verify_lease(lease, {}, lease.expires_at + VERIFY_SKEW_SECONDS).expired


def test_lease_is_expired_beyond_the_skew() -> None:
    lease = _lease(SigningKey.generate())
    assert verify_lease(lease, {}, lease.expires_at + VERIFY_SKEW_SECONDS + 1).expired


# -- signing ------------------------------------------------------------------------------


def test_signing_message_is_the_v3_pipe_string_with_sorted_entitlements() -> None:
    message = lease_signing_message(
        kid="k1",
        license_key_hash=KEY_HASH,
        instance_id="inst-1",
        issued_at=10,
        expires_at=20,
        status="active",
        entitlements=["pro", "export", "ai"],
    )
    assert message == f"v3|k1|{KEY_HASH}|inst-1|10|20|active|ai,export,pro".encode()


def test_signature_is_padded_standard_base64_of_64_bytes() -> None:
    signature = _lease(SigningKey.generate()).signature
    assert len(signature) == 88 and signature.endswith("==")
    assert len(base64.b64decode(signature, validate=True)) == 64


def test_fallback_lease_carries_no_entitlements() -> None:
    key = SigningKey.generate()
    lease = _lease(key, status="fallback", entitlements=("pro", "export"))
    assert lease.entitlements == ()
    assert verify_lease(lease, {"k1": bytes(key.verify_key)}, 1_000).ok


def test_expired_status_lease_carries_no_entitlements() -> None:
    assert _lease(SigningKey.generate(), status="expired").entitlements == ()


def test_signing_rejects_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="status"):
        _lease(SigningKey.generate(), status="trial")


def test_signing_rejects_an_entitlement_that_would_blur_the_message() -> None:
    with pytest.raises(ValueError, match="entitlement"):
        _lease(SigningKey.generate(), entitlements=("pro,admin",))


def test_entitlement_order_on_the_wire_does_not_matter() -> None:
    key = SigningKey.generate()
    wire = _lease(key, entitlements=("b", "a")).to_wire()
    wire["entitlements"] = ["b", "a"]
    assert verify_lease(Lease.from_wire(wire), {"k1": bytes(key.verify_key)}, 1_000).ok


# -- verification -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("licenseKeyHash", "cd" * 32),
        ("instanceId", "inst-2"),
        ("issuedAt", 999),
        ("expiresAt", 1_000 + 30 * 86400),
        ("status", "fallback"),
        ("entitlements", ["pro", "admin"]),
    ],
)
def test_tampering_with_any_signed_field_breaks_the_signature(field: str, value: Any) -> None:
    key = SigningKey.generate()
    wire = _lease(key).to_wire()
    wire[field] = value
    check = verify_lease(Lease.from_wire(wire), {"k1": bytes(key.verify_key)}, 1_000)
    assert check.kid_known and not check.signature_valid and not check.ok


def test_lease_from_an_unknown_kid_is_neither_known_nor_valid() -> None:
    key = SigningKey.generate()
    check = verify_lease(_lease(key, kid="k2"), {"k1": bytes(key.verify_key)}, 1_000)
    assert check == LeaseCheck(kid_known=False, signature_valid=False, expired=False)


def test_trusted_key_of_the_wrong_length_verifies_nothing() -> None:
    check = verify_lease(_lease(SigningKey.generate()), {"k1": b"short"}, 1_000)
    assert check.kid_known and not check.signature_valid


def test_check_is_ok_only_when_known_valid_and_current() -> None:
    assert LeaseCheck(kid_known=True, signature_valid=True, expired=False).ok
    assert not LeaseCheck(kid_known=True, signature_valid=True, expired=True).ok
    assert not LeaseCheck(kid_known=True, signature_valid=False, expired=False).ok


def test_published_public_key_round_trips() -> None:
    key = SigningKey.generate()
    assert decode_public_key(public_key_b64(key)) == bytes(key.verify_key)


@pytest.mark.parametrize("text", ["", "not base64!", base64.b64encode(b"x" * 31).decode()])
def test_decode_public_key_rejects_anything_but_32_bytes_of_base64(text: str) -> None:
    with pytest.raises(ValueError):
        decode_public_key(text)


# -- wire parsing -------------------------------------------------------------------------


def _wire() -> dict[str, Any]:
    return _lease(SigningKey.generate()).to_wire()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kid", 1),
        ("kid", ""),
        ("kid", "k|1"),
        ("licenseKeyHash", "AB" * 32),
        ("licenseKeyHash", "ab"),
        ("instanceId", None),
        ("issuedAt", "1000"),
        ("issuedAt", True),
        ("issuedAt", 1000.0),
        ("expiresAt", -1),
        ("status", "trial"),
        ("signature", "not base64!"),
        ("signature", base64.b64encode(b"x" * 63).decode()),
        ("entitlements", "pro"),
        ("entitlements", ["pro", 1]),
        ("entitlements", ["pro,admin"]),
    ],
)
def test_from_wire_rejects_a_malformed_field(field: str, value: Any) -> None:
    wire = _wire()
    wire[field] = value
    with pytest.raises(ValueError):
        Lease.from_wire(wire)


@pytest.mark.parametrize("field", list(_wire()))
def test_from_wire_rejects_a_missing_field(field: str) -> None:
    wire = _wire()
    del wire[field]
    with pytest.raises(ValueError, match=field):
        Lease.from_wire(wire)


@pytest.mark.parametrize("data", [None, [], "lease", 42])
def test_from_wire_rejects_anything_but_an_object(data: Any) -> None:
    with pytest.raises(ValueError):
        Lease.from_wire(data)
