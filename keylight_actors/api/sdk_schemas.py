"""SDK request bodies (DESIGN §4). Unknown fields are ignored for SDK compatibility;
the documented ones are checked strictly, telemetry included."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

MachineHash = Annotated[StrictStr, Field(pattern=r"^[a-f0-9]{64}$")]
LicenseKey = Annotated[StrictStr, Field(min_length=1, max_length=128)]
InstanceId = Annotated[StrictStr, Field(min_length=1, max_length=128)]


class SdkBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sdk_version: Annotated[StrictStr, Field(max_length=64)] | None = None
    app_version: Annotated[StrictStr, Field(max_length=64)] | None = None
    platform: Annotated[StrictStr, Field(max_length=32)] | None = None
    sdk: Annotated[StrictStr, Field(max_length=16)] | None = None


class ActivateRequest(SdkBody):
    license_key: LicenseKey
    instance_name: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    machine_hash: MachineHash | None = None
    free_tier_instance_id: InstanceId | None = None


class ValidateRequest(SdkBody):
    license_key: LicenseKey
    instance_id: InstanceId
    machine_hash: MachineHash | None = None


class DeactivateRequest(SdkBody):
    instance_id: InstanceId
    license_key: LicenseKey | None = None


class KeylessRequest(SdkBody):
    instance_id: InstanceId
    state: Literal["trial", "free_tier", "expired"]
    machine_hash: MachineHash


# -- Answers, for the OpenAPI document (the routes answer plain JSON built by the hosts) --

class LeaseAnswer(BaseModel):
    """The v3 lease: times in Unix seconds, signed with Ed25519 (DESIGN §4)."""

    kid: str
    licenseKeyHash: str  # the wire names are camelCase
    instanceId: str
    issuedAt: int
    expiresAt: int
    status: Literal["active", "fallback", "expired"]
    signature: str
    entitlements: list[str]


class SignedProductConfig(BaseModel):
    """`GET config`, `POST keyless`, and the top level of a validate answer with a lease:
    ``issued_at``/``expires_at`` are the config's signature window (24 h), not the
    license's."""

    trial_duration_days: int
    free_tier_enabled: bool
    issued_at: int
    expires_at: int
    kid: str
    signature: str


class ActivateAnswer(BaseModel):
    activated: bool
    instance_id: str
    lease: LeaseAnswer
    license_expires_at: int | None = Field(
        description="the license's expiry in Unix seconds; null for a perpetual license")
    error: None = None


class ValidateAnswer(SignedProductConfig):
    valid: bool
    lease: LeaseAnswer
    license_expires_at: int | None = Field(
        description="the license's expiry in Unix seconds; null for a perpetual license")


class ValidateExpiredAnswer(ValidateAnswer):
    """422 for an expired license: a signed `expired` (or `fallback`) lease and the config.
    A revoked license or an inactive instance answers ``{error, code}`` alone."""

    error: str
    code: str
